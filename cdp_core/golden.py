"""Survivorship: one unified profile ("golden record") per person, with per-value lineage.

A person is a cluster of matched records (``match.clusters``); its ``cluster_id`` is the
``person_id``. For each canonical field the business picks a rule that says which record's
value survives:

- ``most_recent``: the record with the latest ``coalesce(updated_at, created_at)``;
- ``most_frequent``: the value most records of the person hold;
- ``source_priority``: the first source of an ordered list (unlisted sources come last);
- ``most_complete``: the record with the most non-empty canonical fields;
- ``longest``: the longest text;
- ``first_non_empty``: the record seen first, i.e. with the oldest ``created_at`` (the
  value a person gave first, kept whatever later records say);
- ``most_restrictive`` (consent fields only, and their default): a refusal (false) wins over an
  agreement; empty only when no record says anything.

With ``ignore_empty`` (the default) an empty value never wins while a record of the person has
one; without it, the chosen record's empty value wins too. With ``address_as_block`` (the
default) street, postcode, city and country all come from the one record chosen by the street
rule, so an address is never stitched from two records: with ``ignore_empty`` that record is
one holding a street if any does, then the fullest address, then the street rule decides; a
person whose records hold no street gets the most complete partial address (a city alone).
Ties are broken by source priority, then source, then record id, so a build is deterministic.
``created_at`` is the earliest and ``updated_at`` the latest date of the records.

`build` replaces ``golden.profiles`` in one transaction: per person each field, its lineage
(``<field>__source``, ``<field>__record_id``), record and source counts, and activity joined
through the clusters from the event sources (orders and revenue in total and per channel, carts,
call-centre contacts, campaign sends). It is one SQL statement over whole columns.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from cdp_core import catalog
from cdp_core.errors import InputError
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import Workspace

Progress = Callable[[float, str], None]

RULES = ("most_recent", "most_frequent", "source_priority", "most_complete", "longest",
         "first_non_empty", "most_restrictive")
FIELDS = ("civility", "first_name", "last_name", "email", "phone", "birth_date", "street",
          "postcode", "city", "country", "consent_email", "consent_sms")
DATE_FIELDS = ("created_at", "updated_at")
CONSENT_FIELDS = ("consent_email", "consent_sms")
ADDRESS_FIELDS = ("street", "postcode", "city", "country")
CONSENT_CHANNELS = ("email", "sms")
_TYPES = {"birth_date": "DATE", "consent_email": "BOOLEAN", "consent_sms": "BOOLEAN",
          "created_at": "TIMESTAMP", "updated_at": "TIMESTAMP"}
# created_at is the earliest date known, updated_at the latest: fixed rules, never user choices.
_DATE_RULES = {"created_at": "first_non_empty", "updated_at": "most_recent"}
LINEAGE_SUFFIXES = ("__source", "__record_id")
ACTIVITY_COLUMNS = ("orders", "revenue", "orders_web", "revenue_web", "orders_store",
                    "revenue_store", "first_purchase_at", "last_purchase_at",
                    "days_since_last_purchase", "carts", "contacts", "last_contact_at",
                    "campaign_sends")
# An order's channel is its own `channel` value when it names one of these; when it is empty,
# the channel the event source's name or department names; otherwise it is counted in the
# totals only.
WEB_WORDS = ("web", "online", "en ligne", "internet", "e-commerce", "ecommerce", "eshop",
             "e-shop", "site", "app", "mobile")
STORE_WORDS = ("store", "magasin", "boutique", "shop", "retail", "pos", "caisse", "in-store")
_LAST = 9_223_372_036_854_775_807  # sorts after every real key: records without the date
_BIG_SHIFT = "CAST('18446744073709551616' AS HUGEINT)"  # 2**64: a rule key's whole range
_TIE_SHIFT = "CAST(4294967296 AS HUGEINT)"  # 2**32: room for the tie-break rank


def _quiet(_fraction: float, _message: str) -> None:
    """A progress callback that reports nothing."""


# --------------------------------------------------------------------------- the user's rules


@dataclass(frozen=True)
class FieldRule:
    """How one field survives; ``sources`` orders a ``source_priority`` rule (empty: the
    rules' general source order)."""

    rule: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class SurvivorshipRules:
    """The business's choices, stored as JSON in ``meta.golden_settings``.

    Example:
        >>> rules = SurvivorshipRules(overrides={"phone": FieldRule("most_frequent")})
        >>> SurvivorshipRules.from_json(rules.to_json()) == rules
        True
        >>> rules.rule_for("consent_sms").rule
        'most_restrictive'
    """

    default: str = "most_recent"
    overrides: Mapping[str, FieldRule] = field(default_factory=dict)
    source_priority: tuple[str, ...] = ()
    ignore_empty: bool = True
    address_as_block: bool = True

    def rule_for(self, name: str) -> FieldRule:
        """The rule of a field: its override, else most_restrictive for consent, else the
        default."""
        if name in self.overrides:
            return self.overrides[name]
        return FieldRule("most_restrictive" if name in CONSENT_FIELDS else self.default)

    def validate(self, known_sources: Iterable[str] | None = None) -> SurvivorshipRules:
        """These rules, or an InputError naming the bad field, rule or source."""
        _check_rule("the default rule", self.default)
        if self.default == "most_restrictive":
            raise InputError("the default rule cannot be 'most_restrictive': it only applies "
                             "to the consent fields")
        for name, choice in self.overrides.items():
            if name not in FIELDS:
                raise InputError(f"unknown field {name!r} in the survivorship rules; fields: "
                                 f"{', '.join(FIELDS)}")
            _check_rule(f"field {name!r}", choice.rule)
            if choice.rule == "most_restrictive" and name not in CONSENT_FIELDS:
                raise InputError(f"field {name!r}: 'most_restrictive' only applies to "
                                 f"{' and '.join(CONSENT_FIELDS)}")
        if known_sources is not None:
            known = set(known_sources)
            listed = [*self.source_priority,
                      *(s for choice in self.overrides.values() for s in choice.sources)]
            unknown = [name for name in listed if name not in known]
            if unknown:
                raise InputError(f"unknown source {unknown[0]!r} in the source priority; "
                                 f"profile sources: {', '.join(sorted(known)) or 'none'}")
        return self

    def to_json(self) -> str:
        """The stored form."""
        overrides = {name: {"rule": c.rule, **({"sources": list(c.sources)} if c.sources else {})}
                     for name, c in sorted(self.overrides.items())}
        return json.dumps({"default": self.default, "overrides": overrides,
                           "source_priority": list(self.source_priority),
                           "ignore_empty": self.ignore_empty,
                           "address_as_block": self.address_as_block}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SurvivorshipRules:
        """Rules from their stored form; an override may be a bare rule name."""
        try:
            data = json.loads(text)
            overrides = {str(name): FieldRule(value) if isinstance(value, str) else
                         FieldRule(str(value["rule"]), tuple(value.get("sources", ())))
                         for name, value in data.get("overrides", {}).items()}
            rules = cls(default=str(data.get("default", "most_recent")), overrides=overrides,
                        source_priority=tuple(data.get("source_priority", ())),
                        ignore_empty=bool(data.get("ignore_empty", True)),
                        address_as_block=bool(data.get("address_as_block", True)))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"survivorship rules are not valid JSON of the expected shape: "
                             f"{exc}") from None
        return rules.validate()


def _check_rule(what: str, rule: str) -> None:
    if rule not in RULES:
        raise InputError(f"{what}: unknown survivorship rule {rule!r}; rules: {', '.join(RULES)}")


def load_rules(cur: duckdb.DuckDBPyConnection) -> SurvivorshipRules:
    """The latest saved rules, or the defaults before any are saved."""
    row = cur.execute("SELECT rules FROM meta.golden_settings ORDER BY settings_id DESC LIMIT 1"
                      ).fetchone()
    return SurvivorshipRules.from_json(row[0]) if row else SurvivorshipRules()


def _save_rules(cur: duckdb.DuckDBPyConnection, rules: SurvivorshipRules) -> None:
    """Append the rules as the latest version (inside the caller's transaction)."""
    cur.execute("INSERT INTO meta.golden_settings (settings_id, rules) SELECT "
                "coalesce(max(settings_id), 0) + 1, ? FROM meta.golden_settings",
                [rules.to_json()])


# --------------------------------------------------------------------------- what a build resolves


@dataclass(frozen=True)
class _Source:
    """A source's current standardised table and the columns it holds."""

    source_id: int
    name: str
    kind: str
    table: str
    columns: frozenset[str]
    profile_source_id: int | None = None
    default_channel: str | None = None


@dataclass(frozen=True)
class ResolvedRules:
    """What a build does with the user's rules on this workspace: the fields present (mapped by
    at least one profile source), each one's rule and source order (as source ids)."""

    fields: tuple[str, ...]
    dates: tuple[str, ...]
    rules: dict[str, str]
    priorities: dict[str, tuple[int, ...]]
    general_priority: tuple[int, ...]
    ignore_empty: bool
    address_block: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every survivorship column of golden.profiles, in order."""
        return (*self.fields, *self.dates)


def _table_columns(cur: duckdb.DuckDBPyConnection, source_id: int, version: int) -> frozenset[str]:
    name = f"s{int(source_id)}_v{int(version)}"
    rows = cur.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = "
                       "current_database() AND schema_name = 'std' AND table_name = ?",
                       [name]).fetchall()
    return frozenset(row[0] for row in rows)


def _channel_of(*texts: str | None) -> str | None:
    """'web' or 'store' when a source's name or department says so."""
    words = " ".join(t.lower() for t in texts if t)
    for channel, vocabulary in (("web", WEB_WORDS), ("store", STORE_WORDS)):
        if any(word in words for word in vocabulary):
            return channel
    return None


def _sources(cur: duckdb.DuckDBPyConnection) -> list[_Source]:
    """Every source holding data, profiles first, with its current table."""
    rows = cur.execute("SELECT s.source_id, s.name, s.kind, s.department, p.source_id "
                       "FROM meta.sources s LEFT JOIN meta.sources p ON p.name = s.profile_source "
                       "AND p.kind = 'profiles' WHERE EXISTS (SELECT 1 FROM meta.source_versions "
                       "v WHERE v.source_id = s.source_id) "
                       "ORDER BY s.kind <> 'profiles', s.source_id").fetchall()
    found = []
    for source_id, name, kind, department, profile_source_id in rows:
        version = catalog.current_version(cur, source_id)
        found.append(_Source(source_id, name, kind, catalog.table_names(source_id, version)[1],
                             _table_columns(cur, source_id, version), profile_source_id,
                             _channel_of(name, department)))
    return found


def _mapped_fields(cur: duckdb.DuckDBPyConnection) -> set[str]:
    """The canonical fields at least one profile source fills."""
    mapped = {row[0] for row in cur.execute(
        "SELECT DISTINCT m.field FROM meta.mappings m JOIN meta.sources s USING (source_id) "
        "WHERE s.kind = 'profiles'").fetchall()}
    if "full_name" in mapped:  # standardisation splits full names into first and last names
        mapped |= {"first_name", "last_name"}
    return mapped


def present_fields(cur: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The survivorship fields a build writes here: those a profile source maps."""
    mapped = _mapped_fields(cur)
    return tuple(f for f in FIELDS if f in mapped)


def resolve(cur: duckdb.DuckDBPyConnection, rules: SurvivorshipRules) -> ResolvedRules:
    """The rules as a build applies them here; unknown source names are an InputError."""
    sources = [s for s in _sources(cur) if s.kind == "profiles"]
    rules.validate(s.name for s in sources)
    mapped = _mapped_fields(cur)
    present = present_fields(cur)
    ids = {s.name: s.source_id for s in sources}

    def order(names: Iterable[str]) -> tuple[int, ...]:
        return tuple(ids[name] for name in names)

    general = order(rules.source_priority)
    block = tuple(f for f in ADDRESS_FIELDS if f in present) if rules.address_as_block else ()
    return ResolvedRules(
        fields=present, dates=tuple(f for f in DATE_FIELDS if f in mapped),
        rules={f: rules.rule_for(f).rule for f in present},
        priorities={f: order(rules.rule_for(f).sources) or general for f in present},
        general_priority=general, ignore_empty=rules.ignore_empty,
        address_block=block if len(block) > 1 else ())


# --------------------------------------------------------------------------- the SQL


def _value(source: _Source, name: str) -> str:
    """A canonical column of a source's table, a typed NULL when the table lacks it."""
    if name in source.columns:
        return quote_ident(name)
    return f"CAST(NULL AS {_TYPES.get(name, 'VARCHAR')})"


def _column(source: _Source, name: str) -> str:
    return f"{_value(source, name)} AS {quote_ident(name)}"


def _records_sql(cur: duckdb.DuckDBPyConnection, people_filter: bool) -> tuple[str, list[_Source]]:
    """The CTEs ``people`` (clusters, filtered to ``$only`` when asked) and ``recs`` (every
    profile record of the current versions with its person and canonical fields)."""
    sources = _sources(cur)
    profiles = [s for s in sources if s.kind == "profiles"]
    if not profiles:
        raise InputError("no profile source yet: ingest one, then run matching")
    names = [*FIELDS, *DATE_FIELDS]
    union = " UNION ALL ".join(
        f"SELECT '{s.source_id}:' || record_id AS unique_id, {s.source_id} AS source_id, "  # noqa: S608
        f"record_id, {', '.join(_column(s, n) for n in names)} FROM {s.table}" for s in profiles)
    where = " WHERE cluster_id IN (SELECT unnest($only))" if people_filter else ""
    sql = (f"people AS (SELECT unique_id, cluster_id FROM match.clusters{where}), "  # noqa: S608
           f"recs AS (SELECT p.cluster_id AS person_id, s.name AS source_name, r.* "
           f"FROM ({union}) r JOIN people p USING (unique_id) "
           f"JOIN meta.sources s USING (source_id))")
    return sql, sources


def _priority_sql(order: tuple[int, ...]) -> str:
    """Rank of a record's source in an order of source ids (unlisted last)."""
    if not order:
        return "0"
    cases = " ".join(f"WHEN {int(sid)} THEN {rank}" for rank, sid in enumerate(order))
    return f"CASE source_id {cases} ELSE {len(order)} END"


def _empty_sql(columns: tuple[str, ...]) -> str:
    return " AND ".join(f"{quote_ident(c)} IS NULL" for c in columns)


def _key_sql(rule: str, name: str, columns: tuple[str, ...]) -> str:
    """An ordering key where the smallest wins, for a rule on a field (or address block)."""
    if rule == "most_recent":
        return f"coalesce(-epoch_us(coalesce(updated_at, created_at)), {_LAST})"
    if rule == "first_non_empty":
        return f"coalesce(epoch_us(created_at), {_LAST})"
    if rule == "most_complete":
        return "-_filled"
    if rule == "longest":
        text = " || ".join(f"coalesce(CAST({quote_ident(c)} AS VARCHAR), '')" for c in columns)
        return f"-length({text})"
    if rule == "most_restrictive":
        value = quote_ident(columns[0])
        return f"CASE WHEN NOT {value} THEN 0 WHEN {value} THEN 1 ELSE 2 END"
    return quote_ident(f"_rank_{name}")  # most_frequent and source_priority: a ranked column


def _ranked_columns(plan: ResolvedRules) -> list[str]:
    """The per-record helper columns: fill count, tie-break order, per-field ranks."""
    filled = " + ".join(f"CAST({quote_ident(f)} IS NOT NULL AS INTEGER)" for f in plan.fields)
    columns = [f"{filled or '0'} AS _filled",
               f"row_number() OVER (ORDER BY {_priority_sql(plan.general_priority)}, "
               "source_id, record_id) AS _tie"]
    for name, rule in _chosen(plan).items():
        rank = quote_ident(f"_rank_{name}")
        if rule == "source_priority":
            columns.append(f"{_priority_sql(plan.priorities[name])} AS {rank}")
        elif rule == "most_frequent":
            group = ", ".join(quote_ident(c) for c in _block_of(plan, name))
            columns.append(f"-count(*) OVER (PARTITION BY person_id, {group}) AS {rank}")
    return columns


def _block_of(plan: ResolvedRules, name: str) -> tuple[str, ...]:
    """The columns a choice takes together: the address block for its anchor, else itself."""
    if plan.address_block and name == plan.address_block[0]:
        return plan.address_block
    return (name,)


def _chosen(plan: ResolvedRules) -> dict[str, str]:
    """Each choice made per person (one per field, one per address block) and its rule."""
    followers = set(plan.address_block[1:])
    choices = {f: rule for f, rule in plan.rules.items() if f not in followers}
    return choices | {f: _DATE_RULES[f] for f in plan.dates}


def _pick_sql(plan: ResolvedRules, name: str, rule: str) -> str:
    """The aggregate picking the surviving record of one choice, as a struct of its values.

    The ordering key is one HUGEINT (a fixed-size key keeps the aggregate small and fast):
    a prefix (address blocks: no street, then missing parts), the rule's key, the tie-break.
    """
    block = _block_of(plan, name)
    values = ", ".join(f"{quote_ident(c)} := {quote_ident(c)}" for c in block)
    prefix = "0"
    if len(block) > 1 and plan.ignore_empty:  # an address with a street, then the fullest
        missing = " + ".join(f"CAST({quote_ident(c)} IS NULL AS INTEGER)" for c in block)
        prefix = f"CAST({quote_ident(block[0])} IS NULL AS INTEGER) * 8 + {missing}"
    key = (f"(CAST({prefix} AS HUGEINT) * {_BIG_SHIFT} + ({_key_sql(rule, name, block)})) "
           f"* {_TIE_SHIFT} + _tie")
    pick = f"arg_min(struct_pack(_s := source_name, _r := record_id, {values}), {key})"
    if plan.ignore_empty or rule == "most_restrictive" or name in DATE_FIELDS:
        pick += f" FILTER (WHERE NOT ({_empty_sql(block)}))"
    return f"{pick} AS {quote_ident('_pick_' + name)}"


def _field_columns(plan: ResolvedRules) -> list[str]:
    """Each survivorship column and its lineage, read from the pick that decides it."""
    anchor = {f: plan.address_block[0] for f in plan.address_block}
    values, lineage = [], []
    for name in plan.columns:
        pick = quote_ident("_pick_" + anchor.get(name, name))
        values.append(f"{pick}.{quote_ident(name)} AS {quote_ident(name)}")
        lineage += [f"{pick}._s AS {quote_ident(name + '__source')}",
                    f"{pick}._r AS {quote_ident(name + '__record_id')}"]
    return values + lineage


_FIXED_EVENT_COLUMNS = frozenset(
    {"source", "event_id", "customer_ref", "event_at", "amount", "channel"})


def _props_sql(source: _Source, params: dict[str, Any]) -> str:
    """A MAP of the event table's extra columns by name; the names travel as parameters."""
    extras = sorted(source.columns - _FIXED_EVENT_COLUMNS)
    keys = []
    for name in extras:
        key = f"prop_{source.source_id}_{len(keys)}"
        params[key] = name
        keys.append(f"${key}")
    values = ", ".join(f"CAST({quote_ident(name)} AS VARCHAR)" for name in extras)
    return f"map([{', '.join(keys)}]::VARCHAR[], [{values}]::VARCHAR[])"


def _events_sql(sources: list[_Source], detailed: bool = False,
                ) -> tuple[str, dict[str, Any]]:
    """Every event of the current event versions with the unique_id of its profile record,
    and the named parameters the SELECT uses. ``detailed`` adds the source name, the event id
    and ``props``, a MAP of the table's extra columns (a store, a cart status, a call reason).
    """
    selects = []
    params: dict[str, Any] = {}
    for s in sources:
        if s.kind == "profiles" or s.profile_source_id is None or "customer_ref" not in s.columns:
            continue
        channel = _value(s, "channel")
        fallback = f"'{s.default_channel}'" if s.default_channel else "NULL"
        group = (f"CASE WHEN list_contains($web_words, lower(trim({channel}))) THEN 'web' "
                 f"WHEN list_contains($store_words, lower(trim({channel}))) THEN 'store' "
                 f"WHEN nullif(trim({channel}), '') IS NULL THEN {fallback} END")
        detail = ""
        if detailed:
            name_key = f"source_{s.source_id}"
            params[name_key] = s.name
            detail = (f", ${name_key} AS source, "
                      f"CAST(event_id AS VARCHAR) AS event_id, {_props_sql(s, params)} AS props")
        selects.append(f"SELECT '{s.profile_source_id}:' || customer_ref AS unique_id, "  # noqa: S608
                       f"'{s.kind}' AS kind, {group} AS channel_group, "
                       f"{_column(s, 'event_at')}, {_column(s, 'amount')}{detail} FROM {s.table}")
    if not selects:
        detail = (", NULL::VARCHAR AS source, NULL::VARCHAR AS event_id, "
                  "map([]::VARCHAR[], []::VARCHAR[]) AS props") if detailed else ""
        return ("SELECT NULL::VARCHAR AS unique_id, NULL::VARCHAR AS kind, NULL::VARCHAR AS "
                "channel_group, NULL::TIMESTAMP AS event_at, NULL::DOUBLE AS amount"
                f"{detail} WHERE false", {})
    return " UNION ALL ".join(selects), {**params, "web_words": list(WEB_WORDS),
                                         "store_words": list(STORE_WORDS)}


def person_events_sql(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    """The SELECT of every event with the person it belongs to (through the clusters): columns
    person_id, source, kind, channel_group, event_id, event_at, amount, props; and its
    parameters. Events whose record is in no cluster (not matched yet) are left out."""
    events, params = _events_sql(_sources(cur), detailed=True)
    sql = ("SELECT c.cluster_id AS person_id, e.source, e.kind, e.channel_group, e.event_id, "  # noqa: S608
           f"e.event_at, e.amount, e.props FROM ({events}) e "
           "JOIN match.clusters c USING (unique_id)")
    return sql, params


def _activity_sql() -> str:
    orders = "kind = 'orders'"
    parts = [f"count(*) FILTER ({orders}) AS orders",
             f"sum(amount) FILTER ({orders}) AS revenue"]
    for channel in ("web", "store"):
        where = f"{orders} AND channel_group = '{channel}'"
        parts += [f"count(*) FILTER ({where}) AS orders_{channel}",
                  f"sum(amount) FILTER ({where}) AS revenue_{channel}"]
    parts += [f"min(event_at) FILTER ({orders}) AS first_purchase_at",
              f"max(event_at) FILTER ({orders}) AS last_purchase_at",
              "count(*) FILTER (kind = 'carts') AS carts",
              "count(*) FILTER (kind = 'contacts') AS contacts",
              "max(event_at) FILTER (kind = 'contacts') AS last_contact_at",
              "count(*) FILTER (kind = 'campaign_sends') AS campaign_sends"]
    return (f"activity AS (SELECT p.cluster_id AS person_id, {', '.join(parts)} "  # noqa: S608
            "FROM events e JOIN people p USING (unique_id) GROUP BY ALL)")


def _activity_columns() -> list[str]:
    """Activity per person; counts and revenue are 0, not empty, for people without events."""
    columns = []
    for name in ACTIVITY_COLUMNS:
        if name == "days_since_last_purchase":
            columns.append("date_diff('day', a.last_purchase_at, $reference_at) "
                           "AS days_since_last_purchase")
        elif name.endswith("_at"):
            columns.append(f"a.{name}")
        else:
            zero = "0.0" if name.startswith("revenue") else "0"
            columns.append(f"coalesce(a.{name}, {zero}) AS {name}")
    return columns


def _profiles_sql(cur: duckdb.DuckDBPyConnection, plan: ResolvedRules,
                  only: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    """The SELECT of golden.profiles, for every person or the ``only`` ids, and its named
    parameters."""
    records, sources = _records_sql(cur, only is not None)
    events, params = _events_sql(sources)
    picks = [_pick_sql(plan, name, rule) for name, rule in _chosen(plan).items()]
    sql = (f"WITH {records}, "  # noqa: S608
           f"ranked AS (SELECT *, {', '.join(_ranked_columns(plan))} FROM recs), "
           f"chosen AS (SELECT person_id, count(*) AS record_count, "
           f"count(DISTINCT source_id) AS source_count, "
           f"list_sort(list_distinct(list(source_name))) AS sources"
           f"{''.join(', ' + p for p in picks)} FROM ranked GROUP BY person_id), "
           f"events AS ({events}), {_activity_sql()} "
           f"SELECT {', '.join(['c.person_id', *_field_columns(plan)])}, c.record_count, "
           f"c.source_count, c.sources, {', '.join(_activity_columns())} "
           "FROM chosen c LEFT JOIN activity a USING (person_id)")
    params = {**params, "reference_at": reference_date(cur, events, params)}
    return sql, params | ({"only": only} if only is not None else {})


def reference_date(cur: duckdb.DuckDBPyConnection, events: str | None = None,
                   params: dict[str, Any] | None = None) -> Any:
    """The latest event date in the workspace: "today" for recency (the data may be dated)."""
    if events is None:
        events, params = _events_sql(_sources(cur))
    return cur.execute(f"SELECT max(event_at) FROM ({events})", params).fetchone()[0]  # noqa: S608


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class BuildResult:
    """What a build produced (no personal data: safe for the audit log and the CLI)."""

    build_id: int
    run_id: int | None
    profiles: int
    records: int
    seconds: float

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.profiles:,} unified profiles from {self.records:,} records; "
                f"build {self.build_id} on matching run {self.run_id}, {self.seconds:.1f} s")


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema, table]).fetchone()[0])


