"""GDPR duties on a workspace: subject access, erasure across every copy, and the audit log.

A person is a cluster of matched profile records. Their footprint is those records, in every
kept version of each profile source (raw rows as received and standardised rows), the events
whose customer reference points at them, and everything derived: match input, pairs, clusters,
labels, reviewers' decisions, golden records, segments, the demo's ground truth and profiling
reports that show sample values. Tables are found by their columns (``unique_id``,
``unique_id_l``/``unique_id_r``, ``person_id``, ``cluster_id``), so tables added later are
covered without changing this module.

A raw row is found through the raw column mapped to the record id (or customer reference);
when none is mapped, the standardised id is the row number, and the raw row is the one at the
same position: standardised tables are written in raw row order and both lose the same rows.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cdp_core import catalog, customer360, exports, mapping
from cdp_core.errors import InputError
from cdp_core.sqlutil import quote_ident
from cdp_core.standardize import trim_sql
from cdp_core.workspace import CATALOG, Workspace

__all__ = [
    "ERASURE_REASONS", "ErasureResult", "audit_actions", "audit_log", "erase", "subject_access",
    "write_subject_access",
]

# The grounds for erasure of GDPR article 17(1), as categories safe to log.
ERASURE_REASONS = ("subject_request", "consent_withdrawn", "objection", "no_longer_necessary",
                   "unlawful_processing", "legal_obligation", "child_data")
ACCESS_FORMATS = (".xlsx", ".json")
_SOURCE_SCHEMAS = ("raw", "std")
_PAIR_COLUMNS = ("unique_id_l", "unique_id_r")
_GROUND_TRUTH = ("demo", "ground_truth")
_DECISIONS = ("meta", "cluster_decisions")


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure removed: rows per kind, under an id quoted in the audit log."""

    erasure_id: str
    reason: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Footprint:
    """The person's matched records: unique ids, and record ids per source name."""

    person_id: str
    unique_ids: list[str]
    records: dict[str, list[str]]


@dataclass(frozen=True)
class _Slice:
    """The person's rows in one version of one source."""

    source: catalog.SourceInfo
    version: int
    raw_table: str
    std_table: str
    id_field: str  # record_id for profiles, customer_ref for events
    ids: list[str]

    @property
    def is_profile(self) -> bool:
        return self.source.kind == mapping.PROFILE_KIND

    def std_where(self) -> str:
        return f"list_contains(?, {quote_ident(self.id_field)})"


def _footprint(cur: duckdb.DuckDBPyConnection, person_id: str) -> _Footprint:
    """The person's records.

    Raises:
        InputError: matching has not run, or no person has this id.
    """
    if not customer360.has_people(cur):
        raise InputError("no people yet: run matching first")
    rows = cur.execute("SELECT unique_id, source, record_id FROM match.clusters "
                       "WHERE cluster_id = ? ORDER BY unique_id", [person_id]).fetchall()
    if not rows:
        raise InputError(f"no person has the id {person_id!r}: search for them again")
    records: dict[str, list[str]] = {}
    for _, source, record_id in rows:
        records.setdefault(source, []).append(record_id)
    return _Footprint(person_id, [row[0] for row in rows], records)


def _slices(cur: duckdb.DuckDBPyConnection, footprint: _Footprint) -> list[_Slice]:
    """Every kept version of every source holding the person's records or events."""
    found = []
    for source in catalog.all_sources(cur):
        if source.kind == mapping.PROFILE_KIND:
            id_field, ids = "record_id", footprint.records.get(source.name, [])
        else:
            id_field, ids = "customer_ref", footprint.records.get(source.profile_source or "", [])
        if not ids:
            continue
        versions = [row[0] for row in cur.execute(
            "SELECT version FROM meta.source_versions WHERE source_id = ? ORDER BY version",
            [source.source_id]).fetchall()]
        for version in versions:
            raw_table, std_table = catalog.table_names(source.source_id, version)
            found.append(_Slice(source, version, raw_table, std_table, id_field, ids))
    return found


