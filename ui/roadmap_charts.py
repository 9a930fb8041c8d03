"""The roadmap's two charts: value against complexity (bubbles sized by benefit) and the waves
over time, written for a steering committee."""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from cdp_core import i18n, use_cases
from ui.state import language, tr

WAVE_COLOURS = {1: "#1a9850", 2: "#2c7fb8", 3: "#7b3294"}
_ZONE_COLOURS = {1: "rgba(26,152,80,0.08)", 3: "rgba(123,50,148,0.06)"}
_BIGGEST_BUBBLE = 58  # pixels across the largest benefit


def wave_label(wave: int) -> str:
    """'Wave 1 · quick wins' in the reader's language."""
    return tr(f"roadmap.wave.{wave}")


def _names(roadmap: pd.DataFrame) -> pd.Series:
    return roadmap["name_fr" if language() == "fr" else "name"]


def _hover(roadmap: pd.DataFrame) -> list[str]:
    lang = language()
    return [tr("roadmap.hover", name=name, benefit=i18n.fmt_money(b, lang, 0),
               roi=i18n.fmt_pct(r, lang, 0), readiness=i18n.fmt_pct(d, lang, 0),
               value=i18n.fmt_number(v * 100, lang), complexity=i18n.fmt_number(c * 100, lang))
            for name, b, r, d, v, c in zip(_names(roadmap), roadmap["benefit"], roadmap["roi"],
                                           roadmap["readiness"], roadmap["value"],
                                           roadmap["complexity"], strict=True)]


_PLOT_PX = (1100, 540)  # the plot area's usual size on a wide page, for placing labels
_CHAR_PX, _LINE_PX = 6.8, 16
_STEPS = (0, -16, 16, -32, 32, -48, 48, -64, 64)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0) * max(height, 0)


def _place_labels(points: list[tuple[float, float, float]], texts: list[str],
                  ) -> list[tuple[float, float, str]]:
    """Where each label goes, in pixels from its bubble (dx, dy, anchor): beside it when there
    is room, else shifted up or down (with a leader line); the biggest bubbles choose first.

    ``points`` are (x, y, radius) in pixels of the plot area. Labels avoid each other, the
    bubbles and the plot's edges, as far as a greedy search can.
    """
    width, height = _PLOT_PX
    bubbles = [(x - r, y - r, x + r, y + r) for x, y, r in points]
    placed: list[tuple[float, float, float, float]] = []
    found: dict[int, tuple[float, float, str]] = {}
    for index in sorted(range(len(points)), key=lambda i: -points[i][2]):
        x, y, radius = points[index]
        size = _CHAR_PX * len(texts[index])
        best, best_cost = (radius + 4, 0.0, "left"), float("inf")
        for dy in _STEPS:
            for anchor, dx in (("left", radius + 4), ("right", -radius - 4)):
                left = x + dx if anchor == "left" else x + dx - size
                box = (left, y + dy - _LINE_PX / 2, left + size, y + dy + _LINE_PX / 2)
                outside = (max(0, -box[0]) + max(0, box[2] - width) + max(0, -box[1])
                           + max(0, box[3] - height)) * _LINE_PX
                cost = outside + sum(_overlap(box, other) for other in placed) + sum(
                    _overlap(box, b) for j, b in enumerate(bubbles) if j != index) / 2
                if cost < best_cost:
                    best, best_cost = (dx, dy, anchor), cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        found[index] = best
        dx, dy, anchor = best
        left = x + dx if anchor == "left" else x + dx - size
        placed.append((left, y + dy - _LINE_PX / 2, left + size, y + dy + _LINE_PX / 2))
    return [found[i] for i in range(len(points))]


def _label_annotations(figure: go.Figure, roadmap: pd.DataFrame, x_range: tuple[float, float],
                       y_range: tuple[float, float], scale: float) -> None:
    """Name every bubble, without labels on top of each other."""
    width, height = _PLOT_PX
    points = [((x - x_range[0]) / (x_range[1] - x_range[0]) * width,
               (y_range[1] - y) / (y_range[1] - y_range[0]) * height,
               max(3.0, math.sqrt(2 * max(b, 0) / scale) / 2))
              for x, y, b in zip(roadmap["complexity"], roadmap["value"], roadmap["benefit"],
                                 strict=True)]
    names = _names(roadmap).tolist()
    for (x, y), name, (dx, dy, anchor) in zip(
            zip(roadmap["complexity"], roadmap["value"], strict=True), names,
            _place_labels(points, names), strict=True):
        figure.add_annotation(x=x, y=y, text=name, ax=dx, ay=dy, xanchor=anchor,
                              showarrow=bool(dy), arrowhead=0, arrowwidth=1, arrowcolor="#999",
                              font=dict(size=12, color="#333"), xshift=0 if dy else dx,
                              bgcolor="rgba(255,255,255,0.6)")


