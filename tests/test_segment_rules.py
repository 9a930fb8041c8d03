"""Segment rule trees: the compiled SQL selects exactly what the documented meaning says.

The main property builds random rule trees (nested all / any / not, every operator of every
kind of field, event conditions, memberships) over a table of people whose column names and
values are hostile (quotes, semicolons, SQL words, unicode, emoji, empty and missing values),
and checks that DuckDB selects exactly the people a reference filter written here in plain
Python selects, following the documented semantics rather than the SQL.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import operator
import random
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp_core import segment_rules, segments
from cdp_core.errors import InputError
from cdp_core.mapping import EVENT_KINDS
from cdp_core.segment_rules import OPERATORS, Field, compile_rule, contradictions
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace
from tests.conftest import snapshot

# --------------------------------------------------------------------------- the people

# Column names as users' files may have them: quotes, spaces, semicolons, SQL, unicode.
TEXT_EXOTIC = 'prénom "surnom"'
TEXT = "ville; DROP TABLE base; --"
KEYWORD = "SELECT"
NUMBER = "montant' OR '1'='1"
COUNT = "nb d'achats 🛒"
DAY = "naissance)) --"
STAMP = 'créé le "ts"'
FLAG = "opt-in /* oui */"
TAGS = "b.person_id, tags"
COLUMN_TYPES = {TEXT_EXOTIC: "VARCHAR", TEXT: "VARCHAR", KEYWORD: "VARCHAR", NUMBER: "DOUBLE",
                COUNT: "BIGINT", DAY: "DATE", STAMP: "TIMESTAMP", FLAG: "BOOLEAN",
                TAGS: "VARCHAR[]"}
KINDS = {TEXT_EXOTIC: "text", TEXT: "text", KEYWORD: "text", NUMBER: "number", COUNT: "number",
         DAY: "date", STAMP: "date", FLAG: "boolean", TAGS: "list"}

# Python's str.lower uses Unicode's full and context-sensitive case mappings, DuckDB's lower()
# the simple one-to-one mapping. They differ on exactly two letters: 'İ' (U+0130, Python gives
# 'i' + U+0307 COMBINING DOT ABOVE, DuckDB a plain 'i') and 'Σ' (U+03A3, which Python lowers to
# the final form 'ς' at the end of a word, DuckDB always to 'σ'). The case-insensitive
# operators (contains, starts_with) are therefore only tried on columns and values without
# these two letters; the exact operators see them (in TEXT_EXOTIC).
CASE_MAPPING_EXCEPTIONS = frozenset("İΣ")
CASE_INSENSITIVE = ("contains", "starts_with")

TEXTS: list[str | None] = [
    None, "", " ", "   ", "\t", "\n", "\u00a0", "\u3000 \u2003", "Lyon", "lyon", "LYON",
    "Lyon ", " lyon", "O'Brien", "o'brien", 'dit "le chef"', "a;b", "; DROP TABLE x; --",
    "Robert'); DROP TABLE base;--", "SELECT", "select * from base", "NULL", "null", "%", "_",
    "100%", "a_b", "\\", "\\'", "Zoë", "ZOË", "Ærøskøbing", "ŒUVRE", "œuvre", "straße",
    "STRASSE", "ǅemal", "日本語", "😀", "👍🏽 ok", "Ελληνικά", "ﬁn", "$p0", "$reference_at",
    "?", "'", '"', "--", "/*", "*/", "a\x00b",
]
EXOTIC_TEXTS: list[str | None] = [*TEXTS, "İstanbul", "istanbul", "ΟΔΟΣ", "οδος", "ὈΔΥΣΣΕΎΣ"]
NUMBERS: list[float | None] = [None, 0.0, -0.0, 1.5, -1.5, 2.0, 3.0, 49.99, 50.0, 50.01, 1e-9,
                               1e15, -1e15, 123456.789]
# Whole numbers exactly representable as doubles (DuckDB compares a BIGINT with a double
# through a double; Python compares exactly: both agree on these).
COUNTS: list[int | None] = [None, 0, 1, 2, 3, -1, 50, 10**12, -(2**62)]
DAYS: list[dt.date | None] = [
    None, dt.date(1900, 1, 1), dt.date(1979, 3, 1), dt.date(1980, 2, 29), dt.date(1981, 2, 28),
    dt.date(1990, 12, 31), dt.date(1991, 1, 1), dt.date(2000, 2, 29), dt.date(2022, 12, 31),
    dt.date(2023, 1, 1), dt.date(2023, 2, 28), dt.date(2023, 3, 1), dt.date(2023, 12, 1),
    dt.date(2023, 12, 31), dt.date(2024, 1, 1), dt.date(2024, 1, 30), dt.date(2024, 2, 28),
    dt.date(2024, 2, 29), dt.date(2024, 3, 1), dt.date(2024, 12, 31), dt.date(2025, 1, 1),
    dt.date(2025, 1, 2), dt.date(2030, 6, 15),
]
FLAGS: list[bool | None] = [None, True, False]
TAG_LISTS: list[list[str | None] | None] = [
    None, [], ["Web"], ["web", "Store; DROP TABLE x"], [None, "a"], ["'", '"'], ["😀"],
    ["Lyon", "lyon", ""], [" "],
]
# The data's "today": leap days, year ends, the day after a 28 February.
REFERENCES = [dt.datetime(2024, 2, 29, 18, 30), dt.datetime(2023, 2, 28, 23, 59, 59),
              dt.datetime(2024, 3, 1, 0, 0), dt.datetime(2023, 12, 31, 12, 0),
              dt.datetime(2025, 1, 1, 0, 0), dt.datetime(2024, 2, 28, 9, 0)]


def _people() -> list[dict[str, Any]]:
    """About eighty people: every pool value appears, combined at random (fixed seed)."""
    rng = random.Random(20240229)
    people = []
    for index in range(80):
        def pick(pool: list[Any], i: int = index) -> Any:
            return pool[i] if i < len(pool) else rng.choice(pool)

        day = pick(DAYS)
        stamp = (None if day is None or index % 7 == 0 else
                 dt.datetime.combine(rng.choice([d for d in DAYS if d]),
                                     rng.choice([dt.time(0, 0), dt.time(12, 30),
                                                 dt.time(23, 59, 59, 999000)])))
        people.append({
            "person_id": f"P{index:03d}" + ("'" if index % 11 == 0 else ""),
            TEXT_EXOTIC: pick(EXOTIC_TEXTS[::-1]), TEXT: pick(TEXTS),
            KEYWORD: rng.choice(TEXTS), NUMBER: pick(NUMBERS), COUNT: pick(COUNTS), DAY: day,
            STAMP: stamp, FLAG: pick(FLAGS), TAGS: pick(TAG_LISTS),
        })
    return people


PEOPLE = _people()

# Events, timed backwards from the reference date so that every window edge is crossed: an
# event exactly N days before the reference is outside "the last N days", one second later
# is inside.
_OFFSETS = [dt.timedelta(seconds=s) for s in (0, 1, 3600)] + [
    dt.timedelta(hours=47, minutes=59), dt.timedelta(hours=48), dt.timedelta(days=1),
    dt.timedelta(days=7), dt.timedelta(days=30) - dt.timedelta(seconds=1),
    dt.timedelta(days=30), dt.timedelta(days=30, seconds=1), dt.timedelta(days=90),
    dt.timedelta(days=365), dt.timedelta(days=400), dt.timedelta(days=1000)]
_PROPS: list[dict[str, str]] = [
    {}, {"statut": "abandoned"}, {"statut": "converted"}, {"statut": "ABANDONED"},
    {"magasin": "Lyon; DROP TABLE x; --"}, {"clé 'x'": 'valeur "y"'}, {"motif": "😀"},
    {"": ""}, {"magasin": "Paris", "statut": "abandoned"},
]
PROP_KEYS = sorted({key for props in _PROPS for key in props} | {"absent"})
PROP_VALUES = sorted({value for props in _PROPS for value in props.values()})


def _events() -> list[dict[str, Any]]:
    """Every kind at every offset at least once, then more at random (fixed seed)."""
    rng = random.Random(7)
    timings = [(kind, offset) for kind in EVENT_KINDS for offset in _OFFSETS]
    timings += [(rng.choice(EVENT_KINDS), rng.choice(_OFFSETS)) for _ in range(120)]
    events = []
    for index, (kind, offset) in enumerate(timings):
        channel = {"orders": rng.choice(["web", "store"]), "carts": "web"}.get(kind)
        events.append({
            "person_id": PEOPLE[rng.randrange(40)]["person_id"], "kind": kind,
            "channel_group": channel, "event_id": f"E{index}", "before": offset,
            "amount": rng.choice([None, 0.0, 49.99, 50.0, 50.01, 120.5]),
            "props": rng.choice(_PROPS)})
    return events


EVENTS = _events()

# Saved segments the trees may use: a static snapshot and a dynamic rule, hostile names both.
STATIC_NAME = "Robert'); DROP TABLE base;--"
STATIC_ID = 7
STATIC_MEMBERS = frozenset(person["person_id"] for person in PEOPLE[::3])
DYNAMIC_NAME = 'VIP "gold" 😀 ; --'
DYNAMIC_RULE: dict[str, Any] = {"any": [
    {"field": TEXT, "op": "contains", "value": "lyon"},
    {"all": [{"field": NUMBER, "op": "gt", "value": 10},
             {"not": {"field": FLAG, "op": "eq", "value": True}}]},
    {"event": "orders", "did": True, "at_least": 2},
]}


def lookup(name: str) -> tuple[str, Any]:
    """The saved segments as the compiler sees them."""
    if name == STATIC_NAME:
        return "static", STATIC_ID
    if name == DYNAMIC_NAME:
        return "dynamic", DYNAMIC_RULE
    raise InputError(f"there is no saved segment {name!r}")


@pytest.fixture(scope="module")
def people_db() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with the people as table ``base``, their events as golden.events
    (a view timed from a one-row clock, set per example) and the static segment's members."""
    con = duckdb.connect()
    columns = ", ".join(f"{quote_ident(name)} {kind}" for name, kind in COLUMN_TYPES.items())
    con.execute(f"CREATE TABLE base (person_id VARCHAR, {columns})")
    con.executemany(f"INSERT INTO base VALUES (?{', ?' * len(COLUMN_TYPES)})",  # noqa: S608
                    [[person["person_id"], *(person[name] for name in COLUMN_TYPES)]
                     for person in PEOPLE])
    con.execute("CREATE TABLE clock (now TIMESTAMP)")
    con.execute("INSERT INTO clock VALUES (NULL)")
    con.execute("CREATE TABLE event_rows (person_id VARCHAR, kind VARCHAR, channel_group "
                "VARCHAR, event_id VARCHAR, before INTERVAL, amount DOUBLE, "
                "prop_keys VARCHAR[], prop_values VARCHAR[])")
    con.executemany("INSERT INTO event_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [[e["person_id"], e["kind"], e["channel_group"], e["event_id"],
                      e["before"], e["amount"], list(e["props"]), list(e["props"].values())]
                     for e in EVENTS])
    con.execute("CREATE SCHEMA golden")
    con.execute("CREATE VIEW golden.events AS SELECT person_id, 'demo' AS source, kind, "
                "channel_group, event_id, (SELECT now FROM clock) - before AS event_at, amount, "
                "map(prop_keys, prop_values) AS props FROM event_rows")
    con.execute("CREATE SCHEMA segments")
    con.execute("CREATE TABLE segments.members (segment_id BIGINT, person_id VARCHAR)")
    con.executemany("INSERT INTO segments.members VALUES (?, ?)",
                    [[STATIC_ID, person_id] for person_id in sorted(STATIC_MEMBERS)])
    con.execute("INSERT INTO segments.members VALUES (99, 'P001')")  # another segment's member
    yield con
    con.close()


