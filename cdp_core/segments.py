"""Segments: named audiences over the unified profiles, sized live, saved, compared, exported.

A segment is a rule tree (`cdp_core.segment_rules`) over the *base*: one row per unified person
with the profile's fields, the computed traits and the predictive scores. Saving a segment
stores its rule and its members (``segments.members``); a dynamic segment's members are
recomputed by `refresh`, a static one keeps the snapshot taken when it was saved. Every
refresh records the size, so the page can draw sizes over time.

Exports (`export`) keep only people whose consent allows the channel, apply the marketing
pressure rule, can hash e-mails and phones for ad platforms, and write formula-safe files;
each export is recorded and audited without personal data.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from cdp_core import exports, golden, segment_rules
from cdp_core.errors import InputError
from cdp_core.segment_rules import Field
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

MODES = ("dynamic", "static")
CHANNELS = ("email", "sms", "ads", "call_centre", "store")
# What a channel needs: the consent that must be true and the contact that must be present.
CONSENT_OF = {"email": ("consent_email", "email"), "sms": ("consent_sms", "phone"),
              "ads": ("consent_email", "email")}
DEFAULT_FIELDS = {
    "email": ("person_id", "first_name", "last_name", "email"),
    "sms": ("person_id", "first_name", "phone"),
    "ads": ("person_id", "email", "phone"),
    "call_centre": ("person_id", "first_name", "last_name", "phone", "city"),
    "store": ("person_id", "first_name", "last_name", "city", "postcode"),
}
HASHABLE = ("email", "phone")
PREVIEW_FIELDS = ("person_id", "first_name", "last_name", "city", "email", "revenue",
                  "rfm_cell", "purchase_propensity")
_HIDDEN_SUFFIXES = golden.LINEAGE_SUFFIXES
PRESSURE_KEY = "activation.pressure"
_REACH_COLUMNS = ("consent_email", "email", "consent_sms", "phone")


@dataclass(frozen=True)
class Segment:
    """A saved audience: its rule tree and how it is activated."""

    name: str
    rule: dict[str, Any]
    description: str = ""
    channel: str = "email"
    mode: str = "dynamic"
    use_case: str | None = None

    def validate(self) -> Segment:
        """Self, or an InputError about the name, channel or mode (the rule is checked on
        the workspace, where its fields are known)."""
        if not segment_rules.is_text(self.name) or not self.name.strip():
            raise InputError("give the segment a name (readable text)")
        if not segment_rules.is_text(self.description or ""):
            raise InputError(f"segment {self.name!r}: the description is not readable text")
        if len(self.name) > 120:
            raise InputError(f"segment {self.name[:40]!r}...: keep the name under 120 characters")
        if self.channel not in CHANNELS:
            raise InputError(f"segment {self.name!r}: the channel is one of {', '.join(CHANNELS)}")
        if self.mode not in MODES:
            raise InputError(f"segment {self.name!r}: a segment is dynamic or static")
        if not isinstance(self.rule, Mapping):
            raise InputError(f"segment {self.name!r}: the rule is a group or a condition")
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        """A segment from its JSON or YAML form (as in the use-case library)."""
        known = {"name", "rule", "description", "channel", "mode", "use_case"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"segment {data.get('name')!r}: unknown setting {unknown[0]!r}")
        if "name" not in data or "rule" not in data:
            raise InputError("a segment needs at least a name and a rule")
        return cls(**dict(data)).validate()


# --------------------------------------------------------------------------- the base


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema, table]).fetchone()[0])


def _columns_of(cur: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, type) of a golden table's columns, in order."""
    return cur.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE "
                       "database_name = current_database() AND schema_name = 'golden' "
                       "AND table_name = ? ORDER BY column_index", [table]).fetchall()


