"""Segment rule trees: parsed, checked and compiled to parameterised DuckDB SQL.

A rule tree is plain JSON, built by the segment builder's widgets (never typed SQL):

- groups: ``{"all": [node, ...]}``, ``{"any": [node, ...]}``, ``{"not": node}``;
- a field condition: ``{"field": "city", "op": "eq", "value": "Lyon"}``;
- an event condition: ``{"event": "orders", "did": true, "at_least": 1, "within_days": 30,
  "amount_gt": 50, "channel": "web", "where": {"property": "statut", "equals": "abandoned"}}``:
  the person has at least ``at_least`` such events (``did``) or fewer (``did: false``);
- membership: ``{"segment": "Champions", "member": true}``.

Compiling turns every value into a parameter and every field name into a checked, quoted
identifier, so quotes, semicolons or SQL words in names and values never change the query.
Each condition is two-valued: an empty value never matches ``eq``, ``lt``... but does match
``ne`` and ``not_in``, and ``not`` is the exact complement of what it negates.

Example:
    >>> fields = {"city": Field("city", "text")}
    >>> sql, params = compile_rule({"field": "city", "op": "eq", "value": "Lyon"}, fields)
    >>> sql, list(params.values())
    ('coalesce((b."city" = $p0), false)', ['Lyon'])
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cdp_core.errors import InputError
from cdp_core.mapping import EVENT_KINDS
from cdp_core.sqlutil import quote_ident

FIELD_TYPES = ("text", "number", "date", "boolean", "list")
OPERATORS: dict[str, tuple[str, ...]] = {
    "text": ("eq", "ne", "in", "not_in", "contains", "starts_with", "is_empty", "not_empty"),
    "number": ("eq", "ne", "lt", "le", "gt", "ge", "between", "in", "not_in", "is_empty",
               "not_empty"),
    "date": ("on", "before", "after", "between", "within_days", "anniversary_within_days",
             "is_empty", "not_empty"),
    "boolean": ("eq", "ne", "is_empty", "not_empty"),
    "list": ("contains", "is_empty", "not_empty"),
}
NO_VALUE = ("is_empty", "not_empty")
LIST_VALUE = ("in", "not_in")
DAYS_VALUE = ("within_days", "anniversary_within_days")
EVENT_CHANNELS = ("web", "store")
_EVENT_KEYS = {"event", "did", "at_least", "within_days", "amount_gt", "channel", "where"}
_COMPARISONS = {"eq": "=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
MAX_DAYS = 100_000  # about 270 years: more than any customer history, well inside DuckDB's dates
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A text is blank when it holds only what Python's str.isspace calls whitespace: RE2's \s
# (tab, newline, form feed, carriage return, space) plus vertical tab, the separators
# U+001C-U+001F, next line U+0085 and every Unicode space and line/paragraph separator (\p{Z}).
_BLANK_PATTERN = r"[\s\x0b\x1c-\x1f\x85\p{Z}]*"


@dataclass(frozen=True)
class Field:
    """A column a segment can filter on, and its kind of value."""

    name: str
    type: str


@dataclass
class Context:
    """What compiling needs besides the tree: the fields, the saved segments and parameters.

    ``segment`` maps a saved segment's name to ("static", segment_id) or ("dynamic", rule).
    """

    fields: Mapping[str, Field]
    segment: Callable[[str], tuple[str, Any]] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    _visiting: list[str] = field(default_factory=list)

    def add(self, value: Any) -> str:
        """A fresh named parameter holding ``value``."""
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"


# --------------------------------------------------------------------------- checking


def _where(path: str) -> str:
    return path or "the rule"


def _node_kind(node: Any, path: str) -> str:
    if not isinstance(node, Mapping):
        raise InputError(f"{_where(path)}: a condition or group is expected here")
    kinds = [k for k in ("all", "any", "not", "field", "event", "segment") if k in node]
    if len(kinds) != 1:
        raise InputError(f"{_where(path)}: say exactly one of all, any, not, field, event "
                         "or segment")
    return kinds[0]


def _is_number(value: Any) -> bool:
    """A finite number DuckDB can take as a parameter (whole numbers within 64 bits)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    return math.isfinite(value)


