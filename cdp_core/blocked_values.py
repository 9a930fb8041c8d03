"""Values that must never link two people: placeholders and values shared by too many records.

A customer base holds ``test@test.com``, ``0000000000`` and an e-mail typed for every walk-in
customer; two records sharing one prove nothing. They are detected here (placeholders by
pattern, over-shared values by count), kept in ``meta.blocked_values`` with a reason, editable
by the user, and replaced by NULL in the match input so they can never drive a link.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb
import pandas as pd

from cdp_core import catalog, mapping
from cdp_core.errors import InputError
from cdp_core.matching_settings import KEY_COLUMNS, source_selects, union_sql
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

_PLACEHOLDER_NAMES = r"^(test|xxx*|inconnu|unknown|nc|na|none|null|aucun|client)$"
_SAME_DIGIT = "|".join(f"{d}{{7,}}" for d in "0123456789")  # RE2 has no back-references
# (field, pattern on the matching key, reason). Phones are E.164, so digits follow "+".
_PLACEHOLDERS: tuple[tuple[str, str, str], ...] = (
    ("email", r"^(test|tests|testing|no-?e?mail|no-?reply|ne-?pas-?repondre|none|null|nobody|"
              r"aucun|pas-?de-?mail|x+|a|abc|admin|fake|dummy|anonymous|inconnu)@",
     "placeholder address"),
    ("email", r"@(test|example|exemple|invalid|localhost|domain|email|mail|xxx+)\.[a-z.]+$",
     "placeholder domain"),
    ("phone", f"({_SAME_DIGIT})$", "placeholder number (repeated digits)"),
    ("phone", r"(0?123456789|987654321)$", "placeholder number (digit sequence)"),
    ("first_name", _PLACEHOLDER_NAMES, "placeholder name"),
    ("last_name", _PLACEHOLDER_NAMES, "placeholder name"),
    ("birth_date", r"^(1900-01-01|1901-01-01)$", "placeholder date"),
)
# Phones as written that are one digit repeated: standardisation empties them, but the
# analyst should still see them reported.
_RAW_PHONE = ("regexp_replace({}, '[^0-9]', '', 'g')",
              "^(" + "|".join(f"{d}+" for d in "0123456789") + ")$",
              "placeholder number as written (standardisation already empties it)")
_SHARED_FIELDS = ("email", "phone")


def _placeholder_sql(relation: str, column: str, form: str) -> str:
    """Values of a column whose shaped form matches the pattern (a parameter), with counts."""
    value = f"CAST({quote_ident(column)} AS VARCHAR)"
    return (f"SELECT {value} AS value, count(*) AS records FROM {relation} "  # noqa: S608
            f"WHERE regexp_matches({form.format(value)}, ?) GROUP BY ALL")


def _shared_sql(relation: str, column: str) -> str:
    """Values held by more distinct people (first names; a nameless record counts as one
    person) than a limit (a parameter)."""
    col = quote_ident(column)
    return (f"SELECT CAST({col} AS VARCHAR) AS value, count(*) AS records, "  # noqa: S608
            f"count(DISTINCT coalesce(first_name_key, unique_id)) AS people FROM {relation} "
            f"WHERE {col} IS NOT NULL GROUP BY ALL HAVING people > ?")


def _raw_phone_columns(cur: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str]]:
    """(raw table, column) of each profile source's mapped phone column."""
    for source in catalog.all_sources(cur):
        column = catalog.saved_mapping(cur, source.source_id).get("phone")
        if source.kind == mapping.PROFILE_KIND and column:
            version = catalog.current_version(cur, source.source_id)
            yield catalog.table_names(source.source_id, version)[0], column


