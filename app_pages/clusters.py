"""Cluster review: the clusters most worth a look, each as its records and links, and the
decisions a reviewer takes on them (kept through every later matching run)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from cdp_core import clusters, customer360, i18n
from cdp_core.errors import WorkbenchError
from ui import widgets
from ui.state import CLUSTER, REVIEWER, language, tr, workspace

ws = workspace()
st.title(tr("clusters.title"))
st.caption(tr("clusters.intro"))
cur = ws.cursor()
try:
    sizes = clusters.size_distribution(cur)
except WorkbenchError:
    st.info(tr("clusters.no_clusters"))
    st.stop()
lang = language()


def num(value: float) -> str:
    """A count as the reader's language writes it."""
    return i18n.fmt_number(value, lang)


queue = clusters.review_queue(cur, limit=200)
people, records = int(sizes["clusters"].sum()), int((sizes["size"] * sizes["clusters"]).sum())
widgets.metric_tiles([(tr("clusters.people"), num(people)), (tr("clusters.records"), num(records)),
                      (tr("clusters.merged"), num(records - people)),
                      (tr("clusters.to_review"), num(clusters.needing_review(cur)))])


def reasons_text(row: pd.Series) -> str:
    """The queue's "why" column in the reader's language."""
    return " · ".join(tr(f"clusters.reason.{key}", value=i18n.fmt_pct(value, lang, 0)
                         if isinstance(value, float) else value)
                      for key, value in clusters.review_reasons(row))


queue_area, sizes_area = st.columns([3, 1], gap="large")
with queue_area:
    st.subheader(tr("clusters.queue"))
    table = queue[["cluster_id", "size", "sources", "review_score"]].copy()
    table["why"] = queue.apply(reasons_text, axis=1)
    picked = st.dataframe(
        table, hide_index=True, on_select="rerun", selection_mode="single-row", height=250,
        width="stretch", column_config={
            "cluster_id": st.column_config.TextColumn(tr("col.cluster_id"), width="medium"),
            "size": st.column_config.NumberColumn(tr("col.size"), width="small"),
            "sources": st.column_config.NumberColumn(tr("col.sources"), width="small"),
            "review_score": st.column_config.ProgressColumn(
                tr("col.review_score"), min_value=0.0, max_value=1.0, format="percent",
                width="small"),
            "why": st.column_config.TextColumn(tr("col.why"), width="large")})
    if picked.selection.rows:
        st.session_state[CLUSTER] = queue["cluster_id"].iloc[picked.selection.rows[0]]
    typed = st.text_input(tr("clusters.open_id"), placeholder="C…")
    if typed.strip():
        st.session_state[CLUSTER] = typed.strip()
with sizes_area:
    st.subheader(tr("clusters.sizes"))
    st.plotly_chart(widgets.bar_chart(sizes, "size", "clusters"), width="stretch")

cluster_id = st.session_state.get(CLUSTER) or (queue["cluster_id"].iloc[0] if len(queue) else None)
found = clusters.members(cur, cluster_id) if cluster_id else pd.DataFrame()
if found.empty:
    st.info(tr("clusters.pick"))
    st.stop()
stats = clusters.metrics(cur, cluster_id)
st.subheader(tr("clusters.cluster", id=cluster_id))
st.caption(tr("clusters.summary", size=len(found), sources=stats.get("sources", 0),
              density=i18n.fmt_pct(stats.get("density"), lang, 0),
              weakest=i18n.fmt_pct(stats.get("weakest_link"), lang, 0)))
names = {row.unique_id: f"{row.source} · {row.record_id}" for row in found.itertuples()}
side = customer360.records_side_by_side(found)
marked = {tr(f"field.{f}") for f in side.attrs["differs"]}
side = side.map(lambda value: i18n.fmt_value(value, lang)).rename(
    index=lambda f: tr(f"field.{f}"))