def base_fields(con: duckdb.DuckDBPyConnection) -> dict[str, Field]:
    """The fields of ``base`` as the builder would offer them (through field_type)."""
    rows = con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                       "WHERE table_name = 'base' AND column_name <> 'person_id'").fetchall()
    return {name: Field(name, segment_rules.field_type(data_type)) for name, data_type in rows}


def select(con: duckdb.DuckDBPyConnection, rule: Mapping[str, Any],
           reference: dt.datetime) -> set[str]:
    """The person ids the compiled rule selects in DuckDB."""
    sql, params = compile_rule(rule, base_fields(con), lookup)
    if "$reference_at" in sql:
        params = {**params, "reference_at": reference}
    con.execute("UPDATE clock SET now = ?", [reference])
    query = f"SELECT b.person_id FROM base b WHERE {sql}"  # noqa: S608 - compiled, parameterised
    return {row[0] for row in con.execute(query, params).fetchall()}


# --------------------------------------------------------------------------- the reference


def _blank(value: Any, kind: str) -> bool:
    if value is None:
        return True
    if kind == "text":
        return value.strip() == ""  # Python's whitespace: spaces, tabs, newlines, U+00A0...
    if kind == "list":
        return len(value) == 0
    return False


def _anniversary(day: dt.date, year: int) -> dt.date:
    """The date's anniversary in ``year``; 29 February falls on the 28th in common years."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


_ORDERED: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge, "on": operator.eq, "before": operator.lt, "after": operator.gt}


def field_matches(node: Mapping[str, Any], person: Mapping[str, Any],
                  reference: dt.datetime) -> bool:
    """The documented meaning of one field condition, two-valued: an empty value matches only
    is_empty, ne and not_in."""
    name, op, value = node["field"], node["op"], node.get("value")
    kind, held = KINDS[name], person[name]
    if op in ("is_empty", "not_empty"):
        return _blank(held, kind) == (op == "is_empty")
    if op == "ne":
        return held is None or held != value
    if op == "not_in":
        return held is None or held not in value
    if held is None:
        return False
    if kind == "list":
        return value in held
    if op == "in":
        return held in value
    if op in CASE_INSENSITIVE:
        text, wanted = held.lower(), value.lower()
        return wanted in text if op == "contains" else text.startswith(wanted)
    if kind == "date":
        day = held.date() if isinstance(held, dt.datetime) else held
        today = reference.date()
        if op == "within_days":
            return 0 <= (today - day).days <= value
        if op == "anniversary_within_days":
            upcoming = _anniversary(day, today.year)
            if upcoming < today:
                upcoming = _anniversary(day, today.year + 1)
            return (upcoming - today).days <= value
        if op == "between":
            low, high = (dt.date.fromisoformat(v) for v in value)
            return low <= day <= high
        return _ORDERED[op](day, dt.date.fromisoformat(value))
    if op == "between":
        return value[0] <= held <= value[1]
    return _ORDERED[op](held, value)


def event_count(node: Mapping[str, Any], person_id: str, reference: dt.datetime) -> int:
    """How many of the person's events pass the condition's filters."""
    count = 0
    for event in EVENTS:
        at = reference - event["before"]
        amount_gt, where = node.get("amount_gt"), node.get("where")
        count += (event["person_id"] == person_id and event["kind"] == node["event"]
                  and (not node.get("within_days")
                       or at > reference - dt.timedelta(days=node["within_days"]))
                  and (amount_gt is None
                       or (event["amount"] is not None and event["amount"] > amount_gt))
                  and (not node.get("channel") or event["channel_group"] == node["channel"])
                  and (not where or event["props"].get(where["property"]) == where["equals"]))
    return count


def matches(node: Mapping[str, Any], person: Mapping[str, Any], reference: dt.datetime) -> bool:
    """The reference filter: what the rule tree means for one person."""
    if "all" in node:
        return all(matches(child, person, reference) for child in node["all"])
    if "any" in node:
        return any(matches(child, person, reference) for child in node["any"])
    if "not" in node:
        return not matches(node["not"], person, reference)
    if "segment" in node:
        inside = (person["person_id"] in STATIC_MEMBERS if node["segment"] == STATIC_NAME
                  else matches(DYNAMIC_RULE, person, reference))
        return inside == node.get("member", True)
    if "event" in node:
        count = event_count(node, person["person_id"], reference)
        at_least = node.get("at_least") or 1
        return count >= at_least if node.get("did", True) else count < at_least
    return field_matches(node, person, reference)


# --------------------------------------------------------------------------- the strategies


def _case_safe(text: str) -> bool:
    return not CASE_MAPPING_EXCEPTIONS & set(text)


def _substrings(texts: list[str]) -> st.SearchStrategy[str]:
    """Pieces of the data's texts, in any case: what contains / starts_with look for."""
    return st.tuples(st.sampled_from(texts), st.integers(0, 12), st.integers(0, 12),
                     st.sampled_from([str, str.upper, str.lower])).map(
        lambda t: t[3](t[0][t[1]:t[1] + t[2]]))


