"""The Activate pages: traits, the segment builder and audiences, driven through AppTest."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import i18n, segments
from cdp_core.segments import Segment
from cdp_core.workspace import Workspace
from tests.conftest import ROOT


def _page(workspace: Path, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page(f"app_pages/{page}.py")
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def workspace(unified_demo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, copy)
    return copy


def _shared(workspace: Path) -> Workspace:
    """The workspace as the app holds it open (a second connection to the file is refused)."""
    from ui.state import _open

    return _open(str(workspace))


def _button(app: AppTest, label_key: str) -> object:
    return next(b for b in app.button if b.label == i18n.t(label_key))


def test_traits_page_shows_buyers_and_declares_a_trait(workspace: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with Workspace.open(workspace, read_only=True) as ws:
        buyers = ws.cursor().execute("SELECT count(*) FROM golden.profiles WHERE orders > 0"
                                     ).fetchone()[0]
    app = _page(workspace, "traits", monkeypatch)
    assert app.metric[0].value == i18n.fmt_number(buyers)
    assert not app.warning  # traits are current
    app.text_input[0].input("calls_by_phone").run()
    _button(app, "traits.declare_button").click().run()
    assert not app.exception, app.exception
    app.run()
    assert app.warning  # a new declaration makes the traits stale until refreshed
    _button(app, "traits.refresh").click().run()
    columns = _shared(workspace).cursor().execute("SELECT * FROM golden.traits LIMIT 0").df()
    assert "calls_by_phone" in columns


def _labelled(widgets: object, key: str) -> object:
    return next(w for w in widgets if w.label == i18n.t(key))


def test_builder_sizes_a_nested_segment_and_saves_it(workspace: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(workspace, "segments", monkeypatch)
    assert [i.value for i in app.info] == [i18n.t("seg.start_hint")]
    _button(app, "seg.add.event").click().run()  # did at least one order in the last 30 days
    recent = {"event": "orders", "did": True, "at_least": 1, "within_days": 30}
    alone = segments.size(_shared(workspace).cursor(), {"all": [recent]})
    assert app.metric[0].value == i18n.fmt_number(alone.members)
    _button(app, "seg.add.group").click().run()  # a nested "any of" group, empty for now
    assert "empty" in app.warning[0].value
    next(b for b in app.button if b.label == i18n.t("seg.add.field")).click().run()
    _labelled(app.selectbox, "seg.field").set_value("rfm_cell").run()
    _labelled(app.selectbox, "seg.op").set_value("in").run()
    _labelled(app.multiselect, "seg.value").set_value(["champions", "loyal"]).run()
    assert not app.exception, app.exception
    rule = {"all": [recent, {"any": [{"field": "rfm_cell", "op": "in",
                                      "value": ["champions", "loyal"]}]}]}
    both = segments.size(_shared(workspace).cursor(), rule)
    assert 0 < both.members < alone.members
    assert app.metric[0].value == i18n.fmt_number(both.members)
    _labelled(app.text_input, "seg.name").input("Recent best customers")  # sent with the form
    _button(app, "seg.save_button").click().run()
    assert not app.exception, app.exception
    assert not app.error, app.error[0].value
    saved = segments.get(_shared(workspace).cursor(), "Recent best customers")
    listed = segments.saved(_shared(workspace).cursor())
    assert saved.rule == rule and saved.mode == "dynamic"
    assert listed.loc[listed["name"] == saved.name, "size"].item() == both.members


def test_audiences_page_exports_the_consented_members(workspace: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    with Workspace.open(workspace) as ws:
        segments.save(ws, Segment("Champions", {"field": "rfm_cell", "op": "eq",
                                                "value": "champions"}, channel="sms"))
        segments.save(ws, Segment("Web only", {"field": "channel_profile", "op": "eq",
                                               "value": "web_only"}))
        reachable = segments.size(ws.cursor(), {"all": [
            {"field": "rfm_cell", "op": "eq", "value": "champions"},
            {"field": "consent_sms", "op": "eq", "value": True},
            {"field": "phone", "op": "not_empty"}]}).members
    app = _page(workspace, "audiences", monkeypatch)
    assert len(app.dataframe) >= 1
    _labelled(app.selectbox, "aud.segment").set_value("Champions").run()
    _button(app, "aud.export_button").click().run()
    assert not app.exception, app.exception
    assert app.success and i18n.fmt_number(reachable) in app.success[0].value
    log = segments.exports_log(_shared(workspace).cursor())
    assert log["rows"].tolist() == [reachable] and log["name"].tolist() == ["Champions"]


def test_pages_ask_for_profiles_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.open(tmp_path / "empty.duckdb").close()
    for page in ("traits", "segments"):
        app = _page(tmp_path / "empty.duckdb", page, monkeypatch)
        assert [i.value for i in app.info] == [i18n.t("seg.no_profiles")]
    assert [i.value for i in _page(tmp_path / "empty.duckdb", "audiences", monkeypatch).info] \
        == [i18n.t("aud.none")]
