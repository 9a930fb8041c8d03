"""The data catalogue: sources, their versions, and what each column is and is worth.

Per source: kind, owning department, collection mode (batch, interactive or stream, as the CDP
literature classifies them), refresh cadence, description, versions. Per column: semantic type,
PII class (direct identifier, quasi-identifier, not personal), description, owner, tags, and
quality scores: completeness, validity (by semantic type), uniqueness; per source, freshness.
Detected values are refreshed at each ingest; what a user edited is kept.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from cdp_core import mapping
from cdp_core.errors import InputError
from cdp_core.readers import Staged
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

PII_CLASSES = ("direct identifier", "quasi-identifier", "not personal")
SEMANTIC_TYPES = (
    "identifier", "customer reference", "person name", "email", "phone", "birth date",
    "civility", "address", "postcode", "city", "country", "consent", "date", "timestamp",
    "amount", "number", "category", "text",
)
_FIELD_TYPES = {
    "record_id": ("identifier", "direct identifier"),
    "first_name": ("person name", "quasi-identifier"),
    "last_name": ("person name", "direct identifier"),
    "full_name": ("person name", "direct identifier"),
    "email": ("email", "direct identifier"),
    "phone": ("phone", "direct identifier"),
    "birth_date": ("birth date", "quasi-identifier"),
    "civility": ("civility", "quasi-identifier"),
    "street": ("address", "direct identifier"),
    "postcode": ("postcode", "quasi-identifier"),
    "city": ("city", "quasi-identifier"),
    "country": ("country", "quasi-identifier"),
    "consent_email": ("consent", "not personal"),
    "consent_sms": ("consent", "not personal"),
    "created_at": ("date", "not personal"),
    "updated_at": ("date", "not personal"),
    "event_id": ("identifier", "not personal"),
    "customer_ref": ("customer reference", "direct identifier"),
    "event_at": ("timestamp", "not personal"),
    "amount": ("amount", "not personal"),
    "channel": ("category", "not personal"),
}
_SHAPE_TYPES = {"email": ("email", "direct identifier"), "phone": ("phone", "direct identifier"),
                "date": ("date", "not personal")}
_DATE_FIELDS = ("updated_at", "created_at", "event_at")
EDITABLE = ("semantic_type", "pii_class", "description", "owner", "tags")


@dataclass(frozen=True)
class SourceInfo:
    """A source's row in the catalogue."""

    source_id: int
    name: str
    kind: str
    department: str | None
    collection_mode: str | None
    refresh_cadence: str | None
    description: str | None
    profile_source: str | None


@dataclass(frozen=True)
class VersionChanges:
    """What changed between two versions of a source, as an analyst checks on a refresh."""

    rows_before: int
    rows_after: int
    added: list[str]
    removed: list[str]
    retyped: list[str]


def table_names(source_id: int, version: int) -> tuple[str, str]:
    """Quoted raw and standardised table names of a version (built from ids, never names).

    Example:
        >>> table_names(3, 2)
        ('raw."s3_v2"', 'std."s3_v2"')
    """
    table = quote_ident(f"s{int(source_id)}_v{int(version)}")
    return f"raw.{table}", f"std.{table}"


_SOURCE_COLUMNS = ("source_id, name, kind, department, collection_mode, refresh_cadence, "
                   "description, profile_source")


def find_source(cur: duckdb.DuckDBPyConnection, name: str) -> SourceInfo | None:
    """The source called ``name`` (exact text), or None."""
    row = cur.execute(f"SELECT {_SOURCE_COLUMNS} FROM meta.sources WHERE name = ?",  # noqa: S608
                      [name]).fetchone()
    return SourceInfo(*row) if row else None


def require_source(cur: duckdb.DuckDBPyConnection, name: str) -> SourceInfo:
    """The source called ``name``, or an error listing the sources that exist."""
    found = find_source(cur, name)
    if found is None:
        names = [row[0] for row in cur.execute("SELECT name FROM meta.sources ORDER BY name")
                 .fetchall()]
        known = ", ".join(repr(n) for n in names) or "none yet"
        raise InputError(f"no source named {name!r}; sources: {known}")
    return found