def _latest_run(cur: duckdb.DuckDBPyConnection) -> int | None:
    return cur.execute("SELECT max(run_id) FROM meta.match_runs").fetchone()[0]


def _record_build(cur: duckdb.DuckDBPyConnection, started: float) -> tuple[int, int | None, int]:
    """Add a meta.golden_builds row for the profiles now on file; return id, run, profiles."""
    profiles = cur.execute("SELECT count(*) FROM golden.profiles").fetchone()[0]
    build_id = cur.execute("SELECT coalesce(max(build_id), 0) + 1 FROM meta.golden_builds"
                           ).fetchone()[0]
    run_id = _latest_run(cur)
    cur.execute("INSERT INTO meta.golden_builds (build_id, run_id, profiles, seconds) "
                "VALUES (?, ?, ?, ?)", [build_id, run_id, profiles, time.monotonic() - started])
    return build_id, run_id, profiles


def build(ws: Workspace, rules: SurvivorshipRules | None = None,
          progress: Progress | None = None) -> BuildResult:
    """Build every unified profile with ``rules`` (saved as the latest) or the saved rules.

    ``golden.profiles`` is replaced, the build recorded in ``meta.golden_builds`` and audited,
    all in one transaction: on any error the previous profiles stay.
    """
    report = progress or _quiet
    started = time.monotonic()
    cur = ws.cursor()
    if not has_clusters(cur):
        raise InputError("run matching first: there are no clusters of records to unify yet")
    report(0.05, "resolving the rules")
    chosen = rules or load_rules(cur)
    plan = resolve(cur, chosen)
    sql, params = _profiles_sql(cur, plan)
    report(0.1, "building unified profiles")
    with ws.transaction() as tx:
        if rules is not None:
            _save_rules(tx, rules)
        tx.execute("CREATE SCHEMA IF NOT EXISTS golden")
        tx.execute(f"CREATE OR REPLACE TABLE golden.profiles AS {sql}", params)
        report(0.9, "saving")
        build_id, run_id, profiles = _record_build(tx, started)
        records = tx.execute("SELECT coalesce(sum(record_count), 0) FROM golden.profiles"
                             ).fetchone()[0]
        ws.audit(tx, "golden build", f"build_id={build_id} run_id={run_id} "
                 f"profiles={profiles} records={records}")
    report(1.0, "done")
    return BuildResult(build_id, run_id, profiles, int(records), time.monotonic() - started)


