"""Bring a file into the workspace as a new version of a source, in one transaction.

The file is staged (`cdp_core.readers`), streamed by DuckDB into a raw table, mapped onto the
canonical model (`cdp_core.mapping`), standardised (`cdp_core.standardize`) and catalogued
(`cdp_core.catalog`). Any failure rolls everything back: the workspace is as it was before.

Tables are named from the source's numeric id (``raw.s3_v2``), never from user text, so a
source called ``x"; DROP TABLE y; --`` is only ever a value.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from cdp_core import catalog, mapping, standardize
from cdp_core.errors import InputError
from cdp_core.readers import Staged, check_header, list_sheets, stage_csv, stage_file
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

Progress = Callable[[float, str], None]
MAX_NAME_LENGTH = 100
COLLECTION_MODES = ("batch", "interactive", "stream")


@dataclass(frozen=True)
class SourceMeta:
    """What a user says about a source; None keeps the saved value (or a guess for `kind`)."""

    kind: str | None = None
    department: str | None = None
    collection_mode: str | None = None
    refresh_cadence: str | None = None
    description: str | None = None
    profile_source: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """What an ingest did, for the page and the CLI to report."""

    source: str
    source_id: int
    version: int
    kind: str
    rows: int
    columns: list[str]
    mapping: list[mapping.FieldMatch]
    stats: list[standardize.RuleStat]
    changes: catalog.VersionChanges | None
    notes: list[str] = field(default_factory=list)


def check_source_name(name: str) -> str:
    """Accept any printable name (stored as plain text); refuse empty, long or control chars."""
    cleaned = name.strip()
    if not cleaned:
        raise InputError("a source needs a name")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InputError(f"source name is {len(cleaned)} characters; keep it under "
                         f"{MAX_NAME_LENGTH}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in cleaned):
        raise InputError("source name contains control characters; use plain text")
    return cleaned


# Words in column or file names that tell event sources apart (plural forms included).
_EVENT_WORDS = {
    "carts": {"panier", "paniers", "cart", "carts", "basket", "baskets"},
    "campaign_sends": {"envoi", "envois", "campagne", "campagnes", "campaign", "campaigns",
                       "send", "sends"},
    "contacts": {"appel", "appels", "call", "calls", "contact", "contacts", "motif"},
}


def guess_kind(columns: list[str], file_name: str = "") -> str:
    """Profiles unless the columns read as events (an id, a date, an amount...).

    Example:
        >>> guess_kind(["id_panier", "id_client", "date_panier", "montant"], "paniers.csv")
        'carts'
    """
    profile_hits = mapping.guess_from_names(columns, mapping.PROFILE_KIND).keys() - {
        "record_id", "created_at", "updated_at", "consent_email", "consent_sms"}
    event_hits = mapping.guess_from_names(columns, "orders").keys() & {
        "event_id", "event_at", "amount", "channel"}
    if len(event_hits) < 2 or len(profile_hits) > len(event_hits):
        return mapping.PROFILE_KIND
    words = set(mapping.normalise_name(" ".join([*columns, Path(file_name).stem])).split("_"))
    for kind, names in _EVENT_WORDS.items():
        if words & names:
            return kind
    return "orders"


class _NotUtf8Error(InputError):
    """A non-UTF-8 byte beyond the sniffed first megabyte; the file is read again as cp1252."""


def _read_error(exc: duckdb.Error, file_name: str) -> InputError:
    """DuckDB's reader error as one line naming the file and line, without the data."""
    text = str(exc)
    if "Invalid unicode" in text:
        return _NotUtf8Error(f"{file_name}: not UTF-8 beyond the first megabyte")
    line = re.search(r"on Line: (\d+)", text)
    at_line = f", line {line.group(1)}" if line else ""
    counts = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if counts:
        expected, found = int(counts.group(1)), int(counts.group(2))
        what = f"found {found}" if found < expected else "found more"
        return InputError(
            f"{file_name}{at_line}: expected {expected} columns, {what}; "
            "fix that row or quote values that contain the separator"
        )
    if "invalid state" in text or "Unterminated quote" in text or "unterminated" in text:
        return InputError(f"{file_name}{at_line}: a quote is never closed or misplaced; "
                          "check quoting in the file")
    json_at = re.search(r"(line|record) (\d+)", text)
    if "JSON" in text:
        # DuckDB 2.0 numbers the line after the one it could not parse.
        where = f", line {max(1, int(json_at.group(2)) - 1)}" if json_at else ""
        return InputError(f"{file_name}{where}: not valid JSON lines (one object per line)")
    first = text.splitlines()[0] if text else type(exc).__name__
    return InputError(f"{file_name}{at_line} could not be read: {first[:200]}")


