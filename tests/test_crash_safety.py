"""A process killed in the middle of an ingest leaves the workspace exactly as before or after."""
from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace
from tests.conftest import LIBRAIRIE, ROOT, snapshot

KILLS = 20


def _big_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("id_client,prenom,nom,email,telephone,date_naissance,code_postal,ville\n")
        for i in range(rows):
            out.write(f"W{i},Jean{i % 97},Dupont{i % 89},j{i}@example.fr,06{i % 10**8:08d},"
                      f"1980-0{1 + i % 9}-1{i % 9},{75000 + i % 20},Paris\n")
    return path


@pytest.mark.parametrize("command", ["ingest"])
def test_kill_mid_write_leaves_before_or_after_state(tmp_path: Path, command: str) -> None:
    base = tmp_path / "base.duckdb"
    with Workspace.open(base) as ws:
        ingest_file(ws, LIBRAIRIE / "adherents.csv", "Members")
        before = snapshot(ws)
    big = _big_csv(tmp_path / "big.csv", 300_000)
    rng = random.Random(7)
    outcomes = {"before": 0, "after": 0}
    for attempt in range(KILLS):
        workspace = tmp_path / f"ws{attempt}.duckdb"
        shutil.copy(base, workspace)
        process = subprocess.Popen(
            [sys.executable, "-m", "cdp_core", command, str(workspace), str(big), "--source",
             "Big"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check = subprocess.run([sys.executable, "-m", "cdp_core", "check", str(workspace)],
                               cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, f"attempt {attempt}: {check.stderr}"
        with Workspace.open(workspace) as ws:
            state = snapshot(ws)
        if state == before:
            outcomes["before"] += 1
        else:
            added = {t: n for t, n in state.items() if before.get(t) != n}
            assert added.get("meta.sources") == 2, f"attempt {attempt}: {added}"
            assert sum(1 for t in added if t.startswith("raw.")) == 1
            outcomes["after"] += 1
        workspace.unlink()
    assert outcomes["before"] > 0  # the kills did land mid-write
