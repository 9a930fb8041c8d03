"""Measure what the platform brings: campaign lift, KPIs over time, ROI and who gets the credit.

Four parts, each a set of pure functions over numbers or whole-column SQL:

1. **Incrementality.** A campaign sent with a random control group shows what it caused: the
   difference in conversion and in revenue per person between the treated and the control
   group, with 95 % confidence intervals and a p-value (`lift`, `campaign_lift`). This is the
   benefit ROI uses whenever the data allows ("measured"), rather than a typed-in guess
   ("estimated").
2. **ROI.** Monthly cash flows from a yearly benefit and the costs (`cash_flows`), ROI, NPV with
   yearly discounting and the payback month (`evaluate`).
3. **Attribution.** Benefits and costs shared between the departments using the platform by
   rules the team chooses (`AttributionRule`, `attribute`).
4. **KPIs.** Indicators computed from the workspace (`KPIS`, `compute_kpi`), some as of any
   past date so a trend can be rebuilt from the events (`backfill_history`), and snapshots in
   ``meta.kpi_snapshots`` (`record_snapshot`, `history`).

Example:
    >>> result = lift(75, 1000, 30, 1000)
    >>> round(result.absolute_lift, 3), result.conclusive
    (0.045, True)
"""
from __future__ import annotations

import calendar
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import duckdb
import pandas as pd
from scipy import stats

from cdp_core import golden
from cdp_core.errors import InputError
from cdp_core.sqlutil import quote_ident
from cdp_core.use_cases import UseCase
from cdp_core.workspace import Workspace

CONFIDENCE = 0.95

# ----------------------------------------------------------------------------- incrementality

# A campaign needs this much data before its lift is worth reading.
MIN_CONTROL = 100
MIN_CONVERSIONS = 10
ALL_CAMPAIGNS = "*"

CONTROL_WORDS = ("control", "controle", "contrôle", "temoin", "témoin", "holdout")
CONVERSION_KEYS = ("converted", "a_repondu", "responded", "conversion")
CAMPAIGN_KEYS = ("campagne", "campaign", "campaign_name", "nom_campagne", "id_campagne",
                 "campaign_id")
TRUE_WORDS = ("1", "true", "t", "yes", "y", "oui", "o", "vrai")


@dataclass(frozen=True)
class Revenue:
    """Revenue of one group summed over its people, and the sum of squares for its spread."""

    total: float
    sum_squares: float

    @classmethod
    def of(cls, per_person: Iterable[float]) -> Revenue:
        """The sums of a list of per-person revenues (0 for people who did not buy)."""
        values = [float(v) for v in per_person]
        return cls(sum(values), sum(v * v for v in values))


@dataclass(frozen=True)
class Lift:
    """What a campaign caused, read against its control group (treated minus control).

    Rates are shares (0.075 = 7.5 %), relative lift is the ratio minus one (0.5 = +50 %),
    revenues are euros per person. ``warnings`` holds codes: ``small_control``,
    ``few_conversions``, ``uncertain`` (the interval of the absolute lift crosses 0),
    ``no_control_conversion`` (relative lift undefined).
    """

    n_treated: int
    n_control: int
    conversions_treated: int
    conversions_control: int
    rate_treated: float
    rate_control: float
    absolute_lift: float
    absolute_ci: tuple[float, float]
    relative_lift: float | None
    relative_ci: tuple[float, float] | None
    p_value: float
    revenue_treated: float
    revenue_control: float
    revenue_difference: float
    revenue_ci: tuple[float, float] | None
    revenue_p_value: float | None
    incremental_conversions: float
    incremental_revenue: float
    incremental_revenue_ci: tuple[float, float] | None
    warnings: tuple[str, ...]

    @property
    def conclusive(self) -> bool:
        """Enough people and conversions, and a conversion lift surely different from 0."""
        return not self.warnings


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _welch(revenue_t: Revenue, n_t: int, revenue_c: Revenue, n_c: int, confidence: float,
           ) -> tuple[float, tuple[float, float] | None, float | None]:
    """Difference of mean revenue per person, its Welch interval and p-value (no interval when
    a group has fewer than two people or no spread at all)."""
    mean_t, mean_c = revenue_t.total / n_t, revenue_c.total / n_c
    difference = mean_t - mean_c
    if min(n_t, n_c) < 2:
        return difference, None, None
    var_t = max(0.0, (revenue_t.sum_squares - revenue_t.total * mean_t) / (n_t - 1))
    var_c = max(0.0, (revenue_c.sum_squares - revenue_c.total * mean_c) / (n_c - 1))
    share_t, share_c = var_t / n_t, var_c / n_c
    se = math.sqrt(share_t + share_c)
    if se == 0:
        return difference, None, None
    df = (share_t + share_c) ** 2 / (share_t ** 2 / (n_t - 1) + share_c ** 2 / (n_c - 1))
    margin = stats.t.ppf(0.5 + confidence / 2, df) * se
    p_value = 2 * stats.t.sf(abs(difference) / se, df)
    return difference, (float(difference - margin), float(difference + margin)), float(p_value)


def _checks(n_c: int, x_t: int, x_c: int, ci: tuple[float, float]) -> tuple[str, ...]:
    found = []
    if n_c < MIN_CONTROL:
        found.append("small_control")
    if min(x_t, x_c) < MIN_CONVERSIONS:
        found.append("few_conversions")
    if ci[0] <= 0 <= ci[1]:
        found.append("uncertain")
    if x_c == 0:
        found.append("no_control_conversion")
    return tuple(found)


