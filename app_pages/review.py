"""Pair review: label the pairs the model is least sure about; see the threshold they imply."""
from __future__ import annotations

import plotly.express as px
import streamlit as st

from cdp_core import i18n, labels, matching, model_evidence
from cdp_core.errors import WorkbenchError
from ui import widgets
from ui.state import language, tr, workspace

ws = workspace()
st.title(tr("review.title"))
cur = ws.cursor()
if not labels.has_predictions(cur):
    st.info(tr("review.no_predictions"))
    st.stop()

choice = labels.suggest_threshold(cur)
lang = language()
counts = labels.label_counts(cur)
widgets.metric_tiles([
    (tr("review.labelled"), i18n.fmt_number(sum(counts.values()), lang)),
    (tr("review.suggested"), i18n.fmt_number(choice.threshold, lang, 2)),
    (tr("review.precision"), i18n.fmt_pct(choice.precision, lang)),
    (tr("review.recall"), i18n.fmt_pct(choice.recall, lang))])
if choice.estimated:
    st.warning(tr("review.estimated"))

threshold = st.slider(tr("review.threshold"), 0.01, 0.99, value=choice.threshold, step=0.01)
queue = labels.review_queue(cur, threshold, size=1)
left, right = st.columns([3, 2])
with left:
    st.subheader(tr("review.next_pair"))
    if queue.empty:
        st.success(tr("review.done"))
    else:
        pair = queue.iloc[0]
        st.caption(tr("review.probability", p=i18n.fmt_pct(pair["match_probability"], lang)))
        shown = labels.side_by_side(pair)
        shown.index = [tr(f"field.{field}") for field in shown.index]
        shown.columns = [tr("review.record_a"), tr("review.record_b")]
        st.table(shown.style.apply(lambda row: ["background-color: #fdae6133"] * 2
                                   if row.iloc[0] != row.iloc[1] else [""] * 2, axis=1))
        buttons = st.columns(4)
        for column, (label, key) in zip(buttons, (("match", "m"), ("non_match", "n"),
                                                   ("unsure", "u")), strict=False):
            if column.button(tr(f"review.{label}"), shortcut=key, width="stretch",
                             type="primary" if label == "match" else "secondary"):
                labels.save_label(ws, pair["unique_id_l"], pair["unique_id_r"], label)
                st.rerun()
        if buttons[3].button(tr("review.never"), shortcut="x", width="stretch",
                             help=tr("review.never_help")):
            labels.never_link(ws, pair["unique_id_l"], pair["unique_id_r"])
            st.rerun()
        st.caption(tr("review.keys"))
        with st.expander(tr("review.why")):
            try:
                steps = model_evidence.pair_waterfall(matching.load_model(cur).splink_model,
                                                      labels.prediction_row(
                                                          cur, pair["unique_id_l"],
                                                          pair["unique_id_r"]))
                st.plotly_chart(widgets.waterfall_figure(steps), width="stretch")
            except WorkbenchError as exc:
                st.info(str(exc))
with right:
    st.subheader(tr("review.curve"))
    curve, estimated = labels.accuracy_curve(cur)
    long = curve.melt(id_vars="threshold", value_vars=["precision", "recall", "f1"],
                      var_name="measure", value_name="value")
    long["measure"] = long["measure"].map(lambda m: tr(f"review.{m}"))
    figure = px.line(long, x="threshold", y="value", color="measure",
                     labels={"threshold": tr("review.threshold"), "value": "", "measure": ""})
    figure.add_vline(x=threshold, line_dash="dash", line_color="#888")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02])
    figure.update_layout(height=360, margin=dict(l=0, r=0, t=10, b=0),
                         legend=dict(orientation="h", y=1.1))
    st.plotly_chart(figure, width="stretch")