def rebuild_people(cur: duckdb.DuckDBPyConnection, removed_person_ids: Iterable[str],
                   current_person_ids: Iterable[str]) -> None:
    """Refresh the profiles a cluster decision touched, inside the caller's transaction.

    The removed ids' rows go; the current ids get rows built afresh with the saved rules, by the
    same SQL as a full build (filtered). A row in ``meta.golden_builds`` records it, so the
    profiles do not show as stale after the decision. Nothing happens before a first build.
    """
    if not _table_exists(cur, "golden", "profiles"):
        return
    started = time.monotonic()
    current = sorted(set(current_person_ids))
    gone = sorted(set(removed_person_ids) | set(current))
    plan = resolve(cur, load_rules(cur))
    if _held_columns(cur) != _output_columns(plan):  # the sources changed shape: everyone
        sql, params = _profiles_sql(cur, plan)
        cur.execute(f"CREATE OR REPLACE TABLE golden.profiles AS {sql}", params)
    else:
        cur.execute("DELETE FROM golden.profiles WHERE person_id IN (SELECT unnest(?))", [gone])
        sql, params = _profiles_sql(cur, plan, current)
        cur.execute(f"INSERT INTO golden.profiles {sql}", params)
    _record_build(cur, started)


def _output_columns(plan: ResolvedRules) -> list[str]:
    """The columns of golden.profiles a build with this plan writes, in order."""
    lineage = [f"{name}{suffix}" for name in plan.columns for suffix in LINEAGE_SUFFIXES]
    return ["person_id", *plan.columns, *lineage, "record_count", "source_count", "sources",
            *ACTIVITY_COLUMNS]


