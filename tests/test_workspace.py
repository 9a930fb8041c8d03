"""The workspace file: creation, migrations, transactions, and a clear lock error."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cdp_core.errors import WorkspaceLockedError, WorkspaceVersionError
from cdp_core.workspace import SCHEMA_VERSION, Workspace
from tests.conftest import ROOT


def test_new_workspace_is_at_current_schema_version(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "new.duckdb") as ws:
        assert ws.schema_version == SCHEMA_VERSION
    with Workspace.open(tmp_path / "new.duckdb") as ws:  # reopening migrates nothing twice
        rows = ws.cursor().execute("SELECT count(*) FROM meta.schema_version").fetchone()[0]
        assert rows == SCHEMA_VERSION


def test_transaction_rolls_back_every_table_on_error(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), ws.transaction() as cur:
        ws.audit(cur, "first write")
        cur.execute("CREATE TABLE raw.half_written AS SELECT 1 AS x")
        raise RuntimeError("crash mid-write")
    cur = ws.cursor()
    assert cur.execute("SELECT count(*) FROM meta.audit_log").fetchone()[0] == 0
    tables = cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'")
    assert tables.fetchall() == []


def test_newer_workspace_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    with Workspace.open(path) as ws, ws.transaction() as cur:
        cur.execute("INSERT INTO meta.schema_version (version) VALUES (?)", [SCHEMA_VERSION + 5])
    with pytest.raises(WorkspaceVersionError, match="newer workbench"):
        Workspace.open(path)


def test_second_process_gets_open_elsewhere_message(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    with Workspace.open(path):
        result = subprocess.run(
            [sys.executable, "-m", "cdp_core", "list", str(path), "sources"],
            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode != 0
    assert "open elsewhere" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_lock_error_inside_process_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "busy.duckdb"
    code = ("from cdp_core.workspace import Workspace; import time; "
            f"ws = Workspace.open({str(path)!r}); print('ready', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WorkspaceLockedError, match=str(path.name)):
            Workspace.open(path)
    finally:
        holder.kill()
        holder.wait()
