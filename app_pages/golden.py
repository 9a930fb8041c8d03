"""Golden records: survivorship rules, the unified profiles they build and where each value came
from."""
from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from cdp_core import golden, i18n
from cdp_core.errors import WorkbenchError
from ui import widgets
from ui.state import (
    GOLDEN_OVERRIDES,
    GOLDEN_PROFILES,
    golden_summary,
    language,
    tr,
    workspace,
)

ws = workspace()
st.title(tr("golden.title"))
st.caption(tr("golden.intro"))
cur = ws.cursor()
lang = language()
if not golden.has_clusters(cur):
    st.info(tr("golden.no_clusters"))
    st.page_link("app_pages/matching_run.py", label=tr("nav.matching_run"),
                 icon=":material/model_training:")
    st.stop()

saved = golden.load_rules(cur)
built = golden.has_profiles(cur)
rule_label = {rule: tr(f"golden.rule.{rule}") for rule in golden.RULES}
with st.expander(tr("golden.rules"), expanded=not built, icon=":material/rule_settings:"):
    left, right = st.columns(2)
    default = left.selectbox(tr("golden.default_rule"), golden.RULES[:-1],
                             index=golden.RULES.index(saved.default), format_func=rule_label.get)
    sources = golden.profile_source_names(cur)
    order = left.multiselect(tr("golden.source_order"), sources,
                             default=[s for s in saved.source_priority if s in sources],
                             help=tr("golden.source_order_help"))
    ignore_empty = right.toggle(tr("golden.ignore_empty"), saved.ignore_empty,
                                help=tr("golden.ignore_empty_help"))
    block = right.toggle(tr("golden.address_block"), saved.address_as_block,
                         help=tr("golden.address_block_help"))
    inherit = tr("golden.rule.default")
    shown = golden.present_fields(cur)
    fields = pd.DataFrame({"field": shown, "label": [tr(f"golden.field.{f}") for f in shown],
                           "rule": [rule_label[saved.rule_for(f).rule] if f in saved.overrides
                                    or f in golden.CONSENT_FIELDS else inherit for f in shown]})
    edited = st.data_editor(
        fields, key=GOLDEN_OVERRIDES, hide_index=True, width="stretch",
        height=35 * (len(shown) + 1) + 3, column_order=["label", "rule"], disabled=["label"],
        column_config={"label": st.column_config.TextColumn(tr("golden.col.field")),
                       "rule": st.column_config.SelectboxColumn(
                           tr("golden.col.rule"), options=[inherit, *rule_label.values()],
                           required=True, help=tr("golden.override_help"))})
    by_label = {label: rule for rule, label in rule_label.items()}
    overrides = {f: r for f, r in saved.overrides.items() if f not in shown} | {
        row.field: golden.FieldRule(by_label[row.rule], saved.rule_for(row.field).sources)
        for row in edited.itertuples() if row.rule != inherit}
    rules = golden.SurvivorshipRules(default=default, overrides=overrides,
                                     source_priority=tuple(order), ignore_empty=ignore_empty,
                                     address_as_block=block)
    if st.button(tr("golden.build"), type="primary", icon=":material/person_check:"):
        bar = st.progress(0.0)
        try:
            result = golden.build(ws, rules, progress=lambda f, m: bar.progress(min(1.0, f),
                                                                                  text=m))
            bar.empty()
            st.success(tr("golden.built", n=i18n.fmt_number(result.profiles, lang),
                          s=i18n.fmt_number(result.seconds, lang, 1)))
            built = True
        except WorkbenchError as exc:
            st.error(str(exc))

if not built:
    st.info(tr("golden.not_built"))
    st.stop()
if golden.is_stale(cur):
    st.warning(tr("golden.stale"), icon=":material/update:")

summary = golden_summary(cur, ws.path, golden.last_build(cur))
widgets.metric_tiles([
    (tr("golden.people"), i18n.fmt_number(summary.people, lang)),
    (tr("golden.records"), i18n.fmt_number(summary.records, lang)),
    (tr("golden.merged"), i18n.fmt_number(summary.duplicates_merged, lang)),
    (tr("golden.multi_source"), i18n.fmt_pct(summary.multi_source_share, lang, 0))])

st.subheader(tr("golden.completeness"))
st.caption(tr("golden.completeness_help"))
chart = summary.completeness.melt(id_vars=["field", "best_source_name"],
                                  value_vars=["golden", "best_source"], var_name="series")
chart["field"] = chart["field"].map(lambda f: tr(f"golden.field.{f}"))
chart["series"] = chart["series"].map(lambda s: tr(f"golden.series.{s}"))
chart["text"] = chart["value"].map(lambda v: i18n.fmt_pct(v, lang, 0))
figure = px.bar(chart, x="value", y="field", color="series", barmode="group", orientation="h",
                text="text", hover_data={"best_source_name": True, "text": False},
                labels={"value": "", "field": "", "series": "",
                        "best_source_name": tr("golden.best_source_name")},
                color_discrete_sequence=["#2c7fb8", "#bdbdbd"])
figure.update_xaxes(tickformat=".0%", range=[0, 1.08])
figure.update_traces(textposition="outside", cliponaxis=False)
figure.update_layout(height=70 + 44 * len(summary.completeness), margin=dict(l=0, r=0, t=30, b=0),
                     legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
                     yaxis=dict(autorange="reversed"))
st.plotly_chart(figure, width="stretch")

st.subheader(tr("golden.profiles"))
st.caption(tr("golden.profiles_help"))
table = golden.browse(cur)
shown_table = table.assign(revenue=table["revenue"].map(lambda v: i18n.fmt_money(v, lang)))
headers = {c: st.column_config.Column(tr(f"golden.col.{c}")) for c in table.columns}
headers["revenue"] = st.column_config.TextColumn(tr("golden.col.revenue"), alignment="right")
picked = st.dataframe(shown_table, hide_index=True, width="stretch", height=320,
                      key=GOLDEN_PROFILES, column_config=headers, on_select="rerun",
                      selection_mode="single-row")
rows = picked.selection.rows
if rows:
    profile = golden.profile_of(cur, table.iloc[rows[0]]["person_id"])
    origin = golden.lineage(profile)
    origin["field"] = origin["field"].map(lambda f: tr(f"golden.field.{f}"))
    origin["value"] = origin["value"].map(lambda v: i18n.fmt_value(v, lang))
    st.markdown(tr("golden.origin", person=profile["person_id"],
                   sources=", ".join(profile["sources"])))
    st.dataframe(origin, hide_index=True, width="stretch", height=35 * (len(origin) + 1) + 3,
                 column_config={c: st.column_config.TextColumn(tr(f"golden.col.{c}"))
                                for c in origin.columns})
