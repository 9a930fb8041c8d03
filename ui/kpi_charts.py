"""Charts and formats of the KPI & ROI page: uplift with its interval, KPI trends, cash curve,
departments."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cdp_core import i18n, kpi
from ui.state import language, tr

_BLUE, _GREEN, _GREY, _ORANGE, _RED = "#2c7fb8", "#1a9850", "#9e9e9e", "#f28e2b", "#d73027"
_MARGIN = dict(l=0, r=0, t=40, b=0)


def fmt_kpi(value: float | None, unit: str) -> str:
    """A KPI value as its unit reads: 12.5 %, €160, 337 s, 1.25."""
    lang = language()
    if unit == "share":
        return i18n.fmt_pct(value, lang)
    if unit == "euros":
        return i18n.fmt_money(value, lang, 0)
    if unit == "seconds":
        return f"{i18n.fmt_number(value, lang)} s" if value is not None else "—"
    return i18n.fmt_number(value, lang, 2)


def department_label(department: str) -> str:
    """A department's name in the reader's language (names the app does not know kept)."""
    return tr(f"kpi.dept.{department}") if department in (*kpi.DEPARTMENTS, "data_it") \
        else department.title()


def _euros() -> dict[str, str]:
    """Axis ticks in euros as the language writes them: €200k or 200k €."""
    return {"ticksuffix": "\u00a0€"} if language() == "fr" else {"tickprefix": "€"}


def _finish(figure: go.Figure, height: int, **layout: object) -> go.Figure:
    """White background, tight margins and the language's decimal and thousands marks."""
    figure.update_layout(height=height, margin=_MARGIN, plot_bgcolor="white",
                         separators=", " if language() == "fr" else ".,", **layout)
    return figure


def _interval_trace(value: float, interval: tuple[float, float] | None, text: str) -> go.Scatter:
    """One point with its 95 % interval as an error bar: green when surely above zero."""
    sure = interval is not None and interval[0] > 0
    low, high = interval or (value, value)
    return go.Scatter(x=[value], y=[""], mode="markers+text", text=[text],
                      textposition="top center", showlegend=False, hoverinfo="skip",
                      marker=dict(size=16, color=_GREEN if sure else _GREY),
                      error_x=dict(type="data", array=[high - value], arrayminus=[value - low],
                                   thickness=3, width=12, color=_GREEN if sure else _GREY))


def lift_figure(result: kpi.Lift) -> go.Figure:
    """Uplift of conversion (points) and of revenue per person (€), each with its 95 % interval
    against a zero line: an interval clear of zero is a real effect."""
    lang = language()
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=[
        tr("kpi.lift.chart_conversion"), tr("kpi.lift.chart_revenue")])
    points = 100 * result.absolute_lift
    figure.add_trace(_interval_trace(
        points, tuple(100 * b for b in result.absolute_ci),
        tr("kpi.lift.points", value=i18n.fmt_number(points, lang, 1))), row=1, col=1)
    figure.add_trace(_interval_trace(result.revenue_difference, result.revenue_ci,
                                     i18n.fmt_money(result.revenue_difference, lang)),
                     row=1, col=2)
    for column, (low, high) in ((1, [100 * b for b in result.absolute_ci]),
                                (2, result.revenue_ci or (result.revenue_difference,) * 2)):
        pad = 0.15 * (max(high, 0) - min(low, 0)) or 1
        figure.add_vline(x=0, line_color="#444", line_width=1, row=1, col=column)
        figure.update_xaxes(range=[min(low, 0) - pad, max(high, 0) + pad], row=1, col=column)
    figure.update_xaxes(showgrid=True, gridcolor="#eee", zeroline=False)
    figure.update_xaxes(row=1, col=2, **_euros())
    return _finish(figure, 200)


def trend_figure(history: pd.DataFrame, unit: str, target: float | None,
                 activated_at: dt.date | None) -> go.Figure:
    """A KPI over time, computed and hand-entered values apart, with its target and the day the
    use case went live."""
    figure = go.Figure()
    styles = {"computed": dict(mode="lines+markers", line=dict(color=_BLUE, width=3)),
              "manual": dict(mode="markers", marker=dict(color=_ORANGE, size=12,
                                                         symbol="diamond"))}
    for origin, points in history.groupby("origin"):
        figure.add_trace(go.Scatter(
            x=points["measured_at"], y=points["value"], name=tr(f"kpi.trend.series.{origin}"),
            text=[fmt_kpi(v, unit) for v in points["value"]],
            hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>", **styles[origin]))
    if target is not None:
        figure.add_hline(y=target, line_dash="dash", line_color=_GREEN,
                         annotation_text=f"{tr('kpi.trend.target')}: {fmt_kpi(target, unit)}",
                         annotation_position="top left")
    if activated_at is not None:
        day = pd.Timestamp(activated_at)
        figure.add_shape(type="line", x0=day, x1=day, y0=0, y1=1, yref="paper",
                         line=dict(color=_RED, dash="dot", width=2))
        figure.add_annotation(x=day, y=1, yref="paper", showarrow=False, yanchor="bottom",
                              text=tr("kpi.trend.activated", day=i18n.fmt_date(activated_at,
                                                                                language())),
                              font=dict(color=_RED))
    axis = {"share": dict(tickformat=".0%"), "euros": _euros()}.get(unit, {})
    figure.update_yaxes(rangemode="tozero", gridcolor="#eee", **axis)
    return _finish(figure, 380, legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0))


def cash_figure(flows: pd.DataFrame, payback: int | None) -> go.Figure:
    """Cumulative cash month by month, below zero in red and above in green, with the month the
    project pays back."""
    figure = go.Figure(go.Scatter(
        x=flows["month"], y=flows["cumulative"], mode="lines", line=dict(color=_BLUE, width=3),
        fill="tozeroy", fillcolor="rgba(44,127,184,0.12)",
        text=[i18n.fmt_money(v, language(), 0) for v in flows["cumulative"]],
        hovertemplate=f"{tr('kpi.roi.month')} %{{x}}: %{{text}}<extra></extra>"))
    figure.add_hline(y=0, line_color="#444", line_width=1)
    if payback is not None:
        cash = flows.loc[flows["month"] == payback, "cumulative"].iloc[0]
        figure.add_trace(go.Scatter(x=[payback], y=[cash], mode="markers", hoverinfo="skip",
                                    marker=dict(size=16, color=_GREEN, symbol="star")))
        figure.add_annotation(x=payback, y=cash, text=tr("kpi.roi.pays_back", n=payback),
                              showarrow=True, arrowhead=2, ax=40, ay=-50,
                              font=dict(color=_GREEN, size=14))
    figure.update_xaxes(title=tr("kpi.roi.month"), dtick=6, gridcolor="#eee")
    figure.update_yaxes(title=tr("kpi.roi.cash"), gridcolor="#eee", **_euros())
    return _finish(figure, 360, showlegend=False)


def attribution_figure(per_department: pd.DataFrame) -> go.Figure:
    """Benefit and cost side by side for each department."""
    names = per_department["department"].map(department_label)
    figure = go.Figure([
        go.Bar(x=names, y=per_department[column], name=tr(f"kpi.attr.series.{column}"),
               marker_color=colour,
               text=[i18n.fmt_money(v, language(), 0) for v in per_department[column]],
               textposition="outside", cliponaxis=False)
        for column, colour in (("benefit", _GREEN), ("cost", _RED))])
    figure.update_yaxes(gridcolor="#eee", **_euros())
    return _finish(figure, 360, barmode="group",
                   legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
