"""Catalogue & profiling: what each column is, how good it is, and what its values look like."""
from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from cdp_core import catalog, exports, profiling
from cdp_core.errors import WorkbenchError
from ui import widgets
from ui.state import quick_profile, selected_source, tr, workspace

ws = workspace()
st.title(tr("catalogue.title"))
cur = ws.cursor()
sources = catalog.all_sources(cur)
name = selected_source([s.name for s in sources])
if name is None:
    st.info(tr("overview.empty"))
    st.stop()
source = catalog.require_source(cur, name)
version = catalog.current_version(cur, source.source_id)
raw_table, _ = catalog.table_names(source.source_id, version)
columns = catalog.column_catalogue(cur, source.source_id)
overview = catalog.source_overview(cur).set_index("source").loc[name]
widgets.score_metrics({score: overview[score] for score in widgets.SCORE_COLUMNS})
st.download_button(tr("catalogue.dictionary"), exports.table_bytes(catalog.data_dictionary(cur),
                   ".xlsx"), file_name="data_dictionary.xlsx", icon=":material/download:")

tabs = st.tabs([tr("catalogue.columns"), tr("catalogue.profile"), tr("catalogue.standardise"),
                tr("catalogue.report"), tr("catalogue.compare")])
with tabs[0]:
    st.plotly_chart(widgets.score_bars(columns, "column", ("completeness", "validity")),
                    width="stretch")
    edited = st.data_editor(
        columns, hide_index=True, width="stretch", key=f"catalogue_{name}",
        disabled=["column", "field", "completeness", "validity", "uniqueness"],
        column_config={
            **{c: st.column_config.TextColumn(tr(f"col.{c}"))
               for c in ("column", "field", "description", "owner", "tags")},
            "semantic_type": st.column_config.SelectboxColumn(
                tr("col.semantic_type"), options=catalog.SEMANTIC_TYPES, required=True),
            "pii_class": st.column_config.SelectboxColumn(
                tr("col.pii_class"), options=catalog.PII_CLASSES, required=True),
            **{c: st.column_config.ProgressColumn(tr(f"col.{c}"), min_value=0, max_value=1,
                                                  format="percent")
               for c in ("completeness", "validity", "uniqueness")},
        })
    if st.button(tr("catalogue.save")):
        for before, after in zip(columns.itertuples(), edited.itertuples(), strict=True):
            changed = {key: getattr(after, key) for key in catalog.EDITABLE
                       if getattr(after, key) != getattr(before, key)}
            if changed:
                catalog.edit_column(ws, name, before.column, **changed)
        st.success(tr("catalogue.saved"))

with tabs[1]:
    stamp = catalog.versions(cur, source.source_id).set_index("version").loc[version,
                                                                             "ingested_at"]
    summary = quick_profile(cur, ws.path, raw_table, str(stamp))
    st.dataframe(summary, hide_index=True, width="stretch")
    column = st.selectbox(tr("catalogue.column"), summary["column"].tolist())
    values = profiling.value_distribution(cur, raw_table, column)
    st.plotly_chart(widgets.bar_chart(values.astype({"value": str}), "value", "count",
                                      horizontal=True), width="stretch")

with tabs[2]:
    stats = catalog.standardisation_stats(cur, source.source_id, version)
    widgets.scored_table(stats, width="stretch")
    outcomes = stats.melt(id_vars=["rule"], value_vars=["changed", "rejected"],
                          var_name="outcome", value_name="count")
    outcomes["outcome"] = outcomes["outcome"].map(lambda o: tr(f"col.{o}"))
    st.plotly_chart(widgets.bar_chart(outcomes, "rule", "count", color="outcome"),
                    width="stretch")

with tabs[3]:
    stored = profiling.stored_report(cur, source.source_id, version)
    if st.button(tr("catalogue.make_report"), type="primary"):
        bar = st.progress(0.0)
        try:
            report = profiling.full_report_html(cur, raw_table, name,
                                                progress=lambda f, m: bar.progress(f, text=m))
        except WorkbenchError as exc:
            st.error(str(exc))
        else:
            profiling.save_report(ws, source.source_id, version, report)
            stored = report.html
    if stored:
        st.download_button(tr("catalogue.download_report"), stored, file_name=f"{name}.html")
        components.html(stored, height=900, scrolling=True)

with tabs[4]:
    history = catalog.versions(cur, source.source_id)["version"].tolist()
    if len(history) < 2:
        st.info(tr("catalogue.one_version"))
    else:
        left, right = st.columns(2)
        before = left.selectbox(tr("catalogue.before"), history[1:])
        after = right.selectbox(tr("catalogue.after"), history[:1] + history[1:])
        st.dataframe(profiling.compare_profiles(
            cur, catalog.table_names(source.source_id, before)[0],
            catalog.table_names(source.source_id, after)[0]), hide_index=True, width="stretch")