def all_sources(cur: duckdb.DuckDBPyConnection) -> list[SourceInfo]:
    """Every source, profiles first, then by name."""
    rows = cur.execute(f"SELECT {_SOURCE_COLUMNS} FROM meta.sources "  # noqa: S608
                       "ORDER BY kind <> 'profiles', name").fetchall()
    return [SourceInfo(*row) for row in rows]


def next_source_id(cur: duckdb.DuckDBPyConnection) -> int:
    """A fresh source id."""
    return cur.execute("SELECT coalesce(max(source_id), 0) + 1 FROM meta.sources").fetchone()[0]


def next_version(cur: duckdb.DuckDBPyConnection, source_id: int) -> int:
    """The number the next ingest of this source gets (versions are never reused)."""
    row = cur.execute("SELECT last_version + 1 FROM meta.sources WHERE source_id = ?",
                      [source_id]).fetchone()
    return row[0] if row else 1


def current_version(cur: duckdb.DuckDBPyConnection, source_id: int) -> int:
    """The latest version still held: the one matching and segments use."""
    query = "SELECT max(version) FROM meta.source_versions WHERE source_id = ?"
    version = cur.execute(query, [source_id]).fetchone()[0]
    if version is None:
        raise InputError(f"source {source_id} has no data; ingest a file first")
    return version


def create_source(cur: duckdb.DuckDBPyConnection, source_id: int, name: str, kind: str) -> None:
    """Register a new source (metadata is set with `update_source`)."""
    cur.execute("INSERT INTO meta.sources (source_id, name, kind, collection_mode) "
                "VALUES (?, ?, ?, 'batch')", [source_id, name, kind])


def update_source(cur: duckdb.DuckDBPyConnection, source_id: int, **fields: str | None) -> None:
    """Set a source's descriptive metadata; unknown keys and bad values are refused."""
    allowed = {"department", "collection_mode", "refresh_cadence", "description",
               "profile_source"}
    for key, value in fields.items():
        if key not in allowed:
            raise InputError(f"unknown source property {key!r}")
        if key == "collection_mode" and value not in ("batch", "interactive", "stream"):
            raise InputError(f"collection mode {value!r}: use batch, interactive or stream")
        if key == "profile_source" and value is not None:
            target = require_source(cur, value)
            if target.kind != mapping.PROFILE_KIND:
                raise InputError(f"{value!r} is not a profile source")
        cur.execute(f"UPDATE meta.sources SET {quote_ident(key)} = ? "  # noqa: S608
                    "WHERE source_id = ?", [value, source_id])


def record_version(
    cur: duckdb.DuckDBPyConnection,
    source_id: int,
    version: int,
    staged: Staged,
    file_path: Path,
    rows: int,
    typed_columns: Sequence[tuple[str, str]],
) -> None:
    """Store a version's provenance and schema."""
    raw_table, std_table = table_names(source_id, version)
    cur.execute(
        "INSERT INTO meta.source_versions (source_id, version, raw_table, std_table, file_name, "
        "file_format, encoding, delimiter, sheet, file_bytes, row_count) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [source_id, version, raw_table, std_table, file_path.name, staged.file_format,
         staged.encoding, staged.delimiter, staged.sheet, file_path.stat().st_size, rows])
    cur.execute("UPDATE meta.sources SET last_version = ? WHERE source_id = ?",
                [version, source_id])
    cur.executemany("INSERT INTO meta.source_columns VALUES (?, ?, ?, ?, ?)",
                    [[source_id, version, position, name, column_type]
                     for position, (name, column_type) in enumerate(typed_columns)])


def saved_mapping(cur: duckdb.DuckDBPyConnection, source_id: int) -> dict[str, str]:
    """The mapping saved with a source, in canonical field order."""
    rows = dict(cur.execute("SELECT field, column_name FROM meta.mappings WHERE source_id = ?",
                            [source_id]).fetchall())
    kind = cur.execute("SELECT kind FROM meta.sources WHERE source_id = ?",
                       [source_id]).fetchone()[0]
    return {field: rows[field] for field in mapping.fields_for(kind) if field in rows}