def _raw_rowids_sql(cur: duckdb.DuckDBPyConnection, part: _Slice) -> str:
    """SELECT of the rowids of the raw rows behind the slice's standardised rows (one ``?``:
    the ids)."""
    column = cur.execute("SELECT column_name FROM meta.mappings WHERE source_id = ? AND field = ?",
                         [part.source.source_id, part.id_field]).fetchone()
    present = {row[0] for row in cur.execute(f"DESCRIBE {part.raw_table}").fetchall()}
    if column and column[0] in present:
        raw_id = trim_sql(quote_ident(column[0]))  # the standardisation's own id rule
        return f"SELECT rowid FROM {part.raw_table} WHERE list_contains(?, {raw_id})"  # noqa: S608
    return (
        "SELECT r.rowid FROM (SELECT rowid, row_number() OVER (ORDER BY rowid) AS pos "  # noqa: S608
        f"FROM {part.raw_table}) r JOIN (SELECT row_number() OVER (ORDER BY rowid) AS pos, "
        f"{quote_ident(part.id_field)} AS ref FROM {part.std_table}) s USING (pos) "
        "WHERE list_contains(?, s.ref)")


def _tables_by_columns(cur: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[str]]:
    """Every table of the workspace outside raw and std, with its column names."""
    tables: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in cur.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c "
            "JOIN duckdb_tables() t ON t.database_name = c.database_name "
            "AND t.schema_name = c.schema_name AND t.table_name = c.table_name "
            "WHERE c.database_name = ? AND NOT list_contains(?, c.schema_name)",
            [CATALOG, list(_SOURCE_SCHEMAS)]).fetchall():
        tables.setdefault((schema, table), set()).add(column)
    return tables


def _person_condition(table: tuple[str, str], columns: set[str]) -> tuple[str, int] | None:
    """How a derived table names the person: a condition and how many of its ``?`` take the
    unique ids (the rest take the person id); None when it does not."""
    if table in (_GROUND_TRUTH, _DECISIONS):
        return None  # their ids are of another kind: handled on their own
    if "unique_id" in columns:
        return "list_contains(?, unique_id)", 1
    if set(_PAIR_COLUMNS) <= columns:
        return "list_contains(?, unique_id_l) OR list_contains(?, unique_id_r)", 2
    if "person_id" in columns:
        return "person_id = ?", 0
    if "cluster_id" in columns:
        return "cluster_id = ?", 0
    return None


def _name(table: tuple[str, str]) -> str:
    return f"{quote_ident(table[0])}.{quote_ident(table[1])}"


def _derived_parts(cur: duckdb.DuckDBPyConnection, footprint: _Footprint
                   ) -> list[tuple[tuple[str, str], str, list[Any]]]:
    """(table, condition, parameters) of every derived table naming the person."""
    parts = []
    for table, columns in sorted(_tables_by_columns(cur).items()):
        found = _person_condition(table, columns)
        if found is None:
            continue
        condition, id_params = found
        params = [footprint.unique_ids] * id_params or [footprint.person_id]
        parts.append((table, condition, params))
    return parts


# --------------------------------------------------------------------------- subject access


def subject_access(cur: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, pd.DataFrame]:
    """Everything held about a person, part by part.

    Parts: ``profile`` (the golden record, once built), ``records`` and ``records_received``
    (standardised and raw rows of every kept version), ``events`` and ``events_received``,
    ``matching`` (pairs, labels and never/must-link rows naming their records; another
    person's record id is left blank), ``decisions`` (reviewers' decisions naming their
    records), and ``segments`` (memberships).

    Raises:
        InputError: no person has this id.
    """
    footprint = _footprint(cur, person_id)
    parts: dict[str, pd.DataFrame] = {}
    golden = customer360.golden_profile(cur, person_id)
    if golden is not None:
        parts["profile"] = pd.DataFrame([golden])
    for kind, is_profile in (("records", True), ("events", False)):
        held = [p for p in _slices(cur, footprint) if p.is_profile == is_profile]
        parts[kind] = _union(cur, [(
            f"SELECT ? AS version, * FROM {p.std_table} WHERE {p.std_where()}",  # noqa: S608
            [p.version, p.ids]) for p in held])
        parts[f"{kind}_received"] = _union(cur, [(
            f"SELECT ? AS source, ? AS version, * FROM {p.raw_table} "  # noqa: S608
            f"WHERE rowid IN ({_raw_rowids_sql(cur, p)})",
            [p.source.name, p.version, p.ids]) for p in held])
    parts["matching"] = _matching_rows(cur, footprint)
    parts["decisions"] = cur.execute(
        "SELECT decision_id, kind, array_to_string(list_filter(records, "
        "lambda r: list_contains($ids, r)), ', ') AS their_records, "
        "len(list_filter(records, lambda r: NOT list_contains($ids, r))) AS other_records, "
        "reason, decided_by, decided_at, active, undone_at FROM meta.cluster_decisions "
        "WHERE list_has_any(records, $ids) ORDER BY decision_id",
        {"ids": footprint.unique_ids}).df()
    parts["segments"] = _union(cur, [(
        f"SELECT ? AS segment, * FROM {_name(table)} WHERE person_id = ?",  # noqa: S608
        [table[1], person_id])
        for table, columns in sorted(_tables_by_columns(cur).items())
        if table[0] == "segments" and "person_id" in columns])
    return parts


