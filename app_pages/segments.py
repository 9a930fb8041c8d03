"""Segment builder: conditions on profiles, traits, scores and events, sized as you edit."""
from __future__ import annotations

import streamlit as st

from cdp_core import golden, i18n, segment_rules, segments, traits
from cdp_core.errors import WorkbenchError
from ui import segment_builder as builder
from ui import widgets
from ui.state import REVIEWER, SEGMENT_DRAFT, SEGMENT_START, language, tr, workspace

ws = workspace()
st.title(tr("seg.title"))
st.caption(tr("seg.intro"))
cur = ws.cursor()
lang = language()
widgets.require_profiles(golden.has_profiles(cur))
if traits.is_stale(cur):
    st.warning(tr("seg.traits_stale"), icon=":material/update:")
    st.page_link("app_pages/traits.py", label=tr("nav.traits"), icon=":material/insights:")

saved_names = segments.names(cur)
start = st.selectbox(tr("seg.start_from"), [None, *saved_names], key=SEGMENT_START,
                     format_func=lambda n: n or tr("seg.new"))
if SEGMENT_DRAFT not in st.session_state or st.session_state[SEGMENT_DRAFT]["_from"] != start:
    draft = builder.from_rule(segments.get(cur, start).rule) if start else builder.new_group()
    st.session_state[SEGMENT_DRAFT] = draft | {"_from": start}
draft = st.session_state[SEGMENT_DRAFT]
context = builder.BuilderContext(
    fields=segments.fields(cur), values_of=lambda name: segments.top_values(cur, name),
    properties=traits.event_properties(cur), segments=[n for n in saved_names if n != start])
builder.render(draft, context)
if not draft["rules"]:
    st.info(tr("seg.start_hint"), icon=":material/arrow_upward:")
    st.stop()
rule = builder.to_rule(draft)

try:
    size = segments.size(cur, rule)
except WorkbenchError as exc:
    st.warning(str(exc), icon=":material/rule:")
    st.stop()
widgets.metric_tiles([
    (tr("seg.members"), i18n.fmt_number(size.members, lang)),
    (tr("seg.share"), i18n.fmt_pct(size.share, lang)),
    (tr("seg.reach_email"), i18n.fmt_number(size.reachable_email, lang)),
    (tr("seg.reach_sms"), i18n.fmt_number(size.reachable_sms, lang))])
for problem in segment_rules.contradictions(rule):
    st.warning(tr("seg.contradiction", what=problem), icon=":material/block:")
if size.members == 0:
    st.info(tr("seg.empty"))
    st.dataframe(segments.explain(cur, rule).rename(columns={
        "condition": tr("seg.col.condition"), "people": tr("seg.col.people")}), hide_index=True)

with st.expander(tr("seg.preview"), icon=":material/visibility:", expanded=size.members > 0):
    preview = segments.preview(cur, rule)
    st.dataframe(builder.readable(preview), hide_index=True, width="stretch")

with st.form("save_segment"):
    st.subheader(tr("seg.save"))
    current = segments.get(cur, start) if start else None
    left, right = st.columns(2)
    name = left.text_input(tr("seg.name"), current.name if current else "", max_chars=120)
    description = left.text_input(tr("seg.description"), current.description if current else "")
    channel = right.selectbox(tr("seg.activation_channel"), segments.CHANNELS,
                              index=segments.CHANNELS.index(current.channel) if current else 0,
                              format_func=lambda c: tr(f"seg.activation.{c}"))
    mode = right.radio(tr("seg.mode"), segments.MODES, horizontal=True,
                       index=segments.MODES.index(current.mode) if current else 0,
                       format_func=lambda m: tr(f"seg.mode.{m}"), help=tr("seg.mode_help"))
    if st.form_submit_button(tr("seg.save_button"), type="primary", icon=":material/save:"):
        try:
            segment = segments.Segment(name.strip(), rule, description, channel, mode,
                                       current.use_case if current else None)
            segments.save(ws, segment, by=st.session_state.get(REVIEWER))
            st.success(tr("seg.saved", name=segment.name))
        except WorkbenchError as exc:
            st.error(str(exc))