def mapping_details(cur: duckdb.DuckDBPyConnection, source_id: int) -> pd.DataFrame:
    """The saved mapping with how each field was found and how sure it was."""
    return cur.execute("SELECT field, column_name, origin, confidence FROM meta.mappings "
                       "WHERE source_id = ?", [source_id]).df()


def guess_profile_source(
    cur: duckdb.DuckDBPyConnection, source_id: int, version: int
) -> str | None:
    """The profile source whose record ids the event source's customer refs match most."""
    _, events = table_names(source_id, version)
    best, best_hits = None, 0
    for source in all_sources(cur):
        if source.kind != mapping.PROFILE_KIND:
            continue
        _, profiles = table_names(source.source_id, current_version(cur, source.source_id))
        hits = cur.execute(
            f"SELECT count(DISTINCT e.customer_ref) FROM {events} e "  # noqa: S608
            f"JOIN {profiles} p ON p.record_id = e.customer_ref").fetchone()[0]
        if hits > best_hits:
            best, best_hits = source.name, hits
    return best


def _detected_type(field: str | None, column_type: str, shapes: dict[str, float],
                   distinct_ratio: float | None) -> tuple[str, str]:
    if field:
        return _FIELD_TYPES[field]
    best = max(shapes.items(), key=lambda kv: kv[1], default=("", 0.0))
    if best[1] >= 0.8 and best[0] in _SHAPE_TYPES:
        return _SHAPE_TYPES[best[0]]
    upper = column_type.upper()
    if any(word in upper for word in ("INT", "DOUBLE", "DECIMAL", "FLOAT", "REAL")):
        return "number", "not personal"
    if "DATE" in upper or "TIME" in upper:
        return "date", "not personal"
    if distinct_ratio is not None and distinct_ratio < 0.05:
        return "category", "not personal"
    return "text", "not personal"


def _column_stats_sql(raw_table: str, columns: Sequence[str], keys: set[str]) -> str:
    """Filled and distinct counts per column: exact for keys, approximate (HyperLogLog) else."""
    parts = ["count(*) AS total"]
    for index, column in enumerate(columns):
        value = f"nullif(trim(CAST({quote_ident(column)} AS VARCHAR)), '')"
        distinct = "count(DISTINCT {})" if column in keys else "approx_count_distinct({})"
        parts.append(f"count({value}) AS filled_{index}")
        parts.append(f"{distinct.format(value)} AS distinct_{index}")
    return f"SELECT {', '.join(parts)} FROM {raw_table}"  # noqa: S608


def refresh_columns(
    cur: duckdb.DuckDBPyConnection,
    source_id: int,
    version: int,
    matches: Sequence[mapping.FieldMatch],
) -> None:
    """Detect types and PII classes and score every column of a version, in one pass.

    Validity of a mapped column is the share of its values standardisation accepted; of an
    unmapped one, the share with the shape its type expects (when it has one).
    """
    raw_table, _ = table_names(source_id, version)
    typed = cur.execute(f"DESCRIBE {raw_table}").fetchall()
    columns = [row[0] for row in typed]
    keys = {m.column for m in matches if m.field in ("record_id", "event_id")}
    stats = cur.execute(_column_stats_sql(raw_table, columns, keys)).fetchone()
    total = stats[0] or 0
    shapes = mapping.value_shapes(cur, raw_table, columns)
    field_of = {m.column: m.field for m in matches}
    rejected = dict(cur.execute(
        "SELECT field, 1 - sum(rejected) / greatest(sum(non_empty), 1) FROM meta.std_stats "
        "WHERE source_id = ? AND version = ? GROUP BY field", [source_id, version]).fetchall())
    edited = {row[0] for row in cur.execute(
        "SELECT column_name FROM meta.catalog_columns WHERE source_id = ? AND edited",
        [source_id]).fetchall()}
    cur.execute("DELETE FROM meta.catalog_columns WHERE source_id = ? AND NOT edited",
                [source_id])
    cur.execute("DELETE FROM meta.column_quality WHERE source_id = ? AND version = ?",
                [source_id, version])
    for index, (column, column_type, *_) in enumerate(typed):
        filled, distinct = stats[1 + 2 * index], stats[2 + 2 * index]
        field = field_of.get(column)
        ratio = distinct / filled if filled else None
        semantic, pii = _detected_type(field, column_type, shapes.get(column, {}), ratio)
        validity = rejected.get(field) if field else None
        if validity is None and semantic in _SHAPE_TYPES and column in shapes:
            validity = shapes[column].get(semantic, None)
        completeness = filled / total if total else None
        uniqueness = min(1.0, ratio) if ratio is not None else None
        cur.execute("INSERT INTO meta.column_quality VALUES (?, ?, ?, ?, ?, ?)",
                    [source_id, version, column, completeness, validity, uniqueness])
        if column in edited:
            cur.execute("UPDATE meta.catalog_columns SET field = ? "
                        "WHERE source_id = ? AND column_name = ?", [field, source_id, column])
        else:
            cur.execute("INSERT INTO meta.catalog_columns (source_id, column_name, field, "
                        "semantic_type, pii_class) VALUES (?, ?, ?, ?, ?)",
                        [source_id, column, field, semantic, pii])