def text_values(column: str, op: str) -> st.SearchStrategy[str]:
    held = [t for t in (EXOTIC_TEXTS if column == TEXT_EXOTIC else TEXTS) if t is not None]
    values = st.one_of(st.sampled_from(held), st.text(max_size=10), _substrings(held))
    return values.filter(_case_safe) if op in CASE_INSENSITIVE else values


NUMBER_VALUES = st.one_of(
    st.sampled_from([n for n in NUMBERS + COUNTS if n is not None]),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False))
DATE_VALUES = st.one_of(st.sampled_from([d for d in DAYS if d]),
                        st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))).map(
    dt.date.isoformat)
DAY_COUNTS = st.one_of(st.sampled_from([0, 1, 2, 29, 30, 31, 59, 60, 61, 364, 365, 366]),
                       st.integers(0, 20_000))


def scalar_values(column: str, op: str) -> st.SearchStrategy[Any]:
    kind = KINDS[column]
    if kind == "text":
        return text_values(column, op)
    if kind == "number":
        return NUMBER_VALUES
    if kind == "boolean":
        return st.booleans()
    if kind == "list":
        return st.one_of(st.sampled_from([t for tags in TAG_LISTS if tags for t in tags if t]),
                         st.text(max_size=6))
    return DATE_VALUES


