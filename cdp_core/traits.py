"""Computed traits: what each person did, as columns a segment can filter on.

`refresh` writes two tables in one transaction, both one SQL statement over whole columns:

- ``golden.events``: every event of every event source with the person it belongs to (through
  the clusters), its kind, web/store channel, amount and ``props`` (the source's extra columns);
- ``golden.traits``: one row per unified profile with the built-in traits and the traits the
  workspace declares;
- ``golden.people``: the profiles' fields (without lineage) and their traits in one table, the
  base segments filter, so sizing a segment joins nothing.

Built-in traits: orders and revenue over 30, 90 and 365 days; average and largest basket; carts
in 30 days; abandoned carts in the last 48 hours (a cart not followed by an order of the same
person within 24 hours); contacts in 90 days; campaign sends in 30 days (marketing pressure);
RFM scores (quintiles of recency, frequency and monetary value among buyers, equal values sharing
a score) and the classic RFM cells; the channel profile (web only, store only, omnichannel); and
web-to-store (a store purchase within 30 days after a web cart or web order).

Windows count back from the reference date, the latest event in the workspace, because a
company's export is dated: "the last 30 days" are the data's last 30 days.

A declared trait aggregates one event property over a window, for example::

    >>> TraitDefinition("favourite_store", "orders", "most_frequent", "magasin").validate().name
    'favourite_store'
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from cdp_core import golden, segment_rules
from cdp_core.errors import InputError
from cdp_core.mapping import EVENT_KINDS
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "most_frequent",
              "distinct_count")
NUMERIC_AGGREGATES = ("sum", "avg", "min", "max")
CHANNELS = ("web", "store")
RFM_CELLS = ("champions", "loyal", "potential_loyalists", "new_customers", "promising",
             "need_attention", "about_to_sleep", "at_risk", "cannot_lose", "hibernating", "lost",
             "no_purchase")
CHANNEL_PROFILES = ("web_only", "store_only", "omnichannel", "none")
ABANDON_AFTER_HOURS = 24
WEB_TO_STORE_DAYS = 30
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# RFM cell of each (recency score, frequency-monetary score), recency 5 = most recent.
_RFM_GRID = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}


@dataclass(frozen=True)
class TraitDefinition:
    """One trait: an aggregate of an event property over a time window.

    Args:
        name: The column it becomes (lower case, digits and underscores).
        event_kind: orders, carts, contacts or campaign_sends.
        aggregate: One of AGGREGATES.
        property: ``amount``, ``event_at`` or an extra column of the event sources; not needed
            for ``count``.
        window_days: Only events of the last N days before the reference date.
        since: Only events on or after this ISO date.
        until: Only events on or before this ISO date.
        where_property: Only events whose property ...
        where_value: ... equals this value.
        channel: Only web or store events.
    """

    name: str
    event_kind: str
    aggregate: str
    property: str | None = None
    window_days: int | None = None
    since: str | None = None
    until: str | None = None
    where_property: str | None = None
    where_value: str | None = None
    channel: str | None = None

    def validate(self) -> TraitDefinition:
        """Self, or an InputError saying what is wrong and how to fix it."""
        where = f"trait {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InputError(f"{where}: a trait name uses lower-case letters, digits and "
                             "underscores, starting with a letter")
        if self.event_kind not in EVENT_KINDS:
            raise InputError(f"{where}: the event kind must be one of {', '.join(EVENT_KINDS)}")
        if self.aggregate not in AGGREGATES:
            raise InputError(f"{where}: the aggregate must be one of {', '.join(AGGREGATES)}")
        if self.aggregate != "count" and not self.property:
            raise InputError(f"{where}: choose the property to {self.aggregate}")
        if self.property == "event_at" and self.aggregate in ("sum", "avg"):
            raise InputError(f"{where}: dates can be counted, or their first, last, min or "
                             "max taken, not summed or averaged")
        if self.window_days is not None and (
                not isinstance(self.window_days, int) or isinstance(self.window_days, bool)
                or not 1 <= self.window_days <= segment_rules.MAX_DAYS):
            raise InputError(f"{where}: the window is a whole number of days from 1 to "
                             f"{segment_rules.MAX_DAYS:,}")
        for day in (self.since, self.until):
            if day is not None:
                segment_rules.check_day(day, where)
        dates = [date.fromisoformat(d) for d in (self.since, self.until) if d]
        if len(dates) == 2 and dates[0] > dates[1]:
            raise InputError(f"{where}: the start date {self.since} is after the end date "
                             f"{self.until}")
        texts = (self.property, self.where_property, self.where_value)
        if not all(text is None or segment_rules.is_text(text) for text in texts):
            raise InputError(f"{where}: a property or value is not readable text")
        if (self.where_property is None) != (self.where_value is None):
            raise InputError(f"{where}: a filter needs both a property and a value")
        if self.channel is not None and self.channel not in CHANNELS:
            raise InputError(f"{where}: the channel is web or store")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraitDefinition:
        """A definition from its JSON form; unknown keys are an InputError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"trait {data.get('name')!r}: unknown setting {unknown[0]!r}")
        return cls(**data).validate()


