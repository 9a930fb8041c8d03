"""The workshop pack: what stakeholders read in a steering workshop, gathered once and written
to a spreadsheet formatted for people.

`gather` reads everything a workshop shows (use cases with their status and data readiness,
the ranking in waves, the benefits ROI uses, the platform's costs, discount rate and attribution
rule); `Workshop.select` narrows it to some departments or waves, and `Workshop.business_case`
and `Workshop.departments` give the ROI and its split of the selection, so the Workshop page and
the pack show the same figures. `write_workshop_pack` writes them to an Excel workbook (one
sheet per part, numbers kept as numbers with euro, percent and date formats, text made inert
for spreadsheets), atomically. A workspace whose use cases are not installed yet shows the
library's, as ideas; one without events per person says why it has no lift instead of failing.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from cdp_core import exports, i18n, kpi, use_cases
from cdp_core.errors import InputError
from cdp_core.use_cases import TrackedUseCase
from cdp_core.workspace import Workspace

# Benefits grow to their yearly level over the first months after launch (the KPI & ROI page's
# default), so the business case does not count a full benefit from day one.
RAMP_MONTHS = 3
TREND_MONTHS = 12
SHEETS = ("summary", "use_cases", "priorities", "roadmap", "kpis", "lift", "roi", "departments")

# --------------------------------------------------------------------------- the figures


def tracked_use_cases(cur: duckdb.DuckDBPyConnection) -> list[TrackedUseCase]:
    """The workspace's use cases; the library's, as ideas, before any is installed (read only:
    nothing is written)."""
    return use_cases.workspace_use_cases(cur) or [
        TrackedUseCase(u, "idea", None, None, None) for u in use_cases.load_library()]


@dataclass(frozen=True)
class Workshop:
    """Everything a workshop shows, read once.

    ``overview`` has one row per use case (`use_cases.library_overview`); ``roadmap`` the
    ranking in waves and ``portfolio`` the benefits ROI uses (`kpi.use_case_benefits`), both
    of the use cases not paused.
    """

    tracked: tuple[TrackedUseCase, ...]
    overview: pd.DataFrame
    roadmap: pd.DataFrame
    portfolio: pd.DataFrame
    costs: kpi.Costs
    rate: float
    rule: kpi.AttributionRule
    reference_day: dt.date

    def select(self, departments: Sequence[str] = (), waves: Sequence[int] = ()) -> Workshop:
        """The use cases owned by ``departments`` (names as in the YAML files, e.g.
        'Marketing') and planned in ``waves``; an empty choice keeps all."""
        keep = set(self.overview["use_case_id"])
        if departments:
            keep &= set(self.overview.loc[self.overview["owner"].isin(departments),
                                          "use_case_id"])
        if waves:
            keep &= set(self.roadmap.loc[self.roadmap["wave"].isin(waves), "use_case_id"])
        return replace(
            self, tracked=tuple(t for t in self.tracked if t.use_case.id in keep),
            overview=self.overview[self.overview["use_case_id"].isin(keep)],
            roadmap=self.roadmap[self.roadmap["use_case_id"].isin(keep)],
            portfolio=self.portfolio[self.portfolio["use_case_id"].isin(keep)])

    def business_case(self, ramp_months: int = RAMP_MONTHS) -> kpi.RoiResult:
        """ROI, NPV and payback of the use cases kept, carrying the platform's full costs."""
        return kpi.evaluate(float(self.portfolio["benefit_per_year"].sum()),
                            self.costs.with_use_cases(self.portfolio), rate=self.rate,
                            ramp_months=ramp_months)

    def departments(self, ramp_months: int = RAMP_MONTHS) -> pd.DataFrame:
        """Benefit, cost, net and ROI per department over the horizon, by the team's rule."""
        return kpi.attribute(self.portfolio, self.rule, self.costs, ramp_months=ramp_months)