# Every operator of every kind of field (no case-insensitive one on TEXT_EXOTIC, see above).
FIELD_OPERATORS = [(column, op) for column in sorted(KINDS) for op in OPERATORS[KINDS[column]]
                   if not (column == TEXT_EXOTIC and op in CASE_INSENSITIVE)]


def condition(column: str, op: str) -> st.SearchStrategy[dict[str, Any]]:
    """Conditions on ``column`` with ``op`` and a value of the right shape."""
    if op in segment_rules.NO_VALUE:
        return st.just({"field": column, "op": op})
    if op in segment_rules.DAYS_VALUE:
        values: st.SearchStrategy[Any] = DAY_COUNTS
    elif op in segment_rules.LIST_VALUE:
        values = st.lists(scalar_values(column, op), min_size=1, max_size=4)
    elif op == "between":
        values = st.lists(scalar_values(column, op), min_size=2, max_size=2).map(sorted)
    else:
        values = scalar_values(column, op)
    return values.map(lambda value: {"field": column, "op": op, "value": value})


FIELD_CONDITIONS = st.sampled_from(FIELD_OPERATORS).flatmap(lambda pair: condition(*pair))


EVENT_CONDITIONS = st.fixed_dictionaries(
    {"event": st.sampled_from(EVENT_KINDS)},
    optional={
        "did": st.booleans(),
        "at_least": st.integers(1, 3),
        "within_days": st.one_of(st.sampled_from([1, 2, 7, 30, 90, 365, 400, 1000]),
                                 st.integers(1, 1200)),
        "amount_gt": st.one_of(st.sampled_from([0, 49.99, 50, 50.01]),
                               st.floats(-10, 500, allow_nan=False)),
        "channel": st.sampled_from(segment_rules.EVENT_CHANNELS),
        "where": st.fixed_dictionaries({
            "property": st.one_of(st.sampled_from(PROP_KEYS), st.text(max_size=5)),
            "equals": st.one_of(st.sampled_from(PROP_VALUES), st.text(max_size=5))}),
    })
