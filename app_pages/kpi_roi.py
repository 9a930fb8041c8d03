"""KPI & ROI: what the campaigns caused, whether the KPIs move, when the platform pays back and
which department gets what."""
from __future__ import annotations

import streamlit as st

from cdp_core import i18n, kpi
from cdp_core.errors import InputError
from ui import kpi_charts, kpi_forms, widgets
from ui.state import KPI_CAMPAIGN, KPI_PICK, KPI_USE_CASE, ROI_USE_CASES, language, tr, workspace

ws = workspace()
cur = ws.cursor()
lang = language()
st.title(tr("kpi.title"))
st.caption(tr("kpi.intro"))
tracked = kpi_forms.tracked_use_cases(cur)
by_id = {t.use_case.id: t for t in tracked}
lift_tab, trend_tab, roi_tab, department_tab = st.tabs(
    [tr("kpi.tab.lift"), tr("kpi.tab.trend"), tr("kpi.tab.roi"), tr("kpi.tab.attribution")])

with lift_tab:
    try:
        listed = kpi_forms.campaigns(ws)
    except InputError:
        listed = None
        st.info(tr("kpi.lift.no_events"), icon=":material/campaign:")
    names = [] if listed is None else listed.loc[listed["has_control"], "campaign"].tolist()
    if listed is not None and not names:
        st.info(tr("kpi.lift.none"))
    elif names:
        st.caption(tr("kpi.lift.help"))
        chosen = st.selectbox(tr("kpi.lift.campaign"), [kpi.ALL_CAMPAIGNS, *names],
                              key=KPI_CAMPAIGN, format_func=lambda c: tr("kpi.lift.all")
                              if c == kpi.ALL_CAMPAIGNS else c)
        result = kpi_forms.campaign_lift(ws, None if chosen == kpi.ALL_CAMPAIGNS else chosen)
        kpi_forms.lift_summary(result)
        st.plotly_chart(kpi_charts.lift_figure(result), width="stretch")
        kpi_forms.table(kpi.lift_groups(result).assign(
            group=lambda f: f["group"].map(lambda g: tr(f"kpi.group.{g}"))),
            counts=("people", "conversions"), shares=("rate",),
            cents=("revenue_per_person",), width="stretch")

with trend_tab:
    use_case_id = st.selectbox(tr("kpi.trend.use_case"), list(by_id), key=KPI_USE_CASE,
                               format_func=lambda u: by_id[u].use_case.name_in(lang))
    chosen_case = by_id[use_case_id]
    measures = {m.id: m for m in chosen_case.use_case.kpis}
    measure = measures[st.selectbox(tr("kpi.trend.kpi"), list(measures), key=KPI_PICK,
                                    format_func=lambda m: measures[m].label_in(lang))]
    st.caption(tr("kpi.trend.formula", formula=measure.formula))
    shown = kpi.history(cur, use_case_id, measure.id)
    if measure.computed and kpi.compute_kpi(cur, measure.computed).value is not None:
        if st.button(tr("kpi.trend.backfill"), icon=":material/history:"):
            n = kpi.backfill_history(ws, use_case_id, {measure.id: measure.computed},
                                     targets={measure.id: measure.target})
            st.toast(tr("kpi.trend.backfilled", n=n), icon=":material/check:")
            shown = kpi.history(cur, use_case_id, measure.id)
    elif not measure.computed:
        st.info(tr("kpi.trend.manual_only"))
    if shown.empty:
        st.info(tr("kpi.trend.empty"))
    else:
        st.plotly_chart(kpi_charts.trend_figure(shown, measure.unit, measure.target,
                                                chosen_case.activated_at), width="stretch")
        kpi_forms.history_table(shown, measure.unit)
    kpi_forms.snapshot_form(ws, use_case_id, measure, kpi.reference_day(cur))

with roi_tab:
    st.subheader(tr("kpi.roi.costs"))
    costs, rate, ramp = kpi_forms.cost_inputs(ws, cur)
    picked = st.multiselect(tr("kpi.roi.use_cases"), list(by_id), key=ROI_USE_CASES,
                            default=kpi_forms.default_portfolio(tracked),
                            format_func=lambda u: by_id[u].use_case.name_in(lang))
    portfolio = kpi_forms.use_case_benefits(
        ws, kpi.portfolio(by_id[u].use_case for u in picked))
    if portfolio.empty:
        st.info(tr("kpi.roi.no_use_cases"))
    else:
        total = costs.with_use_cases(portfolio)
        outcome = kpi.evaluate(portfolio["benefit_per_year"].sum(), total, rate=rate,
                               ramp_months=ramp)
        payback = (tr("kpi.roi.payback_month", n=outcome.payback_month)
                   if outcome.payback_month is not None else tr("kpi.roi.never"))
        widgets.metric_tiles([
            (tr("kpi.roi.tile.roi"), i18n.fmt_pct(outcome.roi, lang, 0)),
            (tr("kpi.roi.tile.payback"), payback),
            (tr("kpi.roi.tile.npv", rate=i18n.fmt_pct(rate, lang, 1)),
             i18n.fmt_money(outcome.npv, lang, 0)),
            (tr("kpi.roi.tile.benefit"),
             i18n.fmt_money(portfolio["benefit_per_year"].sum(), lang, 0))])
        st.plotly_chart(kpi_charts.cash_figure(outcome.flows, outcome.payback_month),
                        width="stretch")
        st.caption(tr("kpi.roi.origin_help"))
        kpi_forms.portfolio_table(portfolio)

with department_tab:
    st.caption(tr("kpi.attr.help"))
    if portfolio.empty:
        st.info(tr("kpi.roi.no_use_cases"))
    else:
        departments = list(dict.fromkeys([*kpi.DEPARTMENTS,
                                           *portfolio["department"].map(kpi.department_id)]))
        rule = kpi_forms.attribution_inputs(ws, cur, departments)
        if rule is not None:
            shared = kpi.attribute(portfolio, rule, costs, ramp_months=ramp)
            st.plotly_chart(kpi_charts.attribution_figure(shared), width="stretch")
            kpi_forms.table(shared.assign(department=shared["department"].map(
                kpi_charts.department_label)), money=("benefit", "cost", "net"),
                shares=("roi",), width="stretch")
