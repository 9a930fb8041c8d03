"""Matching settings: what is compared, how candidate pairs are found, what never links."""
from __future__ import annotations

import dataclasses

import plotly.express as px
import streamlit as st

from cdp_core import i18n, matching
from cdp_core.errors import WorkbenchError
from cdp_core.matching_settings import MatchSettings, settings_to_splink_json, suggest_settings
from ui import matching_forms, widgets
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("matching.title"))
cur = ws.cursor()
settings = matching.load_settings(cur)
if settings is None or st.button(tr("matching.suggest"), help=tr("matching.suggest_help")):
    try:
        with st.spinner(tr("matching.suggesting")):
            settings = suggest_settings(cur)
            matching.save_settings(ws, settings)
    except WorkbenchError as exc:
        st.info(str(exc))
        st.stop()

tabs = st.tabs([tr("matching.settings"), tr("matching.blocking"), tr("matching.blocked")])
with tabs[0]:
    st.caption(tr("matching.settings_help"))
    comparisons = matching_forms.comparisons_editor(settings, "comparisons")
    st.subheader(tr("matching.blocking_rules"))
    blocking = matching_forms.rules_editor(settings.blocking_rules, "blocking",
                                           tr("matching.rule_keys"))
    st.subheader(tr("matching.deterministic"))
    deterministic = matching_forms.deterministic_editor(settings.deterministic_rules, "rules")
    threshold = st.slider(tr("review.threshold"), 0.5, 0.99, settings.threshold, 0.01)
    with st.expander(tr("matching.advanced")):
        advanced = st.text_area("JSON", settings.to_json(), height=300, key="settings_json")
    left, right = st.columns(2)
    if left.button(tr("matching.save"), type="primary"):
        try:
            if advanced.strip() != settings.to_json().strip():
                edited = MatchSettings.from_json(advanced)
            else:
                edited = dataclasses.replace(
                    settings, comparisons=comparisons, blocking_rules=blocking,
                    deterministic_rules=deterministic, threshold=threshold).validate()
            matching.save_settings(ws, edited)
            st.success(tr("matching.saved"))
        except WorkbenchError as exc:
            st.error(str(exc))
    right.download_button(tr("matching.splink_json"), settings_to_splink_json(settings),
                          file_name="splink_settings.json", icon=":material/download:")

with tabs[1]:
    st.caption(tr("matching.blocking_help"))
    if st.button(tr("matching.count")):
        with st.spinner(tr("matching.counting")):
            counts = matching.blocking_analysis(cur, settings)
        lang = language()
        st.metric(tr("matching.total"), i18n.fmt_number(counts.attrs["total"], lang),
                  help=tr("matching.per_record", n=i18n.fmt_number(
                      counts.attrs["total"] / max(int(counts["records"].iloc[0]), 1), lang, 1)))
        if counts.attrs["warning"]:
            st.warning(counts.attrs["warning"])
        figure = px.bar(counts, x="marginal", y="rule", orientation="h",
                        labels={"marginal": tr("matching.new_pairs"), "rule": ""},
                        color_discrete_sequence=["#2c7fb8"])
        figure.update_layout(height=60 + 36 * len(counts), margin=dict(l=0, r=0, t=10, b=0),
                             yaxis=dict(autorange="reversed"))
        st.plotly_chart(figure, width="stretch")

with tabs[2]:
    st.caption(tr("matching.blocked_help"))
    if st.button(tr("matching.detect")):
        matching.save_blocked_values(ws, matching.detect_blocked_values(cur))
    blocked = matching.blocked_values(cur)
    widgets.scored_table(blocked, width="stretch")
    removed = st.multiselect(tr("matching.unblock"), blocked["value"].tolist())
    if removed and st.button(tr("matching.remove")):
        matching.remove_blocked_values(ws, blocked[blocked["value"].isin(removed)])
        st.rerun()