MEMBERSHIPS = st.fixed_dictionaries({"segment": st.sampled_from([STATIC_NAME, DYNAMIC_NAME])},
                                    optional={"member": st.booleans()})
LEAVES = st.one_of(FIELD_CONDITIONS, FIELD_CONDITIONS, FIELD_CONDITIONS, EVENT_CONDITIONS,
                   MEMBERSHIPS)


def trees(depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Rule trees nested up to ``depth`` groups deep."""
    if depth == 0:
        return LEAVES
    inner = trees(depth - 1)
    children = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(LEAVES, children.map(lambda c: {"all": c}),
                     children.map(lambda c: {"any": c}), inner.map(lambda c: {"not": c}))


# --------------------------------------------------------------------------- the properties


def test_the_table_has_every_kind_of_field(people_db: duckdb.DuckDBPyConnection) -> None:
    """field_type reads each hostile column's DuckDB type as the kind the test means."""
    assert {name: field.type for name, field in base_fields(people_db).items()} == KINDS


@pytest.mark.parametrize(("column", "op"), FIELD_OPERATORS)
def test_each_operator_of_each_kind_selects_what_it_means(
        people_db: duckdb.DuckDBPyConnection, column: str, op: str) -> None:
    @settings(max_examples=25, deadline=None)
    @given(node=condition(column, op), reference=st.sampled_from(REFERENCES))
    def selects_the_same(node: dict[str, Any], reference: dt.datetime) -> None:
        expected = {p["person_id"] for p in PEOPLE if matches(node, p, reference)}
        assert select(people_db, node, reference) == expected

    selects_the_same()


@settings(max_examples=150, deadline=None)
@given(node=EVENT_CONDITIONS, reference=st.sampled_from(REFERENCES))
def test_event_conditions_count_what_they_mean(people_db: duckdb.DuckDBPyConnection,
                                               node: dict[str, Any],
                                               reference: dt.datetime) -> None:
    """Windows are exclusive at "exactly N days ago", amounts strictly above, filters exact."""
    expected = {p["person_id"] for p in PEOPLE if matches(node, p, reference)}
    assert select(people_db, node, reference) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule=trees(), reference=st.sampled_from(REFERENCES))
def test_compiled_rule_selects_what_the_reference_filter_selects(
        people_db: duckdb.DuckDBPyConnection, rule: dict[str, Any],
        reference: dt.datetime) -> None:
    expected = {person["person_id"] for person in PEOPLE if matches(rule, person, reference)}
    assert select(people_db, rule, reference) == expected


def _other_values(node: Any) -> Any:
    """The same tree with every value replaced by another of its kind (structure kept)."""
    if not isinstance(node, Mapping):
        return node
    if "field" in node and "value" in node:
        kind, op = KINDS[node["field"]], node["op"]
        one = {"text": "x", "number": 0, "date": "2000-01-01", "boolean": True,
               "list": "x"}[kind]
        value = (1 if op in segment_rules.DAYS_VALUE else [one, one] if op == "between"
                 else [one] if op in segment_rules.LIST_VALUE else one)
        return {**node, "value": value}
    changed = {key: ([_other_values(c) for c in child] if isinstance(child, list)
                     else _other_values(child)) for key, child in node.items()}
    if "event" in node:
        changed |= {k: 1 for k in ("at_least", "within_days", "amount_gt") if k in node}
        if "where" in node:
            changed["where"] = {"property": "p", "equals": "v"}
    return changed


@settings(max_examples=150, deadline=None)
@given(rule=trees())
def test_values_never_reach_the_sql_text(people_db: duckdb.DuckDBPyConnection,
                                        rule: dict[str, Any]) -> None:
    """Changing every value of a tree changes its parameters, never its SQL."""
    fields = base_fields(people_db)
    sql, _ = compile_rule(rule, fields, lookup)
    assert compile_rule(_other_values(rule), fields, lookup)[0] == sql


def test_is_empty_treats_exactly_the_unicode_whitespace_as_blank(
        people_db: duckdb.DuckDBPyConnection) -> None:
    """Every character Python calls whitespace (tabs, newlines, no-break and ideographic
    spaces...) makes a blank text, and no other character does."""
    characters = pd.DataFrame({"c": [chr(i) for i in range(0x3001)]})
    sql, params = compile_rule({"field": "c", "op": "is_empty"}, {"c": Field("c", "text")})
    people_db.register("characters", characters)
    try:
        found = {row[0] for row in people_db.execute(
            f"SELECT b.c FROM characters b WHERE {sql}", params).fetchall()}  # noqa: S608
    finally:
        people_db.unregister("characters")
    assert found == {c for c in characters["c"] if c.isspace()}


