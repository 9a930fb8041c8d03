"""Hostile and broken input files: each is refused clearly, or ingested correctly.

A refused file raises `InputError` whose one-line message names the file (and the line or
column where that applies) and leaves the workspace exactly as it was, both as a new source and
as a refresh of an existing one. A file that is merely awkward (BOMs, cp1252, mixed line
endings, Excel formulas...) must ingest with the right values. The corpus is in
``tests/data/bad`` (see its README); large files are generated into ``tmp_path`` here.
"""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cdp_core.errors import InputError
from cdp_core.ingest import IngestResult, ingest_file, preview_file
from cdp_core.mapping import parse_mapping_yaml
from cdp_core.readers import SNIFF_BYTES
from cdp_core.workspace import Workspace
from tests.conftest import DATA, ROOT, snapshot

BAD = DATA / "bad"
GOOD = BAD / "good_loyalty.csv"
GOOD_SOURCE = "Loyalty"
NEW_SOURCE = "New source"
MISSING = "does_not_exist.csv"
SQL_NAME = "x'); DROP TABLE meta.sources; --"


# --- files generated at test time (too large to commit) -------------------------------------

def _ascii_beyond_sniff(out_path: Path, header: bytes, row: bytes, tail: bytes) -> int:
    """A CSV whose first megabyte is pure ASCII, then ``tail``; returns the data row count."""
    rows = 0
    with out_path.open("wb") as out:
        out.write(header)
        while out.tell() <= SNIFF_BYTES + 4096:
            rows += 1
            out.write(b"%d," % rows + row)
        out.write(tail)
    return rows + tail.count(b"\n")


def make_latin1_late_accent(path: Path) -> None:
    tail = "900001,Hélène,Lefèvre,Orléans\n900002,Paul,Durand,Lyon\n".encode("latin-1")
    _ascii_beyond_sniff(path, b"num_carte,prenom,nom,ville\n", b"Jean,Dupont,Paris\n", tail)


def make_nul_after_first_mib(path: Path) -> None:
    _ascii_beyond_sniff(path, b"num_carte,prenom,nom\n", b"Jean,Dupont\n",
                        b"900001,Pa\x00ul,Durand\n")


def make_single_line_10mb(path: Path) -> None:
    path.write_bytes(b"a," * (5 << 20))


def make_wide_20000_columns(path: Path) -> None:
    width = 20_000
    header = ",".join(f"col_{i}" for i in range(width))
    rows = [",".join(str(i) for i in range(width)), ",".join("x" for _ in range(width))]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")


def make_large_csv(path: Path, target_bytes: int = 150_000_000) -> int:
    """A ~150 MB profile CSV written in blocks; returns its data row count."""
    firsts = ("Jean", "Marie", "Paul", "Hélène", "Luc")
    block, rows = 20_000, 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write("num_carte,prenom,nom,email,ville,commentaire\n")
        while out.tell() < target_bytes:
            out.write("".join(
                f"{rows + i},{firsts[i % 5]},Dupont{i % 97},user{rows + i}@example.fr,Lyon,"
                f"client fidèle depuis {1990 + i % 30} - carte {i % 7} — relance {i % 11}\n"
                for i in range(block)))
            rows += block
    return rows


GENERATED: dict[str, Callable[[Path], None]] = {
    "latin1_late_accent.csv": make_latin1_late_accent,
    "nul_after_first_mib.csv": make_nul_after_first_mib,
    "single_line_10mb.csv": make_single_line_10mb,
    "wide_20000_columns.csv": make_wide_20000_columns,
}


def corpus_file(name: str, tmp_path: Path) -> Path:
    """The corpus file ``name``: committed, generated into tmp_path, or a path that is absent."""
    if name in GENERATED:
        path = tmp_path / name
        GENERATED[name](path)
        return path
    if name == MISSING:
        return tmp_path / "no_such_folder" / name
    return BAD / name


# --- workspaces -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed workspace file holding one good source, copied by each test that needs it."""
    path = tmp_path_factory.mktemp("base") / "base.duckdb"
    with Workspace.open(path) as ws:
        ingest_file(ws, GOOD, GOOD_SOURCE)
    return path


def _copy_workspace(base: Path, target: Path) -> Path:
    for sibling in base.parent.glob(base.name + "*"):  # the file and any .wal beside it
        if sibling.is_file():
            shutil.copyfile(sibling, target.parent / sibling.name.replace(base.name,
                                                                          target.name))
    return target


