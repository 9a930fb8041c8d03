"""Recognise a source file and stage it so DuckDB can stream it into a table.

CSV files are sniffed (encoding, delimiter, header) on their first megabyte and then read by
DuckDB's own reader with every option explicit: auto-detection silently drops ragged files,
explicit options make DuckDB report the faulty line. Files DuckDB cannot read directly (cp1252
text, mixed line endings, Excel sheets) are converted once, streaming, into a temporary UTF-8
CSV or Parquet file. Nothing here writes to the workspace.

Example:
    >>> detect_format("clients.CSV")
    'csv'
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from cdp_core.errors import InputError

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

SNIFF_BYTES = 1 << 20
MAX_COLUMNS = 1_000
csv.field_size_limit(SNIFF_BYTES * 16)  # a wide header is one long field for a wrong delimiter
DELIMITERS = (",", ";", "\t", "|")
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx",
           ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}
# DuckDB decodes these itself; anything else is transcoded to UTF-8 first.
_NATIVE_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "latin-1": "latin-1"}
_XLSX_MAX_UNCOMPRESSED = 4 << 30
_XLSX_MAX_RATIO = 150
_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Staged:
    """A file ready for DuckDB: the table function to select from, and how it was read."""

    relation_sql: str
    params: list[object]
    file_format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    notes: list[str] = field(default_factory=list)


def detect_format(path: str | Path) -> str:
    """The format a file's extension announces (its content is checked when staged)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"{Path(path).name}: unsupported file type {suffix or '(none)'}; "
            "use .csv, .xlsx, .parquet, .json or .jsonl"
        )
    return FORMATS[suffix]


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


def _refuse_binary(name: str, head: bytes) -> None:
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{name} is a ZIP archive (an Excel file renamed?), not a CSV: "
            "save it as .xlsx or export it as CSV"
        )
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        line = head[: head.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            f"{name}, line {line}: NUL bytes found; this is a binary file, not a text CSV"
        )


def sniff_encoding(head: bytes) -> str:
    """Guess a text file's encoding from its first bytes.

    Example:
        >>> sniff_encoding("Hélène".encode("latin-1")), sniff_encoding("Hélène".encode())
        ('latin-1', 'utf-8')
    """
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is not a fault.
        if exc.start >= len(head) - 3 and exc.reason == "unexpected end of data":
            return "utf-8"
    # Bytes 0x80-0x9F are control characters in latin-1 but € œ ’ … in Windows cp1252.
    return "cp1252" if re.search(rb"[\x80-\x9f]", head) else "latin-1"


