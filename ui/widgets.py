"""Tables and charts that read well in a workshop: scores as colours, numbers localised."""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from cdp_core import i18n
from ui.state import language, tr

SCORE_COLUMNS = ("completeness", "validity", "uniqueness", "freshness")
_GOOD, _FAIR, _POOR = "#1a9850", "#fdae61", "#d73027"
SURE_LINK = 0.99


def score_colour(score: float | None) -> str:
    """Green from 90%, amber from 70%, red below; grey when not measured."""
    if score is None or score != score:
        return "#bdbdbd"
    return _GOOD if score >= 0.9 else _FAIR if score >= 0.7 else _POOR


def _score_style(score: object) -> str:
    if not isinstance(score, int | float) or score != score:
        return ""
    return f"background-color: {score_colour(float(score))}33"


def scored_table(frame: pd.DataFrame, **kwargs: object) -> None:
    """A table for a workshop: scores as coloured percentages, counts localised, headers translated.

    Values are shown as the language writes them ("12 345", "95 %", "—" when not measured);
    the colours come from the numbers behind them.
    """
    lang = language()
    scores = [c for c in frame.columns if c in SCORE_COLUMNS]
    counts = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])
              and c != "version"]
    numeric = frame[scores].astype(float)
    shown = frame.copy()
    for column in scores:
        shown[column] = numeric[column].map(lambda v: i18n.fmt_pct(v, lang, 0))
    for column in counts:
        shown[column] = frame[column].map(lambda v: i18n.fmt_number(v, lang))
    colours = numeric.map(_score_style)
    styled = shown.style.apply(lambda _: colours, axis=None, subset=scores)
    config = {c: st.column_config.TextColumn(
        tr(f"col.{c}"), alignment="right" if c in scores or c in counts else None)
        for c in frame.columns}
    st.dataframe(styled, hide_index=True, column_config=config, **kwargs)


def score_metrics(scores: dict[str, float | None]) -> None:
    """One coloured metric per quality dimension."""
    for column, (name, score) in zip(st.columns(len(scores)), scores.items(), strict=True):
        column.markdown(
            f"<div style='border-left:6px solid {score_colour(score)};padding-left:10px'>"
            f"<div style='font-size:0.9rem;color:#555'>{tr(f'col.{name}')}</div>"
            f"<div style='font-size:1.8rem;font-weight:600'>"
            f"{i18n.fmt_pct(score, language(), 0)}</div></div>",
            unsafe_allow_html=True)


def metric_tiles(figures: list[tuple[str, str]], per_row: int = 4, border: bool = False) -> None:
    """Rows of big metric tiles, each (label, value already formatted for the language);
    ``border`` frames each tile, for a screen shown in a meeting room."""
    for start in range(0, len(figures), per_row):
        row = figures[start:start + per_row]
        for column, (label, value) in zip(st.columns(per_row), row, strict=False):
            column.metric(label, value, border=border)


def score_bars(frame: pd.DataFrame, label: str, scores: tuple[str, ...]) -> go.Figure:
    """Horizontal bars of scores per item (column or source), 0 to 100%."""
    long = frame.melt(id_vars=[label], value_vars=list(scores), var_name="score",
                      value_name="value").dropna(subset=["value"])
    long["score"] = long["score"].map(lambda s: tr(f"col.{s}"))
    figure = px.bar(long, x="value", y=label, color="score", barmode="group", orientation="h",
                    color_discrete_sequence=["#2c7fb8", "#7fcdbb", "#fdae61"],
                    labels={"value": "", label: "", "score": ""})
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_layout(height=max(260, 28 * len(frame) + 90),
                         margin=dict(l=0, r=0, t=40, b=0),
                         legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
                         yaxis=dict(autorange="reversed"))
    return figure


def bar_chart(frame: pd.DataFrame, x: str, y: str, *, color: str | None = None,
              horizontal: bool = False) -> go.Figure:
    """A plain bar chart with translated axis titles."""
    labels = {c: tr(f"col.{c}") for c in (x, y, color) if c} | {x: ""}
    figure = px.bar(frame, x=y if horizontal else x, y=x if horizontal else y, color=color,
                    orientation="h" if horizontal else "v", labels=labels,
                    color_discrete_sequence=px.colors.qualitative.Set2)
    figure.update_layout(margin=dict(l=0, r=0, t=10, b=0), height=340)
    if horizontal:
        figure.update_yaxes(autorange="reversed")
    return figure


def match_weights_figure(weights: pd.DataFrame) -> go.Figure:
    """Match weight of each comparison level: green bars for evidence of the same person."""
    frame = weights.dropna(subset=["match_weight"]).copy()
    frame["label"] = frame["comparison"] + " · " + frame["level"]
    colours = ["#1a9850" if w > 0 else "#d73027" for w in frame["match_weight"]]
    figure = go.Figure(go.Bar(x=frame["match_weight"], y=frame["label"], orientation="h",
                              marker_color=colours,
                              hovertemplate="%{y}<br>%{x:.1f}<extra></extra>"))
    figure.update_layout(height=max(300, 22 * len(frame) + 60), margin=dict(l=0, r=0, t=10, b=0),
                         yaxis=dict(autorange="reversed"), xaxis_title=tr("col.match_weight"))
    return figure