@pytest.fixture
def loaded_ws(base_workspace: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A workspace where the good file was ingested as source 'Loyalty'."""
    ws = Workspace.open(_copy_workspace(base_workspace, tmp_path / "ws.duckdb"))
    yield ws
    ws.close()


def _table(ws: Workspace, source: str, which: str = "std_table") -> str:
    row = ws.cursor().execute(
        f"SELECT v.{which} FROM meta.source_versions v JOIN meta.sources s "  # noqa: S608
        "USING (source_id) WHERE s.name = ? ORDER BY v.version DESC LIMIT 1", [source]
    ).fetchone()
    assert row is not None, f"source {source!r} has no version"
    return row[0]


def _rows(ws: Workspace, source: str, which: str = "std_table") -> list[dict[str, object]]:
    """Every row of a source's latest standardised (or raw) table, as dicts."""
    order = "record_id" if which == "std_table" else "1"
    relation = ws.cursor().execute(
        f"SELECT * FROM {_table(ws, source, which)} ORDER BY {order}")  # noqa: S608
    names = [column[0] for column in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _by_id(rows: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(row["record_id"]): row for row in rows}


def _day(value: object) -> str | None:
    if value is None:
        return None
    assert isinstance(value, dt.date), value
    return value.isoformat()[:10]


# --- files that must be refused -------------------------------------------------------------

@dataclass(frozen=True)
class ErrorCase:
    """A bad input: the data file, how it is ingested, and words its message must hold."""

    file: str
    words: tuple[str, ...]
    mapping: str | None = None
    sheet: str | None = None
    source: str = NEW_SOURCE
    refresh: bool = True  # also refused as a refresh of the good source
    named: str | None = ""  # the file the message names ("" = `file`, None = no file applies)
    label: str = ""

    @property
    def id(self) -> str:
        return self.label or self.mapping or self.file

    @property
    def name_in_message(self) -> str | None:
        return Path(self.file).name if self.named == "" else self.named


ERROR_CASES: list[ErrorCase] = [
    ErrorCase("empty.csv", ("is empty", "export the data again")),
    ErrorCase("whitespace_only.csv", ("is empty", "export the data again")),
    ErrorCase("header_only.csv", ("has a header but no rows",)),
    ErrorCase("image_named.csv", ("NUL bytes", "binary file, not a text CSV")),
    ErrorCase("excel_renamed.csv", ("ZIP archive", "save it as .xlsx or export it as CSV")),
    ErrorCase("ragged_too_few.csv", ("line 4", "expected 6 columns, found 3", "fix that row")),
    ErrorCase("ragged_too_many.csv", ("line 5", "expected 6 columns, found more",
                                     "quote values")),
    ErrorCase("duplicate_columns.csv", ("'Email'", "appears twice", "columns 4 and 5",
                                        "rename one")),
    ErrorCase("empty_column_name.csv", ("column 3", "no name", "name every column")),
    ErrorCase("unterminated_quote.csv", ("line 3", "quote is never closed", "check quoting")),
    ErrorCase("nul_in_middle.csv", ("line 4", "NUL bytes")),
    ErrorCase("single_line_10mb.csv", ("first line is longer than 1 MiB",)),
    ErrorCase("broken_line.jsonl", ("line 3", "not valid JSON lines", "one object per line")),
    ErrorCase("not_objects.jsonl", ("each record must be a JSON object",)),
    ErrorCase("wide_20000_columns.csv", ("20000 columns", "up to 1000",
                                         "export only the columns you need")),
    ErrorCase("document.docx", ("unsupported file type .docx", "use .csv, .xlsx")),
    ErrorCase(MISSING, ("no such file",)),
    ErrorCase("truncated.xlsx", ("not a valid .xlsx", "save it again as .xlsx")),
    ErrorCase("zip_bomb.xlsx", ("ZIP bomb", "export the sheet as CSV")),
    ErrorCase("merged_header.xlsx", ("sheet 'Clients'", "column C", "merged cells",
                                     "name every column")),
    ErrorCase("two_sheets.xlsx", ("no sheet 'Ventes'", "its sheets are: Clients, Notes"),
              sheet="Ventes"),
    ErrorCase("not_parquet.parquet", ("not a Parquet file",)),
    ErrorCase("truncated.parquet", ("damaged or truncated Parquet file", "export it again")),
    ErrorCase("no_rows.parquet", ("has a header but no rows",)),
    ErrorCase("good_loyalty.csv", ("--sheet applies to Excel files only",), sheet="Clients",
              label="sheet_on_csv"),
    ErrorCase("other_columns.csv", ("does not fit source 'Loyalty'", "'num_carte'",
                                    "customer_code", "pass a mapping file"),
              source=GOOD_SOURCE, refresh=False),
    ErrorCase("good_loyalty.csv", ("names column 'courriel'", "not in the file",
                                   "num_carte, prenom"), mapping="mapping_missing_column.yaml"),
    ErrorCase("good_loyalty.csv", ("maps both 'first_name' and 'last_name'", "'prenom'",
                                   "one field at most"),
              mapping="mapping_two_fields_one_column.yaml"),
    ErrorCase("good_loyalty.csv", ("unknown field 'loyalty_tier'", "record_id, first_name"),
              mapping="mapping_unknown_field.yaml"),
    ErrorCase("good_loyalty.csv", ("not valid YAML", "line 3"), mapping="mapping_invalid_yaml.yaml",
              named="mapping_invalid_yaml.yaml"),
    ErrorCase("good_loyalty.csv", ("needs a name",), source="", refresh=False, named=None,
              label="source_name_empty"),
    ErrorCase("good_loyalty.csv", ("needs a name",), source=" \t ", refresh=False, named=None,
              label="source_name_blank"),
    ErrorCase("good_loyalty.csv", ("control characters",), source="Loyalty\nDROP", refresh=False,
              named=None, label="source_name_newline"),
    ErrorCase("good_loyalty.csv", ("101 characters",), source="x" * 101, refresh=False,
              named=None, label="source_name_too_long"),
]
# Cases about the file itself, which `preview_file` must refuse too.
PREVIEW_CASES = [case for case in ERROR_CASES
                 if case.mapping is None and case.named == "" and case.refresh]


def _ingest_case(ws: Workspace, case: ErrorCase, path: Path, source: str) -> IngestResult:
    override = None
    if case.mapping is not None:
        text = (BAD / case.mapping).read_text(encoding="utf-8")
        override = parse_mapping_yaml(text, case.mapping)
    return ingest_file(ws, path, source, mapping_override=override, sheet=case.sheet)


def _assert_clear(message: str, case: ErrorCase) -> None:
    assert "\n" not in message and "Traceback" not in message, message
    if case.name_in_message is not None:
        assert case.name_in_message in message, f"message does not name the file: {message}"
    for words in case.words:
        assert words in message, f"{words!r} missing from: {message}"


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda case: case.id)
def test_bad_input_is_refused_and_changes_nothing(
    case: ErrorCase, loaded_ws: Workspace, tmp_path: Path
) -> None:
    path = corpus_file(case.file, tmp_path)
    before = snapshot(loaded_ws)
    targets = [case.source, *([GOOD_SOURCE] if case.refresh else [])]
    for source in targets:
        with pytest.raises(InputError) as raised:
            _ingest_case(loaded_ws, case, path, source)
        _assert_clear(str(raised.value), case)
        assert snapshot(loaded_ws) == before, f"ingest as {source!r} changed the workspace"


@pytest.mark.parametrize("case", PREVIEW_CASES, ids=lambda case: case.id)
def test_bad_file_is_refused_by_preview(case: ErrorCase, tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        preview_file(corpus_file(case.file, tmp_path), sheet=case.sheet)
    _assert_clear(str(raised.value), case)


def test_workspace_takes_good_files_after_every_refusal(
    loaded_ws: Workspace, tmp_path: Path
) -> None:
    for case in ERROR_CASES:
        with pytest.raises(InputError):
            _ingest_case(loaded_ws, case, corpus_file(case.file, tmp_path), case.source)
    again = ingest_file(loaded_ws, GOOD, NEW_SOURCE)
    refresh = ingest_file(loaded_ws, GOOD, GOOD_SOURCE)
    assert (again.source_id, again.version, again.rows) == (2, 1, 3)
    assert (refresh.source_id, refresh.version, refresh.rows) == (1, 2, 3)


def test_zip_bomb_is_refused_without_inflating(
    loaded_ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = BAD / "zip_bomb.xlsx"
    with zipfile.ZipFile(bomb) as archive:
        expanded = sum(info.file_size for info in archive.infolist())
    assert bomb.stat().st_size < 2_000_000 and expanded > 1_000_000_000  # the corpus is right

    def no_inflating(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a member of the ZIP bomb was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", no_inflating)
    monkeypatch.setattr(zipfile.ZipFile, "read", no_inflating)
    started = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match="ZIP bomb"):
            ingest_file(loaded_ws, bomb, NEW_SOURCE)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000
    assert time.perf_counter() - started < 5


# --- awkward files that must ingest correctly -----------------------------------------------

def check_latin1_late_accent(ws: Workspace, result: IngestResult) -> None:
    assert result.rows > 40_000
    late = _by_id(_rows(ws, NEW_SOURCE))["900001"]
    assert (late["first_name"], late["last_name"], late["city"]) == ("Hélène", "Lefèvre",
                                                                      "Orléans")


def check_mixed_line_endings(ws: Workspace, result: IngestResult) -> None:
    assert result.rows == 3
    raw = [row["date_naissance"] for row in _rows(ws, NEW_SOURCE, "raw_table")]
    assert sorted(raw) == ["01/02/1980", "15/07/1975", "23/11/1990"]  # no stray \r
    births = {key: _day(row["birth_date"]) for key, row in _by_id(_rows(ws, NEW_SOURCE)).items()}
    assert births == {"1001": "1980-02-01", "1002": "1975-07-15", "1003": "1990-11-23"}


def check_utf16_bom(ws: Workspace, result: IngestResult) -> None:
    assert result.rows == 4 and result.columns[0] == "num_carte"
    row = _by_id(_rows(ws, NEW_SOURCE))["1004"]
    assert (row["first_name"], row["last_name"]) == ("Hélène", "Lefèvre")


def check_utf8_bom(ws: Workspace, result: IngestResult) -> None:
    assert result.columns[0] == "num_carte"
    stored = ws.cursor().execute(
        "SELECT column_name FROM meta.source_columns WHERE source_id = ? AND position = 0",
        [result.source_id]).fetchone()[0]
    assert stored == "num_carte"
    rows = _by_id(_rows(ws, NEW_SOURCE))
    assert sorted(rows) == ["1001", "1002", "1003", "1004"]  # num_carte mapped to record_id
    assert rows["1004"]["first_name"] == "Hélène"


def check_cp1252(ws: Workspace, result: IngestResult) -> None:
    rows = _by_id(_rows(ws, NEW_SOURCE))
    assert (rows["1001"]["first_name"], rows["1001"]["last_name"]) == ("Zoé", "Cœur")
    assert rows["1001"]["commentaire"] == "prix 12 € l’unité"
    assert rows["1002"]["commentaire"] == "l’œuf à 3 €"


def check_invalid_dates(ws: Workspace, result: IngestResult) -> None:
    rows = _by_id(_rows(ws, NEW_SOURCE))
    assert _day(rows["1002"]["birth_date"]) is None  # 31/02/2020 does not exist
    assert _day(rows["1001"]["birth_date"]) == "1980-02-01"
    rejected = ws.cursor().execute(
        "SELECT rejected FROM meta.std_stats WHERE source_id = ? AND version = ? "
        "AND field = 'birth_date'", [result.source_id, result.version]).fetchone()
    assert rejected == (1,)


def check_phone_scientific(ws: Workspace, result: IngestResult) -> None:
    phones = {key: row["phone"] for key, row in _by_id(_rows(ws, NEW_SOURCE)).items()}
    assert phones == {"1001": "+33612345678", "1002": "+33698765432", "1003": "+33611223344"}


def check_formulas_merged(ws: Workspace, result: IngestResult) -> None:
    rows = _by_id(_rows(ws, NEW_SOURCE))
    assert [rows[key]["total"] for key in ("1001", "1002", "1003")] == ["15", "10", "2"]
    assert (rows["1002"]["first_name"], rows["1002"]["last_name"]) == ("Marie", None)
    assert rows["1003"]["last_name"] == "Durand"


def check_nested_parquet(ws: Workspace, result: IngestResult) -> None:
    assert result.rows == 3
    types = dict(ws.cursor().execute(
        "SELECT column_name, column_type FROM meta.source_columns WHERE source_id = ?",
        [result.source_id]).fetchall())
    assert types["adresse"].startswith("STRUCT") and types["tags"] == "VARCHAR[]"
    rows = _by_id(_rows(ws, NEW_SOURCE))
    assert rows["1001"]["first_name"] == "Jean" and list(rows["1001"]["tags"]) == ["vip", "web"]


def check_sql_in_cells(ws: Workspace, result: IngestResult) -> None:
    comments = {key: row["commentaire"] for key, row in _by_id(_rows(ws, NEW_SOURCE)).items()}
    assert comments == {"1001": "Robert'); DROP TABLE raw.x;--",
                        "1002": 'x"; DROP TABLE meta.sources; --',
                        "1003": "'; SELECT * FROM meta.audit_log; /*"}
    assert ws.cursor().execute("SELECT count(*) FROM meta.sources").fetchone() == (2,)


def check_records_array(ws: Workspace, result: IngestResult) -> None:
    assert result.rows == 2 and result.columns == ["num_carte", "prenom"]
    names = {key: row["first_name"] for key, row in _by_id(_rows(ws, NEW_SOURCE)).items()}
    assert names == {"1001": "Jean", "1002": "Marie"}


def check_reserved_name_clash(ws: Workspace, result: IngestResult) -> None:
    # 'source' is an output column, so the file's 'source' is renamed; its own
    # 'extra_source' keeps its name and neither value is lost.
    row = _by_id(_rows(ws, NEW_SOURCE))["1001"]
    assert row["source"] == NEW_SOURCE and row["extra_source"] == "x"
    assert "web" in row.values()


def check_nul_after_first_mib(ws: Workspace, result: IngestResult) -> None:
    # Only the first MiB is checked for NUL bytes; a later one is kept as data (README).
    assert _by_id(_rows(ws, NEW_SOURCE))["900001"]["first_name"] == "Pa\x00ul"


CORRECT_CASES: dict[str, Callable[[Workspace, IngestResult], None]] = {
    "latin1_late_accent.csv": check_latin1_late_accent,
    "mixed_line_endings.csv": check_mixed_line_endings,
    "utf16_bom.csv": check_utf16_bom,
    "utf8_bom.csv": check_utf8_bom,
    "cp1252.csv": check_cp1252,
    "invalid_dates.csv": check_invalid_dates,
    "phone_scientific.csv": check_phone_scientific,
    "formulas_merged.xlsx": check_formulas_merged,
    "nested.parquet": check_nested_parquet,
    "sql_in_cells.csv": check_sql_in_cells,
    "nul_after_first_mib.csv": check_nul_after_first_mib,
    "records_array.json": check_records_array,
    "reserved_name_clash.csv": check_reserved_name_clash,
}


@pytest.mark.parametrize("name", list(CORRECT_CASES))
def test_awkward_file_ingests_correctly(name: str, loaded_ws: Workspace, tmp_path: Path) -> None:
    tables_before = set(snapshot(loaded_ws))
    result = ingest_file(loaded_ws, corpus_file(name, tmp_path), NEW_SOURCE)
    assert tables_before < set(snapshot(loaded_ws))  # nothing dropped, new tables added
    CORRECT_CASES[name](loaded_ws, result)


def test_source_name_with_sql_is_stored_as_plain_text(loaded_ws: Workspace) -> None:
    tables_before = set(snapshot(loaded_ws))
    result = ingest_file(loaded_ws, GOOD, SQL_NAME)
    cur = loaded_ws.cursor()
    assert tables_before < set(snapshot(loaded_ws))
    assert cur.execute("SELECT name FROM meta.sources ORDER BY source_id").fetchall() == [
        (GOOD_SOURCE,), (SQL_NAME,)]
    assert {row["source"] for row in _rows(loaded_ws, SQL_NAME)} == {SQL_NAME}
    assert result.source == SQL_NAME and result.rows == 3


def test_large_csv_is_streamed_not_loaded_in_python(tmp_path: Path) -> None:
    big = tmp_path / "large_150mb.csv"
    rows = make_large_csv(big)
    size = big.stat().st_size
    with Workspace.open(tmp_path / "big.duckdb") as ws:
        started = time.perf_counter()
        tracemalloc.start()
        try:
            result = ingest_file(ws, big, "Big")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.perf_counter() - started
        counted = ws.cursor().execute(
            f"SELECT count(*) FROM {_table(ws, 'Big')}").fetchone()[0]  # noqa: S608
    assert result.rows == rows == counted
    assert peak < size / 10, f"Python peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"
    print(f"{size / 1e6:.0f} MB, {rows} rows in {elapsed:.1f} s, Python peak {peak / 1e6:.1f} MB")


# --- the command line -----------------------------------------------------------------------

@dataclass(frozen=True)
class CliCase:
    """A bad ingest through the CLI: its arguments and the file its message names."""

    id: str
    file: str
    named: str | None
    source: str = NEW_SOURCE
    mapping: str | None = None
    sheet: str | None = None
    words: tuple[str, ...] = ()


CLI_CASES = [
    CliCase("empty.csv", "empty.csv", "empty.csv"),
    CliCase("image_named.csv", "image_named.csv", "image_named.csv"),
    CliCase("ragged_too_few.csv", "ragged_too_few.csv", "ragged_too_few.csv"),
    CliCase("zip_bomb.xlsx", "zip_bomb.xlsx", "zip_bomb.xlsx"),
    CliCase("two_sheets.xlsx", "two_sheets.xlsx", "two_sheets.xlsx", sheet="Ventes"),
    CliCase(MISSING, MISSING, MISSING),
    CliCase("other_columns.csv", "other_columns.csv", "other_columns.csv", source=GOOD_SOURCE),
    CliCase("mapping_unknown_field.yaml", "good_loyalty.csv", "good_loyalty.csv",
            mapping="mapping_unknown_field.yaml"),
    CliCase("mapping_invalid_yaml.yaml", "good_loyalty.csv", "mapping_invalid_yaml.yaml",
            mapping="mapping_invalid_yaml.yaml"),
    CliCase("mapping_latin1.yaml", "good_loyalty.csv", "good_loyalty.csv",
            mapping="mapping_latin1.yaml", words=("names column 'nom de région'",)),
    CliCase("source_name_empty", "good_loyalty.csv", None, source=""),
]
CLI_BY_ID = {case.id: case for case in CLI_CASES}


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stderr_lines: list[str]
    changed: bool


def _run_cli(case: CliCase, workspace: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    file_path = tmp_path / "no_such_folder" / MISSING if case.file == MISSING else BAD / case.file
    argv = [sys.executable, "-m", "cdp_core", "ingest", str(workspace), str(file_path),
            "--source", case.source]
    if case.mapping:
        argv += ["--mapping", str(BAD / case.mapping)]
    if case.sheet:
        argv += ["--sheet", case.sheet]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture(scope="module")
def cli_runs(base_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """Every CLI case, run in parallel (each on its own copy of the workspace)."""
    folder = tmp_path_factory.mktemp("cli")
    with Workspace.open(base_workspace) as ws:
        before = snapshot(ws)
    copies = {case.id: _copy_workspace(base_workspace, folder / f"ws_{i}.duckdb")
              for i, case in enumerate(CLI_CASES)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(zip(CLI_BY_ID, pool.map(
            lambda case: _run_cli(case, copies[case.id], folder), CLI_CASES), strict=True))
    runs = {}
    for case_id, process in done.items():
        with Workspace.open(copies[case_id]) as ws:
            changed = snapshot(ws) != before
        runs[case_id] = CliRun(process.returncode, process.stderr.splitlines(), changed)
    return runs


@pytest.mark.parametrize("case_id", list(CLI_BY_ID))
def test_cli_refuses_bad_input(case_id: str, cli_runs: dict[str, CliRun]) -> None:
    case, run = CLI_BY_ID[case_id], cli_runs[case_id]
    stderr = "\n".join(run.stderr_lines)
    assert run.returncode != 0, stderr
    assert "Traceback" not in stderr, stderr
    assert len(run.stderr_lines) == 1 and stderr.startswith("error: "), stderr
    for words in (case.named or "", *case.words):
        assert words in stderr, stderr
    assert not run.changed, "the CLI changed the workspace"


def test_cli_refuses_20000_columns_quickly(base_workspace: Path, tmp_path: Path) -> None:
    wide = corpus_file("wide_20000_columns.csv", tmp_path)
    workspace = _copy_workspace(base_workspace, tmp_path / "ws.duckdb")
    argv = [sys.executable, "-m", "cdp_core", "ingest", str(workspace), str(wide),
            "--source", "Wide"]
    try:
        process = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30,
                                 check=False)
    except subprocess.TimeoutExpired:
        raise AssertionError("a 20,000-column CSV took more than 30 s") from None
    assert process.returncode != 0 and "Traceback" not in process.stderr, process.stderr[-2000:]
    assert process.stderr.count("\n") == 1, process.stderr
    assert process.stderr.startswith("error: wide_20000_columns.csv has 20000 columns")
    with Workspace.open(workspace) as ws, Workspace.open(base_workspace) as base:
        assert snapshot(ws) == snapshot(base)