def test_anniversaries_of_29_february_fall_on_the_28th_in_common_years(
        people_db: duckdb.DuckDBPyConnection) -> None:
    """Born on 29 February 1980: on 28 February 2023 the birthday is today (0 days away);
    on 1 March 2023 the next one is 29 February 2024, 365 days away."""
    born = next(p["person_id"] for p in PEOPLE if p[DAY] == dt.date(1980, 2, 29))
    rule = {"field": DAY, "op": "anniversary_within_days", "value": 0}
    assert born in select(people_db, rule, dt.datetime(2023, 2, 28, 23, 0))
    assert born not in select(people_db, rule, dt.datetime(2023, 3, 1, 0, 0))
    in_a_year = {"field": DAY, "op": "anniversary_within_days", "value": 365}
    assert born in select(people_db, in_a_year, dt.datetime(2023, 3, 1, 0, 0))
    assert born not in select(people_db, {**in_a_year, "value": 364},
                              dt.datetime(2023, 3, 1, 0, 0))


# --------------------------------------------------------------------------- hostile input on a
# real workspace: only InputError, and nothing written


@pytest.fixture(scope="module")
def activated(unified_demo: Path, tmp_path_factory: pytest.TempPathFactory,
              ) -> Iterator[Workspace]:
    """A private copy of the unified demo (profiles, events, traits)."""
    copy = tmp_path_factory.mktemp("rules") / "demo.duckdb"
    shutil.copyfile(unified_demo, copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


HOSTILE = st.one_of(
    st.sampled_from([t for t in TEXTS if t is not None]),
    st.text(max_size=20),
    st.sampled_from(["20240101", "2024-W01-1", "2024-02-30", "2024-1-1", "２０２４-01-01",
                     "0000-01-01", "2024-01-01T10:00", "\ud800", "a\udcffb"]))
JUNK: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), HOSTILE),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["all", "any", "not", "field", "op", "value",
                                                   "event", "did", "at_least", "within_days",
                                                   "amount_gt", "channel", "where", "property",
                                                   "equals", "segment", "member"]), HOSTILE),
                        inner, max_size=4)),
    max_leaves=8)
REAL_TEXT_FIELDS = ["first_name", "last_name", "city", "email", "rfm_cell"]


@st.composite
def hostile_rules(draw: st.DrawFn) -> Any:
    """Rules a careless file or a malicious user could hand over."""
    field_condition = st.builds(
        lambda f, op, v: {"field": f, "op": op, "value": v},
        st.one_of(st.sampled_from([*REAL_TEXT_FIELDS, "birth_date", "revenue", "sources",
                                   "consent_email", "orders_30d"]), HOSTILE),
        st.one_of(st.sampled_from(sorted({op for ops in OPERATORS.values() for op in ops})),
                  HOSTILE),
        st.one_of(JUNK, HOSTILE, st.integers(-(2**200), 2**200),
                  st.lists(HOSTILE, max_size=3)))
    membership = st.fixed_dictionaries({"segment": HOSTILE}, optional={"member": JUNK})
    event = st.fixed_dictionaries(
        {"event": st.one_of(st.sampled_from(EVENT_KINDS), HOSTILE)},
        optional={"did": JUNK, "at_least": st.one_of(st.integers(-5, 2**70), JUNK),
                  "within_days": st.one_of(st.integers(-5, 2**70), JUNK),
                  "amount_gt": st.one_of(st.floats(), st.integers(-(2**200), 2**200), JUNK),
                  "channel": JUNK, "where": st.one_of(JUNK, st.fixed_dictionaries(
                      {"property": HOSTILE, "equals": HOSTILE}))})
    leaf = st.one_of(field_condition, membership, event, JUNK)
    return draw(st.one_of(leaf, st.lists(leaf, max_size=3).map(lambda c: {"all": c}),
                          st.lists(leaf, max_size=3).map(lambda c: {"any": c}),
                          leaf.map(lambda c: {"not": c})))


