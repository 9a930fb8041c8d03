"""The Clusters page under AppTest: a reviewer's decision is stored, shown and can be undone."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cdp_core import clusters
from cdp_core.workspace import Workspace
from tests.conftest import ROOT


@pytest.fixture
def app(matched_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    copy = tmp_path / "clusters.duckdb"
    shutil.copyfile(matched_demo, copy)
    monkeypatch.setenv("CDP_WORKSPACE", str(copy))
    test = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    test.run()
    test.switch_page("app_pages/clusters.py").run()
    assert not test.exception, test.exception
    return test


def _workspace(app: AppTest) -> Workspace:
    from ui.state import _open, workspace_path

    return _open(str(workspace_path()))


def test_clusters_page_splits_a_record_out_and_undoes_it(app: AppTest) -> None:
    assert app.title[0].value == "Clusters"
    queue = app.dataframe[0].value
    shown = app.subheader[1].value if len(app.subheader) > 1 else ""
    assert queue["review_score"].is_monotonic_decreasing
    assert any(queue["cluster_id"].iloc[0] in s.value for s in app.subheader), shown
    record = app.selectbox[0].value
    app.text_input(key="reviewer_name").set_value("Alice").run()
    next(b for b in app.button if b.label == "Take this record out").click().run()
    assert not app.exception, app.exception
    ws = _workspace(app)
    done = clusters.decisions(ws.cursor())
    assert done["kind"].tolist() == ["split_out"] and done["decided_by"].tolist() == ["Alice"]
    assert len(clusters.members(ws.cursor(), clusters.cluster_of(ws.cursor(), record))) == 1
    undo = next(b for b in app.button if b.label == "Undo")
    undo.click().run()
    assert not app.exception, app.exception
    assert clusters.decisions(ws.cursor()).empty