def lift(conversions_treated: int, n_treated: int, conversions_control: int, n_control: int,
         *, revenue_treated: Revenue | None = None, revenue_control: Revenue | None = None,
         confidence: float = CONFIDENCE) -> Lift:
    """Incrementality of a campaign from the counts of its treated and control groups.

    Absolute lift: difference of proportions with the Wald (unpooled) interval. Relative lift:
    ratio of proportions minus one, interval from the log ratio (Katz). p-value: pooled
    two-proportion z-test, two-sided. Revenue per person: Welch's interval. Incremental
    conversions and revenue are what the treated group got beyond what it would have without
    the campaign: difference per person times the treated group's size.

    Raises:
        InputError: a group is empty or holds more conversions than people.
    """
    x_t, n_t, x_c, n_c = conversions_treated, n_treated, conversions_control, n_control
    if min(n_t, n_c) <= 0:
        raise InputError("both the treated and the control group need at least one person")
    if not (0 <= x_t <= n_t and 0 <= x_c <= n_c):
        raise InputError("conversions must be between 0 and the number of people of a group")
    z = _z(confidence)
    p_t, p_c = x_t / n_t, x_c / n_c
    difference = p_t - p_c
    margin = z * math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    absolute_ci = (difference - margin, difference + margin)
    relative, relative_ci = None, None
    if x_t > 0 and x_c > 0:
        relative = p_t / p_c - 1
        log_se = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
        relative_ci = (math.exp(math.log(p_t / p_c) - z * log_se) - 1,
                       math.exp(math.log(p_t / p_c) + z * log_se) - 1)
    pooled = (x_t + x_c) / (n_t + n_c)
    pooled_se = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    p_value = math.erfc(abs(difference) / pooled_se / math.sqrt(2)) if pooled_se else 1.0
    revenue_t = revenue_treated or Revenue(0.0, 0.0)
    revenue_c = revenue_control or Revenue(0.0, 0.0)
    revenue_difference, revenue_ci, revenue_p = _welch(revenue_t, n_t, revenue_c, n_c, confidence)
    return Lift(
        n_treated=n_t, n_control=n_c, conversions_treated=x_t, conversions_control=x_c,
        rate_treated=p_t, rate_control=p_c, absolute_lift=difference, absolute_ci=absolute_ci,
        relative_lift=relative, relative_ci=relative_ci, p_value=p_value,
        revenue_treated=revenue_t.total / n_t, revenue_control=revenue_c.total / n_c,
        revenue_difference=revenue_difference, revenue_ci=revenue_ci, revenue_p_value=revenue_p,
        incremental_conversions=difference * n_t,
        incremental_revenue=revenue_difference * n_t,
        incremental_revenue_ci=(revenue_ci[0] * n_t, revenue_ci[1] * n_t) if revenue_ci else None,
        warnings=_checks(n_c, x_t, x_c, absolute_ci))


def lift_groups(result: Lift) -> pd.DataFrame:
    """The two groups side by side: people, conversions, conversion rate, revenue per person."""
    return pd.DataFrame({
        "group": ["treated", "control"],
        "people": [result.n_treated, result.n_control],
        "conversions": [result.conversions_treated, result.conversions_control],
        "rate": [result.rate_treated, result.rate_control],
        "revenue_per_person": [result.revenue_treated, result.revenue_control]})


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema, table]).fetchone()[0])


def _require_events(cur: duckdb.DuckDBPyConnection) -> None:
    if not _table_exists(cur, "golden", "events"):
        raise InputError("no events per person yet: refresh the traits first (Activate > "
                         "Traits, or cdp_core.traits.refresh) after building the unified "
                         "profiles")