def is_text(value: Any) -> bool:
    """A string DuckDB can take: encodable as UTF-8 (a broken JSON file can hold a lone
    surrogate such as "\\ud800", which DuckDB refuses with a raw error).

    Example:
        >>> is_text("Zoë 😀"), is_text("a\\ud800"), is_text(3)
        (True, False, False)
    """
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_days(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)
            and 0 <= value <= MAX_DAYS)


def check_day(value: Any, where: str) -> None:
    """Only YYYY-MM-DD: Python also reads 20240101 or 2024-W01-1, which DuckDB does not."""
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {value!r} is not a date written YYYY-MM-DD") from None


def _check_scalar(value: Any, kind: str, where: str) -> None:
    """A value of the field's kind, or an InputError naming what was expected."""
    if kind == "number" and not _is_number(value):
        raise InputError(f"{where}: a number is expected, not {value!r}")
    if kind == "text" and not is_text(value):
        raise InputError(f"{where}: a text value is expected, not {value!r}")
    if kind == "boolean" and not isinstance(value, bool):
        raise InputError(f"{where}: yes or no (true/false) is expected, not {value!r}")
    if kind == "date":
        check_day(value, where)
    if kind == "list" and not is_text(value):
        raise InputError(f"{where}: the value to look for is a text")


def _check_field(node: Mapping[str, Any], fields: Mapping[str, Field] | None, path: str,
                 ) -> None:
    where = _where(path)
    name, op = node.get("field"), node.get("op")
    if fields is None:  # the shape only: which fields exist depends on the workspace
        if not isinstance(name, str) or not any(op in ops for ops in OPERATORS.values()):
            raise InputError(f"{where}: a field condition names a field and a known operator")
        return
    if not isinstance(name, str) or name not in fields:
        raise InputError(f"{where}: there is no field {name!r} here; pick one from the list "
                         "(traits appear after a refresh)")
    kind = fields[name].type
    if op not in OPERATORS[kind]:
        raise InputError(f"{where}: {op!r} does not apply to the {kind} field {name!r}; use "
                         f"one of {', '.join(OPERATORS[kind])}")
    value = node.get("value")
    if op in NO_VALUE:
        return
    if op in LIST_VALUE:
        if not isinstance(value, list) or not value:
            raise InputError(f"{where}: give at least one value for {name!r}")
        for item in value:
            _check_scalar(item, kind, where)
    elif op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise InputError(f"{where}: 'between' needs a lower and an upper value")
        for item in value:
            _check_scalar(item, kind, where)
        if value[0] > value[1]:
            raise InputError(f"{where}: the range {value[0]} to {value[1]} is empty: the lower "
                             "value is above the upper one")
    elif op in DAYS_VALUE:
        if not _is_days(value):
            raise InputError(f"{where}: a number of days from 0 to {MAX_DAYS:,} is expected")
    else:
        _check_scalar(value, "date" if op in ("on", "before", "after") else kind, where)


