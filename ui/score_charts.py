"""The Scores page's figures: how well a model sorts people, whether its probabilities hold,
and the behaviour clusters, drawn for a marketing director."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from cdp_core import i18n, scoring
from ui import widgets
from ui.state import language, tr

_BLUE, _GREY, _ORANGE = "#2c7fb8", "#9e9e9e", "#f28e2b"


def _separators() -> str:
    """Plotly's decimal and thousands marks for the page's language."""
    return ",\u202f" if language() == "fr" else ".,"


def _date(text: str) -> str:
    return i18n.fmt_date(datetime.fromisoformat(text), language())


def _lift(value: float) -> str:
    return f"×{i18n.fmt_number(value, language(), 1)}"


def model_tiles(metrics: dict[str, Any]) -> None:
    """AUC, precision in the top decile, base rate and lift in the top decile."""
    lang = language()
    widgets.metric_tiles([
        (tr("scores.auc"), i18n.fmt_number(metrics["auc"], lang, 2)),
        (tr("scores.precision_top"), i18n.fmt_pct(metrics["precision_top_decile"], lang)),
        (tr("scores.base_rate"), i18n.fmt_pct(metrics["base_rate"], lang)),
        (tr("scores.lift_top"), _lift(metrics["lift_top_decile"]))])


def split_caption(kind: str, metrics: dict[str, Any]) -> str:
    """The time-based split in words: who learned on what, who was judged on what."""
    lang = language()
    train, test = metrics["train"], metrics["test"]
    text = tr(f"scores.split.{kind}",
              train_people=i18n.fmt_number(train["population"], lang),
              train_as_of=_date(train["as_of"]), train_until=_date(train["until"]),
              train_positives=i18n.fmt_number(train["positives"], lang),
              test_people=i18n.fmt_number(test["population"], lang),
              test_as_of=_date(test["as_of"]), test_until=_date(test["until"]),
              test_positives=i18n.fmt_number(test["positives"], lang),
              model=tr(f"scores.model.{metrics['model']}"))
    if metrics["sampled"]:
        text += " " + tr("scores.sampled", rows=i18n.fmt_number(metrics["rows_fitted"], lang))
    return text + " " + tr("scores.refitted", today=_date(metrics["reference_at"]))


def lift_figure(metrics: dict[str, Any]) -> go.Figure:
    """Lift per decile of score (1 = the tenth with the highest scores) against the base rate."""
    deciles = pd.DataFrame(metrics["deciles"])
    lang = language()
    figure = go.Figure(go.Bar(
        x=deciles["decile"], y=deciles["lift"], marker_color=_BLUE,
        text=[_lift(v) for v in deciles["lift"]], textposition="outside", cliponaxis=False,
        customdata=[i18n.fmt_pct(v, lang) for v in deciles["rate"]],
        hovertemplate=tr("scores.lift_hover") + "<extra></extra>"))
    figure.add_hline(y=1, line_dash="dash", line_color=_GREY,
                     annotation_text=tr("scores.base_line"), annotation_position="top right")
    figure.update_xaxes(title=tr("scores.decile_axis"), tickmode="linear", dtick=1)
    figure.update_yaxes(title=tr("scores.lift_axis"), rangemode="tozero")
    figure.update_layout(height=360, margin=dict(l=0, r=0, t=30, b=0), separators=_separators())
    return figure


def calibration_figure(metrics: dict[str, Any]) -> go.Figure:
    """Observed rate against predicted probability, by groups of people; the diagonal is a
    perfectly calibrated model."""
    points = pd.DataFrame(metrics["calibration"])
    top = max(points["predicted"].max(), points["observed"].max()) * 1.05
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name=tr("scores.perfect"),
                                line=dict(color=_GREY, dash="dash")))
    figure.add_trace(go.Scatter(x=points["predicted"], y=points["observed"],
                                mode="lines+markers", name=tr("scores.observed"),
                                line=dict(color=_ORANGE), marker=dict(size=9)))
    figure.update_xaxes(title=tr("scores.predicted_axis"), tickformat=".0%", range=[0, top])
    figure.update_yaxes(title=tr("scores.observed_axis"), tickformat=".0%", range=[0, top])
    figure.update_layout(height=360, margin=dict(l=0, r=0, t=30, b=0), separators=_separators(),
                         legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return figure


def model_section(kind: str, metrics: dict[str, Any]) -> None:
    """Tiles, the split in words, lift by decile and calibration for one supervised model."""
    model_tiles(metrics)
    st.caption(split_caption(kind, metrics))
    left, right = st.columns(2)
    left.markdown(f"**{tr('scores.lift_title')}**")
    left.plotly_chart(lift_figure(metrics), width="stretch")
    right.markdown(f"**{tr('scores.calibration_title')}**")
    right.plotly_chart(calibration_figure(metrics), width="stretch")


def cluster_table(metrics: dict[str, Any]) -> pd.DataFrame:
    """One row per cluster, described in the page's language, largest revenue first."""
    frame = pd.DataFrame(metrics["clusters"])
    frame["label"] = frame["codes"].map(lambda codes: scoring.cluster_label(codes, language()))
    return frame