def _check_columns(columns: list[str], staged: Staged, file_name: str) -> None:
    """Names read by DuckDB itself (Parquet, JSON) get the checks a CSV header gets."""
    if staged.columns:
        return
    if staged.file_format in ("json", "jsonl") and columns == ["json"]:
        raise InputError(f"{file_name}: each record must be a JSON object with named fields")
    check_header(columns, file_name)


def _load_raw(cur: duckdb.DuckDBPyConnection, staged: Staged, raw_table: str) -> None:
    cur.execute(f"CREATE TABLE {raw_table} AS SELECT * FROM {staged.relation_sql}",  # noqa: S608
                staged.params)


def _raw_columns(cur: duckdb.DuckDBPyConnection, raw_table: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in cur.execute(f"DESCRIBE {raw_table}").fetchall()]


def _resolve_mapping(
    cur: duckdb.DuckDBPyConnection,
    raw_table: str,
    columns: list[str],
    kind: str,
    file_mapping: Mapping[str, str] | None,
    saved: dict[str, str],
    labels: tuple[str, str],
) -> list[mapping.FieldMatch]:
    """The mapping file if given, else the source's saved mapping, else an automatic one."""
    file_label, source_label = labels
    if file_mapping is not None:
        checked = mapping.validate_mapping(file_mapping, columns, kind, file_label)
        return [mapping.FieldMatch(f, c, "file", 1.0) for f, c in checked.items()]
    if saved:
        missing = [column for column in saved.values() if column not in columns]
        if missing:
            raise InputError(
                f"{file_label} does not fit source {source_label!r}: its mapped column(s) "
                f"{', '.join(repr(c) for c in missing)} are missing (the file has "
                f"{', '.join(columns[:30])}); pass a mapping file or ingest it as a new source"
            )
        return [mapping.FieldMatch(f, c, "saved", 1.0) for f, c in saved.items()]
    return mapping.auto_map(cur, raw_table, columns, kind)


def standardise_version(
    cur: duckdb.DuckDBPyConnection,
    source_id: int,
    version: int,
    kind: str,
    matches: list[mapping.FieldMatch],
    source_name: str,
) -> list[standardize.RuleStat]:
    """(Re)build a version's standardised table from its raw table and a mapping."""
    raw_table, std_table = catalog.table_names(source_id, version)
    columns = [name for name, _ in _raw_columns(cur, raw_table)]
    mapped = {m.column for m in matches}
    reserved = {c.lower() for c in standardize.output_columns(kind != mapping.PROFILE_KIND)}
    selects = [f"CAST({quote_ident(m.column)} AS VARCHAR) AS {quote_ident(m.field)}"
               for m in matches]
    passthrough: list[str] = []
    taken = reserved | {c.lower() for c in columns if c not in mapped}
    for column in columns:
        if column in mapped:
            continue
        alias = column
        if column.lower() in reserved:
            alias = f"extra_{column}"
            while alias.lower() in taken:
                alias = f"extra_{alias}"
            taken.add(alias.lower())
        selects.append(f"{quote_ident(column)} AS {quote_ident(alias)}")
        passthrough.append(alias)
    view = quote_ident(f"_std_input_{source_id}_{version}")
    cur.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS "  # noqa: S608
                f"SELECT {', '.join(selects) or '1 AS _empty'} FROM {raw_table}")
    cur.execute(f"DROP TABLE IF EXISTS {std_table}")
    run = standardize.standardize_events if kind != mapping.PROFILE_KIND else (
        standardize.standardize_profiles)
    stats = run(cur, view, std_table, [m.field for m in matches], passthrough, source_name)
    cur.execute(f"DROP VIEW {view}")
    cur.execute("DELETE FROM meta.std_stats WHERE source_id = ? AND version = ?",
                [source_id, version])
    for stat in stats:
        cur.execute("INSERT INTO meta.std_stats VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [source_id, version, stat.field, stat.rule, stat.non_empty, stat.changed,
                     stat.rejected])
    cur.execute("DELETE FROM meta.mappings WHERE source_id = ?", [source_id])
    for match in matches:
        cur.execute("INSERT INTO meta.mappings VALUES (?, ?, ?, ?, ?)",
                    [source_id, match.field, match.column, match.origin, match.confidence])
    return stats


