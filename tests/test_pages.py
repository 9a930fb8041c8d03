"""Every page under AppTest on a small demo workspace: no exception, the key widgets present."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core.demo import build_demo
from tests.conftest import ROOT

PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("apptest") / "demo.duckdb"
    build_demo(path, n_people=600, unify=True)  # every page has results to show
    yield path


def _app(workspace: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(page: str, demo_workspace: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch, page)
    assert app.title, f"{page} shows no title"


def test_overview_lists_the_demo_sources(demo_workspace: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch)
    assert app.title[0].value == "Customer data at a glance"
    shown = app.dataframe[0].value
    assert "Store loyalty cards" in shown["source"].tolist()


def test_french_switches_every_label(demo_workspace: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch)
    app.sidebar.radio[0].set_value("fr").run()
    assert app.title[0].value == "Les données clients en un coup d'œil"


def test_catalogue_profiles_every_column_of_the_chosen_source(
        demo_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch, "app_pages/catalogue.py")
    assert [tab.label for tab in app.tabs] == [
        "Columns", "Quick profile", "Standardisation", "Full report", "Compare versions"]
    app.selectbox[0].set_value("Store loyalty cards").run()
    profiled = app.tabs[1].dataframe[0].value["column"].tolist()
    assert profiled[:3] == ["num_carte", "CIVILITE", "NOM"]
    rules = app.tabs[2].dataframe[0].value
    assert "phone_e164" in rules["rule"].tolist()


def test_sources_page_saves_source_details(demo_workspace: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch, "app_pages/sources.py")
    name = app.selectbox[0].value
    app.text_input(key=f"meta_{name}_dept").set_value("Retail & loyalty")
    next(b for b in app.button if b.label == "Save").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["Source details saved."]
    app.run()
    assert any("Retail & loyalty" in e.label for e in app.expander)


def test_review_page_labels_the_most_uncertain_pair(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from cdp_core.workspace import Workspace

    path = tmp_path / "review.duckdb"
    with Workspace.open(path) as ws, ws.transaction() as cur:
        cur.execute("CREATE TABLE match.records AS SELECT * FROM (VALUES "
                    "('1:a', 'Web', 'Web', 'Jean', 'Dupont', 'j@x.fr', NULL, NULL::DATE, NULL, "
                    "'75001', 'Paris'), ('2:b', 'Store', 'Store', 'Jean', 'Dupond', NULL, NULL, "
                    "NULL::DATE, NULL, '75001', 'Paris'), ('2:c', 'Store', 'Store', 'Anne', "
                    "'Martin', NULL, NULL, NULL::DATE, NULL, '69001', 'Lyon')) t(unique_id, "
                    "source, source_dataset, first_name, last_name, email, phone, birth_date, "
                    "street, postcode, city)")
        cur.execute("CREATE TABLE match.predictions AS SELECT * FROM (VALUES "
                    "('1:a', '2:b', 0.55, 0.3), ('1:a', '2:c', 0.02, -8.0)) "
                    "t(unique_id_l, unique_id_r, match_probability, match_weight)")
    app = _app(path, monkeypatch, "app_pages/review.py")
    assert app.warning, "without labels the figures must say they are estimates"
    assert "Dupond" in app.table[0].value.to_string()
    next(b for b in app.button if b.label == "Same person").click().run()
    assert not app.exception
    assert app.metric[0].value == "1"


def test_matching_pages_train_predict_and_review(demo_workspace: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(demo_workspace, monkeypatch, "app_pages/matching.py")
    assert app.tabs[0].label == "Comparisons and rules"
    next(b for b in app.button if b.label == "Count the comparisons").click().run()
    assert not app.exception and app.metric[0].label == "Comparisons in total"
    app.switch_page("app_pages/matching_run.py").run()
    next(b for b in app.button if b.label == "Train the model").click().run()
    assert not app.exception, app.exception
    next(b for b in app.button if b.label == "Predict and cluster").click().run()
    assert not app.exception, app.exception
    shown = {m.label: m.value for m in app.metric}
    assert int(shown["People (clusters)"].replace(",", "")) < int(
        shown["Records"].replace(",", ""))
    app.switch_page("app_pages/review.py").run()
    assert not app.exception and app.table, "a pair to review is shown"


@pytest.mark.parametrize("page", PAGES)
def test_page_on_an_empty_workspace_explains_what_to_do(page: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from cdp_core.workspace import Workspace

    Workspace.open(tmp_path / "empty.duckdb").close()
    app = _app(tmp_path / "empty.duckdb", monkeypatch, page)
    assert app.title
    assert app.info or app.get("file_uploader"), f"{page} shows neither guidance nor an upload"


def test_table_headers_are_translated(demo_workspace: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """No raw catalogue key (``col.something``) reaches a table header on any page."""
    for page in PAGES:
        app = _app(demo_workspace, monkeypatch, page)
        for frame in app.dataframe:
            config = frame.proto.columns if hasattr(frame.proto, "columns") else ""
            assert "col." not in str(config), page