def column_catalogue(cur: duckdb.DuckDBPyConnection, source_id: int) -> pd.DataFrame:
    """One row per column of the current version: what it is and its quality scores."""
    version = current_version(cur, source_id)
    return cur.execute(
        "SELECT c.column_name AS column, c.field, c.semantic_type, c.pii_class, c.description, "
        "c.owner, c.tags, q.completeness, q.validity, q.uniqueness "
        "FROM meta.source_columns s "
        "JOIN meta.catalog_columns c "
        "  ON c.source_id = s.source_id AND c.column_name = s.column_name "
        "LEFT JOIN meta.column_quality q ON q.source_id = s.source_id AND q.version = s.version "
        "  AND q.column_name = s.column_name "
        "WHERE s.source_id = ? AND s.version = ? ORDER BY s.position",
        [source_id, version]).df()


def edit_column(ws: Workspace, source: str, column: str, **values: str | None) -> None:
    """Save a user's description, owner, tags, semantic type or PII class for a column."""
    for key, value in values.items():
        if key not in EDITABLE:
            raise InputError(f"{key!r} cannot be edited; editable: {', '.join(EDITABLE)}")
        if key == "pii_class" and value not in PII_CLASSES:
            raise InputError(f"PII class {value!r}: use one of {', '.join(PII_CLASSES)}")
        if key == "semantic_type" and value not in SEMANTIC_TYPES:
            raise InputError(f"semantic type {value!r}: use one of {', '.join(SEMANTIC_TYPES)}")
    with ws.transaction() as cur:
        found = require_source(cur, source)
        exists = cur.execute("SELECT count(*) FROM meta.catalog_columns "
                             "WHERE source_id = ? AND column_name = ?",
                             [found.source_id, column]).fetchone()[0]
        if not exists:
            raise InputError(f"source {source!r} has no column {column!r}")
        for key, value in values.items():
            cur.execute(f"UPDATE meta.catalog_columns SET {quote_ident(key)} = ?, "  # noqa: S608
                        "edited = true WHERE source_id = ? AND column_name = ?",
                        [value, found.source_id, column])


def freshness_days(cur: duckdb.DuckDBPyConnection, source_id: int) -> float | None:
    """Age in days of the newest record when the current version was ingested."""
    version = current_version(cur, source_id)
    _, std_table = table_names(source_id, version)
    present = {row[0] for row in cur.execute(f"DESCRIBE {std_table}").fetchall()}
    dates = [quote_ident(c) for c in _DATE_FIELDS if c in present]
    if not dates:
        return None
    newest = " , ".join(f"max({d})" for d in dates)
    query = (f"SELECT date_diff('hour', greatest({newest}), (SELECT ingested_at FROM "  # noqa: S608
             "meta.source_versions WHERE source_id = ? AND version = ?)) / 24.0 "
             f"FROM {std_table}")
    age = cur.execute(query, [source_id, version]).fetchone()[0]
    return None if age is None else max(0.0, float(age))


def freshness_score(age_days: float | None) -> float | None:
    """1 for data from the last day, falling linearly to 0 at a year old.

    Example:
        >>> freshness_score(0.5), round(freshness_score(182.5), 2), freshness_score(900)
        (1.0, 0.5, 0.0)
    """
    if age_days is None:
        return None
    return 1.0 if age_days <= 1 else max(0.0, 1.0 - age_days / 365.0)