def _ingest_staged(
    ws: Workspace,
    staged: Staged,
    file_path: Path,
    name: str,
    meta: SourceMeta,
    file_mapping: Mapping[str, str] | None,
    progress: Progress,
) -> IngestResult:
    with ws.transaction() as cur:
        existing = catalog.find_source(cur, name)
        source_id = existing.source_id if existing else catalog.next_source_id(cur)
        version = catalog.next_version(cur, source_id)
        raw_table, _ = catalog.table_names(source_id, version)
        progress(0.1, "reading")
        try:
            _load_raw(cur, staged, raw_table)
        except (duckdb.InvalidInputException, duckdb.ConversionException,
                duckdb.IOException) as exc:
            raise _read_error(exc, file_path.name) from None
        typed_columns = _raw_columns(cur, raw_table)
        columns = [column for column, _ in typed_columns]
        _check_columns(columns, staged, file_path.name)
        rows = cur.execute(f"SELECT count(*) FROM {raw_table}").fetchone()[0]  # noqa: S608
        if rows == 0:
            raise InputError(f"{file_path.name} has a header but no rows: "
                             "export it again with its data")
        kind = meta.kind or (existing.kind if existing else guess_kind(columns, file_path.name))
        mapping.fields_for(kind)
        if existing and existing.kind != kind:
            raise InputError(f"source {name!r} holds {existing.kind}, not {kind}: "
                             "ingest this file under another name")
        progress(0.4, "mapping")
        saved = catalog.saved_mapping(cur, source_id) if existing else {}
        matches = _resolve_mapping(cur, raw_table, columns, kind, file_mapping, saved,
                                   (file_path.name, name))
        if not existing:
            catalog.create_source(cur, source_id, name, kind)
        catalog.record_version(cur, source_id, version, staged, file_path, rows, typed_columns)
        progress(0.5, "standardising")
        stats = standardise_version(cur, source_id, version, kind, matches, name)
        progress(0.8, "cataloguing")
        catalog.update_source(cur, source_id, **{
            key: value for key, value in meta.__dict__.items()
            if value is not None and key != "kind"})
        if kind != mapping.PROFILE_KIND and meta.profile_source is None and not (
                existing and existing.profile_source):
            guessed = catalog.guess_profile_source(cur, source_id, version)
            if guessed:
                catalog.update_source(cur, source_id, profile_source=guessed)
        catalog.refresh_columns(cur, source_id, version, matches)
        changes = catalog.compare_versions(cur, source_id, version - 1, version) if existing \
            else None
        ws.audit(cur, "ingest", f"source_id={source_id} version={version} rows={rows}")
    progress(1.0, "done")
    return IngestResult(name, source_id, version, kind, rows, columns, matches, stats, changes,
                        staged.notes)


