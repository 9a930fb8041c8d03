"""Predictive scores: train purchase propensity, churn risk and behaviour clusters, and read how
well they would have predicted a period they never saw."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n, scoring, traits
from cdp_core.errors import WorkbenchError
from ui import score_charts
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("nav.scores"))
st.caption(tr("scores.intro"))
cur = ws.cursor()
lang = language()
if not traits.has_traits(cur):
    st.info(tr("scores.no_traits", page=tr("nav.traits")))
    st.stop()

metrics = scoring.latest_metrics(cur)
with st.expander(tr("scores.settings"), expanded=not metrics, icon=":material/tune:"):
    left, middle, right = st.columns(3)
    horizon = left.number_input(tr("scores.horizon"), 7, 180, 30, step=1,
                                help=tr("scores.horizon_help"))
    churn_days = middle.number_input(tr("scores.churn_days"), 30, 365, 90, step=1,
                                     help=tr("scores.churn_days_help"))
    clusters = right.number_input(tr("scores.clusters"), 2, 10, 5, step=1)
    if st.button(tr("scores.train"), type="primary", icon=":material/model_training:"):
        bar = st.progress(0.0)
        try:
            result = scoring.train(ws, int(horizon), int(churn_days), int(clusters),
                                   progress=lambda f, m: bar.progress(min(1.0, f), text=m))
            bar.empty()
            st.success(tr("scores.trained", n=i18n.fmt_number(result.people, lang),
                          s=i18n.fmt_number(result.seconds, lang, 1)))
            metrics = scoring.latest_metrics(cur)
        except WorkbenchError as exc:
            bar.empty()
            st.error(str(exc))

if not metrics:
    st.info(tr("scores.not_trained"))
    st.stop()
st.caption(tr("scores.use_in_segments"))
propensity, churn, behaviour = st.tabs([tr("scores.tab.propensity"), tr("scores.tab.churn"),
                                        tr("scores.tab.behaviour")])
with propensity:
    st.markdown(tr("scores.about.propensity", days=metrics["propensity"]["horizon_days"]))
    score_charts.model_section("propensity", metrics["propensity"])
with churn:
    st.markdown(tr("scores.about.churn", days=metrics["churn"]["horizon_days"]))
    score_charts.model_section("churn", metrics["churn"])
with behaviour:
    st.markdown(tr("scores.about.behaviour"))
    score_charts.behaviour_section(metrics["behaviour"])