def _windowed(kind: str, aggregate: str, prop: str | None, days: int, name: str,
              ) -> TraitDefinition:
    return TraitDefinition(name, kind, aggregate, prop, window_days=days)


BUILT_IN: tuple[TraitDefinition, ...] = (
    *(_windowed("orders", "count", None, d, f"orders_{d}d") for d in (30, 90, 365)),
    *(_windowed("orders", "sum", "amount", d, f"revenue_{d}d") for d in (30, 90, 365)),
    TraitDefinition("avg_basket", "orders", "avg", "amount"),
    TraitDefinition("max_basket", "orders", "max", "amount"),
    _windowed("carts", "count", None, 30, "carts_30d"),
    _windowed("contacts", "count", None, 90, "contacts_90d"),
    _windowed("campaign_sends", "count", None, 30, "campaign_sends_30d"),
)
SPECIAL = ("abandoned_carts_48h", "recency_score", "frequency_score", "monetary_score",
           "rfm_cell", "channel_profile", "web_to_store")
BUILT_IN_NAMES = (*(t.name for t in BUILT_IN), *SPECIAL)


# --------------------------------------------------------------------------- declarations


def declared(cur: duckdb.DuckDBPyConnection) -> list[TraitDefinition]:
    """The workspace's declared traits, in the order they were declared."""
    rows = cur.execute("SELECT definition FROM meta.trait_definitions "
                       "ORDER BY created_at, rowid").fetchall()
    return [TraitDefinition.from_dict(json.loads(row[0])) for row in rows]


def declare(ws: Workspace, definitions: list[TraitDefinition], by: str | None = None) -> None:
    """Add or replace declared traits (computed at the next refresh), all or none."""
    reserved = (set(BUILT_IN_NAMES) | set(golden.FIELDS) | set(golden.DATE_FIELDS)
                | set(golden.ACTIVITY_COLUMNS) | {"person_id", "record_count", "source_count",
                                                  "sources"})
    for definition in definitions:
        definition.validate()
        if definition.name in reserved:
            raise InputError(f"trait {definition.name!r}: that name is taken by a built-in "
                             "trait or a profile field; choose another")
    with ws.transaction() as cur:
        for definition in definitions:
            cur.execute("INSERT OR REPLACE INTO meta.trait_definitions (name, definition, "
                        "created_by) VALUES (?, ?, ?)",
                        [definition.name, json.dumps(asdict(definition)), by])
        ws.audit(cur, "traits declared", f"traits={len(definitions)}")


def remove(ws: Workspace, name: str) -> None:
    """Forget a declared trait (its column goes at the next refresh)."""
    with ws.transaction() as cur:
        cur.execute("DELETE FROM meta.trait_definitions WHERE name = ?", [name])
        ws.audit(cur, "trait removed")


