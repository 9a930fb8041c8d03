"""Inputs and tables of the KPI & ROI page: use cases, KPI values entered by hand, platform
costs and the attribution rule."""
from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import streamlit as st

from cdp_core import i18n, kpi, report, use_cases
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace
from ui import widgets
from ui.kpi_charts import department_label, fmt_kpi
from ui.state import REVIEWER, ROI_RAMP, language, tr


def tracked_use_cases(cur: duckdb.DuckDBPyConnection) -> list[use_cases.TrackedUseCase]:
    """The workspace's use cases; the library's, not yet started, before any is installed."""
    return report.tracked_use_cases(cur)


def _key(ws: Workspace) -> tuple[str, tuple[int, object]]:
    """A cache key that changes with every write to the workspace (each write is audited)."""
    return str(ws.path), report.data_version(ws.cursor())


@st.cache_data(show_spinner=False, max_entries=4)
def _campaigns(_cur: duckdb.DuckDBPyConnection, key: tuple) -> pd.DataFrame:
    return kpi.campaigns(_cur)


@st.cache_data(show_spinner=False, max_entries=32)
def _lift(_cur: duckdb.DuckDBPyConnection, key: tuple, campaign: str | None) -> kpi.Lift:
    return kpi.campaign_lift(_cur, campaign)


@st.cache_data(show_spinner=False, max_entries=8)
def _benefits(_cur: duckdb.DuckDBPyConnection, key: tuple, frame: pd.DataFrame) -> pd.DataFrame:
    return kpi.use_case_benefits(_cur, frame)


def campaigns(ws: Workspace) -> pd.DataFrame:
    """The campaigns with sends, read once per state of the workspace (a second at 1M)."""
    return _campaigns(ws.cursor(), _key(ws))


def campaign_lift(ws: Workspace, campaign: str | None) -> kpi.Lift:
    """A campaign's lift (all pooled for None), computed once per state of the workspace."""
    return _lift(ws.cursor(), _key(ws), campaign)


def use_case_benefits(ws: Workspace, frame: pd.DataFrame) -> pd.DataFrame:
    """Measured or estimated benefits (seconds at 1M: one lift per campaign), cached."""
    return _benefits(ws.cursor(), _key(ws), frame)


def default_portfolio(tracked: list[use_cases.TrackedUseCase]) -> list[str]:
    """Every use case but the paused ones: the business case of the whole roadmap."""
    return [t.use_case.id for t in tracked if t.status != "paused"]


def table(frame: pd.DataFrame, money: tuple[str, ...] = (), shares: tuple[str, ...] = (),
          counts: tuple[str, ...] = (), cents: tuple[str, ...] = (), **kwargs: object) -> None:
    """A read-only table with values formatted for the language (``money`` in whole euros,
    ``cents`` with cents) and ``kpi.col.`` headers."""
    lang = language()
    shown = frame.copy()
    for columns, fmt in ((money, lambda v: i18n.fmt_money(v, lang, 0)),
                         (cents, lambda v: i18n.fmt_money(v, lang)),
                         (shares, lambda v: i18n.fmt_pct(v, lang)),
                         (counts, lambda v: i18n.fmt_number(v, lang))):
        for column in columns:
            shown[column] = frame[column].map(fmt)
    numeric = {*money, *cents, *shares, *counts}
    config = {c: st.column_config.TextColumn(tr(f"kpi.col.{c}"),
                                             alignment="right" if c in numeric else None)
              for c in frame.columns}
    st.dataframe(shown, hide_index=True, column_config=config, **kwargs)


def history_table(history: pd.DataFrame, unit: str) -> None:
    """The values recorded for a KPI, latest first."""
    shown = history.sort_values(["measured_at", "snapshot_id"], ascending=False)
    shown = shown.assign(
        measured_at=shown["measured_at"].map(lambda d: i18n.fmt_date(d, language())),
        value=shown["value"].map(lambda v: fmt_kpi(v, unit)),
        target=shown["target"].map(lambda v: fmt_kpi(v, unit) if pd.notna(v) else "—"),
        origin=shown["origin"].map(lambda o: tr(f"kpi.trend.series.{o}")),
        note=shown["note"].fillna("—"), entered_by=shown["entered_by"].fillna("—"))
    table(shown[["measured_at", "value", "target", "origin", "note", "entered_by"]],
          width="stretch", height=min(320, 35 * (len(shown) + 1) + 3))


def snapshot_form(ws: Workspace, use_case_id: str, measure: use_cases.Kpi,
                  day: dt.date) -> None:
    """Enter a KPI value by hand (a survey score, a figure from another tool)."""
    percent = 100 if measure.unit == "share" else 1  # rates are typed in percent
    suffix = " (%)" if percent == 100 else ""
    with st.form("kpi_snapshot", clear_on_submit=True):
        st.markdown(f"**{tr('kpi.form.title')}**")
        left, middle, right = st.columns(3)
        measured_at = left.date_input(tr("kpi.form.date"), value=day)
        value = middle.number_input(tr("kpi.form.value") + suffix, value=None, format="%.4g")
        target = right.number_input(tr("kpi.form.target") + suffix, format="%.4g",
                                    value=float(measure.target) * percent)
        note = left.text_input(tr("kpi.form.note"))
        by = middle.text_input(tr("kpi.form.by"), value=st.session_state.get(REVIEWER, ""))
        if st.form_submit_button(tr("kpi.form.submit"), type="primary"):
            if value is None:
                st.error(tr("kpi.form.no_value"))
                return
            try:
                kpi.record_snapshot(ws, use_case_id, measure.id, value / percent, measured_at,
                                    target / percent, "manual", note or None, by or None)
            except InputError as exc:
                st.error(str(exc))
                return
            st.toast(tr("kpi.form.recorded"), icon=":material/check:")
            st.rerun()