def _check_event(node: Mapping[str, Any], path: str) -> None:
    where = _where(path)
    unknown = sorted(set(node) - _EVENT_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown setting {unknown[0]!r} in an event condition")
    if node["event"] not in EVENT_KINDS:
        raise InputError(f"{where}: the event is one of {', '.join(EVENT_KINDS)}")
    if not isinstance(node.get("did", True), bool):
        raise InputError(f"{where}: 'did' is true or false")
    for key in ("at_least", "within_days"):
        value = node.get(key)
        if value is not None and (not _is_days(value) or value < 1):
            raise InputError(f"{where}: {key.replace('_', ' ')} is a whole number from 1 to "
                             f"{MAX_DAYS:,}")
    if node.get("amount_gt") is not None and not _is_number(node["amount_gt"]):
        raise InputError(f"{where}: the amount is a number of euros")
    if node.get("channel") not in (None, *EVENT_CHANNELS):
        raise InputError(f"{where}: the channel is web or store")
    filt = node.get("where")
    if filt is not None and (not isinstance(filt, Mapping) or set(filt) != {"property", "equals"}
                             or not all(is_text(v) for v in filt.values())):
        raise InputError(f"{where}: a filter on events is a property and the value it equals")


def check(node: Any, fields: Mapping[str, Field] | None, path: str = "") -> None:
    """Raise an InputError naming the first thing wrong in the tree (its path, what to do).

    With ``fields`` None only the tree's shape is checked (a library file, before it meets a
    workspace).

    Example:
        >>> check({"all": []}, {})
        Traceback (most recent call last):
        cdp_core.errors.InputError: the rule: this group is empty; add a condition or remove it
    """
    kind = _node_kind(node, path)
    if kind in ("all", "any"):
        children = node[kind]
        if not isinstance(children, list) or not children:
            raise InputError(f"{_where(path)}: this group is empty; add a condition or remove it")
        for index, child in enumerate(children, start=1):
            check(child, fields, f"{path} > {kind}[{index}]" if path else f"{kind}[{index}]")
    elif kind == "not":
        check(node["not"], fields, f"{path} > not" if path else "not")
    elif kind == "field":
        _check_field(node, fields, path)
    elif kind == "event":
        _check_event(node, path)
    elif not is_text(node["segment"]) or not node["segment"].strip():
        raise InputError(f"{_where(path)}: name the segment to be a member of")
    elif not isinstance(node.get("member", True), bool):
        raise InputError(f"{_where(path)}: 'member' is true or false")


def contradictions(node: Any) -> list[str]:
    """Plain-words warnings for conditions that can never hold together in one AND group.

    Example:
        >>> contradictions({"all": [{"field": "city", "op": "eq", "value": "Lyon"},
        ...                         {"field": "city", "op": "eq", "value": "Nice"}]})
        ["city cannot equal both 'Lyon' and 'Nice'"]
    """
    found: list[str] = []
    if isinstance(node, Mapping):
        for key in ("all", "any"):
            for child in node.get(key, []) if isinstance(node.get(key), list) else []:
                found += contradictions(child)
        if "not" in node:
            found += contradictions(node["not"])
        if isinstance(node.get("all"), list):
            found += _group_contradictions([c for c in node["all"]
                                            if isinstance(c, Mapping) and "field" in c])
    return found


def _group_contradictions(conditions: list[Mapping[str, Any]]) -> list[str]:
    found = []
    by_field: dict[str, list[Mapping[str, Any]]] = {}
    for condition in conditions:
        by_field.setdefault(str(condition.get("field")), []).append(condition)
    for name, group in by_field.items():
        equal = {repr(c.get("value")) for c in group if c.get("op") == "eq"}
        if len(equal) > 1:
            found.append(f"{name} cannot equal both {' and '.join(sorted(equal))}")
        low, high = _bounds(group)
        if low is not None and high is not None and (
                low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1]))):
            found.append(f"{name} cannot be {'above' if low[1] else 'at least'} {low[0]} and "
                         f"{'below' if high[1] else 'at most'} {high[0]}")
        # An empty value still meets ne, not_in and is_empty; anything else needs a value.
        if any(c.get("op") == "is_empty" for c in group) and any(
                c.get("op") not in ("is_empty", "ne", "not_in") for c in group):
            found.append(f"{name} cannot be empty and also meet another condition")
    return found


def _bounds(group: list[Mapping[str, Any]]) -> tuple[Any, Any]:
    """The tightest lower and upper bound the conditions put on one field (numbers, dates),
    each as (value, strict) or None."""
    lows, highs = [], []
    for c in group:
        op, value = c.get("op"), c.get("value")
        if op in ("gt", "ge", "after") and value is not None:
            lows.append((value, op != "ge"))
        elif op in ("lt", "le", "before") and value is not None:
            highs.append((value, op != "le"))
        elif op == "between" and isinstance(value, list) and len(value) == 2:
            lows.append((value[0], False))
            highs.append((value[1], False))
    try:
        # The tightest lower bound is the largest (strict first on a tie), the tightest upper
        # bound the smallest (strict first on a tie).
        return (max(lows) if lows else None), (min(highs, key=lambda b: (b[0], not b[1]))
                                               if highs else None)
    except TypeError:  # mixed kinds: check() reports those
        return None, None