def test_hostile_rules_and_names_raise_only_input_errors_and_change_nothing(
        activated: Workspace) -> None:
    cur = activated.cursor()
    profiles = cur.execute("SELECT first_name, last_name, city, email, rfm_cell FROM "
                           "golden.profiles JOIN golden.traits USING (person_id)").df()
    before = snapshot(activated)

    @settings(max_examples=250, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(rule=hostile_rules())
    def sizing_never_fails_otherwise(rule: Any) -> None:
        cur = activated.cursor()
        with contextlib.suppress(InputError):
            segments.size(cur, rule)
            segments.preview(cur, rule, limit=3)
            segments.explain(cur, rule)

    @settings(max_examples=100, deadline=None)
    @given(field=st.sampled_from(REAL_TEXT_FIELDS), value=HOSTILE.filter(
        lambda v: not re.search("[\ud800-\udfff]", v)))
    def hostile_values_are_just_values(field: str, value: str) -> None:
        size = segments.size(activated.cursor(), {"field": field, "op": "eq", "value": value})
        assert size.members == int((profiles[field] == value).sum())

    @settings(max_examples=60, deadline=None)
    @given(name=HOSTILE, member=st.booleans())
    def unknown_segments_are_named(name: str, member: bool) -> None:
        with pytest.raises(InputError):
            segments.size(activated.cursor(), {"segment": name, "member": member})
        with pytest.raises(InputError):
            segments.save(activated, segments.Segment(name, {"segment": name}))

    sizing_never_fails_otherwise()
    hostile_values_are_just_values()
    unknown_segments_are_named()
    assert snapshot(activated) == before


# --------------------------------------------------------------------------- messages


FIELDS = {"city": Field("city", "text"), "revenue": Field("revenue", "number"),
          "birth_date": Field("birth_date", "date"), "consent_email": Field("consent_email",
                                                                            "boolean")}
CITY = {"field": "city", "op": "eq", "value": "Lyon"}


def _message(rule: Any, segment: Callable[[str], tuple[str, Any]] | None = None) -> str:
    with pytest.raises(InputError) as caught:
        compile_rule(rule, FIELDS, segment)
    return str(caught.value)


def test_an_empty_group_is_named_by_its_place() -> None:
    message = _message({"all": [CITY, {"any": []}]})
    assert "all[2]" in message and "empty" in message
    assert "empty" in _message({"all": []})


def test_an_unknown_field_is_named() -> None:
    name = "ville'; --"
    message = _message({"any": [CITY, {"not": {"field": name, "op": "eq", "value": "x"}}]})
    assert "any[2] > not" in message and repr(name) in message


def test_an_operator_that_does_not_fit_the_field_says_which_would() -> None:
    message = _message({"all": [{"field": "birth_date", "op": "contains", "value": "x"}]})
    assert all(word in message for word in ("all[1]", "'contains'", "date", "birth_date",
                                            "before"))


def test_between_with_the_bounds_reversed_is_refused() -> None:
    message = _message({"field": "revenue", "op": "between", "value": [500, 100]})
    assert "500" in message and "100" in message and "empty" in message
    message = _message({"field": "birth_date", "op": "between",
                        "value": ["2024-12-31", "2024-01-01"]})
    assert "2024-12-31" in message


@pytest.mark.parametrize(("rule", "words"), [
    ({"field": "revenue", "op": "gt", "value": "50"}, ("number", "'50'")),
    ({"field": "revenue", "op": "gt", "value": True}, ("number", "True")),
    ({"field": "city", "op": "eq", "value": 75}, ("text", "75")),
    ({"field": "consent_email", "op": "eq", "value": "yes"}, ("true/false", "'yes'")),
    ({"field": "birth_date", "op": "before", "value": "31/12/2024"}, ("YYYY-MM-DD",
                                                                      "31/12/2024")),
    ({"field": "birth_date", "op": "before", "value": "20241231"}, ("YYYY-MM-DD", "20241231")),
    ({"field": "city", "op": "in", "value": []}, ("at least one", "city")),
    ({"field": "birth_date", "op": "within_days", "value": -3}, ("days",)),
    ({"field": "revenue", "op": "between", "value": [1]}, ("lower", "upper")),
])
def test_a_value_of_the_wrong_type_says_what_was_expected(rule: dict[str, Any],
                                                          words: tuple[str, ...]) -> None:
    message = _message({"all": [CITY, rule]})
    assert "all[2]" in message
    assert all(word in message for word in words), message


@pytest.mark.parametrize(("rule", "words"), [
    ({"event": "visits"}, ("orders", "carts", "contacts", "campaign_sends")),
    ({"event": "orders", "at_least": 0}, ("at least", "from 1")),
    ({"event": "orders", "within_days": 10**9}, ("within days", "100,000")),
    ({"event": "orders", "within_days": 2.5}, ("within days",)),
    ({"event": "orders", "channel": "phone"}, ("web or store",)),
    ({"event": "orders", "amount_gt": "50 €"}, ("euros",)),
    ({"event": "orders", "where": {"property": "statut"}}, ("property", "equals")),
    ({"event": "orders", "since": "2024-01-01"}, ("'since'",)),
])
def test_a_bad_event_condition_says_what_is_wrong(rule: dict[str, Any],
                                                  words: tuple[str, ...]) -> None:
    message = _message({"any": [CITY, {"not": rule}]})
    assert "any[2] > not" in message
    assert all(word in message for word in words), message


def test_circular_memberships_are_named_in_order() -> None:
    saved = {"A": {"all": [CITY, {"segment": "B"}]}, "B": {"any": [{"segment": "C"}]},
             "C": {"not": {"segment": "A", "member": True}}}
    message = _message({"segment": "A"}, lambda name: ("dynamic", saved[name]))
    assert "A → B → C → A" in message
    assert "A → A" in _message({"segment": "A"}, lambda name: ("dynamic", {"segment": "A"}))


def test_a_membership_needs_a_segment_name_and_a_place_to_find_it() -> None:
    assert "name the segment" in _message({"all": [CITY, {"segment": "  "}]})
    assert "'VIP'" in _message({"segment": "VIP"})


def test_a_node_that_is_nothing_or_two_things_is_refused() -> None:
    assert "exactly one" in _message({"all": [CITY, {"field": "city", "all": [CITY]}]})
    assert "all[2]" in _message({"all": [CITY, "city = 'Lyon'"]})


@pytest.mark.parametrize("rule", [
    {"field": "birth_date", "op": "before", "value": "20241231"},  # Python reads it, DuckDB not
    {"field": "birth_date", "op": "on", "value": "2024-W01-1"},
    {"field": "birth_date", "op": "after", "value": "２０２４-01-01"},
    {"field": "revenue", "op": "gt", "value": 2**70},  # beyond DuckDB's integers
    {"field": "revenue", "op": "in", "value": [1, 10**400]},
    {"field": "revenue", "op": "lt", "value": float("nan")},  # NaN sorts above all in DuckDB
    {"field": "revenue", "op": "lt", "value": float("inf")},
    {"field": "birth_date", "op": "within_days", "value": 10**12},  # out of DuckDB's dates
    {"field": "birth_date", "op": "anniversary_within_days", "value": 2**64},
    {"event": "orders", "within_days": 10**9},
    {"event": "orders", "at_least": 2**70},
    {"event": "orders", "amount_gt": 10**400},
    {"event": "orders", "where": {"property": "statut", "equals": "\ud800"}},
    {"field": ["city"], "op": "eq", "value": "Lyon"},  # unhashable
    {"field": "city", "op": "eq", "value": "a\udcffb"},  # lone surrogate: not UTF-8
    {"segment": "\ud800"},
])
def test_values_duckdb_cannot_take_are_refused_up_front(rule: dict[str, Any]) -> None:
    """Each of these once passed the checks and failed inside DuckDB with a raw error."""
    _message({"all": [CITY, rule]}, lookup)


# --------------------------------------------------------------------------- contradictions


@pytest.mark.parametrize(("rule", "words"), [
    ({"all": [CITY, {"field": "city", "op": "eq", "value": "Nice"}]},
     ("city", "'Lyon'", "'Nice'")),
    ({"all": [{"field": "revenue", "op": "ge", "value": 500},
              {"field": "revenue", "op": "le", "value": 100}]}, ("revenue", "500", "100")),
    ({"all": [{"field": "revenue", "op": "between", "value": [10, 20]},
              {"field": "revenue", "op": "gt", "value": 30}]}, ("revenue", "30", "20")),
    ({"all": [{"field": "birth_date", "op": "after", "value": "2000-01-01"},
              {"field": "birth_date", "op": "before", "value": "1990-01-01"}]},
     ("birth_date", "2000-01-01", "1990-01-01")),
    ({"all": [{"field": "city", "op": "is_empty"}, {"field": "city", "op": "not_empty"}]},
     ("city", "empty")),
    ({"all": [{"field": "city", "op": "is_empty"}, CITY]}, ("city", "empty")),
    # nested inside other groups
    ({"any": [CITY, {"not": {"all": [CITY, {"field": "city", "op": "eq", "value": "Nice"}]}}]},
     ("'Nice'",)),
])
def test_contradictions_are_found(rule: dict[str, Any], words: tuple[str, ...]) -> None:
    found = contradictions(rule)
    assert len(found) == 1, found
    assert all(word in found[0] for word in words), found


@pytest.mark.parametrize("rule", [
    {"all": [CITY, {"field": "revenue", "op": "gt", "value": 50},
             {"field": "revenue", "op": "lt", "value": 500},
             {"field": "birth_date", "op": "after", "value": "1990-01-01"},
             {"field": "birth_date", "op": "before", "value": "2000-01-01"},
             {"event": "orders", "did": True, "within_days": 30, "amount_gt": 50}]},
    {"any": [CITY, {"field": "city", "op": "eq", "value": "Nice"}]},
    {"all": [{"field": "revenue", "op": "ge", "value": 100},
              {"field": "revenue", "op": "le", "value": 100}]},
    {"all": [{"field": "city", "op": "is_empty"}, {"field": "revenue", "op": "gt", "value": 1}]},
    {"all": [{"field": "city", "op": "is_empty"},
             {"field": "city", "op": "ne", "value": "Lyon"}]},
    {"all": [{"field": "city", "op": "is_empty"},
             {"field": "city", "op": "not_in", "value": ["Lyon", "Nice"]}]},
    {"all": [CITY, {"field": "city", "op": "eq", "value": "Lyon"}]},
])
def test_a_sensible_rule_has_no_contradiction(rule: dict[str, Any]) -> None:
    assert contradictions(rule) == []


def test_strict_bounds_that_meet_leave_nothing() -> None:
    """revenue > 100 and revenue < 100 can never both hold."""
    assert contradictions({"all": [{"field": "revenue", "op": "gt", "value": 100},
                                   {"field": "revenue", "op": "lt", "value": 100}]})
    assert contradictions({"all": [{"field": "revenue", "op": "ge", "value": 100},
                                   {"field": "revenue", "op": "lt", "value": 100}]})
