"""The segment builder's widgets: a rule tree edited with selects and inputs, never typed SQL.

The page keeps a *draft* in session state: groups ``{"_id", "match": "all"|"any", "negate",
"rules"}`` holding conditions (field, event or segment membership), each with a stable ``_id``
so widgets keep their values when a sibling is removed. `to_rule` turns the draft into the rule
tree `cdp_core.segment_rules` compiles; `from_rule` does the reverse to edit a saved segment.
"""
from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from cdp_core import i18n
from cdp_core.mapping import EVENT_KINDS
from cdp_core.segment_rules import DAYS_VALUE, LIST_VALUE, NO_VALUE, OPERATORS, Field
from ui.state import language, tr

MAX_DEPTH = 2
_CODED = {"rfm_cell": "rfm.", "channel_profile": "traits.channel."}


@dataclass(frozen=True)
class BuilderContext:
    """What the widgets offer: fields, pick-list values, event properties, saved segments."""

    fields: dict[str, Field]
    values_of: Callable[[str], list[Any]]
    properties: dict[str, list[str]]
    segments: list[str]


def _new_id() -> str:
    return uuid.uuid4().hex[:10]


def field_label(name: str) -> str:
    """A field's name for people: its translation when there is one."""
    key = f"field.{name}"
    return tr(key) if key in i18n.catalogue(language()) else name.replace("_", " ")


def value_label(name: str, value: Any) -> str:
    """A coded value (an RFM cell, a channel profile) in words; other values as they are."""
    prefix = _CODED.get(name)
    return tr(f"{prefix}{value}") if prefix and value is not None else str(value)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Members as people read them: coded values in words, headers translated."""
    shown = frame.copy()
    for name in _CODED:
        if name in shown:
            shown[name] = shown[name].map(lambda v, n=name: value_label(n, v))
    return shown.rename(columns=field_label)


def new_group(match: str = "all", rules: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An empty group (a draft starts as one)."""
    return {"_id": _new_id(), "match": match, "negate": False, "rules": rules or []}


def _new_condition(kind: str, ctx: BuilderContext) -> dict[str, Any]:
    if kind == "event":
        return {"_id": _new_id(), "event": "orders", "did": True, "at_least": 1,
                "within_days": 30}
    if kind == "segment":
        return {"_id": _new_id(), "segment": ctx.segments[0], "member": True}
    first = next(iter(ctx.fields))
    return {"_id": _new_id(), "field": first, "op": OPERATORS[ctx.fields[first].type][0],
            "value": None}