# --------------------------------------------------------------------------- compiling


def _column(name: str) -> str:
    return f"b.{quote_ident(name)}"


def _empty_sql(column: str, kind: str) -> str:
    if kind == "text":
        return f"({column} IS NULL OR regexp_full_match({column}, '{_BLANK_PATTERN}'))"
    if kind == "list":
        return f"({column} IS NULL OR len({column}) = 0)"
    return f"({column} IS NULL)"


def _field_sql(node: Mapping[str, Any], ctx: Context) -> str:
    """One field condition as a boolean expression that is never NULL."""
    name, op, value = node["field"], node["op"], node.get("value")
    kind = ctx.fields[name].type
    column = _column(name)
    if op == "is_empty":
        return _empty_sql(column, kind)
    if op == "not_empty":
        return f"(NOT {_empty_sql(column, kind)})"
    if op == "ne":
        return f"({column} IS DISTINCT FROM {ctx.add(value)})"
    if op == "not_in":
        return f"(NOT coalesce(list_contains({ctx.add(value)}, {column}), false))"
    if kind == "date":
        day = f"CAST({column} AS DATE)"
        expression = {
            "on": lambda: f"{day} = CAST({ctx.add(value)} AS DATE)",
            "before": lambda: f"{day} < CAST({ctx.add(value)} AS DATE)",
            "after": lambda: f"{day} > CAST({ctx.add(value)} AS DATE)",
            "between": lambda: (f"{day} BETWEEN CAST({ctx.add(value[0])} AS DATE) "
                                f"AND CAST({ctx.add(value[1])} AS DATE)"),
            "within_days": lambda: (f"{day} BETWEEN CAST($reference_at AS DATE) - "
                                    f"{ctx.add(value)} AND CAST($reference_at AS DATE)"),
            "anniversary_within_days": lambda: _anniversary_sql(day, ctx.add(value)),
        }[op]()
    elif op in _COMPARISONS:
        expression = f"{column} {_COMPARISONS[op]} {ctx.add(value)}"
    else:
        expression = {
            "between": lambda: f"{column} BETWEEN {ctx.add(value[0])} AND {ctx.add(value[1])}",
            "in": lambda: f"list_contains({ctx.add(value)}, {column})",
            "contains": lambda: (f"list_contains({column}, {ctx.add(value)})" if kind == "list"
                                 else f"contains(lower({column}), lower({ctx.add(value)}))"),
            "starts_with": lambda: f"starts_with(lower({column}), lower({ctx.add(value)}))",
        }[op]()
    return f"coalesce(({expression}), false)"


def _anniversary_sql(day: str, days: str) -> str:
    """The yearly anniversary of a date (a birthday) falls within ``days`` days from the
    reference date, that day included; a 29 February is celebrated on the 28th."""
    today = "CAST($reference_at AS DATE)"
    this_year = f"CAST({day} + to_years(year({today}) - year({day})) AS DATE)"
    next_year = f"CAST({day} + to_years(year({today}) - year({day}) + 1) AS DATE)"
    upcoming = f"(CASE WHEN {this_year} >= {today} THEN {this_year} ELSE {next_year} END)"
    return f"{upcoming} - {today} <= {days}"


