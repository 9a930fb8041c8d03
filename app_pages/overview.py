"""Overview: what the workspace holds and how good it is, at a glance."""
from __future__ import annotations

import streamlit as st

from cdp_core import catalog, i18n
from ui import widgets
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("overview.title"))
st.caption(tr("overview.caption", path=ws.path))

sources = catalog.source_overview(ws.cursor())
if sources.empty:
    st.info(tr("overview.empty"))
    st.page_link("app_pages/sources.py", label=tr("nav.sources"), icon=":material/upload_file:")
    st.stop()

profiles = sources[sources["kind"] == "profiles"]
events = sources[sources["kind"] != "profiles"]
lang = language()
widgets.metric_tiles([
    (tr("overview.sources"), i18n.fmt_number(len(sources), lang)),
    (tr("overview.profile_records"), i18n.fmt_number(profiles["rows"].sum(), lang)),
    (tr("overview.event_rows"), i18n.fmt_number(events["rows"].sum(), lang)),
    (tr("overview.departments"), i18n.fmt_number(sources["department"].nunique(), lang))])

st.subheader(tr("overview.quality"))
table = sources[["source", "kind", "department", "collection_mode", "rows", "completeness",
                 "validity", "uniqueness", "freshness"]].copy()
table["kind"] = table["kind"].map(lambda k: tr(f"kind.{k}"))
table["collection_mode"] = table["collection_mode"].map(lambda m: tr(f"mode.{m}"))
widgets.scored_table(table, width="stretch")

left, right = st.columns(2)
with left:
    st.subheader(tr("overview.rows_by_source"))
    chart = sources.assign(kind=sources["kind"].map(lambda k: tr(f"kind.{k}")))
    st.plotly_chart(widgets.bar_chart(chart, "source", "rows", color="kind", horizontal=True),
                    width="stretch")
with right:
    st.subheader(tr("overview.scores_by_source"))
    st.plotly_chart(widgets.score_bars(sources, "source", ("completeness", "validity")),
                    width="stretch")
