"""The Golden records page: build the unified profiles with the rules on screen, read the result."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import i18n
from cdp_core.workspace import Workspace
from tests.conftest import ROOT

PAGE = "app_pages/golden.py"


def _page(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page(PAGE)
    app.run()
    assert not app.exception, app.exception
    return app


def test_page_builds_profiles_with_the_rules_chosen(matched_demo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tmp_path / "demo.duckdb"
    shutil.copyfile(matched_demo, workspace)
    with Workspace.open(workspace, read_only=True) as ws:
        people = ws.cursor().execute("SELECT count(DISTINCT cluster_id) FROM match.clusters"
                                     ).fetchone()[0]
    app = _page(workspace, monkeypatch)
    assert app.title[0].value == "Golden records"
    assert [i.value for i in app.info] == [i18n.t("golden.not_built")]
    app.selectbox[0].select("longest").run()
    app.toggle[1].set_value(False).run()
    next(b for b in app.button if b.label == "Build unified profiles").click().run()
    assert not app.exception, app.exception
    assert app.success and "unified profiles built" in app.success[0].value
    assert app.metric[0].value == i18n.fmt_number(people)
    assert not app.warning  # just built: not stale
    again = _page(workspace, monkeypatch)  # a new visit shows the rules saved by the build
    assert (again.selectbox[0].value, again.toggle[1].value) == ("longest", False)
    assert len(again.dataframe) == 2  # the rules editor and the profiles


def test_page_asks_for_matching_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.open(tmp_path / "empty.duckdb").close()
    app = _page(tmp_path / "empty.duckdb", monkeypatch)
    assert [i.value for i in app.info] == [i18n.t("golden.no_clusters")]