def cost_inputs(ws: Workspace, cur: duckdb.DuckDBPyConnection) -> tuple[kpi.Costs, float, int]:
    """The platform's costs, the discount rate and the ramp-up, saved on request."""
    saved, saved_rate = kpi.load_costs(cur), kpi.load_discount_rate(cur)
    first, second, third, fourth = st.columns(4)
    implementation = first.number_input(tr("kpi.roi.implementation"), min_value=0.0,
                                        value=saved.implementation, step=10_000.0, format="%.0f")
    run = second.number_input(tr("kpi.roi.run"), min_value=0.0, value=saved.yearly_run,
                              step=10_000.0, format="%.0f")
    rate = third.number_input(tr("kpi.roi.rate"), min_value=0.0, max_value=99.0,
                              value=100 * saved_rate, step=0.5, format="%.1f") / 100
    ramp = fourth.number_input(tr("kpi.roi.ramp"), min_value=0, max_value=24, value=3,
                               key=ROI_RAMP, help=tr("kpi.roi.ramp_help"))
    costs = kpi.Costs(implementation, run)
    if (costs, rate) != (saved, saved_rate) and st.button(tr("kpi.roi.save"),
                                                          icon=":material/save:"):
        kpi.save_costs(ws, costs)
        kpi.save_discount_rate(ws, rate)
        st.toast(tr("kpi.roi.saved"), icon=":material/check:")
    return costs, rate, int(ramp)


def lift_summary(result: kpi.Lift) -> None:
    """The figures of a lift as tiles, the interval and p-value in words, and the verdict."""
    lang = language()
    relative = result.relative_lift
    widgets.metric_tiles([
        (tr("kpi.lift.rate_treated"), i18n.fmt_pct(result.rate_treated, lang)),
        (tr("kpi.lift.rate_control"), i18n.fmt_pct(result.rate_control, lang)),
        (tr("kpi.lift.relative"), "—" if relative is None else
         ("+" if relative > 0 else "") + i18n.fmt_pct(relative, lang, 0)),
        (tr("kpi.lift.incremental"), i18n.fmt_money(result.incremental_revenue, lang, 0))])
    points = [i18n.fmt_number(100 * v, lang, 1) for v in (result.absolute_lift,
                                                          *result.absolute_ci)]
    shares = [i18n.fmt_pct(v, lang, 0) for v in result.relative_ci or ()]
    p_value = ("< " + i18n.fmt_number(0.0001, lang, 4) if result.p_value < 0.0001
               else i18n.fmt_number(result.p_value, lang, 4))
    verdict = "significant" if result.p_value < 0.05 else "not_significant"
    st.caption(" ".join([
        tr("kpi.lift.detail", points=points[0], low=points[1], high=points[2]),
        tr("kpi.lift.relative_detail", low=shares[0], high=shares[1]) if shares else "",
        tr("kpi.lift.p_value", p=p_value, verdict=tr(f"kpi.lift.{verdict}"))]))
    if result.conclusive:
        st.success(tr("kpi.lift.conclusive",
                      conversions=i18n.fmt_number(result.incremental_conversions, lang),
                      revenue=i18n.fmt_money(result.incremental_revenue, lang, 0),
                      people=i18n.fmt_number(result.n_treated, lang)), icon=":material/verified:")
    else:
        reasons = "; ".join(tr(f"kpi.warning.{w}", n=kpi.MIN_CONTROL if w == "small_control"
                               else kpi.MIN_CONVERSIONS) for w in result.warnings)
        st.warning(tr("kpi.lift.inconclusive", reasons=reasons), icon=":material/warning:")


def portfolio_table(portfolio: pd.DataFrame) -> None:
    """The use cases of the business case, measured ones first: benefit used (measured or
    estimated) and costs."""
    shown = portfolio.assign(
        name=portfolio["name_fr"] if language() == "fr" else portfolio["name"],
        department=portfolio["department"].map(lambda d: department_label(kpi.department_id(d))),
        origin=portfolio.apply(lambda row: report.origin_text(row, language()), axis=1))
    shown = shown.sort_values(["benefit_origin", "benefit_per_year"], ascending=[False, False])
    table(shown[["name", "department", "benefit_per_year", "origin", "estimated_benefit",
                 "one_off_cost", "yearly_cost"]],
          money=("benefit_per_year", "estimated_benefit", "one_off_cost", "yearly_cost"),
          width="stretch", height=35 * (len(shown) + 1) + 3)


def attribution_inputs(ws: Workspace, cur: duckdb.DuckDBPyConnection,
                       departments: list[str]) -> kpi.AttributionRule | None:
    """The rule sharing the platform's costs; None (with the error shown) while custom shares
    do not add up to 100 %."""
    saved = kpi.load_attribution(cur)
    split = st.radio(tr("kpi.attr.split"), kpi.SPLITS, index=kpi.SPLITS.index(
        saved.platform_split), horizontal=True, format_func=lambda s: tr(f"kpi.attr.{s}"))
    shares = {}
    if split == "custom":
        columns = st.columns(len(departments))
        default = round(100 / len(departments), 2)
        shares = {d: column.number_input(tr("kpi.attr.share", department=department_label(d)),
                                         min_value=0.0, max_value=100.0, step=5.0,
                                         value=float(saved.platform_shares.get(d, default)))
                  for column, d in zip(columns, departments, strict=True)}
    try:
        rule = kpi.AttributionRule(split, shares, saved.use_case_shares).validated()
    except InputError as exc:
        st.error(str(exc))
        return None
    if rule != saved and st.button(tr("kpi.attr.save"), icon=":material/save:"):
        kpi.save_attribution(ws, rule)
        st.toast(tr("kpi.attr.saved"), icon=":material/check:")
    return rule