def bubble_figure(roadmap: pd.DataFrame) -> go.Figure:
    """Value (up) against complexity (right): one bubble per use case, its area the expected
    yearly benefit, its colour the wave; the quick-win and strategic zones are shaded."""
    x_max = max(0.6, float(roadmap["complexity"].max()) + 0.08)
    y_min = min(0.3, float(roadmap["value"].min()) - 0.08)
    figure = go.Figure()
    for wave, (x0, x1, y0) in {1: (0, use_cases.QUICK_WIN_COMPLEXITY,
                                   use_cases.QUICK_WIN_VALUE),
                               3: (use_cases.STRATEGIC_COMPLEXITY, x_max, y_min)}.items():
        figure.add_shape(type="rect", x0=x0, x1=x1, y0=y0, y1=1.02, line_width=0,
                         fillcolor=_ZONE_COLOURS[wave], layer="below")
        figure.add_annotation(x=x0 + 0.005, y=1.015, xanchor="left", yanchor="top",
                              text=f"<b>{tr(f'roadmap.zone.{wave}')}</b>", showarrow=False,
                              font=dict(size=13, color=WAVE_COLOURS[wave]))
    scale = 2.0 * float(roadmap["benefit"].max() or 1) / _BIGGEST_BUBBLE ** 2
    for wave, group in roadmap.groupby("wave", sort=True):
        figure.add_trace(go.Scatter(
            x=group["complexity"], y=group["value"], mode="markers",
            name=wave_label(int(wave)), hovertext=_hover(group), hoverinfo="text",
            marker=dict(size=group["benefit"].clip(lower=0), sizemode="area", sizeref=scale,
                        sizemin=6, color=WAVE_COLOURS[int(wave)], opacity=0.75,
                        line=dict(color="white", width=1.5))))
    _label_annotations(figure, roadmap, (-0.02, x_max), (y_min, 1.02), scale)
    figure.update_xaxes(title=tr("roadmap.axis.complexity"), range=[-0.02, x_max],
                        tickvals=[0, x_max - 0.04],
                        ticktext=[tr("roadmap.axis.simple"), tr("roadmap.axis.complex")],
                        showgrid=False, zeroline=False)
    figure.update_yaxes(title=tr("roadmap.axis.value"), range=[y_min, 1.02],
                        tickvals=[y_min, 1.0],
                        ticktext=[tr("roadmap.axis.low"), tr("roadmap.axis.high")],
                        showgrid=False, zeroline=False)
    figure.update_layout(height=620, margin=dict(l=10, r=10, t=40, b=10),
                         plot_bgcolor="white", legend=dict(orientation="h", y=1.06, x=0),
                         legend_itemsizing="constant")
    return figure


def _quarter_ticks(start: pd.Timestamp, end: pd.Timestamp) -> tuple[list, list[str]]:
    """Quarter starts between two dates, labelled 'Q1 2027' or 'T1 2027'."""
    first = pd.Timestamp(year=start.year, month=3 * ((start.month - 1) // 3) + 1, day=1)
    ticks = list(pd.date_range(first, end + pd.DateOffset(months=3), freq="QS"))
    prefix = tr("roadmap.quarter")
    return ticks, [f"{prefix}{math.ceil(t.month / 3)} {t.year}" for t in ticks]


def timeline_figure(roadmap: pd.DataFrame) -> go.Figure:
    """The waves as swim lanes: one bar per use case from its build start to go-live."""
    lang = language()
    figure = go.Figure()
    names = _names(roadmap)
    for wave, group in roadmap.groupby("wave", sort=True):
        days = (group["end"] - group["start"]).dt.days * 86_400_000
        figure.add_trace(go.Bar(
            base=group["start"], x=days, y=[[wave_label(int(wave))] * len(group),
                                            names[group.index].tolist()],
            orientation="h", name=wave_label(int(wave)),
            marker=dict(color=WAVE_COLOURS[int(wave)], opacity=0.85),
            text=group["benefit"].map(lambda b: i18n.fmt_money(b, lang, 0)),
            textposition="outside", textfont=dict(color="#333", size=12), cliponaxis=False,
            hovertext=_hover(group), hoverinfo="text"))
    first, last = roadmap["start"].min(), roadmap["end"].max()
    ticks, labels = _quarter_ticks(first, last)
    figure.update_xaxes(type="date", tickvals=ticks, ticktext=labels, showgrid=True,
                        gridcolor="#e5e5e5", range=[first - pd.DateOffset(days=10),
                                                    last + pd.DateOffset(months=3)])
    figure.update_yaxes(autorange="reversed", showdividers=True, dividercolor="#999")
    figure.update_layout(height=90 + 32 * len(roadmap), margin=dict(l=10, r=10, t=30, b=10),
                         plot_bgcolor="white", showlegend=False, bargap=0.25)
    return figure
