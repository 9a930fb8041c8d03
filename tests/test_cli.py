"""The command line contract of DESIGN.md: exit codes, one-line errors, unchanged workspace."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import LIBRAIRIE, ROOT


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cdp_core", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws.duckdb"
    assert cli("init", path).returncode == 0
    return path


def test_init_ingest_list_profile(workspace: Path, tmp_path: Path) -> None:
    done = cli("ingest", workspace, LIBRAIRIE / "adherents.csv", "--source", "Members",
               "--mapping", LIBRAIRIE / "adherents.yaml")
    assert done.returncode == 0, done.stderr
    assert "4 rows" in done.stdout and done.stderr == ""  # progress only on a terminal
    done = cli("ingest", workspace, LIBRAIRIE / "service_client.xlsx", "--source", "Service",
               "--sheet", "Appels clients")
    assert done.returncode == 0, done.stderr
    assert "full_name=Nom complet" in done.stdout
    assert cli("list", workspace, "sources").stdout.splitlines() == ["Members", "Service"]
    report = tmp_path / "members.html"
    done = cli("profile", workspace, "--source", "Members", "--html", report)
    assert done.returncode == 0, done.stderr
    assert "Date naiss." in done.stdout
    assert "<html" in report.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize(("args", "message"), [
    (("ingest", "{ws}", LIBRAIRIE / "missing.csv", "--source", "X"), "no such file"),
    (("ingest", "{ws}", LIBRAIRIE / "adherents.csv", "--source", "X", "--mapping",
      LIBRAIRIE / "clients_web.yaml"), "which is not in the file"),
    (("ingest", "{ws}", LIBRAIRIE / "service_client.xlsx", "--source", "X", "--sheet", "Nope"),
     "has no sheet 'Nope'"),
    (("profile", "{ws}", "--source", "Nobody"), "no source named 'Nobody'"),
    (("init", "{ws}"), "already exists"),
])
def test_bad_input_gives_one_line_and_changes_nothing(workspace: Path, args: tuple,
                                                      message: str) -> None:
    before = workspace.read_bytes()
    done = cli(*[str(a).replace("{ws}", str(workspace)) for a in args])
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert message in done.stderr
    assert workspace.read_bytes() == before


def test_demo_command_builds_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "demo.duckdb"
    done = cli("demo", path, "--people", "500")
    assert done.returncode == 0, done.stderr
    names = cli("list", path, "sources").stdout.splitlines()
    assert {"Web shop accounts", "Store loyalty cards", "Call-centre contacts",
            "Newsletter subscribers"} <= set(names)


def test_match_then_export_clusters_then_reapply_the_model(tmp_path: Path) -> None:
    from cdp_core import matching
    from cdp_core.workspace import Workspace

    path = tmp_path / "demo.duckdb"
    assert cli("demo", path, "--people", "800").returncode == 0
    done = cli("match", path)
    assert done.returncode == 0, done.stderr
    assert "clusters" in done.stdout
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    done = cli("export", path, "clusters", first)
    assert done.returncode == 0, done.stderr
    lines = first.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "source,record_id,cluster_id"
    with Workspace.open(path) as ws:
        cur = ws.cursor()
        profile_records = cur.execute("SELECT count(*) FROM demo.ground_truth").fetchone()[0]
        matching.save_model_json(matching.load_model(cur), tmp_path / "model.json")
    assert len(lines) - 1 == profile_records  # one row per profile record
    done = cli("match", path, "--model", tmp_path / "model.json")
    assert done.returncode == 0, done.stderr
    assert cli("export", path, "clusters", second).returncode == 0
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    assert cli("match", path, "--threshold", "1.5").returncode != 0
    assert "no such model file" in cli("match", path, "--model", tmp_path / "none.json").stderr