# --------------------------------------------------------------------------- the SQL


class _Params:
    """Named parameters of one statement, each value given a fresh name."""

    def __init__(self, **initial: Any) -> None:
        self.values: dict[str, Any] = dict(initial)

    def add(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"${name}"


def _value_sql(definition: TraitDefinition, params: _Params) -> str:
    """The expression a definition aggregates: a fixed column or a property of the event."""
    prop = definition.property
    if prop in ("amount", "event_at"):
        return prop
    text = f"props[{params.add(prop)}]"
    return f"TRY_CAST({text} AS DOUBLE)" if definition.aggregate in NUMERIC_AGGREGATES else text


def _filter_sql(definition: TraitDefinition, params: _Params) -> str:
    """The events a definition counts, as a boolean expression over golden.events."""
    parts = [f"kind = {params.add(definition.event_kind)}"]
    if definition.window_days:
        days = params.add(definition.window_days)
        parts.append(f"event_at > CAST($reference_at AS TIMESTAMP) - to_days({days})")
    if definition.since:
        parts.append(f"event_at >= CAST({params.add(definition.since)} AS DATE)")
    if definition.until:
        parts.append(f"event_at < CAST({params.add(definition.until)} AS DATE) + 1")
    if definition.where_property:
        parts.append(f"props[{params.add(definition.where_property)}] = "
                     f"{params.add(definition.where_value)}")
    if definition.channel:
        parts.append(f"channel_group = {params.add(definition.channel)}")
    return " AND ".join(parts)


def _aggregate_sql(definition: TraitDefinition, params: _Params) -> str:
    """The aggregate over a person's events; most_frequent is built by `_most_frequent_sql`."""
    where = _filter_sql(definition, params)
    if definition.aggregate == "count":
        return f"count(*) FILTER ({where})"
    value = _value_sql(definition, params)
    function = {"first": f"arg_min({value}, event_at)", "last": f"arg_max({value}, event_at)",
                "distinct_count": f"count(DISTINCT {value})"}.get(
        definition.aggregate, f"{definition.aggregate}({value})")
    return f"{function} FILTER ({where})"


def _most_frequent_sql(definition: TraitDefinition, params: _Params) -> str:
    """A person's most frequent value; ties go to the larger value, so refreshes agree."""
    value = _value_sql(definition, params)
    where = _filter_sql(definition, params)
    return (f"SELECT person_id, arg_max(v, (n, v)) AS {quote_ident(definition.name)} FROM "  # noqa: S608
            f"(SELECT person_id, {value} AS v, count(*) AS n FROM golden.events "
            f"WHERE {where} AND {value} IS NOT NULL GROUP BY ALL) GROUP BY person_id")


def _zero_when_empty(definition: TraitDefinition) -> bool:
    return definition.aggregate in ("count", "distinct_count", "sum")


def _quintile(column: str) -> str:
    """A 1-5 score by rank among buyers. Equal values share the lowest score of their range
    (everyone with one order has frequency 1), so scores never depend on row order."""
    return f"CAST(least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY {column}))) AS INTEGER)"


def _rfm_cell_sql() -> str:
    cases = " ".join(f"WHEN r = {r} AND fm = {fm + 1} THEN '{cell}'"
                     for r, cells in _RFM_GRID.items() for fm, cell in enumerate(cells))
    return f"CASE {cases} END"


def _special_ctes() -> list[str]:
    """RFM, web-to-store and abandoned carts: the traits that need more than one aggregate."""
    orders = "SELECT person_id, event_at FROM golden.events WHERE kind = 'orders'"
    return [
        # Recency, frequency and monetary quintiles among buyers.
        f"scores AS (SELECT person_id, {_quintile('_last_order')} AS recency_score, "  # noqa: S608
        f"{_quintile('_orders')} AS frequency_score, {_quintile('_revenue')} AS monetary_score "
        "FROM agg WHERE _orders > 0)",
        f"rfm AS (SELECT *, {_rfm_cell_sql()} AS rfm_cell FROM (SELECT *, recency_score AS r, "  # noqa: S608
        "(frequency_score + monetary_score + 1) // 2 AS fm FROM scores))",
        f"store_orders AS ({orders} AND channel_group = 'store')",
        "web_visits AS (SELECT person_id, event_at FROM golden.events WHERE channel_group = "
        "'web' AND kind IN ('orders', 'carts'))",
        "web_to_store AS (SELECT DISTINCT s.person_id FROM store_orders s ASOF JOIN web_visits w "  # noqa: S608
        "ON s.person_id = w.person_id AND s.event_at >= w.event_at "
        f"WHERE s.event_at - w.event_at <= INTERVAL {WEB_TO_STORE_DAYS} DAY)",
        "recent_carts AS (SELECT person_id, event_at FROM golden.events WHERE kind = 'carts' "
        "AND event_at > CAST($reference_at AS TIMESTAMP) - INTERVAL 48 HOUR)",
        f"abandoned AS (SELECT c.person_id, count(*) AS abandoned_carts_48h FROM recent_carts c "  # noqa: S608
        f"ASOF LEFT JOIN ({orders}) o ON c.person_id = o.person_id AND o.event_at >= c.event_at "
        f"WHERE o.event_at IS NULL OR o.event_at > c.event_at + INTERVAL {ABANDON_AFTER_HOURS} "
        "HOUR GROUP BY ALL)",
    ]


def _traits_sql(definitions: list[TraitDefinition]) -> tuple[str, dict[str, Any]]:
    """The SELECT of golden.traits over golden.events and golden.profiles, and its parameters."""
    params = _Params()
    aggregated = [d for d in definitions if d.aggregate != "most_frequent"]
    frequent = [d for d in definitions if d.aggregate == "most_frequent"]
    agg = ", ".join(
        [f"{_aggregate_sql(d, params)} AS {quote_ident(d.name)}" for d in aggregated]
        + ["count(*) FILTER (kind = 'orders') AS _orders",
           "sum(amount) FILTER (kind = 'orders') AS _revenue",
           "max(event_at) FILTER (kind = 'orders') AS _last_order",
           "count(*) FILTER (kind = 'orders' AND channel_group = 'web') AS _web_orders",
           "count(*) FILTER (kind = 'orders' AND channel_group = 'store') AS _store_orders"])
    ctes = [f"agg AS (SELECT person_id, {agg} FROM golden.events GROUP BY person_id)",  # noqa: S608
            *(f"mf{i} AS ({_most_frequent_sql(d, params)})" for i, d in enumerate(frequent)),
            *_special_ctes()]
    columns = []
    for d in definitions:
        source = f"mf{frequent.index(d)}" if d in frequent else "a"
        value = f"{source}.{quote_ident(d.name)}"
        columns.append(f"coalesce({value}, 0) AS {quote_ident(d.name)}"
                       if _zero_when_empty(d) else f"{value} AS {quote_ident(d.name)}")
    columns += [
        "coalesce(ab.abandoned_carts_48h, 0) AS abandoned_carts_48h",
        "r.recency_score", "r.frequency_score", "r.monetary_score",
        "coalesce(r.rfm_cell, 'no_purchase') AS rfm_cell",
        "CASE WHEN a._web_orders > 0 AND a._store_orders > 0 THEN 'omnichannel' "
        "WHEN a._web_orders > 0 THEN 'web_only' WHEN a._store_orders > 0 THEN 'store_only' "
        "ELSE 'none' END AS channel_profile",
        "w.person_id IS NOT NULL AS web_to_store"]
    joins = "".join(f" LEFT JOIN mf{i} USING (person_id)" for i in range(len(frequent)))
    sql = (f"WITH {', '.join(ctes)} SELECT p.person_id, {', '.join(columns)} "  # noqa: S608
           "FROM golden.profiles p LEFT JOIN agg a USING (person_id)"
           f"{joins} LEFT JOIN rfm r USING (person_id) LEFT JOIN web_to_store w USING (person_id) "
           "LEFT JOIN abandoned ab USING (person_id)")
    return sql, params.values


def _people_sql(cur: duckdb.DuckDBPyConnection) -> str:
    """Profiles without lineage columns, joined to their traits."""
    profile_columns = [row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = 'profiles' ORDER BY column_index").fetchall()]
    kept = [f"p.{quote_ident(c)}" for c in profile_columns
            if not c.endswith(golden.LINEAGE_SUFFIXES)]
    return (f"SELECT {', '.join(kept)}, t.* EXCLUDE (person_id) FROM golden.profiles p "  # noqa: S608
            "JOIN golden.traits t USING (person_id) ORDER BY p.person_id")


# --------------------------------------------------------------------------- refresh


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh produced (counts only: safe for the audit log)."""

    refresh_id: int
    people: int
    events: int
    traits: int
    seconds: float

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.traits} traits for {self.people:,} people from {self.events:,} events "
                f"in {self.seconds:.1f} s")


def refresh(ws: Workspace) -> RefreshResult:
    """Recompute golden.events and golden.traits for every person, in one transaction."""
    started = time.monotonic()
    cur = ws.cursor()
    if not golden.has_profiles(cur):
        raise InputError("build the unified profiles first (Golden records): traits are "
                         "computed per unified person")
    definitions = [*BUILT_IN, *declared(cur)]
    events_sql, event_params = golden.person_events_sql(cur)
    traits_sql, trait_params = _traits_sql(definitions)
    with ws.transaction() as tx:
        # Sorted by kind and date: "orders of the last 30 days" then reads a few row groups.
        tx.execute(f"CREATE OR REPLACE TABLE golden.events AS {events_sql} "  # noqa: S608
                   "ORDER BY kind, event_at", event_params)
        reference_at = tx.execute("SELECT max(event_at) FROM golden.events").fetchone()[0]
        tx.execute(f"CREATE OR REPLACE TABLE golden.traits AS {traits_sql}",
                   {**trait_params, "reference_at": reference_at})
        tx.execute(f"CREATE OR REPLACE TABLE golden.people AS {_people_sql(tx)}")
        people = tx.execute("SELECT count(*) FROM golden.traits").fetchone()[0]
        events = tx.execute("SELECT count(*) FROM golden.events").fetchone()[0]
        refresh_id = tx.execute("SELECT coalesce(max(refresh_id), 0) + 1 "
                                "FROM meta.trait_refreshes").fetchone()[0]
        build = golden.last_build(tx)
        tx.execute("INSERT INTO meta.trait_refreshes (refresh_id, build_id, reference_at, "
                   "people, seconds) VALUES (?, ?, ?, ?, ?)",
                   [refresh_id, build[0] if build else None, reference_at, people,
                    time.monotonic() - started])
        ws.audit(tx, "traits refresh", f"refresh_id={refresh_id} people={people} "
                 f"events={events} traits={len(definitions) + len(SPECIAL)}")
    return RefreshResult(refresh_id, people, events, len(definitions) + len(SPECIAL),
                         time.monotonic() - started)


def has_traits(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether a refresh has written golden.traits and golden.people."""
    return cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                       "current_database() AND schema_name = 'golden' AND "
                       "table_name IN ('traits', 'people')").fetchone()[0] == 2


def last_refresh(cur: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The latest refresh: id, when, on which profile build, the reference date, people."""
    frame = cur.execute("SELECT * FROM meta.trait_refreshes ORDER BY refresh_id DESC LIMIT 1"
                        ).df()
    return None if frame.empty else frame.iloc[0].to_dict()


def is_stale(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the profiles were rebuilt (or traits declared) since the last refresh."""
    latest = last_refresh(cur)
    if latest is None or not has_traits(cur):
        return True
    build = golden.last_build(cur)
    declared_since = cur.execute("SELECT count(*) FROM meta.trait_definitions WHERE "
                                 "created_at > ?", [latest["refreshed_at"]]).fetchone()[0]
    return bool(declared_since) or (build is not None and build[0] != latest["build_id"])


# --------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class TraitSummary:
    """Base-level figures the traits give: how the customers buy and through which channels."""

    people: int
    buyers: int
    web_to_store: int
    abandoned_carts_48h: int
    store_revenue: float
    store_revenue_from_web_users: float

    @property
    def web_share_of_store_revenue(self) -> float | None:
        """The share of store revenue made by customers who also use the web site."""
        return (self.store_revenue_from_web_users / self.store_revenue
                if self.store_revenue else None)


def summary(cur: duckdb.DuckDBPyConnection) -> TraitSummary:
    """The base-level figures over golden.events and golden.traits."""
    row = cur.execute(
        "WITH web_users AS (SELECT DISTINCT person_id FROM golden.events WHERE channel_group = "
        "'web'), store AS (SELECT person_id, sum(amount) AS revenue FROM golden.events WHERE "
        "kind = 'orders' AND channel_group = 'store' GROUP BY ALL) "
        "SELECT (SELECT count(*) FROM golden.traits), "
        "(SELECT count(*) FROM golden.traits WHERE recency_score IS NOT NULL), "
        "(SELECT count(*) FROM golden.traits WHERE web_to_store), "
        "(SELECT coalesce(sum(abandoned_carts_48h), 0) FROM golden.traits), "
        "(SELECT coalesce(sum(revenue), 0) FROM store), "
        "(SELECT coalesce(sum(revenue), 0) FROM store WHERE person_id IN "
        "(SELECT person_id FROM web_users))").fetchone()
    return TraitSummary(*(int(v) for v in row[:4]), float(row[4]), float(row[5]))


def distribution(cur: duckdb.DuckDBPyConnection, trait: str) -> pd.DataFrame:
    """People per value of a categorical trait (rfm_cell, channel_profile...), largest first."""
    if trait not in _columns(cur):
        raise InputError(f"{trait!r} is not a trait of this workspace")
    column = quote_ident(trait)
    return cur.execute(f"SELECT {column} AS value, count(*) AS people FROM golden.traits "  # noqa: S608
                       "GROUP BY ALL ORDER BY people DESC, value").df()


def rfm_grid(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Buyers per recency score and frequency-monetary score: the classic RFM grid."""
    return cur.execute(
        "SELECT recency_score, (frequency_score + monetary_score + 1) // 2 AS fm_score, "
        "rfm_cell, count(*) AS people, avg(m.revenue) AS revenue FROM golden.traits t "
        "JOIN golden.profiles m USING (person_id) WHERE recency_score IS NOT NULL "
        "GROUP BY ALL ORDER BY recency_score DESC, fm_score DESC").df()


def _columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    if not has_traits(cur):
        return []
    return [row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = 'traits' AND column_name <> 'person_id' "
        "ORDER BY column_index").fetchall()]


def trait_names(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The trait columns golden.traits holds now."""
    return _columns(cur)


def event_properties(cur: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The extra properties each event kind carries (for declaring traits and event filters)."""
    if not cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                       "current_database() AND schema_name = 'golden' AND table_name = 'events'"
                       ).fetchone()[0]:
        return {}
    rows = cur.execute("SELECT kind, list_sort(list_distinct(flatten(list(DISTINCT "
                       "map_keys(props))))) FROM golden.events GROUP BY kind ORDER BY kind"
                       ).fetchall()
    return {kind: list(keys) for kind, keys in rows}