def _union(cur: duckdb.DuckDBPyConnection, selects: list[tuple[str, list[Any]]]) -> pd.DataFrame:
    """The selects' rows as one frame, columns matched by name (empty when there are none)."""
    if not selects:
        return pd.DataFrame()
    sql = " UNION ALL BY NAME ".join(f"({select})" for select, _ in selects)
    return cur.execute(sql, [p for _, params in selects for p in params]).df()


def _matching_rows(cur: duckdb.DuckDBPyConnection, footprint: _Footprint) -> pd.DataFrame:
    """Rows of the pair tables naming the person's records, the other side blanked when it is
    another person's record (their record id may be an e-mail address)."""
    selects = []
    for table, columns in sorted(_tables_by_columns(cur).items()):
        if not set(_PAIR_COLUMNS) <= columns or table == _DECISIONS:
            continue
        own = ", ".join(f"CASE WHEN list_contains($ids, {c}) THEN {c} END AS {c}"
                        for c in _PAIR_COLUMNS)
        selects.append((
            f"SELECT $table AS table_name, * REPLACE ({own}) FROM {_name(table)} "  # noqa: S608
            "WHERE list_contains($ids, unique_id_l) OR list_contains($ids, unique_id_r)",
            f"{table[0]}.{table[1]}"))
    frames = [cur.execute(sql, {"ids": footprint.unique_ids, "table": name}).df()
              for sql, name in selects]
    frames = [frame for frame in frames if not frame.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_subject_access(ws: Workspace, person_id: str, path: str | Path) -> Path:
    """Write everything held about a person to ``path``: one sheet per part (.xlsx,
    formula-safe) or one JSON document (.json); atomic, and audited without personal data."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in ACCESS_FORMATS:
        raise InputError(f"{target.name}: choose a file ending in {' or '.join(ACCESS_FORMATS)}")
    parts = subject_access(ws.cursor(), person_id)
    if suffix == ".xlsx":
        exports.write_workbook(parts, target)
    else:
        document = {name: json.loads(frame.to_json(orient="records", date_format="iso"))
                    for name, frame in parts.items()}
        exports.write_text(json.dumps(document, ensure_ascii=False, indent=2), target)
    with ws.transaction() as cur:
        ws.audit(cur, "subject access export",
                 f"format={suffix[1:]} parts={len(parts)} "
                 f"rows={sum(len(frame) for frame in parts.values())}")
    return target


# --------------------------------------------------------------------------- erasure


def erase(ws: Workspace, person_id: str, reason: str) -> ErasureResult:
    """Remove a person from every table of the workspace, in one transaction.

    Args:
        ws: the workspace.
        person_id: the person (cluster) id, as search shows it.
        reason: one of `ERASURE_REASONS` (logged; a category, never free text).

    Raises:
        InputError: unknown reason or person, or a source whose raw and standardised rows do
            not line up; nothing is changed.
    """
    if reason not in ERASURE_REASONS:
        raise InputError(f"reason {reason!r}: choose one of {', '.join(ERASURE_REASONS)}")
    erasure_id = uuid.uuid4().hex[:12]
    counts: Counter[str] = Counter()
    with ws.transaction() as cur:
        footprint = _footprint(cur, person_id)
        affected = _erase_source_rows(cur, footprint, counts)
        _adjust_run_counts(cur, footprint)
        _erase_decisions(cur, footprint, counts)
        _erase_derived(cur, footprint, counts)
        for source, record_ids in footprint.records.items():
            counts["ground_truth"] += _delete(cur, "demo.ground_truth",
                                              "source = ? AND list_contains(?, record_id)",
                                              [source, record_ids])
        counts["profile_reports"] += _delete(cur, "meta.profile_reports",
                                             "list_contains(?, source_id)", [sorted(affected)])
        detail = " ".join(f"{kind}={n}" for kind, n in sorted(counts.items()))
        ws.audit(cur, "erasure", f"erasure_id={erasure_id} reason={reason} {detail}")
    return ErasureResult(erasure_id, reason, dict(counts))


def _delete(cur: duckdb.DuckDBPyConnection, table: str, condition: str,
            params: list[Any]) -> int:
    """Delete the rows meeting ``condition``; how many went."""
    return cur.execute(f"DELETE FROM {table} WHERE {condition}", params).fetchone()[0]  # noqa: S608


def _erase_source_rows(cur: duckdb.DuckDBPyConnection, footprint: _Footprint,
                       counts: Counter[str]) -> set[int]:
    """Delete the person's raw and standardised rows in every version; the source ids touched.

    Raises:
        InputError: a version's raw and standardised rows for the person differ in number.
    """
    affected = set()
    for part in _slices(cur, footprint):
        raw_rows = _delete(cur, part.raw_table, f"rowid IN ({_raw_rowids_sql(cur, part)})",
                           [part.ids])
        std_rows = _delete(cur, part.std_table, part.std_where(), [part.ids])
        if raw_rows != std_rows:
            raise InputError(
                f"source {part.source.name!r} version {part.version}: {raw_rows} raw rows but "
                f"{std_rows} standardised rows hold the person; standardise it again, then "
                "erase")
        if std_rows:
            cur.execute("UPDATE meta.source_versions SET row_count = row_count - ? "
                        "WHERE source_id = ? AND version = ?",
                        [std_rows, part.source.source_id, part.version])
            affected.add(part.source.source_id)
        counts["records" if part.is_profile else "events"] += std_rows
        counts["raw_rows"] += raw_rows
    return affected


def _adjust_run_counts(cur: duckdb.DuckDBPyConnection, footprint: _Footprint) -> None:
    """Take the person out of the latest run's figures, which the consistency check compares
    with the clusters on file."""
    cur.execute(
        "UPDATE meta.match_runs SET records = records - (SELECT count(*) FROM match.clusters "
        "WHERE cluster_id = $person), clusters = clusters - 1, pairs = pairs - (SELECT count(*) "
        "FROM match.predictions WHERE (list_contains($ids, unique_id_l) "
        "OR list_contains($ids, unique_id_r)) AND match_probability >= match_runs.threshold) "
        "WHERE run_id = (SELECT max(run_id) FROM meta.match_runs)",
        {"person": footprint.person_id, "ids": footprint.unique_ids})


def _erase_decisions(cur: duckdb.DuckDBPyConnection, footprint: _Footprint,
                     counts: Counter[str]) -> None:
    """Take the person's records out of reviewers' decisions; drop decisions left empty."""
    params = {"ids": footprint.unique_ids, "person": footprint.person_id}
    counts["decisions"] += cur.execute(
        "UPDATE meta.cluster_decisions SET records = list_filter(records, "
        "lambda r: NOT list_contains($ids, r)), cluster_id = CASE WHEN cluster_id = $person "
        "THEN NULL ELSE cluster_id END WHERE list_has_any(records, $ids) "
        "OR cluster_id = $person", params).fetchone()[0]
    _delete(cur, "meta.cluster_decisions", "len(records) < 1", [])


def _erase_derived(cur: duckdb.DuckDBPyConnection, footprint: _Footprint,
                   counts: Counter[str]) -> None:
    """Delete the person's rows from every derived table (match, meta, golden, segments...)."""
    for table, condition, params in _derived_parts(cur, footprint):
        deleted = _delete(cur, _name(table), condition, params)
        counts[table[0]] += deleted
        if table == ("golden", "profiles") and deleted:
            cur.execute("UPDATE meta.golden_builds SET profiles = profiles - ? "
                        "WHERE build_id = (SELECT max(build_id) FROM meta.golden_builds)",
                        [deleted])


# --------------------------------------------------------------------------- audit log


def audit_log(cur: duckdb.DuckDBPyConnection, actions: list[str] | None = None,
              limit: int = 500) -> pd.DataFrame:
    """The audit log, newest first: logged_at, action, detail (no personal data)."""
    return cur.execute(
        "SELECT logged_at, action, detail FROM meta.audit_log "
        "WHERE ? IS NULL OR list_contains(?, action) ORDER BY logged_at DESC LIMIT ?",
        [actions, actions, int(limit)]).df()


def audit_actions(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The actions the audit log holds, for a filter."""
    return [row[0] for row in cur.execute(
        "SELECT DISTINCT action FROM meta.audit_log ORDER BY action").fetchall()]
