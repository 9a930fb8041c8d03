"""Roadmap: the use cases scored on value against complexity with the team's weights, ranked,
and grouped into waves (quick wins first, strategic projects last), downloadable."""
from __future__ import annotations

import streamlit as st

from cdp_core import exports, i18n, use_cases
from cdp_core.errors import WorkbenchError
from ui import roadmap_charts, use_case_forms, widgets
from ui.state import ROADMAP_MEASURED, ROADMAP_WEIGHT, language, tr, workspace

ws = workspace()
st.title(tr("roadmap.title"))
st.caption(tr("roadmap.intro"))
lang = language()
tracked = use_case_forms.installed_use_cases(ws)
cur = ws.cursor()
chosen = [e.use_case for e in tracked if e.status != "paused"]
if not chosen:
    st.info(tr("roadmap.empty"))
    st.stop()

saved = use_cases.load_weights(cur)
with st.expander(tr("roadmap.weights"), icon=":material/tune:"):
    st.caption(tr("roadmap.weights_help"))
    weights = {criterion: column.slider(
        tr(f"roadmap.criterion.{criterion}"), 0.0, 5.0, saved[criterion], 0.5,
        help=tr(f"roadmap.criterion.{criterion}_help"), key=f"{ROADMAP_WEIGHT}_{criterion}")
        for criterion, column in zip(use_cases.CRITERIA, st.columns(len(use_cases.CRITERIA)),
                                     strict=True)}
    measured = st.toggle(tr("roadmap.measured"), key=ROADMAP_MEASURED,
                         help=tr("roadmap.measured_help"))
    if st.button(tr("roadmap.save_weights"), icon=":material/save:"):
        try:
            use_cases.save_weights(ws, weights)
            st.success(tr("roadmap.weights_saved"))
        except WorkbenchError as exc:
            st.error(str(exc))

try:
    benefits = use_cases.measured_benefits(cur, chosen) if measured else {}
    roadmap = use_cases.waves(use_cases.prioritise(cur, chosen, weights, benefits))
except WorkbenchError as exc:
    st.error(str(exc))
    st.stop()

first = roadmap[roadmap["wave"] == 1]
widgets.metric_tiles([
    (tr("roadmap.quick_wins"), i18n.fmt_number(len(first), lang)),
    (tr("roadmap.quick_win_benefit"), i18n.fmt_money(first["benefit"].sum(), lang, 0)),
    (tr("roadmap.total_benefit"), i18n.fmt_money(roadmap["benefit"].sum(), lang, 0)),
    (tr("roadmap.first_year_cost"), i18n.fmt_money(
        (roadmap["one_off_cost"] + roadmap["yearly_cost"]).sum(), lang, 0))])

st.subheader(tr("roadmap.matrix"))
st.caption(tr("roadmap.matrix_help"))
st.plotly_chart(roadmap_charts.bubble_figure(roadmap), width="stretch")

st.subheader(tr("roadmap.timeline"))
st.caption(tr("roadmap.timeline_help"))
st.plotly_chart(roadmap_charts.timeline_figure(roadmap), width="stretch")

st.subheader(tr("roadmap.ranking"))
table = use_cases.roadmap_table(roadmap, lang)
money = [tr(f"roadmap.col.{c}") for c in ("benefit", "one_off_cost", "yearly_cost")]
shown = table.assign(**{c: table[c].map(lambda v: i18n.fmt_money(v, lang, 0)) for c in money})
shown[tr("roadmap.col.wave")] = roadmap["wave"].map(roadmap_charts.wave_label)
percent = [tr(f"roadmap.col.{c}") for c in ("roi", "readiness")]
shown = shown.assign(**{c: table[c].map(lambda v: i18n.fmt_pct(v, lang, 0)) for c in percent})
dates = [tr(f"roadmap.col.{c}") for c in ("start", "end")]
shown = shown.assign(**{c: table[c].map(lambda v: i18n.fmt_date(v, lang)) for c in dates})
st.dataframe(shown, hide_index=True, width="stretch", height=36 * (len(shown) + 1) + 3)
st.download_button(tr("roadmap.download"), exports.table_bytes(table, ".xlsx",
                                                               sheet_name="roadmap"),
                   file_name="roadmap.xlsx", icon=":material/download:",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