def ingest_file(
    ws: Workspace,
    path: str | Path,
    source: str,
    *,
    meta: SourceMeta | None = None,
    mapping_override: Mapping[str, str] | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Ingest a file as a new version of ``source`` (created if new).

    Raises:
        InputError: the file, mapping or name cannot be accepted; the workspace is unchanged.
    """
    name = check_source_name(source)
    file_path = Path(path)
    report = progress or (lambda _fraction, _message: None)
    report(0.0, "checking the file")
    with stage_file(file_path, sheet=sheet) as staged:
        try:
            return _ingest_staged(ws, staged, file_path, name, meta or SourceMeta(),
                                  mapping_override, report)
        except _NotUtf8Error:
            if staged.encoding not in ("utf-8", "utf-8-sig"):
                raise
    # A non-UTF-8 byte past the sniffed first megabyte: read again as Windows-1252.
    with stage_csv(file_path, force_encoding="cp1252") as staged:
        return _ingest_staged(ws, staged, file_path, name, meta or SourceMeta(),
                              mapping_override, report)


def remap_source(ws: Workspace, source: str, new_mapping: Mapping[str, str]) -> list[
        standardize.RuleStat]:
    """Apply a user's corrected mapping to the source's current version, atomically."""
    with ws.transaction() as cur:
        found = catalog.require_source(cur, source)
        version = catalog.current_version(cur, found.source_id)
        raw_table, _ = catalog.table_names(found.source_id, version)
        columns = [name for name, _ in _raw_columns(cur, raw_table)]
        checked = mapping.validate_mapping(new_mapping, columns, found.kind, repr(source))
        matches = [mapping.FieldMatch(f, c, "user", 1.0) for f, c in checked.items()]
        stats = standardise_version(cur, found.source_id, version, found.kind, matches, source)
        catalog.refresh_columns(cur, found.source_id, version, matches)
        ws.audit(cur, "remap", f"source_id={found.source_id} fields={len(matches)}")
    return stats


@dataclass(frozen=True)
class FilePreview:
    """A file read but not ingested: what the Sources page shows before the user confirms."""

    columns: list[str]
    rows: pd.DataFrame
    kind: str
    proposed: list[mapping.FieldMatch]
    sheets: list[str]
    sheet: str | None
    notes: list[str]


PREVIEW_ROWS = 5_000


def preview_file(path: str | Path, *, sheet: str | None = None, kind: str | None = None,
                 shown_rows: int = 20) -> FilePreview:
    """Read the start of a file in a scratch database and propose a kind and a mapping.

    Raises:
        InputError: the file cannot be read; the message says where and why.
    """
    file_path = Path(path)
    sheets = list_sheets(file_path) if file_path.suffix.lower() in (".xlsx", ".xlsm") else []
    scratch = duckdb.connect()
    try:
        with stage_file(file_path, sheet=sheet) as staged:
            try:
                scratch.execute(f"CREATE TABLE preview AS SELECT * FROM {staged.relation_sql} "  # noqa: S608
                                f"LIMIT {PREVIEW_ROWS}", staged.params)
            except (duckdb.InvalidInputException, duckdb.ConversionException,
                    duckdb.IOException) as exc:
                error = _read_error(exc, file_path.name)
                if not isinstance(error, _NotUtf8Error):
                    raise error from None
                with stage_csv(file_path, force_encoding="cp1252") as again:
                    scratch.execute(f"CREATE TABLE preview AS SELECT * FROM "  # noqa: S608
                                    f"{again.relation_sql} LIMIT {PREVIEW_ROWS}", again.params)
        columns = [name for name, _ in _raw_columns(scratch, "preview")]
        _check_columns(columns, staged, file_path.name)
        if scratch.execute("SELECT count(*) FROM preview").fetchone()[0] == 0:
            raise InputError(f"{file_path.name} has a header but no rows: "
                             "export it again with its data")
        chosen_kind = kind or guess_kind(columns, file_path.name)
        proposed = mapping.auto_map(scratch, "preview", columns, chosen_kind)
        rows = scratch.execute(f"SELECT * FROM preview LIMIT {int(shown_rows)}").df()  # noqa: S608
        return FilePreview(columns, rows, chosen_kind, proposed, sheets, staged.sheet,
                           staged.notes)
    finally:
        scratch.close()
