"""The Scores page: train from the page, read the held-out figures, in English and French."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import golden, i18n, scoring, traits
from cdp_core.workspace import Workspace
from tests.conftest import ROOT

PAGE = "app_pages/scores.py"


def _page(workspace: Path, monkeypatch: pytest.MonkeyPatch, language: str = "en") -> AppTest:
    monkeypatch.setenv("CDP_WORKSPACE", str(workspace))
    app = AppTest.from_file(str(ROOT / PAGE), default_timeout=180)
    app.session_state["language"] = language
    app.run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def with_traits(matched_demo: Path, tmp_path: Path) -> Path:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(matched_demo, path)
    with Workspace.open(path) as ws:
        golden.build(ws)
        traits.refresh(ws)
    return path


def test_page_trains_and_shows_the_held_out_figures(with_traits: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    app = _page(with_traits, monkeypatch)
    assert app.title[0].value == "Predictive scores"
    assert [i.value for i in app.info] == [i18n.t("scores.not_trained")]
    next(b for b in app.button if b.label == i18n.t("scores.train")).click().run()
    assert not app.exception, app.exception
    assert app.success and "Scores computed for" in app.success[0].value
    tiles = [(m.label, m.value) for m in app.metric]
    aucs = [float(value) for label, value in tiles if label == i18n.t("scores.auc")]
    assert len(aucs) == 2 and aucs[0] > 0.6 and aucs[1] > 0.5  # propensity, churn
    lifts = [value for label, value in tiles if label == i18n.t("scores.lift_top")]
    assert all(value.startswith("×") and float(value[1:]) > 1 for value in lifts)
    assert [t.label for t in app.tabs] == [i18n.t(f"scores.tab.{k}") for k in
                                           ("propensity", "churn", "behaviour")]
    captions = " ".join(c.value for c in app.caption)
    assert "never saw" in captions and "refitted" in captions
    clusters = app.table[-1].value
    assert "No purchase yet" in set(clusters.iloc[:, 0])


def test_page_in_french_after_training(with_traits: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with Workspace.open(with_traits) as ws:
        scoring.train(ws)
    app = _page(with_traits, monkeypatch, "fr")
    assert app.title[0].value == "Scores prédictifs"
    assert not app.info
    assert any(m.label == "AUC ROC (0,5 = hasard)" for m in app.metric)
    labels = set(app.table[-1].value.iloc[:, 0])
    assert "Pas encore d'achat" in labels


def test_page_asks_for_traits_first(matched_demo: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "demo.duckdb"
    shutil.copyfile(matched_demo, path)
    app = _page(path, monkeypatch)
    assert [i.value for i in app.info] == [i18n.t("scores.no_traits", page="Traits")]
