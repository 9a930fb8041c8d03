"""The Workshop page's figures, read once per change of the workspace, and its campaign chart."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from cdp_core import i18n, kpi, report
from cdp_core.workspace import Workspace
from ui.state import language, tr

_GREEN, _GREY = "#1a9850", "#9e9e9e"


@dataclass(frozen=True)
class Figures:
    """What the workshop shows before any filter: the workshop's figures, the KPI snapshots
    recorded, the KPIs rebuilt from the events, and the campaigns' lift (or the key of why
    there is none)."""

    workshop: report.Workshop
    recorded: pd.DataFrame
    rebuilt: dict[str, pd.DataFrame]
    pooled: kpi.Lift | str
    lifts: pd.DataFrame | None


@st.cache_data(show_spinner=False, max_entries=4)
def _read(_ws: Workspace, path: str, version: tuple[object, ...]) -> Figures:
    """Everything read from the workspace; ``path`` and ``version`` are the cache key."""
    cur = _ws.cursor()
    workshop = report.gather(cur)
    pooled = report.pooled_lift(cur)
    return Figures(workshop, kpi.history(cur),
                   report.rebuilt_series(cur, report.computed_kpis(workshop.tracked)), pooled,
                   report.lift_table(cur) if isinstance(pooled, kpi.Lift) else None)


def figures(ws: Workspace) -> Figures:
    """The workshop's figures, read again only when something was written to the workspace
    (a few seconds on a large one), so changing a filter is instant."""
    with st.spinner(tr("workshop.reading")):
        return _read(ws, str(ws.path), report.data_version(ws.cursor()))


def pack_bytes(ws: Workspace, lang: str) -> bytes:
    """The workshop pack in ``lang``, as bytes for the download button (written when clicked,
    on a thread of its own: no session state here)."""
    with tempfile.TemporaryDirectory(prefix="cdp_pack_") as folder:
        return report.write_workshop_pack(ws, Path(folder) / "pack.xlsx", lang).read_bytes()


def campaigns_figure(lifts: pd.DataFrame) -> go.Figure:
    """Each campaign's conversion uplift in points with its 95 % interval, the latest on top:
    green when conclusive, grey while it could still be chance or the groups are small."""
    lang = language()
    figure = go.Figure()
    for conclusive, group in lifts.groupby("conclusive", sort=False):
        colour = _GREEN if conclusive else _GREY
        points = 100 * group["absolute_lift"]
        figure.add_trace(go.Scatter(
            x=points, y=group["campaign"], mode="markers", name=tr(
                f"workshop.lift_series.{'conclusive' if conclusive else 'inconclusive'}"),
            marker=dict(size=14, color=colour),
            error_x=dict(type="data", array=100 * group["absolute_high"] - points,
                         arrayminus=points - 100 * group["absolute_low"], thickness=3,
                         width=8, color=colour),
            hovertext=[tr("workshop.lift_hover", campaign=c, treated=i18n.fmt_pct(t, lang),
                          control=i18n.fmt_pct(k, lang), p=i18n.fmt_number(p, lang, 4))
                       for c, t, k, p in zip(group["campaign"], group["rate_treated"],
                                             group["rate_control"], group["p_value"],
                                             strict=True)],
            hoverinfo="text"))
    figure.add_vline(x=0, line_color="#444", line_width=1)
    figure.update_xaxes(title=tr("workshop.lift_axis"), gridcolor="#eee", zeroline=False)
    figure.update_yaxes(categoryorder="array", categoryarray=lifts["campaign"].tolist(),
                        tickfont=dict(size=14))
    figure.update_layout(height=120 + 38 * len(lifts), margin=dict(l=0, r=0, t=40, b=0),
                         plot_bgcolor="white", separators=", " if lang == "fr" else ".,",
                         legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))
    return figure
