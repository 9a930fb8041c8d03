"""Write tables for people: CSV, Excel or Parquet by extension, safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return) is run as a
formula by Excel and LibreOffice; every text cell that does is prefixed with a quote, so a
customer named ``=HYPERLINK(...)`` stays text. A signed number alone (an E.164 phone such as
``+33612345678``) computes nothing and is kept as it is, so an SMS platform reads it.

Example:
    >>> neutralise("=1+1"), neutralise("-2+3"), neutralise("+33612345678"), neutralise(None)
    ("'=1+1", "'-2+3", '+33612345678', None)
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from cdp_core.errors import InputError

FORMATS = (".csv", ".xlsx", ".parquet")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-]\d+(\.\d+)?")


def neutralise(value: object) -> object:
    """A text value that a spreadsheet would run as a formula, made inert."""
    if (isinstance(value, str) and value.startswith(_FORMULA_STARTS)
            and not _SIGNED_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are all formula-safe (numbers stay numbers)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    safe.columns = [str(neutralise(str(column))) for column in safe.columns]
    return safe


def write_table(frame: pd.DataFrame, path: str | Path, *, sheet_name: str = "data") -> Path:
    """Write ``frame`` in the format ``path``'s extension names, atomically.

    The file is written beside its target and renamed into place, so an interrupted export
    never leaves half a file.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{target.name}: choose an output ending in {', '.join(FORMATS)}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=".tmp_", suffix=suffix, dir=target.parent)
    os.close(handle)
    try:
        if suffix == ".parquet":
            frame.to_parquet(tmp_name, index=False)
        elif suffix == ".csv":
            neutralise_frame(frame).to_csv(tmp_name, index=False, encoding="utf-8")
        else:
            with pd.ExcelWriter(tmp_name, engine="openpyxl") as writer:
                write_sheet(writer, frame, sheet_name)
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def write_sheet(writer: pd.ExcelWriter, frame: pd.DataFrame, sheet_name: str) -> None:
    """One formula-safe sheet with readable column widths and a frozen header."""
    safe = neutralise_frame(frame)
    for column in safe.columns:
        if isinstance(safe[column].dtype, pd.DatetimeTZDtype):
            safe[column] = safe[column].dt.tz_localize(None)
    safe.to_excel(writer, sheet_name=sheet_name[:31], index=False)
    sheet = writer.sheets[sheet_name[:31]]
    sheet.freeze_panes = "A2"
    for index, column in enumerate(safe.columns, start=1):
        width = max([len(str(column)), *(len(str(v)) for v in safe[column].head(200))])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(
            60, width + 2)


def table_bytes(frame: pd.DataFrame, suffix: str, *, sheet_name: str = "data") -> bytes:
    """The file `write_table` would write, as bytes for a download button."""
    with tempfile.TemporaryDirectory(prefix="cdp_export_") as folder:
        path = write_table(frame, Path(folder) / f"table{suffix}", sheet_name=sheet_name)
        return path.read_bytes()


@contextmanager
def _atomic_target(path: str | Path, suffix: str) -> Iterator[str]:
    """A temporary file beside ``path`` to write, renamed into place when the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=".tmp_", suffix=suffix, dir=target.parent)
    os.close(handle)
    try:
        yield tmp_name
        os.replace(tmp_name, target)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


def write_workbook(frames: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """One formula-safe sheet per frame (named by its key), written atomically to ``path``.

    An empty frame still gets its sheet, so a reader sees that the part was looked for.
    """
    with _atomic_target(path, ".xlsx") as tmp_name, pd.ExcelWriter(
            tmp_name, engine="openpyxl") as writer:
        for name, frame in frames.items():
            write_sheet(writer, frame, name)
    return Path(path)


def write_text(text: str, path: str | Path) -> Path:
    """A UTF-8 text file (JSON, Markdown...) written atomically to ``path``."""
    with _atomic_target(path, Path(path).suffix) as tmp_name:
        Path(tmp_name).write_text(text, encoding="utf-8")
    return Path(path)
