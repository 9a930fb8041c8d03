"""Saved segments: sizes and reach, overlaps, sizes over time, and activation exports."""
from __future__ import annotations

import tempfile
from pathlib import Path

import plotly.express as px
import streamlit as st

from cdp_core import golden, i18n, segments
from cdp_core.errors import WorkbenchError
from ui.segment_builder import field_label
from ui.state import EXPORT_FILE, REVIEWER, language, tr, workspace

ws = workspace()
st.title(tr("aud.title"))
st.caption(tr("aud.intro"))
cur = ws.cursor()
lang = language()
if not golden.has_profiles(cur) or not segments.names(cur):
    st.info(tr("aud.none"))
    st.page_link("app_pages/segments.py", label=tr("nav.segments"), icon=":material/filter_alt:")
    st.stop()

if st.button(tr("aud.refresh"), icon=":material/refresh:"):
    with st.spinner(tr("aud.refreshing")):
        st.success(tr("aud.refreshed", n=segments.refresh(ws)))
saved = segments.saved(cur)
table = saved.assign(
    channel=saved["channel"].map(lambda c: tr(f"seg.activation.{c}")),
    mode=saved["mode"].map(lambda m: tr(f"seg.mode.{m}")),
    share=saved["size"] / saved["base"])
columns = ["name", "channel", "mode", "size", "share", "reachable_email", "reachable_sms",
           "refreshed_at"]
st.dataframe(table[columns], hide_index=True, width="stretch", column_config={
    "name": st.column_config.TextColumn(tr("aud.col.name"), width="medium"),
    "channel": tr("aud.col.channel"), "mode": tr("aud.col.mode"),
    "size": st.column_config.NumberColumn(tr("aud.col.size"), format="localized"),
    "share": st.column_config.ProgressColumn(tr("aud.col.share"), format="percent",
                                             min_value=0.0, max_value=1.0),
    "reachable_email": st.column_config.NumberColumn(tr("aud.col.email"), format="localized"),
    "reachable_sms": st.column_config.NumberColumn(tr("aud.col.sms"), format="localized"),
    "refreshed_at": st.column_config.DatetimeColumn(tr("aud.col.refreshed"),
                                                    format="YYYY-MM-DD HH:mm")})

st.subheader(tr("aud.overlap"))
names = saved.sort_values("size", ascending=False)["name"].tolist()
chosen = st.multiselect(tr("aud.overlap_pick"), names, default=names[:10], max_selections=20)
if len(chosen) >= 2:
    pairs = segments.overlap(cur, chosen)
    show_share = st.toggle(tr("aud.overlap_share"), True, help=tr("aud.overlap_help"))
    matrix = pairs.pivot(index="row", columns="column",
                         values="share" if show_share else "people").loc[chosen, chosen]
    figure = px.imshow(matrix, text_auto=".0%" if show_share else ",d",
                       color_continuous_scale="Blues", aspect="auto",
                       labels={"x": "", "y": "", "color": ""})
    figure.update_layout(height=120 + 42 * len(chosen), margin=dict(l=0, r=0, t=10, b=0),
                         coloraxis_showscale=False)
    figure.update_xaxes(side="top", tickangle=-30)
    st.plotly_chart(figure, width="stretch")

st.subheader(tr("aud.history"))
history = segments.history(cur, chosen or names[:5])
if history["refreshed_at"].dt.date.nunique() < 2:
    st.info(tr("aud.history_soon"), icon=":material/timeline:")
else:
    figure = px.line(history, x="refreshed_at", y="size", color="name", markers=True,
                     labels={"refreshed_at": "", "size": tr("aud.col.size"), "name": ""})
    figure.update_layout(height=340, margin=dict(l=0, r=0, t=10, b=0),
                         legend=dict(orientation="h", y=-0.2))
    st.plotly_chart(figure, width="stretch")

st.subheader(tr("aud.export"))
rule = segments.pressure_rule(cur)
with st.expander(tr("aud.pressure"), icon=":material/speed:"):
    left, mid, right = st.columns(3)
    enabled = left.toggle(tr("aud.pressure_on"), rule.enabled)
    most = mid.number_input(tr("aud.pressure_max"), 1, 100, rule.max_messages)
    days = right.number_input(tr("aud.pressure_days"), 1, 365, rule.period_days)
    if st.button(tr("aud.pressure_save"), icon=":material/save:"):
        segments.save_pressure_rule(ws, segments.PressureRule(int(most), int(days), enabled))
        st.success(tr("aud.pressure_saved"))
left, right = st.columns(2)
name = left.selectbox(tr("aud.segment"), names)
segment = segments.get(cur, name)
channel = left.selectbox(tr("seg.activation_channel"), segments.CHANNELS,
                         index=segments.CHANNELS.index(segment.channel),
                         format_func=lambda c: tr(f"seg.activation.{c}"))
available = ["person_id", *segments.fields(cur)]
columns = right.multiselect(tr("aud.fields"), available, format_func=field_label,
                            default=list(segments.DEFAULT_FIELDS[channel]))
file_format = right.radio(tr("aud.format"), [".xlsx", ".csv", ".parquet"], horizontal=True)
hashed = right.toggle(tr("aud.hashed"), channel == "ads", disabled=channel == "ads",
                      help=tr("aud.hashed_help"))
if st.button(tr("aud.export_button"), type="primary", icon=":material/file_download:"):
    out = Path(tempfile.mkdtemp()) / segments.export_file_name(segment.name, file_format)
    try:
        result = segments.export(ws, name, out, channel=channel, columns=columns,
                                 hashed=hashed, by=st.session_state.get(REVIEWER))
        st.session_state[EXPORT_FILE] = (result.path.name, result.path.read_bytes())
        st.success(tr("aud.exported", rows=i18n.fmt_number(result.rows, lang),
                      members=i18n.fmt_number(result.members, lang),
                      consent=i18n.fmt_number(result.excluded_consent, lang),
                      pressure=i18n.fmt_number(result.excluded_pressure, lang)))
    except WorkbenchError as exc:
        st.error(str(exc))
if EXPORT_FILE in st.session_state:
    file_name, data = st.session_state[EXPORT_FILE]
    st.download_button(tr("aud.download", name=file_name), data, file_name=file_name,
                       icon=":material/download:")
with st.expander(tr("aud.exports_log"), icon=":material/history:"):
    log = segments.exports_log(cur)
    st.dataframe(log.rename(columns=lambda c: tr(f"aud.log.{c}")), hide_index=True,
                 width="stretch")
