"""Workshop: a read-only view for stakeholders. Big figures, the value map and the roadmap, KPI
trends, what the campaigns caused, when the platform pays back and who gets what; filters by
department and wave, and the workshop pack to take away. Nothing here edits the project."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n, report, use_cases
from ui import kpi_charts, kpi_forms, roadmap_charts, widgets, workshop_view
from ui.state import WORKSHOP_DEPARTMENTS, WORKSHOP_WAVES, language, tr, workspace

ws = workspace()
lang = language()
data = workshop_view.figures(ws)
everything = data.workshop
st.title(tr("workshop.title"))
st.caption(tr("workshop.intro", day=i18n.fmt_date(everything.reference_day, lang)))

owners = [d for d in use_cases.DEPARTMENTS if d in set(everything.overview["owner"])]
left, right = st.columns(2)
departments = left.multiselect(tr("workshop.departments"), owners, key=WORKSHOP_DEPARTMENTS,
                               format_func=lambda d: use_cases.department_label(d, lang),
                               placeholder=tr("workshop.all"))
waves = right.multiselect(tr("workshop.waves"), sorted(set(everything.roadmap["wave"])),
                          key=WORKSHOP_WAVES, format_func=roadmap_charts.wave_label,
                          placeholder=tr("workshop.all"))
shown = everything.select(departments, waves)
if shown.overview.empty:
    st.info(tr("workshop.nothing"))
    st.stop()

portfolio, roadmap = shown.portfolio, shown.roadmap
outcome = shown.business_case() if not portfolio.empty else None
measured = portfolio.loc[portfolio["benefit_origin"] == "measured", "benefit_per_year"].sum()
payback = ("—" if outcome is None else tr("kpi.roi.never") if outcome.payback_month is None
           else tr("kpi.roi.payback_month", n=outcome.payback_month))
widgets.metric_tiles([
    (tr("workshop.tile.use_cases"), i18n.fmt_number(len(shown.overview), lang)),
    (tr("workshop.tile.quick_wins"), i18n.fmt_number(int((roadmap["wave"] == 1).sum()), lang)),
    (tr("workshop.tile.benefit"), i18n.fmt_money(portfolio["benefit_per_year"].sum(), lang, 0)),
    (tr("workshop.tile.measured"), i18n.fmt_money(measured, lang, 0)),
    (tr("workshop.tile.roi"), i18n.fmt_pct(outcome.roi if outcome else None, lang, 0)),
    (tr("workshop.tile.payback"), payback),
    (tr("workshop.tile.npv", rate=i18n.fmt_pct(shown.rate, lang, 0)),
     i18n.fmt_money(outcome.npv if outcome else None, lang, 0)),
    (tr("workshop.tile.readiness"), i18n.fmt_pct(shown.overview["readiness"].mean(), lang, 0))],
    border=True)

if not roadmap.empty:
    st.header(tr("workshop.value"), divider="gray")
    st.caption(tr("roadmap.matrix_help"))
    st.plotly_chart(roadmap_charts.bubble_figure(roadmap), width="stretch")
    st.header(tr("workshop.roadmap"), divider="gray")
    st.plotly_chart(roadmap_charts.timeline_figure(roadmap), width="stretch")

st.header(tr("workshop.kpis"), divider="gray")
ranked = {u: i for i, u in enumerate(roadmap["use_case_id"])}
tracked = sorted(shown.tracked, key=lambda t: ranked.get(t.use_case.id, len(ranked)))
trends = report.kpi_trends(tracked, data.recorded, data.rebuilt)
if not trends:
    st.info(tr("workshop.no_trends"))
else:
    st.caption(tr("workshop.kpis_help"))
for start in range(0, len(trends), 2):
    for column, trend in zip(st.columns(2), trends[start:start + 2], strict=False):
        column.markdown("##### " + tr("workshop.trend_title", kpi=trend.measure.label_in(lang),
                                     use_case=trend.use_case.name_in(lang)))
        column.plotly_chart(kpi_charts.trend_figure(trend.history, trend.measure.unit,
                                                    trend.measure.target, trend.activated_at),
                            width="stretch", key=f"trend_{trend.use_case.id}_{trend.measure.id}")

st.header(tr("workshop.lift"), divider="gray")
if isinstance(data.pooled, str):
    st.info(tr(data.pooled))
else:
    st.caption(tr("workshop.lift_help"))
    kpi_forms.lift_summary(data.pooled)
    st.plotly_chart(workshop_view.campaigns_figure(data.lifts), width="stretch")

if outcome is not None:
    st.header(tr("workshop.roi"), divider="gray")
    st.caption(tr("workshop.roi_help", months=report.RAMP_MONTHS))
    st.plotly_chart(kpi_charts.cash_figure(outcome.flows, outcome.payback_month),
                    width="stretch")
    st.header(tr("workshop.by_department"), divider="gray")
    st.caption(tr("workshop.by_department_help"))
    st.plotly_chart(kpi_charts.attribution_figure(shown.departments()), width="stretch")

st.divider()
st.download_button(tr("workshop.download"), lambda: workshop_view.pack_bytes(ws, lang),
                   file_name=tr("workshop.file_name"), on_click="ignore",
                   icon=":material/download:", type="primary",
                   mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
st.caption(tr("workshop.download_help"))