def detect_blocked_values(cur: duckdb.DuckDBPyConnection, max_people: int = 5) -> pd.DataFrame:
    """Values that must never drive a link: placeholders and over-shared e-mails or phones.

    Placeholders are found by pattern on the matching keys (test@test.com, no-reply@...,
    +33600000000, names like "test"), and on phones as written in the sources, which catches
    junk standardisation already emptied (0000000000): reported so the analyst sees it. An
    e-mail or phone held by more than ``max_people`` people (distinct first names) is a shared
    or fake one; families share theirs by 2 to 4.

    Returns:
        One row per value: field, value, reason, records.
    """
    keys_sql, params = union_sql(source_selects(cur, {}))
    table = quote_ident(f"_blocked_scan_{uuid.uuid4().hex}")
    cur.execute(f"CREATE TEMP TABLE {table} AS {keys_sql}", params)
    found: list[pd.DataFrame] = []
    try:
        for field_name, pattern, reason in _PLACEHOLDERS:
            rows = cur.execute(_placeholder_sql(table, KEY_COLUMNS[field_name], "{}"),
                               [pattern]).df()
            found.append(rows.assign(field=field_name, reason=reason))
        for field_name in _SHARED_FIELDS:
            rows = cur.execute(_shared_sql(table, KEY_COLUMNS[field_name]), [max_people]).df()
            reasons = [f"shared by {people} people ({records} records)"
                       for people, records in zip(rows["people"], rows["records"], strict=True)]
            found.append(rows.drop(columns="people").assign(field=field_name, reason=reasons))
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    form, pattern, reason = _RAW_PHONE
    for raw_table, column in _raw_phone_columns(cur):
        rows = cur.execute(_placeholder_sql(raw_table, column, form), [pattern]).df()
        found.append(rows.assign(field="phone", reason=reason))
    result = pd.concat(found, ignore_index=True)[["field", "value", "reason", "records"]]
    result = result.groupby(["field", "value"], as_index=False).agg(
        reason=("reason", "first"), records=("records", "max"))
    return result.sort_values(["field", "records"], ascending=[True, False], ignore_index=True)


def _value_rows(values: pd.DataFrame | Iterable[Any]) -> list[tuple[str, str, str]]:
    """(field, value, reason) from a DataFrame or an iterable of dicts or tuples."""
    if isinstance(values, pd.DataFrame):
        values = values.to_dict("records")
    rows = []
    for item in values:
        if isinstance(item, dict):
            field_name, value, reason = item["field"], item["value"], item.get("reason")
        else:
            field_name, value, *rest = item
            reason = rest[0] if rest else None
        if not str(field_name).strip() or value is None or not str(value).strip():
            raise InputError("a blocked value needs a field and a value")
        rows.append((str(field_name).strip(), str(value).strip(), str(reason or "added by hand")))
    return rows


def save_blocked_values(ws: Workspace, values: pd.DataFrame | Iterable[Any], *,
                        detected: bool = True) -> int:
    """Add (or update) blocked values; rows hold field, value and optionally reason.

    ``detected`` marks values found by `detect_blocked_values`, as opposed to typed in by a
    user. The match input must be rebuilt for them to take effect. Returns the rows written.
    """
    rows = _value_rows(values)
    with ws.transaction() as cur:
        cur.executemany("INSERT OR REPLACE INTO meta.blocked_values VALUES (?, ?, ?, ?)",
                        [[*row, detected] for row in rows])
        ws.audit(cur, "blocked values", f"saved={len(rows)} detected={detected}")
    return len(rows)


def remove_blocked_values(ws: Workspace, values: pd.DataFrame | Iterable[Any]) -> int:
    """Take values off the blocked list (rows hold field and value); return how many went."""
    rows = _value_rows(values)
    with ws.transaction() as cur:
        before = cur.execute("SELECT count(*) FROM meta.blocked_values").fetchone()[0]
        cur.executemany("DELETE FROM meta.blocked_values WHERE field = ? AND value = ?",
                        [[f, v] for f, v, _ in rows])
        removed = before - cur.execute("SELECT count(*) FROM meta.blocked_values").fetchone()[0]
        ws.audit(cur, "blocked values", f"removed={removed}")
    return removed


def blocked_values(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The blocked list: field, value, reason, detected."""
    return cur.execute("SELECT field, value, reason, detected FROM meta.blocked_values "
                       "ORDER BY field, value").df()