# --------------------------------------------------------------------------- reading


def has_clusters(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether matching has produced clusters to unify."""
    return _table_exists(cur, "match", "clusters")


def profile_source_names(cur: duckdb.DuckDBPyConnection) -> list[str]:
    """The profile sources, in the order they were added: the choices of a priority list."""
    return [row[0] for row in cur.execute("SELECT name FROM meta.sources WHERE kind = "
                                          "'profiles' ORDER BY source_id").fetchall()]


def has_profiles(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether unified profiles have been built."""
    return _table_exists(cur, "golden", "profiles")


def profile_of(cur: duckdb.DuckDBPyConnection, person_id: str) -> dict[str, Any] | None:
    """One person's unified profile (every column, lineage included), or None."""
    if not has_profiles(cur):
        return None
    result = cur.execute("SELECT * FROM golden.profiles WHERE person_id = ?", [person_id])
    row = result.fetchone()
    return None if row is None else dict(zip([d[0] for d in result.description], row,
                                             strict=True))


def lineage(profile: Mapping[str, Any]) -> pd.DataFrame:
    """A profile's fields as rows: field, value and the source and record it came from."""
    names = [c[: -len("__source")] for c in profile if c.endswith("__source")]
    return pd.DataFrame({"field": names, "value": [profile[n] for n in names],
                         "source": [profile[f"{n}__source"] for n in names],
                         "record_id": [profile[f"{n}__record_id"] for n in names]})


def _require_profiles(cur: duckdb.DuckDBPyConnection) -> None:
    if not has_profiles(cur):
        raise InputError("no unified profiles yet: build them first (Golden records page, or "
                         "`python -m cdp_core export WS profiles OUT.csv`)")


def export_profiles(cur: duckdb.DuckDBPyConnection, *, lineage: bool = False,
                    consented: str | None = None) -> pd.DataFrame:
    """One row per unified profile; ``consented`` ('email' or 'sms') keeps only the people who
    agreed to that channel; lineage columns only when asked."""
    _require_profiles(cur)
    columns = _held_columns(cur)
    where = ""
    if consented is not None:
        if consented not in CONSENT_CHANNELS:
            raise InputError(f"consent channel {consented!r}: choose email or sms")
        if f"consent_{consented}" not in columns:
            raise InputError(f"no profile source records consent to {consented}: nobody can "
                             "be exported as consenting")
        where = f" WHERE consent_{consented}"
    keep = [c for c in columns if lineage or not c.endswith(LINEAGE_SUFFIXES)]
    select = ", ".join("array_to_string(sources, ', ') AS sources" if c == "sources"
                       else quote_ident(c) for c in keep)
    return cur.execute(f"SELECT {select} FROM golden.profiles{where} "  # noqa: S608
                       "ORDER BY person_id").df()


def _held_columns(cur: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = 'profiles' ORDER BY column_index"
    ).fetchall()]