def bubble_figure(frame: pd.DataFrame) -> go.Figure:
    """Buyers' clusters as bubbles: recent purchases to the right, revenue up, size = people;
    numbered in the bubbles and named in the legend (names would overlap on the chart)."""
    buyers = frame[frame["cluster"] != scoring.NO_PURCHASE].assign(
        name=lambda f: f["cluster"].astype(str) + " · " + f["label"],
        number=lambda f: f["cluster"].astype(str))
    figure = px.scatter(
        buyers, x="median_recency_days", y="avg_revenue_365d", size="people", color="name",
        text="number", size_max=60, color_discrete_sequence=px.colors.qualitative.Set2,
        labels={"median_recency_days": tr("scores.col.median_recency_days"),
                "avg_revenue_365d": tr("scores.col.avg_revenue_365d"),
                "people": tr("scores.col.people"), "name": "", "number": ""})
    figure.update_traces(textfont=dict(size=14, color="#333"), cliponaxis=False)
    oldest, richest = buyers["median_recency_days"].max(), buyers["avg_revenue_365d"].max()
    figure.update_xaxes(range=[oldest * 1.12, -oldest * 0.08])  # recent on the right
    figure.update_yaxes(range=[-richest * 0.12, richest * 1.2], ticksuffix=" €")
    figure.update_layout(height=540, margin=dict(l=0, r=0, t=10, b=0), separators=_separators(),
                         legend=dict(orientation="h", yanchor="top", y=-0.2, x=0))
    return figure


def behaviour_section(metrics: dict[str, Any]) -> None:
    """Tiles, the clusters as bubbles (recency by revenue, size = people) and the table."""
    lang = language()
    frame = cluster_table(metrics)
    widgets.metric_tiles([
        (tr("scores.buyers"), i18n.fmt_number(metrics["buyers"], lang)),
        (tr("scores.cluster_count"), i18n.fmt_number(len(frame) - 1, lang)),
        (tr("scores.silhouette"), i18n.fmt_number(metrics["silhouette"], lang, 2))])
    st.caption(tr("scores.behaviour_help"))
    st.plotly_chart(bubble_figure(frame), width="stretch")
    shown = pd.DataFrame({
        "cluster": frame["cluster"].astype(str),
        "label": frame["label"],
        "people": frame["people"].map(lambda v: i18n.fmt_number(v, lang)),
        "share": (frame["people"] / metrics["people"]).map(lambda v: i18n.fmt_pct(v, lang, 0)),
        "avg_revenue_365d": frame["avg_revenue_365d"].map(lambda v: i18n.fmt_money(v, lang, 0)),
        "avg_orders": frame["avg_orders"].map(lambda v: i18n.fmt_number(v, lang, 1)),
        "median_recency_days": frame["median_recency_days"].map(lambda v: i18n.fmt_number(v,
                                                                                          lang)),
        "web_share": frame["web_share"].map(lambda v: i18n.fmt_pct(v, lang, 0))})
    # A small summary as a plain table: long descriptions wrap instead of scrolling.
    st.table(shown.set_index("cluster").rename_axis(tr("scores.table.cluster"))
             .rename(columns=lambda c: tr(f"scores.table.{c}")))