def source_overview(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per source: metadata, current version, rows and its quality scores."""
    rows = []
    for source in all_sources(cur):
        version = current_version(cur, source.source_id)
        facts = cur.execute(
            "SELECT v.row_count, v.file_name, v.ingested_at, avg(q.completeness), "
            "avg(q.validity), (SELECT count(*) FROM meta.source_versions w "
            "WHERE w.source_id = v.source_id) "
            "FROM meta.source_versions v LEFT JOIN meta.column_quality q "
            "ON q.source_id = v.source_id AND q.version = v.version "
            "WHERE v.source_id = ? AND v.version = ? "
            "GROUP BY v.row_count, v.file_name, v.ingested_at, v.source_id",
            [source.source_id, version]).fetchone()
        id_column = "record_id" if source.kind == mapping.PROFILE_KIND else "event_id"
        unique = cur.execute(
            "SELECT q.uniqueness FROM meta.column_quality q JOIN meta.mappings m "
            "ON m.source_id = q.source_id AND m.column_name = q.column_name "
            "WHERE q.source_id = ? AND q.version = ? AND m.field = ?",
            [source.source_id, version, id_column]).fetchone()
        age = freshness_days(cur, source.source_id)
        rows.append({
            "source": source.name, "kind": source.kind, "department": source.department,
            "collection_mode": source.collection_mode, "refresh_cadence": source.refresh_cadence,
            "profile_source": source.profile_source, "version": version,
            "versions": facts[5], "rows": facts[0], "file": facts[1], "ingested_at": facts[2],
            "completeness": facts[3], "validity": facts[4],
            "uniqueness": unique[0] if unique else None,
            "freshness_days": age, "freshness": freshness_score(age),
        })
    return pd.DataFrame(rows)


def versions(cur: duckdb.DuckDBPyConnection, source_id: int) -> pd.DataFrame:
    """Every version held of a source, newest first."""
    return cur.execute(
        "SELECT version, file_name, file_format, encoding, delimiter, sheet, row_count, "
        "file_bytes, ingested_at FROM meta.source_versions WHERE source_id = ? "
        "ORDER BY version DESC", [source_id]).df()


def compare_versions(
    cur: duckdb.DuckDBPyConnection, source_id: int, before: int, after: int
) -> VersionChanges | None:
    """Columns added, removed or retyped and row counts between two versions (None if absent)."""
    def schema(version: int) -> tuple[int, dict[str, str]] | None:
        row = cur.execute("SELECT row_count FROM meta.source_versions "
                          "WHERE source_id = ? AND version = ?", [source_id, version]).fetchone()
        if row is None:
            return None
        columns = dict(cur.execute(
            "SELECT column_name, column_type FROM meta.source_columns "
            "WHERE source_id = ? AND version = ? ORDER BY position",
            [source_id, version]).fetchall())
        return row[0], columns

    old, new = schema(before), schema(after)
    if old is None or new is None:
        return None
    return VersionChanges(
        rows_before=old[0], rows_after=new[0],
        added=[c for c in new[1] if c not in old[1]],
        removed=[c for c in old[1] if c not in new[1]],
        retyped=[c for c in new[1] if c in old[1] and new[1][c] != old[1][c]],
    )


def drop_version(ws: Workspace, source: str, version: int) -> None:
    """Delete one version of a source; the last remaining version cannot be dropped."""
    with ws.transaction() as cur:
        found = require_source(cur, source)
        held = [row[0] for row in cur.execute(
            "SELECT version FROM meta.source_versions WHERE source_id = ?",
            [found.source_id]).fetchall()]
        if version not in held:
            raise InputError(f"source {source!r} has no version {version}")
        if len(held) == 1:
            raise InputError(f"version {version} is the only one of {source!r}: "
                             "drop the source instead")
        _drop_tables(cur, found.source_id, [version])
        ws.audit(cur, "drop version", f"source_id={found.source_id} version={version}")


def drop_source(ws: Workspace, source: str) -> None:
    """Delete a source, all its versions and its catalogue entries."""
    with ws.transaction() as cur:
        found = require_source(cur, source)
        held = [row[0] for row in cur.execute(
            "SELECT version FROM meta.source_versions WHERE source_id = ?",
            [found.source_id]).fetchall()]
        _drop_tables(cur, found.source_id, held)
        for table in ("mappings", "catalog_columns", "sources"):
            cur.execute(f"DELETE FROM meta.{table} WHERE source_id = ?",  # noqa: S608
                        [found.source_id])
        ws.audit(cur, "drop source", f"source_id={found.source_id}")


def _drop_tables(cur: duckdb.DuckDBPyConnection, source_id: int, held: Sequence[int]) -> None:
    for version in held:
        for table in table_names(source_id, version):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        for meta_table in ("source_versions", "source_columns", "std_stats", "column_quality",
                           "profile_reports"):
            cur.execute(f"DELETE FROM meta.{meta_table} "  # noqa: S608
                        "WHERE source_id = ? AND version = ?", [source_id, version])


def data_dictionary(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every column of every source's current version, as a data dictionary."""
    frames = []
    for source in all_sources(cur):
        frame = column_catalogue(cur, source.source_id)
        frame.insert(0, "source", source.name)
        frame.insert(1, "department", source.department)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def edit_source(ws: Workspace, source: str, **fields: str | None) -> None:
    """Save a user's changes to a source's descriptive metadata."""
    with ws.transaction() as cur:
        found = require_source(cur, source)
        update_source(cur, found.source_id, **fields)


def standardisation_stats(cur: duckdb.DuckDBPyConnection, source_id: int,
                          version: int) -> pd.DataFrame:
    """What each standardisation rule changed and rejected in a version."""
    return cur.execute(
        "SELECT field, rule, non_empty, changed, rejected, "
        "1 - rejected / greatest(non_empty, 1) AS validity "
        "FROM meta.std_stats WHERE source_id = ? AND version = ? ORDER BY field",
        [source_id, version]).df()


def consistency_problems(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """What is wrong in a workspace's sources, one sentence each (empty when consistent).

    Every version must have its raw and standardised tables with the row count on record, every
    source at least one version, and no raw or standardised table may be left unrecorded.
    """
    problems = []
    tables = {f"{schema}.{quote_ident(name)}" for schema, name in cur.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name IN ('raw', 'std')").fetchall()}
    recorded = cur.execute("SELECT source_id, version, raw_table, std_table, row_count "
                           "FROM meta.source_versions").fetchall()
    for source_id, version, raw_table, std_table, rows in recorded:
        for table in (raw_table, std_table):
            if table not in tables:
                problems.append(f"source {source_id} version {version}: table {table} missing")
                continue
            held = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
            if held != rows:
                problems.append(f"{table} holds {held} rows, {rows} on record")
    known = {t for _, _, raw, std, _ in recorded for t in (raw, std)}
    problems += [f"table {t} belongs to no recorded version" for t in sorted(tables - known)]
    orphans = cur.execute("SELECT name FROM meta.sources s WHERE NOT EXISTS (SELECT 1 FROM "
                          "meta.source_versions v WHERE v.source_id = s.source_id)").fetchall()
    problems += [f"source {name!r} has no version" for (name,) in orphans]
    return problems + _matching_problems(cur)


def _matching_problems(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The clusters on file must be those of the latest matching run on record."""
    last = cur.execute("SELECT run_id, records, clusters FROM meta.match_runs "
                       "ORDER BY run_id DESC LIMIT 1").fetchone()
    if last is None:
        return []
    exists = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                         "current_database() AND schema_name = 'match' "
                         "AND table_name = 'clusters'").fetchone()[0]
    if not exists:
        return [f"matching run {last[0]} is on record but match.clusters is missing"]
    held = cur.execute("SELECT count(*), count(DISTINCT cluster_id) FROM match.clusters"
                       ).fetchone()
    if tuple(held) != (last[1], last[2]):
        return [f"match.clusters holds {held[0]} records in {held[1]} clusters; run {last[0]} "
                f"recorded {last[1]} in {last[2]}"]
    return []
