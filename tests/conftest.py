"""Shared fixtures: paths to the data files and fresh workspaces."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdp_core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
LIBRAIRIE = DATA / "librairie"


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """An empty workspace in a temporary file."""
    workspace = Workspace.open(tmp_path / "ws.duckdb")
    yield workspace
    workspace.close()


def snapshot(workspace: Workspace) -> dict[str, int]:
    """Every table and its row count: equal snapshots mean nothing changed."""
    cur = workspace.cursor()
    tables = cur.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                         "WHERE database_name = current_database() ORDER BY 1, 2").fetchall()
    return {f"{schema}.{table}": cur.execute(
        f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]  # noqa: S608
        for schema, table in tables}


@pytest.fixture(scope="session")
def matched_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo company after a full matching run (built once; copy it before writing)."""
    from cdp_core import matching
    from cdp_core.demo import build_demo

    path = tmp_path_factory.mktemp("matched") / "demo.duckdb"
    build_demo(path, n_people=600)
    with Workspace.open(path) as workspace:
        matching.run_match(workspace)
    return path


@pytest.fixture
def matched_ws(matched_demo: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the matched demo workspace, open for writing."""
    copy = tmp_path / "matched.duckdb"
    shutil.copyfile(matched_demo, copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


@pytest.fixture(scope="session")
def unified_demo(matched_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The matched demo with unified profiles and traits (built once; copy before writing)."""
    from cdp_core import golden, traits

    path = tmp_path_factory.mktemp("unified") / "demo.duckdb"
    shutil.copyfile(matched_demo, path)
    with Workspace.open(path) as workspace:
        golden.build(workspace)
        traits.refresh(workspace)
    return path


@pytest.fixture
def unified_ws(unified_demo: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the unified demo (profiles, events and traits), open for writing."""
    copy = tmp_path / "unified.duckdb"
    shutil.copyfile(unified_demo, copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()
