"""The Workshop page on the demo company: big figures, charts, filters that narrow what is shown,
and nothing that edits the project."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import i18n, use_cases
from tests.conftest import ROOT

PAGE = str(ROOT / "app_pages" / "workshop.py")
LIBRARY = use_cases.load_library()
EDITING = ("button", "text_input", "number_input", "text_area", "date_input", "time_input",
           "checkbox", "toggle", "radio", "selectbox", "select_slider", "slider", "color_picker")


def _page(workspace: Path, monkeypatch: pytest.MonkeyPatch, language: str = "en") -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state["language"] = language
    app.run()
    assert not app.exception, app.exception
    return app


def _tile(app: AppTest, key: str) -> str:
    return next(m.value for m in app.metric if m.label == i18n.t(key))


@pytest.fixture
def demo(unified_demo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, path)
    return path


def test_read_only_view_with_tiles_and_charts(demo: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    before = demo.read_bytes()
    app = _page(demo, monkeypatch)
    assert app.title[0].value == i18n.t("workshop.title")
    assert _tile(app, "workshop.tile.use_cases") == str(len(LIBRARY))
    for key in ("workshop.tile.benefit", "workshop.tile.roi", "workshop.tile.payback",
                "workshop.tile.readiness"):
        assert _tile(app, key) not in ("", "—")
    headers = [h.value for h in app.header]
    assert headers == [i18n.t(f"workshop.{k}") for k in (
        "value", "roadmap", "kpis", "lift", "roi", "by_department")]
    assert [m.label for m in app.multiselect] == [i18n.t("workshop.departments"),
                                                  i18n.t("workshop.waves")]
    for kind in EDITING:
        assert len(getattr(app, kind)) == 0, f"the workshop page has a {kind}"
    assert not app.info  # every part has something to show on the demo company
    assert demo.read_bytes() == before  # reading the page wrote nothing


def test_filters_narrow_what_is_shown(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch)
    benefit = _tile(app, "workshop.tile.benefit")
    app.multiselect(key="workshop_departments").select("Stores").run()
    assert not app.exception, app.exception
    stores = sum(u.owner == "Stores" for u in LIBRARY)
    assert 0 < stores < len(LIBRARY)
    assert _tile(app, "workshop.tile.use_cases") == str(stores)
    assert _tile(app, "workshop.tile.benefit") != benefit
    app.multiselect(key="workshop_departments").unselect("Stores").run()
    app.multiselect(key="workshop_waves").select(1).run()
    assert not app.exception, app.exception
    quick_wins = _tile(app, "workshop.tile.quick_wins")
    assert int(quick_wins) > 0
    assert _tile(app, "workshop.tile.use_cases") == quick_wins  # wave 1 only: all quick wins


def test_french(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(demo, monkeypatch, "fr")
    assert app.title[0].value == i18n.t("workshop.title", "fr")
    assert any(m.label == i18n.t("workshop.tile.npv", "fr", rate="8\u00a0%") for m in app.metric)


def test_before_traits_the_page_says_what_to_do(matched_demo: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "matched.duckdb"
    shutil.copyfile(matched_demo, path)
    app = _page(path, monkeypatch)
    shown = [i.value for i in app.info]
    assert i18n.t("report.lift.no_events") in shown
    assert i18n.t("workshop.no_trends") in shown
    assert _tile(app, "workshop.tile.use_cases") == str(len(LIBRARY))
