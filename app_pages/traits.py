"""Computed traits: what customers did, per person, ready for segments; RFM and channels."""
from __future__ import annotations

import streamlit as st

from cdp_core import golden, i18n, traits
from cdp_core.errors import WorkbenchError
from cdp_core.mapping import EVENT_KINDS
from ui import widgets
from ui.segment_builder import field_label
from ui.state import REVIEWER, language, tr, trait_figures, workspace

ws = workspace()
st.title(tr("traits.title"))
st.caption(tr("traits.intro"))
cur = ws.cursor()
lang = language()
widgets.require_profiles(golden.has_profiles(cur))

stale = traits.is_stale(cur)
if stale:
    st.warning(tr("traits.stale"), icon=":material/update:")
if st.button(tr("traits.refresh"), type="primary" if stale else "secondary",
             icon=":material/refresh:"):
    with st.spinner(tr("traits.refreshing")):
        try:
            result = traits.refresh(ws)
            st.success(tr("traits.refreshed", n=i18n.fmt_number(result.people, lang),
                          s=i18n.fmt_number(result.seconds, lang, 1)))
        except WorkbenchError as exc:
            st.error(str(exc))
if not traits.has_traits(cur):
    st.stop()

last = traits.last_refresh(cur)
st.caption(tr("traits.reference", date=i18n.fmt_date(last["reference_at"], lang)))
figures, grid, cells, channels = trait_figures(cur, str(ws.path), int(last["refresh_id"]))
widgets.metric_tiles([
    (tr("traits.buyers"), i18n.fmt_number(figures.buyers, lang)),
    (tr("traits.web_to_store"), i18n.fmt_number(figures.web_to_store, lang)),
    (tr("traits.abandoned"), i18n.fmt_number(figures.abandoned_carts_48h, lang)),
    (tr("traits.web_share"), i18n.fmt_pct(figures.web_share_of_store_revenue, lang))])

left, right = st.columns([3, 2])
with left:
    st.subheader(tr("traits.rfm"))
    figure = widgets.rfm_heatmap(grid, lambda c: tr(f"rfm.{c}"),
                                 tr("traits.fm_score"), tr("traits.recency_score"))
    st.plotly_chart(figure, width="stretch")
with right:
    st.subheader(tr("traits.cells"))
    cells = cells.query("value != 'no_purchase'").assign(
        value=lambda f: f["value"].map(lambda c: tr(f"rfm.{c}")))
    st.plotly_chart(widgets.bar_chart(cells, "value", "people", horizontal=True), width="stretch")

st.subheader(tr("traits.channels"))
channels = channels.assign(value=channels["value"].map(lambda c: tr(f"traits.channel.{c}")))
st.plotly_chart(widgets.bar_chart(channels, "value", "people", horizontal=True), width="stretch")

st.subheader(tr("traits.declared"))
declared = traits.declared(cur)
if declared:
    st.dataframe([{tr("traits.col.name"): d.name,
                   tr("traits.col.kind"): tr(f"seg.kind.{d.event_kind}"),
                   tr("traits.col.aggregate"): tr(f"traits.agg.{d.aggregate}"),
                   tr("traits.col.property"): d.property or "",
                   tr("traits.col.window"): d.window_days} for d in declared],
                 hide_index=True, width="stretch")
with st.expander(tr("traits.declare"), icon=":material/add_chart:"):
    properties = traits.event_properties(cur)
    left, right = st.columns(2)
    kind = left.selectbox(tr("traits.col.kind"), EVENT_KINDS,
                          format_func=lambda k: tr(f"seg.kind.{k}"))
    aggregate = left.selectbox(tr("traits.col.aggregate"), traits.AGGREGATES,
                               format_func=lambda a: tr(f"traits.agg.{a}"))
    prop = left.selectbox(tr("traits.col.property"),
                          ["amount", "event_at", *properties.get(kind, [])],
                          format_func=field_label, disabled=aggregate == "count")
    name = right.text_input(tr("traits.col.name"), help=tr("traits.name_help"))
    window = right.number_input(tr("traits.col.window"), 0, 3650, 0, help=tr("traits.window_help"))
    channel = right.selectbox(tr("seg.channel"), [None, "web", "store"],
                              format_func=lambda c: tr(f"seg.channel.{c or 'any'}"))
    if st.button(tr("traits.declare_button"), icon=":material/add:"):
        try:
            traits.declare(ws, [traits.TraitDefinition(
                name.strip(), kind, aggregate, None if aggregate == "count" else prop,
                window_days=int(window) or None, channel=channel)],
                by=st.session_state.get(REVIEWER))
            st.success(tr("traits.declared_ok", name=name))
        except WorkbenchError as exc:
            st.error(str(exc))
