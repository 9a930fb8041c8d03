"""A process killed in the middle of a write leaves the workspace exactly as before or after."""
from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cdp_core import golden, labels, matching
from cdp_core.demo import build_demo
from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace
from tests.conftest import LIBRAIRIE, ROOT, snapshot


def _big_csv(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8") as out:
        out.write("id_client,prenom,nom,email,telephone,date_naissance,code_postal,ville\n")
        for i in range(rows):
            out.write(f"W{i},Jean{i % 97},Dupont{i % 89},j{i}@example.fr,06{i % 10**8:08d},"
                      f"1980-0{1 + i % 9}-1{i % 9},{75000 + i % 20},Paris\n")
    return path


def _ingest_case(tmp_path: Path) -> tuple[Path, list[str], Callable[[dict, dict], bool]]:
    base = tmp_path / "base.duckdb"
    with Workspace.open(base) as ws:
        ingest_file(ws, LIBRAIRIE / "adherents.csv", "Members")
    big = _big_csv(tmp_path / "big.csv", 300_000)

    def completed(before: dict[str, int], state: dict[str, int]) -> bool:
        added = {t: n for t, n in state.items() if before.get(t) != n}
        return added.get("meta.sources") == 2 and sum(t.startswith("raw.") for t in added) == 1

    return base, ["ingest", str(big), "--source", "Big"], completed


def _match_case(tmp_path: Path) -> tuple[Path, list[str], Callable[[dict, dict], bool]]:
    base = tmp_path / "base.duckdb"
    build_demo(base, n_people=3_000)
    with Workspace.open(base) as ws:
        matching.run_match(ws)
        pair = ws.cursor().execute("SELECT unique_id_l, unique_id_r FROM match.predictions "
                                   "LIMIT 1").fetchone()
        labels.save_label(ws, *pair, "match")

    # A run is three atomic steps: rebuild the input, train (a new current model), predict.
    step_tables = {"match.records", "meta.match_models", "match.model_settings",
                   "meta.audit_log"}

    def completed(before: dict[str, int], state: dict[str, int]) -> bool:
        changed = {t for t, n in state.items() if before.get(t) != n}
        if state["meta.match_labels"] != before["meta.match_labels"]:
            return False  # a label was lost
        if state["meta.match_runs"] == before["meta.match_runs"] + 1:
            return True
        return changed <= step_tables

    return base, ["match"], completed


def _golden_case(tmp_path: Path) -> tuple[Path, list[str], Callable[[dict, dict], bool]]:
    base = tmp_path / "base.duckdb"
    build_demo(base, n_people=10_000)
    with Workspace.open(base) as ws:
        matching.run_match(ws)
        golden.build(ws)
        people = matching.recluster(ws, 0.5).clusters  # the profiles are now stale

    # Exporting stale profiles rebuilds them first: one transaction replacing golden.profiles
    # and adding a build and an audit line; the export file is written after it.
    def completed(before: dict[str, int], state: dict[str, int]) -> bool:
        changed = {t for t, n in state.items() if before.get(t) != n}
        return (changed == {"golden.profiles", "meta.golden_builds", "meta.audit_log"}
                and state["golden.profiles"] == people
                and state["meta.golden_builds"] == before["meta.golden_builds"] + 1)

    return base, ["export", "profiles", str(tmp_path / "profiles.csv")], completed


@pytest.mark.parametrize(("case", "kills", "latest"), [(_ingest_case, 20, 4.0),
                                                      (_match_case, 10, 14.0),
                                                      (_golden_case, 20, 5.0)],
                         ids=["ingest", "match", "golden"])
def test_kill_mid_write_leaves_before_or_after_state(tmp_path: Path, case: Callable,
                                                     kills: int, latest: float) -> None:
    base, args, completed = case(tmp_path)
    with Workspace.open(base) as ws:
        before = snapshot(ws)
    rng = random.Random(7)
    outcomes = {"before": 0, "after": 0}
    for attempt in range(kills):
        workspace = tmp_path / f"ws{attempt}.duckdb"
        shutil.copy(base, workspace)
        process = subprocess.Popen([sys.executable, "-m", "cdp_core", args[0], str(workspace),
                                    *args[1:]], cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, latest))
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
            assert completed(before, state), f"attempt {attempt}: half-written state"
            outcomes["after"] += 1
        workspace.unlink()
    assert outcomes["before"] > 0  # the kills did land mid-write