def _event_sql(node: Mapping[str, Any], ctx: Context) -> str:
    """People with at least ``at_least`` matching events (or fewer, when ``did`` is false)."""
    filters = [f"kind = {ctx.add(node['event'])}"]
    if node.get("within_days"):
        days = ctx.add(node["within_days"])
        filters.append(f"event_at > CAST($reference_at AS TIMESTAMP) - to_days({days})")
    if node.get("amount_gt") is not None:
        filters.append(f"amount > {ctx.add(node['amount_gt'])}")
    if node.get("channel"):
        filters.append(f"channel_group = {ctx.add(node['channel'])}")
    if node.get("where"):
        filters.append(f"props[{ctx.add(node['where']['property'])}] = "
                       f"{ctx.add(node['where']['equals'])}")
    at_least = ctx.add(node.get("at_least") or 1)
    members = (f"b.person_id IN (SELECT person_id FROM golden.events WHERE "  # noqa: S608
               f"{' AND '.join(filters)} GROUP BY person_id HAVING count(*) >= {at_least})")
    return members if node.get("did", True) else f"(NOT {members})"


def _segment_sql(node: Mapping[str, Any], ctx: Context) -> str:
    """Membership of a saved segment: its snapshot if static, its rule inlined if dynamic."""
    name = node["segment"]
    if ctx.segment is None:
        raise InputError(f"segment {name!r}: segments cannot be used here")
    if name in ctx._visiting:
        chain = " → ".join([*ctx._visiting[ctx._visiting.index(name):], name])
        raise InputError(f"segments use each other in a circle ({chain}); remove one of these "
                         "memberships")
    mode, detail = ctx.segment(name)
    if mode == "static":
        sql = (f"b.person_id IN (SELECT person_id FROM segments.members "  # noqa: S608
               f"WHERE segment_id = {ctx.add(detail)})")
    else:
        ctx._visiting.append(name)
        try:
            check(detail, ctx.fields, f"segment {name!r}")
            sql = f"({_node_sql(detail, ctx)})"
        finally:
            ctx._visiting.pop()
    return sql if node.get("member", True) else f"(NOT {sql})"


def _node_sql(node: Mapping[str, Any], ctx: Context) -> str:
    kind = _node_kind(node, "")
    if kind in ("all", "any"):
        joiner = " AND " if kind == "all" else " OR "
        return "(" + joiner.join(_node_sql(child, ctx) for child in node[kind]) + ")"
    if kind == "not":
        return f"(NOT {_node_sql(node['not'], ctx)})"
    if kind == "field":
        return _field_sql(node, ctx)
    if kind == "event":
        return _event_sql(node, ctx)
    return _segment_sql(node, ctx)


def fields_used(node: Any) -> set[str]:
    """The fields a tree's conditions read (saved segments it uses are not opened).

    Example:
        >>> sorted(fields_used({"any": [{"field": "city", "op": "is_empty"},
        ...                             {"not": {"field": "revenue", "op": "gt", "value": 1}}]}))
        ['city', 'revenue']
    """
    if not isinstance(node, Mapping):
        return set()
    if "field" in node:
        return {node["field"]}
    children = [*(node.get("all") or []), *(node.get("any") or []),
                *([node["not"]] if "not" in node else [])]
    return set().union(*(fields_used(child) for child in children))


def compile_rule(node: Any, fields: Mapping[str, Field],
                 segment: Callable[[str], tuple[str, Any]] | None = None,
                 ) -> tuple[str, dict[str, Any]]:
    """The tree as a boolean SQL expression over the base table aliased ``b``, and its named
    parameters. The caller adds ``reference_at`` (the data's "today"). Checks the tree first.
    """
    check(node, fields)
    ctx = Context(fields, segment)
    return _node_sql(node, ctx), ctx.params


def field_type(duckdb_type: str) -> str | None:
    """The kind of a DuckDB column type for the builder, None when segments cannot use it.

    Example:
        >>> field_type("DECIMAL(18,2)"), field_type("TIMESTAMP"), field_type("VARCHAR[]")
        ('number', 'date', 'list')
    """
    upper = duckdb_type.upper()
    if upper == "VARCHAR[]":
        return "list"
    if upper.endswith("[]") or upper.startswith(("STRUCT", "MAP", "BLOB")):
        return None
    if upper in ("VARCHAR", "TEXT"):
        return "text"
    if upper == "BOOLEAN":
        return "boolean"
    if upper.startswith(("DATE", "TIMESTAMP")):
        return "date"
    numbers = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
               "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")
    return "number" if upper.startswith(numbers) else None