st.dataframe(side.style.apply(
    lambda row: ["background-color: #fdae6166" if row.name in marked else ""] * len(row),
    axis=1), width="stretch", height=35 * (len(side) + 1) + 3)
st.caption(tr("clusters.differences"))
graph_area, decide_area = st.columns([2, 3], gap="large")
with graph_area:
    edges = clusters.links(cur, cluster_id)
    labels = {row.unique_id: f"{row.source}<br>{row.first_name or ''} "
                             f"{row.last_name or ''}" for row in found.itertuples()}
    st.plotly_chart(widgets.cluster_graph_figure(
        clusters.graph_layout(list(names), edges), edges, labels), width="stretch")
    st.caption(tr("clusters.graph_legend"))

with decide_area, st.container(border=True):
    st.subheader(tr("clusters.decide"))
    who, why = st.columns(2)
    by = who.text_input(tr("clusters.reviewer"), key=REVIEWER)
    reason = why.text_input(tr("clusters.reason"))
    split, cut, join, keep, history = st.tabs([tr(f"clusters.tab.{t}") for t in (
        "split_out", "split_link", "merge", "confirm", "history")])


def act(action: object, *args: object, show: str | None = None) -> None:
    """Run a decision; show its error, or reload on the cluster now holding ``show``."""
    try:
        action(ws, *args, reason=reason, by=by)
    except WorkbenchError as exc:
        st.error(str(exc))
        return
    st.session_state[CLUSTER] = clusters.cluster_of(ws.cursor(), show) if show else None
    st.rerun()


with split:
    record = st.selectbox(tr("clusters.record"), list(names), format_func=names.get)
    if st.button(tr("clusters.do_split_out"), disabled=len(names) < 2):
        act(clusters.split_out, record, show=next(n for n in names if n != record))
with cut:
    used = edges[edges["used"]]
    link = st.selectbox(tr("clusters.link"), list(used.index), format_func=lambda i: (
        f"{names[used.at[i, 'unique_id_l']]} ↔ {names[used.at[i, 'unique_id_r']]} "
        f"({i18n.fmt_pct(used.at[i, 'match_probability'], lang, 1)})"))
    if st.button(tr("clusters.do_split_link"), disabled=link is None):
        act(clusters.split_link, used.at[link, "unique_id_l"], used.at[link, "unique_id_r"],
            show=used.at[link, "unique_id_l"])
with join:
    near = clusters.neighbours(cur, cluster_id)
    other = st.selectbox(tr("clusters.other"), near["cluster_id"].tolist(), accept_new_options=True,
                         format_func=lambda c: tr("clusters.neighbour", id=c, p=i18n.fmt_pct(
                             near.set_index("cluster_id")["best_probability"].get(c), lang, 0)))
    do_merge, do_never = st.columns(2)
    if do_merge.button(tr("clusters.do_merge"), disabled=not other, type="primary"):
        act(clusters.merge, cluster_id, other, show=next(iter(names)))
    if do_never.button(tr("clusters.do_never"), disabled=not other):
        act(clusters.never_merge, cluster_id, other, show=next(iter(names)))
with keep:
    st.caption(tr("clusters.confirm_help"))
    if st.button(tr("clusters.do_confirm"), type="primary"):
        act(clusters.confirm, cluster_id, show=next(iter(names)))
with history:
    done = clusters.decisions(cur, cluster_id)
    if done.empty:
        st.caption(tr("clusters.no_decisions"))
    for row in done.itertuples():
        line, button = st.columns([5, 1])
        line.write(tr("clusters.decision_line", kind=tr(f"clusters.kind.{row.kind}"),
                      who=row.decided_by or "—", when=i18n.fmt_date(row.decided_at, lang),
                      why=row.reason or "—"))
        if button.button(tr("clusters.undo"), key=f"undo{row.decision_id}"):
            clusters.undo(ws, row.decision_id)
            st.session_state[CLUSTER] = clusters.cluster_of(ws.cursor(), next(iter(names)))
            st.rerun()