def m_u_figure(weights: pd.DataFrame) -> go.Figure:
    """m (share among true matches) and u (among non-matches) per level, side by side."""
    frame = weights.copy()
    frame["label"] = frame["comparison"] + " · " + frame["level"]
    long = frame.melt(id_vars="label", value_vars=["m_probability", "u_probability"],
                      var_name="parameter", value_name="probability")
    long["parameter"] = long["parameter"].map(lambda p: tr(f"col.{p}"))
    figure = px.bar(long, x="probability", y="label", color="parameter", barmode="group",
                    orientation="h", labels={"probability": "", "label": "", "parameter": ""},
                    color_discrete_sequence=["#2c7fb8", "#fdae61"])
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_layout(height=max(300, 30 * len(frame) + 60), margin=dict(l=0, r=0, t=30, b=0),
                         yaxis=dict(autorange="reversed"), legend=dict(orientation="h", y=1.05))
    return figure


def waterfall_figure(steps: pd.DataFrame) -> go.Figure:
    """The pair's score built up step by step, ending on the total weight."""
    labels = [f"{s} · {lvl}" if lvl else s for s, lvl in zip(steps["step"], steps["level"],
                                                               strict=True)]
    figure = go.Figure(go.Waterfall(
        x=[*labels, tr("review.total")], y=[*steps["match_weight"], 0],
        measure=["relative"] * len(steps) + ["total"], orientation="v",
        increasing={"marker": {"color": "#1a9850"}}, decreasing={"marker": {"color": "#d73027"}},
        totals={"marker": {"color": "#2c7fb8"}}))
    figure.update_layout(height=380, margin=dict(l=0, r=0, t=10, b=0), showlegend=False,
                         yaxis_title=tr("col.match_weight"))
    return figure


def link_colour(probability: float) -> str:
    """Green for a sure link, amber for a likely one, red for a weak one."""
    return _GOOD if probability >= SURE_LINK else _FAIR if probability >= 0.9 else _POOR


def cluster_graph_figure(positions: dict[str, tuple[float, float]], edges: pd.DataFrame,
                         labels: dict[str, str]) -> go.Figure:
    """A cluster as a small graph: records as dots named by source and name, links as lines
    coloured by probability (dotted below the threshold) with the probability at their middle."""
    figure = go.Figure()
    lang = language()
    for left, right, probability, used in edges[
            ["unique_id_l", "unique_id_r", "match_probability", "used"]].itertuples(index=False):
        (x0, y0), (x1, y1) = positions[left], positions[right]
        figure.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line=dict(color=link_colour(probability), width=2 + 4 * probability,
                      dash="solid" if used else "dot")))
        if probability < SURE_LINK:  # sure links are green enough; label the doubtful ones
            figure.add_annotation(x=(x0 + x1) / 2, y=(y0 + y1) / 2, showarrow=False,
                                  text=i18n.fmt_pct(probability, lang, 0),
                                  bgcolor="rgba(255,255,255,0.85)", font=dict(size=12))
    nodes = list(positions)
    figure.add_trace(go.Scatter(
        x=[positions[n][0] for n in nodes], y=[positions[n][1] for n in nodes],
        mode="markers+text", text=[labels[n] for n in nodes], textposition="top center",
        textfont=dict(size=11),
        hovertext=nodes, hoverinfo="text", showlegend=False,
        marker=dict(size=22, color="#2c7fb8", line=dict(color="white", width=2))))
    figure.update_xaxes(visible=False, range=_padded([p[0] for p in positions.values()]))
    figure.update_yaxes(visible=False, range=_padded([p[1] for p in positions.values()]))
    figure.update_layout(height=420, margin=dict(l=0, r=0, t=10, b=0), plot_bgcolor="white")
    return figure


def _padded(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    margin = max((high - low) * 0.25, 0.5)
    return [low - margin, high + margin]


def rfm_heatmap(grid: pd.DataFrame, cell_name: Callable[[str], str], x_title: str,
                y_title: str) -> go.Figure:
    """The classic RFM grid: recency 5 (top) to 1, frequency-monetary 1 to 5 (right), each
    square with its buyers and the name of its RFM segment."""
    people = grid.pivot_table(index="recency_score", columns="fm_score", values="people",
                              aggfunc="sum").reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    names = grid.drop_duplicates(["recency_score", "fm_score"]).pivot(
        index="recency_score", columns="fm_score", values="rfm_cell").reindex_like(people)
    text = [[f"{cell_name(n)}<br><b>{int(v):,}</b>" if pd.notna(v) else ""
             for n, v in zip(name_row, value_row, strict=True)]
            for name_row, value_row in zip(names.to_numpy(), people.to_numpy(), strict=True)]
    figure = go.Figure(go.Heatmap(
        z=people.to_numpy(), x=[str(c) for c in people.columns],
        y=[str(r) for r in people.index], text=text, texttemplate="%{text}",
        colorscale="Blues", showscale=False, hoverinfo="skip", xgap=3, ygap=3))
    figure.update_layout(height=420, margin=dict(l=0, r=0, t=10, b=0),
                         xaxis_title=x_title, yaxis_title=y_title)
    return figure


def require_profiles(has_profiles: bool) -> None:
    """Stop a page that works on unified people when there are none yet, pointing the way."""
    if not has_profiles:
        st.info(tr("seg.no_profiles"))
        st.page_link("app_pages/golden.py", label=tr("nav.golden"),
                     icon=":material/person_check:")
        st.stop()