def sniff_delimiter(lines: list[str]) -> str:
    """The candidate splitting the first lines into the same number of fields, most fields first.

    Example:
        >>> sniff_delimiter(["nom;prenom;ville", "Dupont;Jean;Lyon, France"])
        ';'
    """
    best, best_key = ",", (0, 0)
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(1 for count in counts if count == counts[0])
        key = (agreeing, counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def check_header(names: list[str], name: str, where: str = "column") -> list[str]:
    """Refuse empty and duplicate column names and too-wide files, saying what to do."""
    if len(names) > MAX_COLUMNS:
        raise InputError(
            f"{name} has {len(names)} columns; the workbench takes up to {MAX_COLUMNS}: "
            "export only the columns you need"
        )
    cleaned = [column.strip() for column in names]
    for position, column in enumerate(cleaned, start=1):
        if not column:
            raise InputError(
                f"{name}: {where} {position} of the header has no name; name every column"
            )
    seen: dict[str, int] = {}
    for position, column in enumerate(cleaned, start=1):
        key = column.lower()
        if key in seen:
            raise InputError(
                f"{name}: column name {column!r} appears twice (columns {seen[key]} and "
                f"{position}); rename one of them"
            )
        seen[key] = position
    return cleaned


def _text_head(path: Path, head: bytes, encoding: str) -> list[str]:
    cut = head if len(head) < SNIFF_BYTES else head[: head.rfind(b"\n") + 1]
    if not cut.strip():
        raise InputError(
            f"{path.name}: the first line is longer than 1 MiB; is this really a CSV file?"
        )
    text = cut.decode(encoding, errors="replace")
    return text.splitlines()[:200]


def _mixed_line_endings(head: bytes) -> bool:
    crlf = head.count(b"\r\n")
    return (0 < crlf < head.count(b"\n")) or (head.count(b"\r") > crlf)


def read_text_file(path: Path) -> str:
    """A small text file (a mapping file) in whatever encoding it was saved in."""
    data = path.read_bytes()
    if b"\x00" in data:
        raise InputError(f"{path.name} is not a text file")
    try:
        return data.decode(sniff_encoding(data))
    except UnicodeDecodeError:
        return data.decode("latin-1")


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> None:
    """Stream a text file into UTF-8 with LF line endings, a few MiB at a time."""
    with (
        path.open("r", encoding=encoding, newline=None, errors="strict") as source,
        target.open("w", encoding="utf-8", newline="\n") as out,
    ):
        while chunk := source.read(4 << 20):
            out.write(chunk)


def _csv_relation(path: Path, encoding: str, delimiter: str, columns: list[str]) -> Staged:
    sql = (
        "read_csv(?, delim = ?, encoding = ?, header = true, auto_detect = false, "
        "quote = '\"', escape = '\"', strict_mode = true, columns = ?)"
    )
    column_types = {column: "VARCHAR" for column in columns}
    return Staged(sql, [str(path), delimiter, encoding, column_types], "csv", columns)


@contextmanager
def stage_csv(path: Path, *, force_encoding: str | None = None) -> Iterator[Staged]:
    """Sniff a CSV and yield how DuckDB reads it, transcoding first when it must."""
    head = _head(path)
    if not head.strip():
        raise InputError(f"{path.name} is empty: export the data again")
    _refuse_binary(path.name, head)
    encoding = force_encoding or sniff_encoding(head)
    lines = _text_head(path, head, encoding)
    delimiter = sniff_delimiter(lines)
    header = next(csv.reader(io.StringIO(lines[0] + "\n"), delimiter=delimiter))
    columns = check_header([header[0].lstrip("\ufeff"), *header[1:]], path.name)
    if len(lines) < 2 or not any(line.strip() for line in lines[1:]):
        raise InputError(f"{path.name} has a header but no rows: export it again with its data")
    notes = [f"encoding {encoding}", f"delimiter {delimiter!r}"]
    native = _NATIVE_ENCODINGS.get(encoding)
    if native and not _mixed_line_endings(head):
        staged = _csv_relation(path, native, delimiter, columns)
        yield Staged(**{**staged.__dict__, "encoding": encoding, "delimiter": delimiter,
                        "notes": notes})
        return
    with tempfile.TemporaryDirectory(prefix="cdp_stage_") as tmp:
        target = Path(tmp) / "utf8.csv"
        try:
            transcode_to_utf8(path, encoding, target)
        except UnicodeDecodeError:
            transcode_to_utf8(path, "latin-1", target)
            encoding = "latin-1"
        staged = _csv_relation(target, "utf-8", delimiter, columns)
        yield Staged(**{**staged.__dict__, "encoding": encoding, "delimiter": delimiter,
                        "notes": [*notes, "converted to UTF-8"]})


def _check_zip(path: Path) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise InputError(
            f"{path.name} is not a valid .xlsx file (not a ZIP archive): open it in Excel and "
            "save it again as .xlsx"
        ) from None
    total = sum(info.file_size for info in archive.infolist())
    packed = max(1, sum(info.compress_size for info in archive.infolist()))
    if total > _XLSX_MAX_UNCOMPRESSED or total / packed > _XLSX_MAX_RATIO:
        raise InputError(
            f"{path.name} expands to {total / 1e9:.1f} GB ({total / packed:.0f}x its size): "
            "refused as a possible ZIP bomb; export the sheet as CSV instead"
        )
    return archive


def _open_workbook(path: Path) -> Workbook:
    import openpyxl

    _check_zip(path).close()
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputError(
            f"{path.name} cannot be read as an Excel workbook ({type(exc).__name__}): "
            "open it in Excel and save it again as .xlsx"
        ) from None


def list_sheets(path: str | Path) -> list[str]:
    """The sheets of an .xlsx workbook, in order."""
    workbook = _open_workbook(Path(path))
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def cell_text(value: object) -> str | None:
    """An Excel cell as the text a CSV export would hold (integers without '.0').

    Example:
        >>> cell_text(612345678.0), cell_text(dt.datetime(2020, 3, 5)), cell_text(" ")
        ('612345678', '2020-03-05', None)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _largest_sheet(workbook: Workbook) -> str:
    def cells(sheet: ReadOnlyWorksheet) -> int:
        return (sheet.max_row or 0) * (sheet.max_column or 0)

    return max(workbook.worksheets, key=cells).title


def _sheet_rows(sheet: ReadOnlyWorksheet) -> Iterator[list[str | None]]:
    for row in sheet.iter_rows(values_only=True):
        yield [cell_text(value) for value in row]


def _column_letter(position: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(position)


def _excel_header(path: Path, sheet_name: str, row: list[str | None]) -> list[str]:
    while row and row[-1] is None:
        row = row[:-1]
    for position, value in enumerate(row, start=1):
        if value is None:
            raise InputError(
                f"{path.name}, sheet {sheet_name!r}: column {_column_letter(position)} of the "
                "header row is empty (merged cells?); name every column"
            )
    return check_header([str(value) for value in row], f"{path.name}, sheet {sheet_name!r}")


@contextmanager
def stage_xlsx(path: Path, sheet: str | None) -> Iterator[Staged]:
    """Convert one sheet (the largest when none is named) to a temporary Parquet file."""
    workbook = _open_workbook(path)
    try:
        if sheet is not None and sheet not in workbook.sheetnames:
            raise InputError(
                f"{path.name} has no sheet {sheet!r}; its sheets are: "
                f"{', '.join(workbook.sheetnames)}"
            )
        sheet_name = sheet or _largest_sheet(workbook)
        rows = _sheet_rows(workbook[sheet_name])
        columns: list[str] | None = None
        for values in rows:
            if any(value is not None for value in values):
                columns = _excel_header(path, sheet_name, values)
                break
        if columns is None:
            raise InputError(f"{path.name}, sheet {sheet_name!r} is empty")
        with tempfile.TemporaryDirectory(prefix="cdp_stage_") as tmp:
            target = Path(tmp) / "sheet.parquet"
            written = _write_parquet(rows, columns, target)
            if written == 0:
                raise InputError(f"{path.name}, sheet {sheet_name!r} has a header but no rows: "
                                 "export it again with its data")
            notes = [f"sheet {sheet_name!r} of {len(workbook.sheetnames)}"]
            yield Staged("read_parquet(?)", [str(target)], "xlsx", columns, sheet=sheet_name,
                         notes=notes)
    finally:
        workbook.close()


def _write_parquet(rows: Iterator[list[str | None]], columns: list[str], target: Path) -> int:
    """Write rows in batches so a large sheet never sits in memory whole."""
    schema = pa.schema([(column, pa.string()) for column in columns])
    width = len(columns)
    written = 0
    with pq.ParquetWriter(target, schema) as writer:
        batch: list[list[str | None]] = []
        for values in rows:
            if all(value is None for value in values):
                continue
            batch.append((values + [None] * width)[:width])
            if len(batch) >= _BATCH_ROWS:
                writer.write_table(_batch_table(batch, schema))
                written += len(batch)
                batch = []
        if batch:
            writer.write_table(_batch_table(batch, schema))
            written += len(batch)
    return written


def _batch_table(batch: list[list[str | None]], schema: pa.Schema) -> pa.Table:
    columns = list(zip(*batch, strict=True))
    return pa.Table.from_arrays([pa.array(col, pa.string()) for col in columns], schema=schema)


@contextmanager
def stage_file(path: str | Path, *, sheet: str | None = None) -> Iterator[Staged]:
    """Check a file exists and is what its extension says, and yield it staged for DuckDB."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; check the path and the file name")
    file_format = detect_format(path)
    if path.stat().st_size == 0:
        raise InputError(f"{path.name} is empty: export the data again")
    if sheet is not None and file_format != "xlsx":
        raise InputError(f"{path.name}: --sheet applies to Excel files only")
    if file_format == "csv":
        with stage_csv(path) as staged:
            yield staged
    elif file_format == "xlsx":
        with stage_xlsx(path, sheet) as staged:
            yield staged
    elif file_format == "parquet":
        if not _head(path).startswith(b"PAR1"):
            raise InputError(f"{path.name} is not a Parquet file (no PAR1 magic bytes)")
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowInvalid, OSError):
            raise InputError(f"{path.name} is a damaged or truncated Parquet file: "
                             "export it again") from None
        yield Staged("read_parquet(?)", [str(path)], "parquet", check_header(names, path.name))
    else:
        _refuse_binary(path.name, _head(path))
        layout = "newline_delimited" if file_format == "jsonl" else "auto"
        yield Staged(f"read_json(?, format = '{layout}')", [str(path)], file_format, [])