def gather(cur: duckdb.DuckDBPyConnection, start: dt.date | None = None) -> Workshop:
    """Read the workshop's figures. Benefits measured on a control group replace the team's
    estimates in ROI; only conclusive ones move the ranking (as on the Roadmap page's
    "measured" view). ``start`` is the roadmap's first month (default: next month)."""
    tracked = tracked_use_cases(cur)
    running = [t.use_case for t in tracked if t.status != "paused"]
    portfolio = kpi.use_case_benefits(cur, kpi.portfolio(running))
    sure = portfolio[(portfolio["benefit_origin"] == "measured")
                     & portfolio["conclusive"].eq(True)]
    measured = dict(zip(sure["use_case_id"], sure["benefit_per_year"], strict=True))
    roadmap = use_cases.waves(use_cases.prioritise(cur, running, use_cases.load_weights(cur),
                                                   measured), start)
    if roadmap.empty:  # every use case paused: the dates stay dates for the roadmap table
        roadmap = roadmap.astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})
    return Workshop(tuple(tracked), use_cases.library_overview(cur, tracked), roadmap,
                    portfolio, kpi.load_costs(cur), kpi.load_discount_rate(cur),
                    kpi.load_attribution(cur), kpi.reference_day(cur))


def lift_table(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per campaign sent with a control group: group sizes, conversions and rates,
    absolute and relative lift with their 95 % intervals, p-value, incremental revenue, and
    whether it is conclusive (``warnings`` holds the codes of `kpi.Lift` when not).

    Raises:
        InputError: no events per person yet (traits not refreshed).
    """
    listed = kpi.campaigns(cur)
    totals = kpi.send_totals(cur)
    rows = []
    for campaign, sent_on in zip(listed.loc[listed["has_control"], "campaign"],
                                 listed.loc[listed["has_control"], "sent_on"], strict=True):
        result = totals.lift(campaign)
        relative_low, relative_high = result.relative_ci or (None, None)
        rows.append({
            "campaign": campaign, "sent_on": sent_on, "people_treated": result.n_treated,
            "people_control": result.n_control,
            "conversions_treated": result.conversions_treated,
            "conversions_control": result.conversions_control,
            "rate_treated": result.rate_treated, "rate_control": result.rate_control,
            "absolute_lift": result.absolute_lift, "absolute_low": result.absolute_ci[0],
            "absolute_high": result.absolute_ci[1], "relative_lift": result.relative_lift,
            "relative_low": relative_low, "relative_high": relative_high,
            "p_value": result.p_value, "incremental_revenue": result.incremental_revenue,
            "conclusive": result.conclusive, "warnings": result.warnings})
    return pd.DataFrame(rows, columns=LIFT_COLUMNS)


LIFT_COLUMNS = ("campaign", "sent_on", "people_treated", "people_control",
                "conversions_treated", "conversions_control", "rate_treated", "rate_control",
                "absolute_lift", "absolute_low", "absolute_high", "relative_lift",
                "relative_low", "relative_high", "p_value", "incremental_revenue",
                "conclusive", "warnings")


def warnings_text(warnings: Sequence[str], language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """Why a lift is not conclusive, in words."""
    return "; ".join(i18n.t(f"kpi.warning.{w}", language, n=kpi.MIN_CONTROL
                            if w == "small_control" else kpi.MIN_CONVERSIONS) for w in warnings)


def kpi_table(cur: duckdb.DuckDBPyConnection,
              tracked: Sequence[TrackedUseCase]) -> pd.DataFrame:
    """One row per use case and KPI: its target, the latest value recorded (day and origin)
    and the value computed from the workspace today (None for KPIs entered by hand)."""
    recorded = kpi.history(cur)
    latest = {(row.use_case_id, row.kpi): row for row in recorded.itertuples(index=False)}
    computed = {name: kpi.compute_kpi(cur, name).value
                for name in {m.computed for t in tracked for m in t.use_case.kpis if m.computed}}
    rows = []
    for entry in tracked:
        for measure in entry.use_case.kpis:
            last = latest.get((entry.use_case.id, measure.id))
            rows.append({
                "use_case_id": entry.use_case.id, "kpi": measure.id, "measure": measure,
                "unit": measure.unit, "direction": measure.direction,
                "target": float(measure.target),
                "latest_value": None if last is None else float(last.value),
                "measured_at": None if last is None else last.measured_at,
                "origin": None if last is None else last.origin,
                "computed_value": computed.get(measure.computed)})
    return pd.DataFrame(rows, columns=["use_case_id", "kpi", "measure", "unit", "direction",
                                       "target", "latest_value", "measured_at", "origin",
                                       "computed_value"])


@dataclass(frozen=True)
class Trend:
    """A KPI of a use case over time: snapshots recorded, or computed from the dated events
    when none was recorded (shown, never stored)."""

    use_case: use_cases.UseCase
    measure: use_cases.Kpi
    activated_at: dt.date | None
    history: pd.DataFrame  # measured_at, value, origin


def rebuilt_series(cur: duckdb.DuckDBPyConnection, computed: Iterable[str],
                   months: int = TREND_MONTHS) -> dict[str, pd.DataFrame]:
    """Each workspace KPI of ``computed`` that the dated events can rebuild, as of the end of
    each of the last ``months`` months and the reference day (shown, never stored)."""
    days = kpi._month_ends(kpi.reference_day(cur), months)
    found = {}
    for name in sorted(set(computed)):
        if name in kpi.KPIS and kpi.KPIS[name].historical:
            values = [found.value for found in kpi.compute_kpi_series(cur, name, days)]
            found[name] = pd.DataFrame({"measured_at": pd.to_datetime(days), "value": values,
                                        "origin": "computed"}).dropna(subset=["value"])
    return found


def computed_kpis(tracked: Iterable[TrackedUseCase]) -> set[str]:
    """The workspace KPIs the use cases' KPIs are computed by."""
    return {m.computed for t in tracked for m in t.use_case.kpis if m.computed}


def kpi_trends(tracked: Sequence[TrackedUseCase], recorded: pd.DataFrame,
               rebuilt: Mapping[str, pd.DataFrame]) -> list[Trend]:
    """The trends a workshop looks at: every KPI with snapshots ``recorded`` (`kpi.history`),
    then each KPI ``rebuilt`` from the events (`rebuilt_series`), once, under the first use
    case in ``tracked``'s order that measures it."""
    trends, shown = [], set()
    for entry in tracked:
        for measure in entry.use_case.kpis:
            mine = recorded[(recorded["use_case_id"] == entry.use_case.id)
                            & (recorded["kpi"] == measure.id)]
            if mine.empty and measure.computed in rebuilt and measure.computed not in shown:
                mine = rebuilt[measure.computed]
            shown.add(measure.computed)
            if not mine.empty:
                trends.append(Trend(entry.use_case, measure, entry.activated_at,
                                    mine[["measured_at", "value", "origin"]]))
    return trends


def data_version(cur: duckdb.DuckDBPyConnection) -> tuple[int, object]:
    """How many writes the workspace has seen and the last one's time: every write is audited,
    so this changes whenever a figure of the workshop may have (a page caches on it)."""
    return tuple(cur.execute("SELECT count(*), max(logged_at) FROM meta.audit_log").fetchone())


# --------------------------------------------------------------------------- the workbook

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", start_color="1F4E78", end_color="1F4E78")
_TITLE_FONT = Font(bold=True, size=14, color="1F4E78")
_PERCENT, _POINTS, _SCORE, _COUNT, _P_VALUE = "0.0%", "0.00%", "0.00", "#,##0", "0.0000"
_WRAPPED = 60  # characters beyond which a text column wraps instead of widening


def _money(language: str) -> str:
    return '#,##0 "€"' if language == "fr" else '"€"#,##0'


def _date(language: str) -> str:
    return "dd/mm/yyyy" if language == "fr" else "yyyy-mm-dd"


def _unit_format(unit: str, language: str) -> str:
    """The number format a KPI's unit reads in."""
    return {"share": _PERCENT, "euros": _money(language), "seconds": '#,##0 "s"',
            "count": _COUNT}.get(unit, _SCORE)


def _cell_value(value: object) -> object:
    """A cell's value: text made inert, missing values empty, numbers and dates kept."""
    if value is None or (not isinstance(value, str | bytes | tuple | list)
                         and bool(pd.isna(value))):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().date() if value == value.normalize() else \
            value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        return value.item()
    return exports.neutralise(value)


def _shown_width(value: object, number_format: str) -> int:
    """About how many characters a value takes once formatted, so Excel never shows ####."""
    if value is None:
        return 0
    if isinstance(value, bool | str):
        return len(str(value))
    if isinstance(value, dt.date):
        return 10
    if "%" in number_format:
        return len(f"{abs(value) * 100:,.2f}%") + 1
    if "€" in number_format:
        return len(f"{abs(value):,.0f}") + 3
    return len(f"{abs(value):,.4f}")


def _write_table(sheet: Worksheet, frame: pd.DataFrame,
                 formats: Mapping[str, str | Sequence[str]] | None = None, top: int = 1,
                 ) -> int:
    """Write ``frame`` (headers already in words) from row ``top``: bold filled headers,
    number formats by column (a list gives one per row), widths fitted. Returns the next
    free row."""
    formats = formats or {}
    widths = [min(len(str(header)), 24) for header in frame.columns]
    for index, header in enumerate(frame.columns, start=1):
        cell = sheet.cell(row=top, column=index, value=_cell_value(str(header)))
        cell.font, cell.fill = _HEADER_FONT, _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for offset, row in enumerate(frame.itertuples(index=False), start=1):
        for index, (header, value) in enumerate(zip(frame.columns, row, strict=True), start=1):
            cell = sheet.cell(row=top + offset, column=index, value=_cell_value(value))
            chosen = formats.get(header)
            if chosen is not None and cell.value is not None:
                cell.number_format = chosen if isinstance(chosen, str) else chosen[offset - 1]
            if isinstance(cell.value, str) and len(cell.value) > _WRAPPED:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widths[index - 1] = max(widths[index - 1], min(
                _shown_width(cell.value, cell.number_format), _WRAPPED))
    for index, width in enumerate(widths, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = max(width + 2, 10, dimension.width if top > 1 else 0)
    return top + len(frame) + 1


def _headers(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The frame with its column names in words (``report.col.<name>``)."""
    return frame.set_axis([i18n.t(f"report.col.{c}", language, years=kpi.YEARS)
                           for c in frame.columns], axis=1)


def _formats(language: str, **columns: str | Sequence[str]) -> dict[str, str | Sequence[str]]:
    return {i18n.t(f"report.col.{c}", language, years=kpi.YEARS): f
            for c, f in columns.items()}


def _sheet(book: Workbook, name: str, language: str) -> Worksheet:
    sheet = book.create_sheet(i18n.t(f"report.sheet.{name}", language)[:31])
    sheet.freeze_panes = "A2"
    return sheet


def _name_column(frame: pd.DataFrame, language: str) -> pd.Series:
    return frame["name_fr" if language == "fr" else "name"]


def _summary(book: Workbook, workshop: Workshop, outcome: kpi.RoiResult,
             pooled: kpi.Lift | str, source: str | None, language: str) -> None:
    """The headline figures, each with its format, and how they were computed."""
    def text(key: str, **values: object) -> str:
        return i18n.t(f"report.summary.{key}", language, years=kpi.YEARS, **values)

    money, portfolio = _money(language), workshop.portfolio
    measured = portfolio.loc[portfolio["benefit_origin"] == "measured", "benefit_per_year"]
    rows: list[tuple[str, object, str | None]] = [
        (text("workspace"), source, None),
        (text("as_of"), workshop.reference_day, _date(language)),
        (text("written"), dt.date.today(), _date(language)),
        (text("use_cases"), len(workshop.overview), _COUNT),
        (text("active"), int((workshop.overview["status"] == "active").sum()), _COUNT),
        (text("quick_wins"), int((workshop.roadmap["wave"] == 1).sum()), _COUNT),
        (text("benefit"), float(portfolio["benefit_per_year"].sum()), money),
        (text("measured_benefit"), float(measured.sum()), money),
        (text("total_cost"), outcome.total_cost, money),
        (text("roi"), outcome.roi, _PERCENT),
        (text("payback"), outcome.payback_month if outcome.payback_month is not None
         else i18n.t("kpi.roi.never", language), _COUNT),
        (text("npv", rate=i18n.fmt_pct(workshop.rate, language)), outcome.npv, money)]
    if isinstance(pooled, kpi.Lift):
        rows += [(text("lift_relative"), pooled.relative_lift, _PERCENT),
                 (text("lift_points"), pooled.absolute_lift, _POINTS),
                 (text("lift_revenue"), pooled.incremental_revenue, money),
                 (text("lift_verdict"), text("conclusive") if pooled.conclusive else
                  text("not_conclusive", reasons=warnings_text(pooled.warnings, language)),
                  None)]
    else:
        rows.append((text("lift_relative"), i18n.t(pooled, language), None))
    rows.append((text("assumptions"), text("assumptions_text", months=RAMP_MONTHS), None))
    frame = pd.DataFrame([(label, value) for label, value, _ in rows],
                         columns=[text("figure"), text("value")])
    sheet = _sheet(book, "summary", language)
    _write_table(sheet, frame, {frame.columns[1]: [
        "General" if f is None or isinstance(v, str) else f for _, v, f in rows]})
    sheet.column_dimensions["A"].width = max(len(str(label)) for label, _, _ in rows) + 2
    sheet.column_dimensions["B"].width = _WRAPPED
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=2):
        row[0].alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)


def _use_cases_sheet(book: Workbook, workshop: Workshop, language: str) -> None:
    def words(prefix: str, values: Sequence[str]) -> str:
        return ", ".join(i18n.t(f"usecase.{prefix}.{v}", language) for v in values)

    tracked = {t.use_case.id: t for t in workshop.tracked}
    frame = workshop.overview.assign(
        use_case=_name_column(workshop.overview, language),
        family=workshop.overview["family"].map(lambda f: words("family", [f])),
        owner=workshop.overview["owner"].map(lambda d: use_cases.department_label(d, language)),
        departments=[", ".join(use_cases.department_label(d, language)
                               for d in tracked[u].use_case.departments)
                     for u in workshop.overview["use_case_id"]],
        channels=[words("channel", tracked[u].use_case.channels)
                  for u in workshop.overview["use_case_id"]],
        segments=[", ".join(s.name for s in tracked[u].use_case.segments)
                  for u in workshop.overview["use_case_id"]],
        status=workshop.overview["status"].map(lambda s: words("status", [s])),
        goal=[tracked[u].use_case.goal_in(language) for u in workshop.overview["use_case_id"]])
    frame = frame.rename(columns={"benefit": "estimated_benefit", "roi": "expected_roi"})
    columns = ["use_case", "family", "owner", "departments", "channels", "segments",
               "readiness", "status", "activated_at", "estimated_benefit", "one_off_cost",
               "yearly_cost", "expected_roi", "goal"]
    money = _money(language)
    _write_table(_sheet(book, "use_cases", language), _headers(frame[columns], language),
                 _formats(language, readiness=_PERCENT, activated_at=_date(language),
                          estimated_benefit=money, one_off_cost=money, yearly_cost=money,
                          expected_roi=_PERCENT))


def _priorities_sheet(book: Workbook, workshop: Workshop, language: str) -> None:
    ranked = workshop.roadmap.sort_values("rank")
    frame = ranked.assign(
        use_case=_name_column(ranked, language),
        owner=ranked["owner"].map(lambda d: use_cases.department_label(d, language)),
        benefit_origin=ranked["benefit_origin"].map(
            lambda o: i18n.t(f"report.origin.{o}", language)),
        wave=ranked["wave"].map(lambda w: i18n.t(f"roadmap.wave.{w}", language)))
    columns = ["rank", "use_case", "owner", "value", "complexity", "score", "readiness",
               "benefit_per_year", "benefit_origin", "expected_roi", "exploitation_level",
               "channel_count", "wave"]
    frame = frame.rename(columns={"channels": "channel_count", "benefit": "benefit_per_year",
                                  "roi": "expected_roi"})[columns]
    _write_table(_sheet(book, "priorities", language), _headers(frame, language),
                 _formats(language, rank=_COUNT, value=_SCORE, complexity=_SCORE,
                          score=_SCORE, readiness=_PERCENT, benefit_per_year=_money(language),
                          expected_roi=_PERCENT, exploitation_level=_COUNT,
                          channel_count=_COUNT))


def _roadmap_sheet(book: Workbook, workshop: Workshop, language: str) -> None:
    table = use_cases.roadmap_table(workshop.roadmap, language)
    wave = i18n.t("roadmap.col.wave", language)
    table[wave] = table[wave].map(lambda w: i18n.t(f"roadmap.wave.{w}", language))
    money = _money(language)
    formats = {i18n.t(f"roadmap.col.{c}", language): f for c, f in (
        ("start", _date(language)), ("end", _date(language)), ("benefit", money),
        ("one_off_cost", money), ("yearly_cost", money), ("roi", _PERCENT),
        ("readiness", _PERCENT), ("value", _SCORE), ("complexity", _SCORE),
        ("score", _SCORE))}
    _write_table(_sheet(book, "roadmap", language), table, formats)


def _kpis_sheet(book: Workbook, cur: duckdb.DuckDBPyConnection, workshop: Workshop,
                language: str) -> None:
    table = kpi_table(cur, workshop.tracked)
    names = {t.use_case.id: t.use_case.name_in(language) for t in workshop.tracked}
    frame = table.assign(
        use_case=table["use_case_id"].map(names),
        kpi=table["measure"].map(lambda m: m.label_in(language)),
        formula=table["measure"].map(lambda m: m.formula),
        direction=table["direction"].map(lambda d: i18n.t(f"report.direction.{d}", language)),
        origin=table["origin"].map(lambda o: i18n.t(f"kpi.trend.series.{o}", language)
                                   if isinstance(o, str) else None),
        computed_value=table["computed_value"])
    columns = ["use_case", "kpi", "target", "direction", "latest_value", "measured_at",
               "origin", "computed_value", "formula"]
    units = [_unit_format(u, language) for u in table["unit"]]
    _write_table(_sheet(book, "kpis", language), _headers(frame[columns], language),
                 _formats(language, target=units, latest_value=units, computed_value=units,
                          measured_at=_date(language)))


def _lift_sheet(book: Workbook, lifts: pd.DataFrame | str, language: str) -> None:
    sheet = _sheet(book, "lift", language)
    if isinstance(lifts, str):
        _write_table(sheet, pd.DataFrame({i18n.t("report.col.note", language): [lifts]}))
        sheet.column_dimensions["A"].width = _WRAPPED + 40
        return
    frame = lifts.assign(
        conclusive=lifts["conclusive"].map(
            lambda c: i18n.t(f"report.answer.{'yes' if c else 'no'}", language)),
        warnings=lifts["warnings"].map(lambda w: warnings_text(w, language)))
    _write_table(sheet, _headers(frame, language), _formats(
        language, sent_on=_date(language), people_treated=_COUNT, people_control=_COUNT,
        conversions_treated=_COUNT, conversions_control=_COUNT, rate_treated=_PERCENT,
        rate_control=_PERCENT, absolute_lift=_POINTS, absolute_low=_POINTS,
        absolute_high=_POINTS, relative_lift=_PERCENT, relative_low=_PERCENT,
        relative_high=_PERCENT, p_value=_P_VALUE, incremental_revenue=_money(language)))


def origin_text(row: Mapping[str, object], language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """Where a use case's benefit comes from: measured on its campaign (conclusive or not
    yet) or estimated by the team."""
    if row["benefit_origin"] != "measured":
        return i18n.t("kpi.roi.estimated", language)
    key = "kpi.roi.measured" if row["conclusive"] else "kpi.roi.measured_uncertain"
    return i18n.t(key, language, campaign=row["campaign"])


def _roi_sheet(book: Workbook, workshop: Workshop, outcome: kpi.RoiResult,
               language: str) -> None:
    """ROI per use case, then the monthly cash of the whole business case and its curve."""
    money, portfolio = _money(language), workshop.portfolio
    per_use_case = portfolio.assign(
        use_case=_name_column(portfolio, language),
        department=portfolio["department"].map(lambda d: use_cases.department_label(d,
                                                                                   language)),
        origin=[origin_text(row, language) for row in portfolio.to_dict("records")],
        expected_roi=[use_cases.roi(b, o, y) for b, o, y in zip(
            portfolio["benefit_per_year"], portfolio["one_off_cost"], portfolio["yearly_cost"],
            strict=True)])
    columns = ["use_case", "department", "benefit_per_year", "origin", "estimated_benefit",
               "one_off_cost", "yearly_cost", "expected_roi"]
    sheet = _sheet(book, "roi", language)
    after = _write_table(sheet, _headers(per_use_case[columns], language), _formats(
        language, benefit_per_year=money, estimated_benefit=money, one_off_cost=money,
        yearly_cost=money, expected_roi=_PERCENT))
    title_row = after + 1
    sheet.cell(row=title_row, column=1, value=i18n.t("report.cash_title", language,
                                                     years=kpi.YEARS)).font = _TITLE_FONT
    flows = outcome.flows[["month", "benefit", "cost", "net", "cumulative"]].set_axis(
        ["month", "benefit_month", "cost_month", "net_month", "cumulative"], axis=1)
    top = title_row + 1
    end = _write_table(sheet, _headers(flows, language), _formats(
        language, month=_COUNT, benefit_month=money, cost_month=money, net_month=money,
        cumulative=money), top=top)
    chart = LineChart()
    chart.title = i18n.t("report.cash_chart", language)
    chart.y_axis.title = i18n.t("kpi.roi.cash", language)
    chart.x_axis.title = i18n.t("kpi.roi.month", language)
    chart.y_axis.number_format = money
    chart.add_data(Reference(sheet, min_col=5, min_row=top, max_row=end - 1),
                   titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=top + 1, max_row=end - 1))
    chart.legend = None
    chart.height, chart.width = 9, 18
    sheet.add_chart(chart, f"G{top}")


def _departments_sheet(book: Workbook, workshop: Workshop, language: str) -> None:
    shared = workshop.departments() if not workshop.portfolio.empty else pd.DataFrame(
        columns=["department", "benefit", "cost", "net", "roi"])
    frame = shared.assign(department=shared["department"].map(
        lambda d: i18n.t(f"kpi.dept.{d}", language)
        if d in (*kpi.DEPARTMENTS, "data_it") else str(d).title()))
    frame.columns = ["department", "benefit_horizon", "cost_horizon", "net_horizon",
                     "roi_horizon"]
    money = _money(language)
    _write_table(_sheet(book, "departments", language), _headers(frame, language),
                 _formats(language, benefit_horizon=money, cost_horizon=money,
                          net_horizon=money, roi_horizon=_PERCENT))


def pooled_lift(cur: duckdb.DuckDBPyConnection) -> kpi.Lift | str:
    """Every campaign's lift pooled, or the translation key of why there is none."""
    try:
        kpi.campaigns(cur)
    except InputError:
        return "report.lift.no_events"
    try:
        return kpi.campaign_lift(cur)
    except InputError:
        return "report.lift.no_control"


def write_workshop_pack(ws_or_cur: Workspace | duckdb.DuckDBPyConnection, path: str | Path,
                        language: str = i18n.DEFAULT_LANGUAGE) -> Path:
    """Write the workshop pack to ``path`` (.xlsx), atomically; the workspace is only read.

    Sheets: summary, use cases, priorities, roadmap, KPIs, lift per campaign, ROI (per use case
    and the cumulative cash with its chart) and departments, titled in ``language``.

    Raises:
        InputError: ``path`` does not end in .xlsx, or the language is unknown.
    """
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise InputError(f"{target.name}: the workshop pack is an Excel workbook; choose an "
                         "output ending in .xlsx")
    if language not in i18n.LANGUAGES:
        raise InputError(f"language {language!r}: choose one of {', '.join(i18n.LANGUAGES)}")
    is_workspace = isinstance(ws_or_cur, Workspace)
    cur = ws_or_cur.cursor() if is_workspace else ws_or_cur
    workshop = gather(cur)
    outcome = workshop.business_case()
    pooled = pooled_lift(cur)
    lifts = lift_table(cur) if isinstance(pooled, kpi.Lift) else i18n.t(pooled, language)
    book = Workbook()
    book.remove(book.active)
    _summary(book, workshop, outcome, pooled,
             Path(ws_or_cur.path).name if is_workspace else None, language)
    _use_cases_sheet(book, workshop, language)
    _priorities_sheet(book, workshop, language)
    _roadmap_sheet(book, workshop, language)
    _kpis_sheet(book, cur, workshop, language)
    _lift_sheet(book, lifts, language)
    _roi_sheet(book, workshop, outcome, language)
    _departments_sheet(book, workshop, language)
    with exports._atomic_target(target, ".xlsx") as tmp_name:
        book.save(tmp_name)
    return target