def _base_tables(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The golden tables the base is made of: people (profiles with their traits) or, before
    the first traits refresh, profiles; then scores when they exist."""
    if not golden.has_profiles(cur):
        raise InputError("build the unified profiles first (Golden records): segments are "
                         "made of unified people")
    first = "people" if _table_exists(cur, "golden", "people") else "profiles"
    return [first, *(["scores"] if _table_exists(cur, "golden", "scores") else [])]


def fields(cur: duckdb.DuckDBPyConnection) -> dict[str, Field]:
    """Every column a segment can filter on, by name, with its kind; lineage columns and the
    person id are left out."""
    found: dict[str, Field] = {}
    for table in _base_tables(cur):
        for name, data_type in _columns_of(cur, table):
            kind = segment_rules.field_type(data_type)
            if (kind and name != "person_id" and name not in found
                    and not name.endswith(_HIDDEN_SUFFIXES)):
                found[name] = Field(name, kind)
    return found


def _base_sql(cur: duckdb.DuckDBPyConnection, needed: set[str] | None = None) -> str:
    """One row per person with the columns segments read. Scores are joined only when
    ``needed`` (None: everything) asks for one of theirs, so most sizings join nothing."""
    first, *others = _base_tables(cur)
    seen = {name for name, _ in _columns_of(cur, first)}
    joins = ""
    for table in others:
        own = [name for name, _ in _columns_of(cur, table) if name not in seen]
        if needed is None or set(own) & needed:
            seen |= set(own)
            joins += f" LEFT JOIN golden.{table} USING (person_id)"
    return f"SELECT * FROM golden.{first}{joins}"  # noqa: S608


def _reference_at(cur: duckdb.DuckDBPyConnection) -> Any:
    """The data's "today": the one the traits were computed with, else the latest event."""
    if _table_exists(cur, "golden", "people"):
        row = cur.execute("SELECT reference_at FROM meta.trait_refreshes "
                          "ORDER BY refresh_id DESC LIMIT 1").fetchone()
        if row is not None and row[0] is not None:
            return row[0]
    return golden.reference_date(cur)


@dataclass(frozen=True)
class Compiled:
    """A rule compiled on this workspace: ``WITH base AS (...) SELECT ... FROM base b WHERE``
    its condition, and every parameter (the reference date included)."""

    base: str
    condition: str
    params: dict[str, Any]

    def select(self, columns: str = "b.person_id") -> str:
        """The SELECT of the members' ``columns``."""
        return f"WITH base AS ({self.base}) SELECT {columns} FROM base b WHERE {self.condition}"  # noqa: S608


def compile_segment(cur: duckdb.DuckDBPyConnection, rule: Mapping[str, Any],
                    columns: Iterable[str] = ()) -> Compiled:
    """The rule on this workspace, checked against its fields and saved segments, over a base
    holding what the rule and ``columns`` read."""
    known = fields(cur)
    condition, params = segment_rules.compile_rule(rule, known, _saved_lookup(cur))
    if "golden.events" in condition and not _table_exists(cur, "golden", "events"):
        raise InputError("refresh the traits first (Traits page): event conditions read the "
                         "events it gathers")
    if "$reference_at" in condition:
        params["reference_at"] = _reference_at(cur)
    needed = _fields_read(cur, rule) | set(columns)
    return Compiled(_base_sql(cur, needed), condition, params)


def _fields_read(cur: duckdb.DuckDBPyConnection, rule: Mapping[str, Any]) -> set[str]:
    """Fields a rule reads, through the dynamic segments it is built on (already checked for
    circles by the compiler)."""
    found = segment_rules.fields_used(rule)
    for name in _memberships(rule):
        row = cur.execute("SELECT mode, rule FROM meta.segments WHERE name = ?",
                          [name]).fetchone()
        if row is not None and row[0] == "dynamic":
            found |= _fields_read(cur, json.loads(row[1]))
    return found


def _saved_lookup(cur: duckdb.DuckDBPyConnection) -> Callable[[str], tuple[str, Any]]:
    """How the compiler finds a saved segment: static ones by id, dynamic ones by rule."""

    def lookup(name: str) -> tuple[str, Any]:
        row = cur.execute("SELECT segment_id, mode, rule FROM meta.segments WHERE name = ?",
                          [name]).fetchone()
        if row is None:
            raise InputError(f"there is no saved segment {name!r}; save it first or pick "
                             "another")
        return ("static", row[0]) if row[1] == "static" else ("dynamic", json.loads(row[2]))
    return lookup


# --------------------------------------------------------------------------- sizing


@dataclass(frozen=True)
class Size:
    """How many people a rule selects, out of how many, and how many each channel reaches."""

    members: int
    base: int
    reachable_email: int | None
    reachable_sms: int | None

    @property
    def share(self) -> float:
        """The members' share of the whole base."""
        return self.members / self.base if self.base else 0.0


def _reachable_sql(channel: str, present: Mapping[str, Field], alias: str = "b") -> str | None:
    """A condition "consent given and contact present" for a channel, None when the
    workspace holds no such consent."""
    consent, contact = CONSENT_OF[channel]
    if consent not in present or contact not in present:
        return None
    return (f"coalesce({alias}.{consent}, false) AND nullif(trim({alias}.{contact}), '') "
            "IS NOT NULL")


def size(cur: duckdb.DuckDBPyConnection, rule: Mapping[str, Any]) -> Size:
    """The live size of a rule (what the builder shows while the user edits)."""
    compiled = compile_segment(cur, rule, _REACH_COLUMNS)
    present = fields(cur)
    reach = [_reachable_sql(channel, present) for channel in ("email", "sms")]
    columns = ", ".join(["count(*)"] + [f"count(*) FILTER ({r})" if r else "NULL"
                                        for r in reach])
    members, email, sms = cur.execute(compiled.select(columns), compiled.params).fetchone()
    base = cur.execute("SELECT count(*) FROM golden.profiles").fetchone()[0]
    return Size(int(members), int(base), email, sms)


def explain(cur: duckdb.DuckDBPyConnection, rule: Mapping[str, Any]) -> pd.DataFrame:
    """The size of each condition of the top group alone: which one empties a segment."""
    kind = next((k for k in ("all", "any") if k in rule), None)
    parts = rule[kind] if kind else [rule]
    rows = [{"condition": describe(part), "people": size(cur, part).members} for part in parts]
    return pd.DataFrame(rows, columns=["condition", "people"])


def describe(node: Mapping[str, Any]) -> str:
    """A rule in words (English), for tables, exports and the audit trail of changes."""
    if "all" in node or "any" in node:
        joiner = " and " if "all" in node else " or "
        children = node.get("all", node.get("any"))
        return "(" + joiner.join(describe(child) for child in children) + ")"
    if "not" in node:
        return f"not {describe(node['not'])}"
    if "segment" in node:
        return f"{'in' if node.get('member', True) else 'not in'} segment {node['segment']!r}"
    if "event" in node:
        words = [("did" if node.get("did", True) else "did not do"),
                 f"{node.get('at_least') or 1}+ {node['event']}"]
        if node.get("amount_gt") is not None:
            words.append(f"over {node['amount_gt']} €")
        if node.get("channel"):
            words.append(f"({node['channel']})")
        if node.get("where"):
            words.append(f"where {node['where']['property']} = {node['where']['equals']!r}")
        if node.get("within_days"):
            words.append(f"in the last {node['within_days']} days")
        return " ".join(words)
    value = node.get("value")
    shown = "" if value is None else f" {value!r}"
    return f"{node['field']} {node['op'].replace('_', ' ')}{shown}"


def preview(cur: duckdb.DuckDBPyConnection, rule: Mapping[str, Any], limit: int = 20,
            ) -> pd.DataFrame:
    """A few members with the columns a marketer recognises, highest revenue first."""
    present = fields(cur)
    shown = [c for c in PREVIEW_FIELDS if c == "person_id" or c in present]
    compiled = compile_segment(cur, rule, shown)
    order = "b.revenue DESC NULLS LAST, " if "revenue" in present else ""
    sql = (compiled.select(", ".join(f"b.{quote_ident(c)}" for c in shown))
           + f" ORDER BY {order}b.person_id LIMIT {int(limit)}")
    return cur.execute(sql, compiled.params).df()


# --------------------------------------------------------------------------- saving


def _segment_row(cur: duckdb.DuckDBPyConnection, name: str) -> tuple[Any, ...]:
    if not segment_rules.is_text(name):
        raise InputError("a segment name is readable text")
    row = cur.execute("SELECT segment_id, name, rule, description, channel, mode, use_case "
                      "FROM meta.segments WHERE name = ?", [name]).fetchone()
    if row is None:
        raise InputError(f"there is no segment {name!r}; `list WS segments` shows them")
    return row


def get(cur: duckdb.DuckDBPyConnection, name: str) -> Segment:
    """A saved segment by name."""
    _, seg_name, rule, description, channel, mode, use_case = _segment_row(cur, name)
    return Segment(seg_name, json.loads(rule), description or "", channel, mode, use_case)


def names(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """Saved segments' names, alphabetically."""
    return [row[0] for row in cur.execute("SELECT name FROM meta.segments ORDER BY name")
            .fetchall()]


def _materialise(cur: duckdb.DuckDBPyConnection, segment_id: int, rule: Mapping[str, Any],
                 ) -> None:
    """Replace a segment's members and record its size, inside the caller's transaction."""
    compiled = compile_segment(cur, rule)
    cur.execute("DELETE FROM segments.members WHERE segment_id = ?", [segment_id])
    members = compiled.select(f"{int(segment_id)}, b.person_id")
    cur.execute(f"INSERT INTO segments.members {members}", compiled.params)
    present = fields(cur)
    reach = [_reachable_sql(channel, present, "p") for channel in ("email", "sms")]
    counts = ", ".join(f"count(*) FILTER ({r})" if r else "NULL" for r in reach)
    cur.execute(f"INSERT INTO meta.segment_sizes (segment_id, size, base, reachable_email, "  # noqa: S608
                "reachable_sms) SELECT ?, count(*), (SELECT count(*) FROM golden.profiles), "
                f"{counts} "
                "FROM segments.members m JOIN golden.profiles p USING (person_id) "
                "WHERE m.segment_id = ?", [segment_id, segment_id])


def save(ws: Workspace, segment: Segment, by: str | None = None) -> int:
    """Save (or replace) a segment and compute its members now; return its id.

    The rule is checked on this workspace first; nothing is saved if it is wrong.
    """
    segment.validate()
    cur = ws.cursor()
    compile_segment(cur, segment.rule)
    with ws.transaction() as tx:
        row = tx.execute("SELECT segment_id FROM meta.segments WHERE name = ?",
                         [segment.name]).fetchone()
        if row is None:
            segment_id = tx.execute("SELECT coalesce(max(segment_id), 0) + 1 FROM meta.segments"
                                    ).fetchone()[0]
            tx.execute("INSERT INTO meta.segments (segment_id, name, description, rule, mode, "
                       "channel, use_case, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [segment_id, segment.name, segment.description,
                        json.dumps(segment.rule), segment.mode, segment.channel,
                        segment.use_case, by])
        else:
            segment_id = row[0]
            tx.execute("UPDATE meta.segments SET description = ?, rule = ?, mode = ?, "
                       "channel = ?, use_case = ?, updated_at = current_timestamp "
                       "WHERE segment_id = ?",
                       [segment.description, json.dumps(segment.rule), segment.mode,
                        segment.channel, segment.use_case, segment_id])
        _materialise(tx, segment_id, segment.rule)
        ws.audit(tx, "segment saved", f"segment_id={segment_id} mode={segment.mode}")
    return int(segment_id)


def install(ws: Workspace, segments: Iterable[Segment], by: str | None = None) -> int:
    """Save many segments in order (later ones may use earlier ones); return how many."""
    count = 0
    for segment in segments:
        save(ws, segment, by)
        count += 1
    return count


def refresh(ws: Workspace, name: str | None = None) -> int:
    """Recompute the members of one dynamic segment, or of all; return how many were
    refreshed. Static segments keep their snapshot."""
    cur = ws.cursor()
    rows = cur.execute("SELECT segment_id, rule FROM meta.segments WHERE mode = 'dynamic' "
                       "AND (? IS NULL OR name = ?) ORDER BY segment_id", [name, name]).fetchall()
    if name is not None and not rows:
        _segment_row(cur, name)  # unknown name: a clear message; a static one: nothing to do
    with ws.transaction() as tx:
        for segment_id, rule in rows:
            _materialise(tx, segment_id, json.loads(rule))
        ws.audit(tx, "segments refresh", f"segments={len(rows)}")
    return len(rows)


def delete(ws: Workspace, name: str) -> None:
    """Delete a segment, unless another one is built on it."""
    cur = ws.cursor()
    segment_id = _segment_row(cur, name)[0]
    users = [n for (n, rule) in cur.execute("SELECT name, rule FROM meta.segments "
                                            "WHERE name <> ?", [name]).fetchall()
             if name in _memberships(json.loads(rule))]
    if users:
        raise InputError(f"segment {name!r} is used by {', '.join(map(repr, users))}; change "
                         "those first")
    with ws.transaction() as tx:
        for table in ("segments.members", "meta.segment_sizes", "meta.segments"):
            tx.execute(f"DELETE FROM {table} WHERE segment_id = ?", [segment_id])  # noqa: S608
        ws.audit(tx, "segment deleted", f"segment_id={segment_id}")


def _memberships(node: Any) -> set[str]:
    """The names of the segments a rule tree is built on."""
    if not isinstance(node, Mapping):
        return set()
    found = {node["segment"]} if "segment" in node else set()
    for key in ("all", "any"):
        for child in node.get(key, []) or []:
            found |= _memberships(child)
    return found | _memberships(node.get("not"))


def saved(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved segment with its latest size and reach, for the page and `list`."""
    return cur.execute(
        "SELECT s.name, s.description, s.channel, s.mode, s.use_case, z.size, z.base, "
        "z.reachable_email, z.reachable_sms, z.refreshed_at FROM meta.segments s "
        "LEFT JOIN (SELECT * FROM meta.segment_sizes QUALIFY row_number() OVER (PARTITION BY "
        "segment_id ORDER BY refreshed_at DESC, size) = 1) z USING (segment_id) "
        "ORDER BY s.name").df()


def history(cur: duckdb.DuckDBPyConnection, names_: Iterable[str] | None = None) -> pd.DataFrame:
    """Segment sizes over time: one row per refresh."""
    chosen = list(names_) if names_ is not None else None
    return cur.execute(
        "SELECT s.name, z.refreshed_at, z.size, z.reachable_email, z.reachable_sms "
        "FROM meta.segment_sizes z JOIN meta.segments s USING (segment_id) "
        "WHERE ? IS NULL OR list_contains(?, s.name) ORDER BY s.name, z.refreshed_at",
        [chosen, chosen]).df()


def overlap(cur: duckdb.DuckDBPyConnection, names_: list[str]) -> pd.DataFrame:
    """People in both segments of each pair (the diagonal is each segment's size), over the
    saved members, in one pass: a long table (row, column, people, share of the row's
    segment)."""
    ids = [_segment_row(cur, name)[0] for name in names_]
    if not ids:
        return pd.DataFrame(columns=["row", "column", "people", "share"])
    flags = ", ".join(f"bool_or(segment_id = {int(i)}) AS s{k}" for k, i in enumerate(ids))
    sums = ", ".join(f"count(*) FILTER (s{a} AND s{b})"
                     for a in range(len(ids)) for b in range(len(ids)))
    counts = cur.execute(f"SELECT {sums} FROM (SELECT person_id, {flags} FROM segments.members "  # noqa: S608
                         "WHERE list_contains(?, segment_id) GROUP BY person_id)",
                         [ids]).fetchone()
    rows = []
    for a, row_name in enumerate(names_):
        own = counts[a * len(ids) + a]
        for b, column_name in enumerate(names_):
            people = counts[a * len(ids) + b]
            rows.append({"row": row_name, "column": column_name, "people": people,
                         "share": people / own if own else 0.0})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- activation


@dataclass(frozen=True)
class PressureRule:
    """At most ``max_messages`` campaign messages per person over ``period_days`` days."""

    max_messages: int = 4
    period_days: int = 30
    enabled: bool = True

    def validate(self) -> PressureRule:
        """Self, or an InputError: both numbers are whole and at least 1."""
        for name in ("max_messages", "period_days"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"marketing pressure: {name.replace('_', ' ')} is a whole "
                                 "number of 1 or more")
        return self


def pressure_rule(cur: duckdb.DuckDBPyConnection) -> PressureRule:
    """The workspace's marketing pressure rule (4 messages per 30 days until set)."""
    row = cur.execute("SELECT value FROM meta.settings WHERE key = ?", [PRESSURE_KEY]).fetchone()
    return PressureRule(**json.loads(row[0])) if row else PressureRule()


def save_pressure_rule(ws: Workspace, rule: PressureRule) -> None:
    """Save the marketing pressure rule applied by every export."""
    rule.validate()
    with ws.transaction() as tx:
        tx.execute("INSERT OR REPLACE INTO meta.settings (key, value) VALUES (?, ?)",
                   [PRESSURE_KEY, json.dumps(asdict(rule))])
        ws.audit(tx, "pressure rule", f"max={rule.max_messages} days={rule.period_days} "
                 f"enabled={rule.enabled}")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote and whom it left out (counts only)."""

    path: Path
    rows: int
    members: int
    excluded_consent: int
    excluded_pressure: int
    columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.rows:,} people written to {self.path.name} out of {self.members:,} "
                f"members; {self.excluded_consent:,} left out by consent, "
                f"{self.excluded_pressure:,} by marketing pressure")


def _export_columns(present: Mapping[str, Field], channel: str, chosen: Iterable[str] | None,
                    hashed: bool) -> list[str]:
    wanted = list(chosen) if chosen else list(DEFAULT_FIELDS[channel])
    unknown = [c for c in wanted if c != "person_id" and c not in present]
    if unknown:
        raise InputError(f"there is no field {unknown[0]!r} to export; pick from the list")
    columns = []
    for name in dict.fromkeys(wanted):
        if hashed and name in HASHABLE:
            columns.append(f"sha256(lower(trim(b.{quote_ident(name)}))) AS "
                           f"{quote_ident(name + '_sha256')}")
        else:
            columns.append(f"b.{quote_ident(name)}")
    return columns


def export_frame(cur: duckdb.DuckDBPyConnection, name: str, *, channel: str | None = None,
                 columns: Iterable[str] | None = None, hashed: bool = False,
                 pressure: PressureRule | None = None) -> tuple[pd.DataFrame, int, int, int]:
    """The rows an export writes, with the members' count and the numbers left out by consent
    and by pressure. Members are the saved ones (refresh a dynamic segment first)."""
    segment_id, _, _, _, saved_channel, _, _ = _segment_row(cur, name)
    channel = channel or saved_channel
    if channel not in CHANNELS:
        raise InputError(f"the channel is one of {', '.join(CHANNELS)}")
    hashed = hashed or channel == "ads"
    present = fields(cur)
    reach = _reachable_sql(channel, present) if channel in CONSENT_OF else "true"
    if reach is None:
        raise InputError(f"no source holds a {CONSENT_OF[channel][0]} consent: nobody can be "
                         f"sent {channel} messages; map that consent first")
    rule = pressure or pressure_rule(cur)
    pressured = "false"
    params: dict[str, Any] = {"segment_id": segment_id}
    if rule.enabled and _table_exists(cur, "golden", "events"):
        params |= {"max_messages": rule.max_messages, "period_days": rule.period_days,
                   "reference_at": _reference_at(cur)}
        pressured = ("b.person_id IN (SELECT person_id FROM golden.events WHERE kind = "
                     "'campaign_sends' AND event_at > CAST($reference_at AS TIMESTAMP) "
                     "- to_days($period_days) "
                     "GROUP BY person_id HAVING count(*) >= $max_messages)")
    selected = _export_columns(present, channel, columns, hashed)
    flagged = (f"WITH base AS ({_base_sql(cur)}), flagged AS (SELECT b.*, ({reach}) AS _ok, "  # noqa: S608
               f"({pressured}) AS _pressured FROM base b WHERE b.person_id IN (SELECT person_id "
               "FROM segments.members WHERE segment_id = $segment_id)) ")
    counts = cur.execute(flagged + "SELECT count(*), count(*) FILTER (NOT _ok), count(*) "  # noqa: S608
                         "FILTER (_ok AND _pressured) FROM flagged", params).fetchone()
    frame = cur.execute(flagged + f"SELECT {', '.join(selected)} FROM flagged b "  # noqa: S608
                        "WHERE _ok AND NOT _pressured ORDER BY b.person_id", params).df()
    return frame, int(counts[0]), int(counts[1]), int(counts[2])


def export_file_name(name: str, suffix: str) -> str:
    """A safe file name for a segment's export: letters, digits, dashes and underscores only.

    Example:
        >>> export_file_name("Web-to-store / Lyon", ".csv")
        'segment_Web-to-store_Lyon.csv'
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^\w-]+", "_", ascii_name, flags=re.ASCII).strip("_")[:60] or "members"
    return f"segment_{stem}{suffix}"


def export(ws: Workspace, name: str, path: str | Path, *, channel: str | None = None,
           columns: Iterable[str] | None = None, hashed: bool = False,
           pressure: PressureRule | None = None, by: str | None = None) -> ExportResult:
    """Write a segment's reachable members to CSV, Excel or Parquet (by extension).

    A dynamic segment is refreshed first, so the file holds today's members. The export is
    recorded in meta.segment_exports and the audit log, with counts only.
    """
    cur = ws.cursor()
    target = Path(path)
    if target.suffix.lower() not in exports.FORMATS:
        raise InputError(f"{target.name}: choose an output ending in "
                         f"{', '.join(exports.FORMATS)}")
    if get(cur, name).mode == "dynamic":
        refresh(ws, name)
    frame, members, no_consent, pressured = export_frame(
        cur, name, channel=channel, columns=columns, hashed=hashed, pressure=pressure)
    written = exports.write_table(frame, target, sheet_name="segment")
    segment_id = _segment_row(cur, name)[0]
    used_channel = channel or get(cur, name).channel
    with ws.transaction() as tx:
        export_id = tx.execute("SELECT coalesce(max(export_id), 0) + 1 FROM "
                               "meta.segment_exports").fetchone()[0]
        tx.execute("INSERT INTO meta.segment_exports (export_id, segment_id, channel, "
                   "file_format, hashed, rows, excluded_consent, excluded_pressure, exported_by) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [export_id, segment_id, used_channel, target.suffix.lower().lstrip("."),
                    hashed or used_channel == "ads", len(frame), no_consent, pressured, by])
        ws.audit(tx, "segment export", f"export_id={export_id} segment_id={segment_id} "
                 f"rows={len(frame)} excluded_consent={no_consent} "
                 f"excluded_pressure={pressured}")
    return ExportResult(written, len(frame), members, no_consent, pressured, list(frame.columns))


def exports_log(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every export made, newest first, with the segment's name."""
    return cur.execute("SELECT e.exported_at, s.name, e.channel, e.file_format, e.hashed, "
                       "e.rows, e.excluded_consent, e.excluded_pressure, e.exported_by "
                       "FROM meta.segment_exports e LEFT JOIN meta.segments s USING (segment_id) "
                       "ORDER BY e.export_id DESC").df()


def top_values(cur: duckdb.DuckDBPyConnection, name: str, limit: int = 50) -> list[Any]:
    """The most frequent values of a text or list field, for the builder's pick lists."""
    known = fields(cur)
    if name not in known or known[name].type not in ("text", "list"):
        return []
    column = f"b.{quote_ident(name)}"
    value = f"unnest({column})" if known[name].type == "list" else column
    sql = (f"WITH base AS ({_base_sql(cur, {name})}) SELECT v FROM (SELECT {value} AS v "  # noqa: S608
           f"FROM base b) WHERE v IS NOT NULL AND trim(v) <> '' GROUP BY v "
           f"ORDER BY count(*) DESC, v LIMIT {int(limit)}")
    return [row[0] for row in cur.execute(sql).fetchall()]