def from_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The draft of a saved rule tree."""
    rule = copy.deepcopy(rule)
    negate = False
    while "not" in rule:
        negate, rule = not negate, rule["not"]
    if "all" in rule or "any" in rule:
        match = "all" if "all" in rule else "any"
        group = new_group(match, [from_rule(child) if _is_group(child) else
                                  {"_id": _new_id(), **child} for child in rule[match]])
        group["negate"] = negate
        return group
    group = new_group("all", [{"_id": _new_id(), **rule}])
    group["negate"] = negate
    return group


def _is_group(node: dict[str, Any]) -> bool:
    return any(key in node for key in ("all", "any", "not"))


def to_rule(draft: dict[str, Any]) -> dict[str, Any]:
    """The rule tree of a draft: ids dropped, negated groups wrapped in ``not``."""
    children = [to_rule(c) if "rules" in c else {k: v for k, v in c.items() if k != "_id"}
                for c in draft["rules"]]
    group = {draft["match"]: children}
    return {"not": group} if draft["negate"] else group


# --------------------------------------------------------------------------- widgets


def render(draft: dict[str, Any], ctx: BuilderContext, depth: int = 0) -> bool:
    """Draw a group and its conditions, updating the draft; True when it asks to be removed."""
    box = st.container(border=True)
    head = box.columns([3, 3, 1], vertical_alignment="center")
    draft["match"] = head[0].segmented_control(
        tr("seg.match"), ["all", "any"], default=draft["match"], key=f"{draft['_id']}.match",
        format_func=lambda m: tr(f"seg.match.{m}"), label_visibility="collapsed") or "all"
    draft["negate"] = head[1].toggle(tr("seg.negate"), draft["negate"],
                                     key=f"{draft['_id']}.negate")
    removed = depth > 0 and head[2].button(":material/delete:", key=f"{draft['_id']}.del",
                                           help=tr("seg.remove_group"))
    with box:
        for child in list(draft["rules"]):
            drop = (render(child, ctx, depth + 1) if "rules" in child
                    else _condition(child, ctx))
            if drop:
                draft["rules"].remove(child)
                st.rerun()
        _add_buttons(draft, ctx, depth)
    return bool(removed)


def _add_buttons(draft: dict[str, Any], ctx: BuilderContext, depth: int) -> None:
    kinds = ["field", "event", *(["segment"] if ctx.segments else []),
             *(["group"] if depth < MAX_DEPTH else [])]
    icons = {"field": ":material/filter_alt:", "event": ":material/event:",
             "segment": ":material/group_work:", "group": ":material/account_tree:"}
    for column, kind in zip(st.columns(len(kinds)), kinds, strict=True):
        if column.button(tr(f"seg.add.{kind}"), key=f"{draft['_id']}.add.{kind}",
                         icon=icons[kind], width="stretch"):
            draft["rules"].append(new_group("any") if kind == "group"
                                  else _new_condition(kind, ctx))
            st.rerun()


def _condition(node: dict[str, Any], ctx: BuilderContext) -> bool:
    if "event" in node:
        return _event_condition(node, ctx)
    if "segment" in node:
        return _membership(node, ctx)
    return _field_condition(node, ctx)


def _field_condition(node: dict[str, Any], ctx: BuilderContext) -> bool:
    key = node["_id"]
    cols = st.columns([3, 2, 4, 1], vertical_alignment="bottom")
    names = list(ctx.fields)
    node["field"] = cols[0].selectbox(
        tr("seg.field"), names, index=names.index(node["field"]) if node["field"] in names else 0,
        key=f"{key}.field", format_func=field_label)
    kind = ctx.fields[node["field"]].type
    ops = OPERATORS[kind]
    node["op"] = cols[1].selectbox(tr("seg.op"), ops,
                                   index=ops.index(node["op"]) if node["op"] in ops else 0,
                                   key=f"{key}.op.{node['field']}",
                                   format_func=lambda o: tr(f"seg.op.{o}"))
    with cols[2]:
        node["value"] = _value_widget(node, kind, ctx, f"{key}.v.{node['field']}.{node['op']}")
    if node["op"] in NO_VALUE:
        node.pop("value", None)
    return cols[3].button(":material/close:", key=f"{key}.del", help=tr("seg.remove"))


def _value_widget(node: dict[str, Any], kind: str, ctx: BuilderContext, key: str) -> Any:
    op, value, label = node["op"], node.get("value"), tr("seg.value")
    if op in NO_VALUE:
        return None
    if op in DAYS_VALUE:
        return int(st.number_input(tr("seg.days"), 0, 36_500, int(value or 30), key=key))
    if kind == "boolean":
        return st.selectbox(label, [True, False], index=0 if value in (None, True) else 1,
                            key=key, format_func=lambda b: tr("common.yes" if b else "common.no"))
    if kind == "number":
        if op == "between":
            low, high = value if isinstance(value, list) else (0.0, 100.0)
            left, right = st.columns(2)
            return [left.number_input(tr("seg.from"), value=float(low), key=f"{key}.lo"),
                    right.number_input(tr("seg.to"), value=float(high), key=f"{key}.hi")]
        if op in LIST_VALUE:
            text = st.text_input(label, ", ".join(map(str, value or [])), key=key,
                                 help=tr("seg.numbers_help"))
            return [float(v) for v in text.replace(";", ",").split(",") if _is_float(v)]
        return float(st.number_input(label, value=float(value or 0), key=key))
    if kind == "date":
        if op == "between":
            low, high = value if isinstance(value, list) else (None, None)
            chosen = st.date_input(label, value=(_day(low), _day(high)), key=key)
            return [d.isoformat() for d in chosen] if len(chosen) == 2 else None
        return st.date_input(label, value=_day(value), key=key).isoformat()
    options = ctx.values_of(node["field"])
    if op in LIST_VALUE:
        chosen = st.multiselect(label, options, default=[v for v in value or [] if v in options],
                                key=key, accept_new_options=True,
                                format_func=lambda v: value_label(node["field"], v))
        return list(chosen)
    if op in ("contains", "starts_with") and kind == "text":
        return st.text_input(label, value or "", key=key)
    return st.selectbox(label, options, index=options.index(value) if value in options else None,
                        key=key, accept_new_options=True, placeholder=tr("seg.pick_value"),
                        format_func=lambda v: value_label(node["field"], v))


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _day(text: str | None) -> dt.date:
    return dt.date.fromisoformat(text) if text else dt.date.today()


def _event_condition(node: dict[str, Any], ctx: BuilderContext) -> bool:
    key = node["_id"]
    top = st.columns([2, 2, 1, 1, 1, 1], vertical_alignment="bottom")
    node["event"] = top[0].selectbox(tr("seg.event"), EVENT_KINDS,
                                     index=EVENT_KINDS.index(node["event"]), key=f"{key}.kind",
                                     format_func=lambda k: tr(f"seg.kind.{k}"))
    node["did"] = top[1].selectbox(tr("seg.did"), [True, False], index=0 if node["did"] else 1,
                                   key=f"{key}.did",
                                   format_func=lambda d: tr("seg.did.yes" if d else "seg.did.no"))
    node["at_least"] = int(top[2].number_input(tr("seg.at_least"), 1, 1000,
                                               int(node.get("at_least") or 1), key=f"{key}.n"))
    days = int(top[3].number_input(tr("seg.within"), 0, 3650, int(node.get("within_days") or 0),
                                   key=f"{key}.days", help=tr("seg.within_help")))
    amount = float(top[4].number_input(tr("seg.amount_gt"), 0.0,
                                       value=float(node.get("amount_gt") or 0.0),
                                       key=f"{key}.amount", help=tr("seg.amount_help")))
    removed = top[5].button(":material/close:", key=f"{key}.del", help=tr("seg.remove"))
    _set_optional(node, "within_days", days or None)
    _set_optional(node, "amount_gt", amount or None)
    extra = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
    channel = extra[0].selectbox(tr("seg.channel"), [None, "web", "store"],
                                 index=[None, "web", "store"].index(node.get("channel")),
                                 key=f"{key}.channel",
                                 format_func=lambda c: tr(f"seg.channel.{c or 'any'}"))
    _set_optional(node, "channel", channel)
    properties = ctx.properties.get(node["event"], [])
    where = node.get("where") or {}
    prop = extra[1].selectbox(tr("seg.property"), [None, *properties],
                              index=([None, *properties].index(where.get("property"))
                                     if where.get("property") in properties else 0),
                              key=f"{key}.prop.{node['event']}",
                              format_func=lambda p: p or tr("seg.any_property"))
    equals = extra[2].text_input(tr("seg.equals"), where.get("equals", ""),
                                 key=f"{key}.equals", disabled=prop is None)
    _set_optional(node, "where", {"property": prop, "equals": equals} if prop else None)
    return removed


def _set_optional(node: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        node.pop(key, None)
    else:
        node[key] = value


def _membership(node: dict[str, Any], ctx: BuilderContext) -> bool:
    key = node["_id"]
    cols = st.columns([4, 3, 1], vertical_alignment="bottom")
    names = ctx.segments
    node["segment"] = cols[0].selectbox(
        tr("seg.segment"), names,
        index=names.index(node["segment"]) if node["segment"] in names else 0, key=f"{key}.seg")
    node["member"] = cols[1].selectbox(
        tr("seg.member"), [True, False], index=0 if node.get("member", True) else 1,
        key=f"{key}.member", format_func=lambda m: tr("seg.member.yes" if m else "seg.member.no"))
    return cols[2].button(":material/close:", key=f"{key}.del", help=tr("seg.remove"))