def _property_keys(cur: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """The property names the events of a kind carry (a handful, whatever the row count)."""
    rows = cur.execute("SELECT DISTINCT unnest(map_keys(props)) FROM golden.events "
                       "WHERE kind = ?", [kind]).fetchall()
    return sorted(row[0] for row in rows)


def _property_sql(cur: duckdb.DuckDBPyConnection, kind: str, name: str,
                  wanted: Sequence[str], contains: str | None = None,
                  ) -> tuple[str, dict[str, Any]]:
    """The value of the property events of ``kind`` name like one of ``wanted`` (any case) or
    with ``contains`` in its name, whichever of them each event carries (two sources may name
    it differently), as SQL with the names as parameters; ``NULL`` when none does."""
    keys = _property_keys(cur, kind)
    found = [key for key in keys if key.lower() in wanted] + [
        key for key in keys if contains and contains in key.lower() and key.lower() not in wanted]
    if not found:
        return "NULL::VARCHAR", {}
    params = {f"{name}_{i}": key for i, key in enumerate(found)}
    values = ", ".join(f"nullif(trim(props[${param}]), '')" for param in params)
    return f"coalesce({values})", params


def _sends_sql(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    """Every campaign send with its campaign (the source's name when no property names it),
    arm ('treated' | 'control' | NULL when the send names no group), whether it converted (the
    conversion property, else revenue above 0) and its revenue."""
    campaign, campaign_params = _property_sql(cur, "campaign_sends", "campaign", CAMPAIGN_KEYS)
    group, group_params = _property_sql(cur, "campaign_sends", "group", ("groupe", "group"),
                                        contains="group")
    converted, conversion_params = _property_sql(cur, "campaign_sends", "conversion",
                                                 CONVERSION_KEYS)
    params = {**campaign_params, **group_params, **conversion_params,
              "control_words": list(CONTROL_WORDS), "true_words": list(TRUE_WORDS)}
    sql = (f"SELECT coalesce({campaign}, source) AS campaign, person_id, event_at, "  # noqa: S608
           "coalesce(amount, 0) AS revenue, "
           f"CASE WHEN list_contains($control_words, lower({group})) THEN 'control' "
           f"WHEN {group} IS NOT NULL THEN 'treated' END AS arm, "
           f"coalesce(list_contains($true_words, lower({converted})), coalesce(amount, 0) > 0) "
           "AS converted FROM golden.events WHERE kind = 'campaign_sends'")
    return sql, params


def campaigns(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Campaigns with their sends: first send date, sends, treated and control sizes and
    conversions, and whether a control group makes the lift measurable."""
    _require_events(cur)
    sends, params = _sends_sql(cur)
    return cur.execute(
        f"SELECT campaign, min(event_at)::DATE AS sent_on, count(*) AS sends, "  # noqa: S608
        "count(*) FILTER (arm = 'treated') AS treated, "
        "count(*) FILTER (arm = 'control') AS control, "
        "count(*) FILTER (arm = 'treated' AND converted) AS conversions_treated, "
        "count(*) FILTER (arm = 'control' AND converted) AS conversions_control, "
        "count(*) FILTER (arm = 'control') > 0 AND count(*) FILTER (arm = 'treated') > 0 "
        f"AS has_control FROM ({sends}) GROUP BY campaign ORDER BY sent_on, campaign",
        params).df()


@dataclass(frozen=True)
class SendTotals:
    """Per campaign and arm, and for all campaigns pooled (``campaign`` NULL): sends,
    conversions, revenue, revenue squared, and sends in the year before the reference day.
    Read in one pass over the sends (`send_totals`), so every campaign's lift costs one query.
    """

    frame: pd.DataFrame

    def _arms(self, campaign: str | None) -> dict[str, Any]:
        rows = (self.frame[self.frame["pooled"]] if campaign is None
                else self.frame[~self.frame["pooled"] & (self.frame["campaign"] == campaign)])
        return {row.arm: row for row in rows.itertuples()}

    def lift(self, campaign: str | None = None) -> Lift:
        """The lift of one campaign (or of every campaign pooled, ``None``), send by send.

        Raises:
            InputError: the campaign has no treated or no control group.
        """
        arms = self._arms(campaign)
        if "treated" not in arms or "control" not in arms:
            what = f"campaign {campaign!r}" if campaign else "the campaign sends"
            raise InputError(f"{what}: no control group to compare with; a lift needs sends "
                             "marked treated and control (a property such as groupe = temoin)")
        treated, control = arms["treated"], arms["control"]
        return lift(int(treated.conversions), int(treated.sends), int(control.conversions),
                    int(control.sends),
                    revenue_treated=Revenue(treated.revenue, treated.revenue_squared),
                    revenue_control=Revenue(control.revenue, control.revenue_squared))

    def benefit(self, campaign: str) -> Benefit:
        """Yearly incremental revenue of a campaign (``ALL_CAMPAIGNS`` pools them): revenue
        gained per treated send times the treated sends of the last 12 months before the
        reference date; a campaign with no send in that year counts its whole history as one
        year (a yearly campaign such as Black Friday).

        Raises:
            InputError: the campaign has no treated or no control group.
        """
        chosen = None if campaign == ALL_CAMPAIGNS else campaign
        result = self.lift(chosen)
        treated_last_year = int(self._arms(chosen)["treated"].sends_last_year)
        per_year = result.revenue_difference * (treated_last_year or result.n_treated)
        return Benefit(per_year, "measured", campaign, result.conclusive)


def send_totals(cur: duckdb.DuckDBPyConnection) -> SendTotals:
    """The sends' totals per campaign and arm, and pooled, in one pass.

    Raises:
        InputError: no events yet (traits not refreshed).
    """
    _require_events(cur)
    sends, params = _sends_sql(cur)
    since = _day_end(reference_day(cur)) - dt.timedelta(days=365)
    frame = cur.execute(
        f"SELECT campaign, arm, GROUPING(campaign) = 1 AS pooled, count(*) AS sends, "  # noqa: S608
        "count(*) FILTER (converted) AS conversions, coalesce(sum(revenue), 0) AS revenue, "
        "coalesce(sum(revenue * revenue), 0) AS revenue_squared, "
        "count(*) FILTER (event_at >= $since) AS sends_last_year "
        f"FROM ({sends}) WHERE arm IS NOT NULL GROUP BY GROUPING SETS ((campaign, arm), (arm))",
        params | {"since": since}).df()
    return SendTotals(frame)


def campaign_lift(cur: duckdb.DuckDBPyConnection, campaign: str | None = None) -> Lift:
    """The lift of one campaign (or of every campaign pooled, ``None``), send by send.

    Raises:
        InputError: no events yet, or the campaign has no treated or no control group.
    """
    return send_totals(cur).lift(campaign)


@dataclass(frozen=True)
class Benefit:
    """A yearly benefit and where it comes from: ``measured`` on a control group, or
    ``estimated`` by the team."""

    per_year: float
    origin: str
    campaign: str | None = None
    conclusive: bool | None = None


def measured_benefit(cur: duckdb.DuckDBPyConnection, campaign: str) -> Benefit:
    """Yearly incremental revenue of a campaign (`SendTotals.benefit`).

    Raises:
        InputError: no events yet, or the campaign has no treated or no control group.
    """
    return send_totals(cur).benefit(campaign)


def campaign_benefits(cur: duckdb.DuckDBPyConnection,
                      campaigns: Mapping[str, str | None]) -> dict[str, Benefit]:
    """The benefit measured for each key (a use case id) whose campaign has a control group,
    the sends read once; keys without a campaign, events or control group are left out (their
    estimate stands)."""
    linked = {key: campaign for key, campaign in campaigns.items() if campaign}
    if not linked:
        return {}
    try:
        totals = send_totals(cur)
    except InputError:
        return {}
    found = {}
    for key, campaign in linked.items():
        with suppress(InputError):
            found[key] = totals.benefit(campaign)
    return found


def portfolio(use_cases: Iterable[UseCase]) -> pd.DataFrame:
    """The figures ROI needs from use cases: id, names, owning department, expected benefit and
    costs per year, and the campaign that measures it (if any)."""
    return pd.DataFrame(
        [(u.id, u.name, u.name_fr, u.owner, u.benefit_per_year, u.one_off_cost, u.yearly_cost,
          u.campaign) for u in use_cases],
        columns=["use_case_id", "name", "name_fr", "department", "benefit_per_year",
                 "one_off_cost", "yearly_cost", "campaign"])


def use_case_benefits(cur: duckdb.DuckDBPyConnection, use_cases: pd.DataFrame) -> pd.DataFrame:
    """The use cases with the benefit ROI uses: measured on the use case's ``campaign`` when its
    sends have a control group, the team's estimate otherwise; ``benefit_origin`` says which.

    Adds ``estimated_benefit`` (the estimate), ``benefit_origin`` ('measured' | 'estimated')
    and ``conclusive``; ``benefit_per_year`` becomes the benefit used.
    """
    frame = use_cases.copy()
    frame["estimated_benefit"] = frame["benefit_per_year"].astype(float)
    measured = campaign_benefits(
        cur, dict(zip(frame["use_case_id"], frame["campaign"], strict=True)))
    chosen = frame["use_case_id"].map(measured)
    has = chosen.notna()
    frame["benefit_per_year"] = frame["estimated_benefit"].where(
        ~has, chosen[has].map(lambda b: b.per_year))
    frame["benefit_origin"] = has.map({True: "measured", False: "estimated"})
    frame["conclusive"] = chosen.map(lambda b: b.conclusive if isinstance(b, Benefit) else None)
    return frame


# ----------------------------------------------------------------------------- ROI

YEARS = 3


@dataclass(frozen=True)
class Costs:
    """What the project costs in euros: the platform (implementation once, run every year) and
    the use cases (set-up once, run every year)."""

    implementation: float = 100_000.0
    yearly_run: float = 80_000.0
    use_case_one_off: float = 0.0
    use_case_yearly: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not math.isfinite(value) or value < 0:
                raise InputError(f"cost {name.replace('_', ' ')} must be a positive amount "
                                 f"of euros, not {value}")

    def with_use_cases(self, use_cases: pd.DataFrame) -> Costs:
        """The platform's costs plus the one-off and yearly costs of the use cases listed."""
        return Costs(self.implementation, self.yearly_run,
                     float(use_cases["one_off_cost"].sum()),
                     float(use_cases["yearly_cost"].sum()))


def cash_flows(benefit_per_year: float, costs: Costs, years: int = YEARS,
               ramp_months: int = 0) -> pd.DataFrame:
    """Month by month cash: month 0 pays the one-off costs, months 1 to 12 × years earn the
    benefit (rising linearly to full over ``ramp_months``) and pay the running costs.

    Columns: month, year (0 for month 0), benefit, cost, net, cumulative.
    """
    if years < 1 or ramp_months < 0:
        raise InputError("the horizon needs at least one year and the ramp-up cannot be negative")
    months = pd.Series(range(years * 12 + 1), name="month")
    ramp = (months / ramp_months).clip(upper=1.0) if ramp_months else (months > 0).astype(float)
    flows = pd.DataFrame({
        "month": months,
        "year": (months + 11) // 12,
        "benefit": benefit_per_year / 12 * ramp,
        "cost": pd.Series((costs.yearly_run + costs.use_case_yearly) / 12, index=months.index
                          ).where(months > 0, costs.implementation + costs.use_case_one_off)})
    flows["net"] = flows["benefit"] - flows["cost"]
    flows["cumulative"] = flows["net"].cumsum()
    return flows


def yearly_flows(flows: pd.DataFrame) -> list[float]:
    """Net cash per year: year 0 is the one-off spending, then each year of running."""
    return flows.groupby("year")["net"].sum().tolist()


def npv(flows: Sequence[float], rate: float) -> float:
    """Net present value of yearly flows, the first at year 0 (not discounted)."""
    if rate <= -1:
        raise InputError("the discount rate must be above -100 %")
    return sum(flow / (1 + rate) ** year for year, flow in enumerate(flows))


def roi(flows: pd.DataFrame) -> float | None:
    """(benefits − costs) / costs over the horizon, undiscounted; None without costs."""
    cost = flows["cost"].sum()
    return (flows["benefit"].sum() - cost) / cost if cost else None


def payback_month(flows: pd.DataFrame) -> int | None:
    """The first month the cumulative cash is back to zero or above; None if not within the
    horizon."""
    paid = flows.loc[flows["cumulative"] >= 0, "month"]
    return int(paid.iloc[0]) if len(paid) else None


@dataclass(frozen=True)
class RoiResult:
    """The figures a steering committee asks for, and the monthly cash behind them."""

    roi: float | None
    npv: float
    payback_month: int | None
    total_benefit: float
    total_cost: float
    flows: pd.DataFrame


def evaluate(benefit_per_year: float, costs: Costs, *, rate: float = 0.08, years: int = YEARS,
             ramp_months: int = 0) -> RoiResult:
    """ROI, NPV at ``rate`` and payback month over ``years`` years."""
    flows = cash_flows(benefit_per_year, costs, years, ramp_months)
    return RoiResult(roi(flows), npv(yearly_flows(flows), rate), payback_month(flows),
                     float(flows["benefit"].sum()), float(flows["cost"].sum()), flows)


# ----------------------------------------------------------------------------- attribution

DEPARTMENTS = ("marketing", "ecommerce", "stores", "customer_service")
SPLITS = ("equal", "usage", "custom")
_DEPARTMENT_WORDS = {
    "marketing": "marketing", "crm": "marketing", "ecommerce": "ecommerce", "web": "ecommerce",
    "digital": "ecommerce", "stores": "stores", "store": "stores", "magasins": "stores",
    "magasin": "stores", "retail": "stores", "customerservice": "customer_service",
    "serviceclient": "customer_service", "relationclient": "customer_service",
    "callcentre": "customer_service", "callcenter": "customer_service", "dataandit": "data_it",
    "datait": "data_it", "data": "data_it", "it": "data_it", "dsi": "data_it"}


def department_id(name: str | None) -> str:
    """The department a free-text name means ('E-commerce' -> 'ecommerce'); unknown names are
    kept, lower-cased."""
    text = (name or "").strip().lower()
    key = "".join(ch for ch in text.replace("é", "e") if ch.isalnum())
    return _DEPARTMENT_WORDS.get(key, text or "marketing")


def _check_shares(shares: Mapping[str, float], what: str) -> dict[str, float]:
    total = sum(shares.values())
    if any(value < 0 for value in shares.values()) or abs(total - 100) > 0.1:
        raise InputError(f"the shares of {what} add up to {total:g} %: they must be positive "
                         "and add up to 100 %")
    return {department_id(k): float(v) for k, v in shares.items() if v}


@dataclass(frozen=True)
class AttributionRule:
    """How benefits and costs are shared between departments.

    Each use case's benefit and own costs go to its owning department unless
    ``use_case_shares`` splits them (percentages per department). The platform's costs are
    split ``equal``-ly between the departments, by ``usage`` (the share of use cases each one
    owns) or by ``custom`` percentages (``platform_shares``).
    """

    platform_split: str = "usage"
    platform_shares: Mapping[str, float] = field(default_factory=dict)
    use_case_shares: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def validated(self) -> AttributionRule:
        """The rule with department names normalised; InputError when shares do not add up."""
        if self.platform_split not in SPLITS:
            raise InputError(f"unknown split {self.platform_split!r}: choose one of "
                             f"{', '.join(SPLITS)}")
        platform = (_check_shares(self.platform_shares, "the platform costs")
                    if self.platform_split == "custom" else {})
        per_use_case = {uc: _check_shares(shares, f"use case {uc}")
                        for uc, shares in self.use_case_shares.items() if shares}
        return AttributionRule(self.platform_split, platform, per_use_case)

    def to_json(self) -> str:
        """The rule as stored in ``meta.settings``."""
        return json.dumps({"platform_split": self.platform_split,
                           "platform_shares": dict(self.platform_shares),
                           "use_case_shares": {k: dict(v)
                                               for k, v in self.use_case_shares.items()}})

    @classmethod
    def from_json(cls, text: str) -> AttributionRule:
        """A rule read back from ``meta.settings``."""
        data = json.loads(text)
        return cls(data.get("platform_split", "usage"), data.get("platform_shares", {}),
                   data.get("use_case_shares", {})).validated()


def _use_case_totals(use_cases: pd.DataFrame, years: int, ramp_months: int) -> pd.DataFrame:
    """Each use case's benefit and own cost over the horizon (benefit ramped like the ROI)."""
    ramped_share = cash_flows(12.0, Costs(0, 0), years, ramp_months)["benefit"].sum() / (
        12.0 * years)
    return pd.DataFrame({
        "use_case_id": use_cases["use_case_id"],
        "owner": use_cases["department"].map(department_id),
        "benefit": use_cases["benefit_per_year"].astype(float) * years * ramped_share,
        "cost": use_cases["one_off_cost"].astype(float)
        + use_cases["yearly_cost"].astype(float) * years})


def attribute(use_cases: pd.DataFrame, rule: AttributionRule, costs: Costs | None = None, *,
              years: int = YEARS, ramp_months: int = 0) -> pd.DataFrame:
    """Benefit, cost, net and ROI per department over the horizon (departments with neither
    left out).

    ``use_cases`` has use_case_id, department, benefit_per_year, one_off_cost and yearly_cost;
    ``costs`` gives the platform's (its use-case fields are ignored: they come from the frame).
    """
    rule, costs = rule.validated(), costs or Costs()
    totals = _use_case_totals(use_cases, years, ramp_months)
    owners = dict(zip(totals["use_case_id"], totals["owner"], strict=True))
    shares = pd.DataFrame(
        [(uc, dept, pct / 100) for uc, owner in owners.items()
         for dept, pct in rule.use_case_shares.get(uc, {owner: 100}).items()],
        columns=["use_case_id", "department", "share"])
    split = shares.merge(totals, on="use_case_id")
    split["benefit"] *= split["share"]
    split["cost"] *= split["share"]
    per_department = split.groupby("department")[["benefit", "cost", "share"]].sum()
    departments = list(dict.fromkeys([*DEPARTMENTS, *per_department.index,
                                      *rule.platform_shares]))
    per_department = per_department.reindex(departments, fill_value=0.0)
    platform = costs.implementation + costs.yearly_run * years
    if rule.platform_split == "custom":
        weights = pd.Series(rule.platform_shares).reindex(departments, fill_value=0.0)
    elif rule.platform_split == "usage" and per_department["share"].sum() > 0:
        weights = per_department["share"]
    else:
        weights = pd.Series(1.0, index=departments)
    per_department["cost"] += platform * weights / weights.sum()
    per_department = per_department[(per_department["benefit"] != 0)
                                    | (per_department["cost"] != 0)]
    result = per_department[["benefit", "cost"]].rename_axis("department").reset_index()
    result["net"] = result["benefit"] - result["cost"]
    result["roi"] = (result["net"] / result["cost"]).where(result["cost"] > 0)
    return result


# ----------------------------------------------------------------------------- KPIs


@dataclass(frozen=True)
class KpiValue:
    """A computed KPI, or None with the reason: ``no_events`` (traits not refreshed),
    ``no_profiles``, ``no_data`` (nothing to compute it on), ``current_only`` (no history from
    the data), ``manual`` (not computed from the workspace)."""

    value: float | None
    reason: str | None = None


Query = Callable[[duckdb.DuckDBPyConnection], tuple[str, dict[str, Any]] | None]


@dataclass(frozen=True)
class Kpi:
    """A KPI the workspace can compute: its unit ('share', 'euros', 'seconds'), its direction,
    and the SQL giving its value over the ``window_days`` before ``$until`` (events) or now
    (profiles)."""

    kpi_id: str
    unit: str
    higher_is_better: bool
    query: Query
    window_days: int | None = None

    @property
    def label_key(self) -> str:
        """Translation key of its name."""
        return f"kpi.name.{self.kpi_id}"

    @property
    def historical(self) -> bool:
        """Whether it can be computed as of a past date (from dated events)."""
        return self.window_days is not None


def _conversion_rate(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    sends, params = _sends_sql(cur)
    return (f"SELECT avg(converted::INT) FROM ({sends}) "  # noqa: S608
            "WHERE arm IS DISTINCT FROM 'control' AND event_at >= $since "
            "AND event_at < $until", params)


def _revenue_per_customer(_cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    return ("SELECT sum(amount) / nullif(count(DISTINCT person_id), 0) FROM golden.events "
            "WHERE kind = 'orders' AND event_at >= $since AND event_at < $until", {})


CART_STATUS_KEYS = ("statut", "status", "etat", "state")
CART_ABANDONED_WORDS = ("abandoned", "abandonne", "abandonné", "abandon", "open", "ouvert")
RECOVERY_DAYS = 7


def _cart_recovery_rate(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    """Abandoned carts followed by an order of the same person within ``RECOVERY_DAYS``.

    A cart is abandoned when its status says so, or (without a status) when no order follows it
    within 24 hours, as the traits define it. The carts counted are those whose seven days
    ended within the window, so every one had its full chance of recovery.
    """
    status, params = _property_sql(cur, "carts", "status", CART_STATUS_KEYS)
    order_within = ("EXISTS (SELECT 1 FROM golden.events o WHERE o.kind = 'orders' "
                    "AND o.person_id = c.person_id AND o.event_at > c.event_at "
                    "AND o.event_at <= c.event_at + {hours} * INTERVAL 1 HOUR)")
    return (f"SELECT avg(({order_within.format(hours='$recovery_hours')})::INT) "  # noqa: S608
            "FROM golden.events c WHERE c.kind = 'carts' "
            "AND c.event_at >= $since - $recovery_hours * INTERVAL 1 HOUR "
            "AND c.event_at < $until - $recovery_hours * INTERVAL 1 HOUR "
            f"AND CASE WHEN {status} IS NOT NULL THEN list_contains($abandoned, lower({status})) "
            f"ELSE NOT {order_within.format(hours=24)} END",
            params | {"abandoned": list(CART_ABANDONED_WORDS),
                      "recovery_hours": 24 * RECOVERY_DAYS})


def _store_revenue_from_web_visitors(_cur: duckdb.DuckDBPyConnection,
                                     ) -> tuple[str, dict[str, Any]]:
    return ("SELECT sum(amount) FILTER (person_id IN (SELECT person_id FROM golden.events "
            "WHERE (channel_group = 'web' OR kind = 'carts') AND event_at >= $since "
            "AND event_at < $until)) "
            "/ nullif(sum(amount), 0) FROM golden.events "
            "WHERE kind = 'orders' AND channel_group = 'store' AND event_at >= $since "
            "AND event_at < $until", {})


HANDLING_KEYS = ("duree_traitement_s", "handling_time_s", "handling_time", "duration_s",
                 "duree_s", "duration", "duree")


def _handling_time(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]] | None:
    seconds, params = _property_sql(cur, "contacts", "duration", HANDLING_KEYS)
    if not params:
        return None
    return (f"SELECT avg(TRY_CAST({seconds} AS DOUBLE)) FROM golden.events "  # noqa: S608
            "WHERE kind = 'contacts' AND event_at >= $since AND event_at < $until", params)


def _profile_columns(cur: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = 'profiles'").fetchall()}


def _opt_in(column: str) -> Query:
    def query(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]] | None:
        if column not in _profile_columns(cur):
            return None
        return (f"SELECT avg(coalesce({quote_ident(column)}, false)::INT) "  # noqa: S608
                "FROM golden.profiles", {})
    return query


def _duplicate_rate(_cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]]:
    return "SELECT 1 - count(*) / nullif(sum(record_count), 0) FROM golden.profiles", {}


COMPLETENESS_FIELDS = ("email", "phone", "postcode")


def _completeness(cur: duckdb.DuckDBPyConnection) -> tuple[str, dict[str, Any]] | None:
    present = [f for f in COMPLETENESS_FIELDS if f in _profile_columns(cur)]
    if not present:
        return None
    filled = " + ".join(f"(nullif(trim({quote_ident(f)}::VARCHAR), '') IS NOT NULL)::INT"
                        for f in present)
    return f"SELECT avg(({filled}) / {len(present)}) FROM golden.profiles", {}  # noqa: S608


KPIS: dict[str, Kpi] = {k.kpi_id: k for k in (
    Kpi("conversion_rate", "share", True, _conversion_rate, 90),
    Kpi("revenue_per_customer", "euros", True, _revenue_per_customer, 365),
    Kpi("cart_recovery_rate", "share", True, _cart_recovery_rate, 90),
    Kpi("store_revenue_from_web_visitors", "share", True, _store_revenue_from_web_visitors, 365),
    Kpi("handling_time", "seconds", False, _handling_time, 90),
    Kpi("opt_in_rate_email", "share", True, _opt_in("consent_email")),
    Kpi("opt_in_rate_sms", "share", True, _opt_in("consent_sms")),
    Kpi("duplicate_rate", "share", False, _duplicate_rate),
    Kpi("completeness", "share", True, _completeness),
)}


def reference_day(cur: duckdb.DuckDBPyConnection) -> dt.date:
    """The "today" of the data: the day of the latest event (today without events); the day
    KPIs are measured on by default."""
    latest = golden.reference_date(cur)
    return latest.date() if isinstance(latest, dt.datetime) else latest or dt.date.today()


def _day_end(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time())


def compute_kpi(cur: duckdb.DuckDBPyConnection, kpi_id: str,
                as_of: dt.date | None = None) -> KpiValue:
    """A KPI's value from the workspace at the end of ``as_of`` (default: the reference date).

    Event KPIs look at the window before that day (90 days for rates and handling time, a year
    for revenues); profile KPIs exist only now, so a past ``as_of`` gives ``current_only``.
    """
    kpi = KPIS.get(kpi_id)
    if kpi is None:
        return KpiValue(None, "manual")
    needed = ("golden", "events") if kpi.historical else ("golden", "profiles")
    if not _table_exists(cur, *needed):
        return KpiValue(None, "no_events" if kpi.historical else "no_profiles")
    reference = reference_day(cur)
    day = as_of or reference
    if not kpi.historical and day < reference:
        return KpiValue(None, "current_only")
    built = kpi.query(cur)
    if built is None:
        return KpiValue(None, "no_data")
    sql, params = built
    if kpi.historical:
        until = _day_end(day)
        params = params | {"until": until, "since": until - dt.timedelta(days=kpi.window_days)}
    value = cur.execute(sql, params).fetchone()[0]
    return KpiValue(float(value), None) if value is not None else KpiValue(None, "no_data")


# The window bounds every event KPI's SQL names, as parameters for one day or as the columns
# of a table of windows for many (SQL text built here, never user text).
_WINDOW_BOUNDS = re.compile(r"\$(since|until)\b")


def compute_kpi_series(cur: duckdb.DuckDBPyConnection, kpi_id: str,
                       days: Sequence[dt.date]) -> list[KpiValue]:
    """A KPI at the end of each of ``days``, as `compute_kpi` gives it day by day; an event
    KPI in one query over a table of windows (one pass over the events, not one per day)."""
    kpi = KPIS.get(kpi_id)
    if kpi is None or not kpi.historical or len(days) < 2:
        return [compute_kpi(cur, kpi_id, day) for day in days]
    if not _table_exists(cur, "golden", "events"):
        return [KpiValue(None, "no_events")] * len(days)
    built = kpi.query(cur)
    if built is None:
        return [KpiValue(None, "no_data")] * len(days)
    sql, params = built
    per_window = _WINDOW_BOUNDS.sub(lambda bound: f"w.{bound[1]}", sql)
    rows = cur.execute(
        f"SELECT w.until, ({per_window}) FROM (SELECT until, until - $window_days * "  # noqa: S608
        "INTERVAL 1 DAY AS since FROM (SELECT unnest($untils) AS until)) w",
        params | {"untils": [_day_end(day) for day in days],
                  "window_days": kpi.window_days}).fetchall()
    values = {until: value for until, value in rows}
    found = [values.get(_day_end(day)) for day in days]
    return [KpiValue(float(v), None) if v is not None else KpiValue(None, "no_data")
            for v in found]


ORIGINS = ("computed", "manual")


def _insert_snapshot(cur: duckdb.DuckDBPyConnection, use_case_id: str, kpi: str, value: float,
                     measured_at: dt.date, target: float | None, origin: str,
                     note: str | None, entered_by: str | None) -> int:
    """Write one snapshot, replacing the one of the same day and origin (a correction)."""
    if not use_case_id or not kpi:
        raise InputError("a KPI snapshot needs a use case and a KPI")
    if origin not in ORIGINS:
        raise InputError(f"origin must be computed or manual, not {origin!r}")
    for name, number in (("value", value), ("target", target)):
        if number is not None and not math.isfinite(number):
            raise InputError(f"the {name} of a KPI snapshot must be a number")
    key = [use_case_id, kpi, measured_at, origin]
    cur.execute("DELETE FROM meta.kpi_snapshots WHERE use_case_id = ? AND kpi = ? "
                "AND measured_at = ? AND origin = ?", key)
    snapshot_id = cur.execute("SELECT coalesce(max(snapshot_id), 0) + 1 "
                              "FROM meta.kpi_snapshots").fetchone()[0]
    cur.execute("INSERT INTO meta.kpi_snapshots (snapshot_id, use_case_id, kpi, measured_at, "
                "value, target, origin, note, entered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [snapshot_id, use_case_id, kpi, measured_at, value, target, origin, note,
                 entered_by])
    return snapshot_id


def record_snapshot(ws: Workspace, use_case_id: str, kpi: str, value: float,
                    measured_at: dt.date, target: float | None = None, origin: str = "manual",
                    note: str | None = None, entered_by: str | None = None) -> int:
    """Record a KPI value measured on a day (entered by hand or computed); returns its id.

    A second value for the same use case, KPI, day and origin replaces the first.
    """
    with ws.transaction() as cur:
        snapshot_id = _insert_snapshot(cur, use_case_id, kpi, float(value), measured_at,
                                       None if target is None else float(target), origin, note,
                                       entered_by)
        ws.audit(cur, "kpi_snapshot", f"snapshot {snapshot_id}: use case {use_case_id}, "
                                      f"KPI {kpi}, {origin}")
    return snapshot_id


def _month_ends(last: dt.date, months: int) -> list[dt.date]:
    """The ends of the ``months`` months before ``last``'s month, then ``last`` itself."""
    ends = []
    year, month = last.year, last.month
    for _ in range(months):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        ends.append(dt.date(year, month, calendar.monthrange(year, month)[1]))
    return [*reversed(ends), last]


KpiChoice = Mapping[str, str] | Iterable[str]


def _computed_ids(kpis: KpiChoice) -> dict[str, str]:
    """The use case's KPI ids with the workspace KPI computing each (a plain list of workspace
    KPI ids records each under its own id)."""
    return dict(kpis) if isinstance(kpis, Mapping) else {k: k for k in kpis}


def _record_computed(ws: Workspace, use_case_id: str, days: Sequence[dt.date],
                     kpis: Mapping[str, str], targets: Mapping[str, float] | None,
                     action: str) -> int:
    """Compute KPIs on each day and record those with a value, all in one transaction."""
    targets = targets or {}
    cur = ws.cursor()
    values = [(kpi, day, found.value) for kpi, computed in kpis.items()
              for day, found in zip(days, compute_kpi_series(cur, computed, days), strict=True)]
    kept = [(kpi, day, value) for kpi, day, value in values if value is not None]
    with ws.transaction() as write:
        for kpi, day, value in kept:
            _insert_snapshot(write, use_case_id, kpi, value, day, targets.get(kpi),
                             "computed", None, None)
        ws.audit(write, action, f"use case {use_case_id}: {len(kept)} computed KPI snapshots")
    return len(kept)


def snapshot_computed(ws: Workspace, use_case_id: str, kpis: KpiChoice,
                      measured_at: dt.date | None = None,
                      targets: Mapping[str, float] | None = None) -> int:
    """Record the computed KPIs of a use case as of ``measured_at`` (default: the reference
    date); ``kpis`` maps the use case's KPI ids to workspace KPIs. Returns how many had a
    value."""
    day = measured_at or reference_day(ws.cursor())
    return _record_computed(ws, use_case_id, [day], _computed_ids(kpis), targets,
                            "kpi_snapshot_computed")


def backfill_history(ws: Workspace, use_case_id: str, kpis: KpiChoice, months: int = 12,
                     targets: Mapping[str, float] | None = None) -> int:
    """Rebuild a use case's KPI history from the dated events: each KPI that can be computed
    as of a past date, at the end of each of the last ``months`` months and on the reference
    date; returns how many snapshots were recorded."""
    historical = {k: c for k, c in _computed_ids(kpis).items()
                  if c in KPIS and KPIS[c].historical}
    days = _month_ends(reference_day(ws.cursor()), months)
    return _record_computed(ws, use_case_id, days, historical, targets, "kpi_backfill")


def history(cur: duckdb.DuckDBPyConnection, use_case_id: str | None = None,
            kpi: str | None = None) -> pd.DataFrame:
    """KPI snapshots, oldest first, for one use case and/or KPI or all."""
    return cur.execute(
        "SELECT snapshot_id, use_case_id, kpi, measured_at, value, target, origin, note, "
        "entered_by, recorded_at FROM meta.kpi_snapshots "
        "WHERE ($use_case IS NULL OR use_case_id = $use_case) AND ($kpi IS NULL OR kpi = $kpi) "
        "ORDER BY measured_at, origin, snapshot_id", {"use_case": use_case_id, "kpi": kpi}).df()


# ----------------------------------------------------------------------------- settings

DISCOUNT_RATE = 0.08


def _setting(cur: duckdb.DuckDBPyConnection, key: str) -> Any:
    row = cur.execute("SELECT value FROM meta.settings WHERE key = ?", [key]).fetchone()
    return json.loads(row[0]) if row else None


def _save_setting(ws: Workspace, key: str, value: Any) -> None:
    with ws.transaction() as cur:
        cur.execute("INSERT OR REPLACE INTO meta.settings (key, value, updated_at) "
                    "VALUES (?, ?, current_timestamp)", [key, json.dumps(value)])
        ws.audit(cur, "settings_saved", key)


def load_costs(cur: duckdb.DuckDBPyConnection) -> Costs:
    """The platform's costs saved for the project (typical values until someone sets them)."""
    saved = _setting(cur, "roi.costs") or {}
    return Costs(**{k: float(v) for k, v in saved.items() if k in Costs.__dataclass_fields__})


def save_costs(ws: Workspace, costs: Costs) -> None:
    """Keep the platform's costs in the workspace."""
    _save_setting(ws, "roi.costs", {"implementation": costs.implementation,
                                    "yearly_run": costs.yearly_run})


def load_attribution(cur: duckdb.DuckDBPyConnection) -> AttributionRule:
    """The attribution rule saved for the project (platform costs by usage until set)."""
    saved = _setting(cur, "roi.attribution")
    return AttributionRule.from_json(json.dumps(saved)) if saved else AttributionRule()


def save_attribution(ws: Workspace, rule: AttributionRule) -> None:
    """Check and keep the attribution rule; InputError when its shares do not add up."""
    _save_setting(ws, "roi.attribution", json.loads(rule.validated().to_json()))


def load_discount_rate(cur: duckdb.DuckDBPyConnection) -> float:
    """The yearly discount rate for NPV (8 % until set)."""
    saved = _setting(cur, "roi.discount_rate")
    return DISCOUNT_RATE if saved is None else float(saved)


def save_discount_rate(ws: Workspace, rate: float) -> None:
    """Keep the discount rate; InputError outside 0–100 %."""
    if not 0 <= rate < 1:
        raise InputError("the discount rate must be between 0 % and 100 %")
    _save_setting(ws, "roi.discount_rate", float(rate))
