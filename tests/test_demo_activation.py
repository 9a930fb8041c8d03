"""The demo ships the use-case library's segments, ready to export from the command line."""
from __future__ import annotations

from pathlib import Path

import duckdb
import openpyxl
import pytest

from cdp_core import segments, use_cases
from cdp_core.workspace import Workspace
from tests.test_cli import cli

CONSENT_OF = {"email": "consent_email", "ads": "consent_email", "sms": "consent_sms"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("activated") / "demo.duckdb"
    done = cli("demo", path, "--people", "800")
    assert done.returncode == 0, done.stderr
    return path


def test_list_segments_names_every_segment_of_the_library(demo: Path) -> None:
    listed = cli("list", demo, "segments").stdout.splitlines()
    library = [s.name for u in use_cases.load_library() for s in u.segments]
    assert sorted(listed) == sorted(library) and len(listed) >= 15


def test_every_segment_exports_a_clean_workbook_of_consented_members(demo: Path,
                                                                    tmp_path: Path) -> None:
    names = cli("list", demo, "segments").stdout.splitlines()
    first = cli("export", demo, "segment", names[0], tmp_path / "first.xlsx")
    assert first.returncode == 0, first.stderr
    assert "people written to first.xlsx" in first.stdout
    with Workspace.open(demo) as ws:
        for index, name in enumerate(names):
            segments.export(ws, name, tmp_path / f"{index}.xlsx")
    with duckdb.connect(str(demo), read_only=True) as con:
        channels = dict(con.execute("SELECT name, channel FROM meta.segments").fetchall())
        for index, name in enumerate(names):
            sheet = openpyxl.load_workbook(tmp_path / f"{index}.xlsx").active
            assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
            header = [c.value for c in sheet[1]]
            people = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
            assert header[0] == "person_id"
            consent = CONSENT_OF.get(channels[name])
            if consent is None:
                continue
            refused = con.execute(
                f"SELECT count(*) FROM golden.profiles WHERE list_contains(?, person_id) "  # noqa: S608
                f"AND NOT coalesce({consent}, false)", [people]).fetchone()[0]
            assert refused == 0, name
            if channels[name] == "ads":
                assert "email" not in header and "email_sha256" in header