def browse(cur: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """The first profiles with their key fields, for a table on screen."""
    _require_profiles(cur)
    held = set(_held_columns(cur))
    keys = ["person_id", *(f for f in ("first_name", "last_name", "email", "phone", "city")
                           if f in held), "record_count", "source_count", "orders", "revenue"]
    return cur.execute(f"SELECT {', '.join(quote_ident(k) for k in keys)} "  # noqa: S608
                       "FROM golden.profiles ORDER BY source_count DESC, person_id LIMIT ?",
                       [limit]).df()


def last_build(cur: duckdb.DuckDBPyConnection) -> tuple[int, Any] | None:
    """The latest build's id and time, or None."""
    return cur.execute("SELECT build_id, built_at FROM meta.golden_builds "
                       "ORDER BY build_id DESC LIMIT 1").fetchone()


def is_stale(cur: duckdb.DuckDBPyConnection) -> bool:
    """True when the profiles are missing, or a matching run or a cluster decision (made or
    undone) is newer than the last build."""
    built = last_build(cur)
    if built is None or not has_profiles(cur):
        return True
    newer = cur.execute(
        "SELECT (SELECT count(*) FROM meta.match_runs WHERE finished_at > $at) + "
        "(SELECT count(*) FROM meta.cluster_decisions WHERE decided_at > $at "
        "OR undone_at > $at)", {"at": built[1]}).fetchone()[0]
    return newer > 0


@dataclass(frozen=True)
class GoldenSummary:
    """What unification is worth, for the page's tiles and chart."""

    people: int
    records: int
    duplicates_merged: int
    multi_source_share: float
    completeness: pd.DataFrame  # field, golden, best_source, best_source_name


def summary(cur: duckdb.DuckDBPyConnection) -> GoldenSummary:
    """People, records, duplicates merged, share known in 2+ sources, and per field the share
    of people the unified profile fills versus the best single source (the share of all people
    that one source alone gives a value for)."""
    _require_profiles(cur)
    people, records, multi = cur.execute(
        "SELECT count(*), coalesce(sum(record_count), 0), count(*) FILTER (source_count >= 2) "
        "FROM golden.profiles").fetchone()
    held = set(_held_columns(cur))
    fields = [f for f in FIELDS if f in held]
    if not fields or not people:
        empty = pd.DataFrame(columns=["field", "golden", "best_source", "best_source_name"])
        return GoldenSummary(people, int(records), int(records - people), 0.0, empty)
    golden = cur.execute("SELECT " + ", ".join(  # noqa: S608
        f"count({quote_ident(f)})" for f in fields) + " FROM golden.profiles").fetchone()
    records_sql, _ = _records_sql(cur, people_filter=False)
    per_source = cur.execute(
        f"WITH {records_sql} SELECT source_name, " + ", ".join(  # noqa: S608
            f"count(DISTINCT person_id) FILTER ({quote_ident(f)} IS NOT NULL)" for f in fields)
        + " FROM recs GROUP BY source_name ORDER BY source_name").fetchall()
    rows = []
    for index, name in enumerate(fields):
        best = max(per_source, key=lambda row: row[index + 1])
        rows.append({"field": name, "golden": golden[index] / people,
                     "best_source": best[index + 1] / people, "best_source_name": best[0]})
    return GoldenSummary(people, int(records), int(records - people), multi / people,
                         pd.DataFrame(rows))
