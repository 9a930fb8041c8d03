"""The Use cases and Roadmap pages under AppTest on the demo company after unification."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import golden, use_cases
from cdp_core.workspace import Workspace
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def unified_demo(matched_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The matched demo with its unified profiles built (copy it before writing)."""
    path = tmp_path_factory.mktemp("use_case_pages") / "demo.duckdb"
    shutil.copyfile(matched_demo, path)
    with Workspace.open(path) as ws:
        golden.build(ws)
    return path


@pytest.fixture
def workspace(unified_demo: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, copy)
    return copy


def _page(page: str, workspace: Path, monkeypatch: pytest.MonkeyPatch,
          language: str = "en") -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    monkeypatch.chdir(ROOT)
    app = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=120)
    app.session_state["language"] = language
    app.run()
    assert not app.exception, app.exception
    return app


def test_use_cases_page_shows_the_library_and_readiness(workspace: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("use_cases.py", workspace, monkeypatch)
    assert app.title[0].value == "Use cases"
    count = len(list((ROOT / "use_cases").glob("*.yaml")))
    assert app.metric[0].value == str(count)
    table = app.dataframe[0].value
    assert len(table) == count and "Abandoned-cart relaunch" in table["name"].tolist()
    assert [t.label for t in app.tabs] == ["Sheet", "Data readiness", "Edit", "New use case"]
    readiness = app.tabs[1].dataframe[0].value
    assert "present" in set(readiness["status"])
    assert any(b.label == "Save to YAML file" for b in app.button)


def test_editing_a_use_case_in_the_form_saves_it(workspace: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("use_cases.py", workspace, monkeypatch)
    first = app.dataframe[0].value["name"].iloc[0]
    edit = app.tabs[2]
    name = next(t for t in edit.text_input if t.label == "Name (English)")
    assert name.value == first
    name.set_value("Cart reminder in two hours")
    benefit = next(n for n in edit.number_input if n.label.startswith("Expected benefit"))
    benefit.set_value(70_000.0)
    next(b for b in edit.button if b.label == "Save the use case").click().run()
    assert not app.exception, app.exception
    assert [s.value for s in app.success] == ["Use case “Cart reminder in two hours” saved."]
    assert "Cart reminder in two hours" in app.dataframe[0].value["name"].tolist()
    again = _page("use_cases.py", workspace, monkeypatch)  # a new visit reads the workspace
    row = again.dataframe[0].value.iloc[0]
    assert (row["name"], row["benefit"], row["status"]) == (
        "Cart reminder in two hours", "€70,000", "Idea")


def test_a_new_use_case_with_a_missing_goal_is_refused(workspace: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("use_cases.py", workspace, monkeypatch)
    new = app.tabs[3]
    next(t for t in new.text_input if t.label.startswith("Id")).set_value("store_events")
    next(t for t in new.text_input if t.label == "Name (English)").set_value("Store events")
    next(b for b in new.button if b.label == "Save the use case").click().run()
    assert not app.exception, app.exception
    assert any("the form: name_fr" in e.value for e in app.error)


def test_roadmap_page_charts_ranks_and_reweights(workspace: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("roadmap.py", workspace, monkeypatch)
    assert app.title[0].value == "Roadmap"
    assert len(app.slider) == len(use_cases.CRITERIA)
    assert len(app.get("plotly_chart")) == 2
    ranking = app.dataframe[0].value
    assert len(ranking) == len(list((ROOT / "use_cases").glob("*.yaml")))
    before = ranking["Use case"].tolist()
    for slider in app.slider:
        slider.set_value(5.0 if slider.label == "Data exploitation level" else 0.0)
    app.run()
    assert not app.exception, app.exception
    after = app.dataframe[0].value
    assert after["Use case"].tolist() != before
    levels = dict(zip(after["Use case"], after["Rank"], strict=True))
    simple = min(levels[n] for n in ("Consent collection (GDPR)", "Birthday offer"))
    assert simple < levels["Customer 360 view and RFM segmentation"]
    next(b for b in app.button if b.label == "Save the weights").click().run()
    assert [s.value for s in app.success] == ["Weights saved for the whole team."]


def test_roadmap_page_speaks_french(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page("roadmap.py", workspace, monkeypatch, language="fr")
    assert app.title[0].value == "Feuille de route"
    assert "Relance des paniers abandonnés" in app.dataframe[0].value["Cas d'usage"].tolist()
    assert [m.label for m in app.metric][0] == "Gains rapides"


@pytest.mark.parametrize("page", ["use_cases.py", "roadmap.py"])
def test_pages_on_an_empty_workspace_say_no_data_is_ready(page: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    Workspace.open(tmp_path / "empty.duckdb").close()
    app = _page(page, tmp_path / "empty.duckdb", monkeypatch)
    assert [i.value for i in app.info] == [
        "No source loaded yet, so no data is ready: readiness is measured once sources are "
        "ingested on the Sources page."]
