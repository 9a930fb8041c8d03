"""Measurement: lift against textbook statistics, ROI against hand-worked examples, attribution,
KPIs and their snapshots on the demo company."""
from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from cdp_core import kpi, use_cases
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

# ----------------------------------------------------------------------------- lift maths

COUNTS = [(75, 1000, 30, 1000), (2421, 32531, 99, 3643), (12, 150, 9, 140), (5, 400, 7, 380)]


@pytest.mark.parametrize(("x_t", "n_t", "x_c", "n_c"), COUNTS)
def test_lift_matches_statsmodels(x_t: int, n_t: int, x_c: int, n_c: int) -> None:
    result = kpi.lift(x_t, n_t, x_c, n_c)
    assert result.rate_treated == pytest.approx(x_t / n_t)
    assert result.absolute_lift == pytest.approx(x_t / n_t - x_c / n_c)
    wald = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert result.absolute_ci == pytest.approx(wald, rel=1e-9)
    low, high = confint_proportions_2indep(x_t, n_t, x_c, n_c, method="log", compare="ratio")
    assert result.relative_ci == pytest.approx((low - 1, high - 1), rel=1e-9)
    assert result.relative_lift == pytest.approx((x_t / n_t) / (x_c / n_c) - 1)
    _, p_value = proportions_ztest([x_t, x_c], [n_t, n_c])
    assert result.p_value == pytest.approx(p_value, rel=1e-9)
    assert result.incremental_conversions == pytest.approx((x_t / n_t - x_c / n_c) * n_t)


def test_revenue_difference_matches_welch_from_scipy() -> None:
    rng = np.random.default_rng(7)
    treated = np.where(rng.random(900) < 0.08, rng.gamma(2.0, 35.0, 900), 0.0)
    control = np.where(rng.random(300) < 0.03, rng.gamma(2.0, 35.0, 300), 0.0)
    result = kpi.lift(int((treated > 0).sum()), 900, int((control > 0).sum()), 300,
                      revenue_treated=kpi.Revenue.of(treated),
                      revenue_control=kpi.Revenue.of(control))
    welch = stats.ttest_ind(treated, control, equal_var=False)
    assert result.revenue_treated == pytest.approx(treated.mean())
    assert result.revenue_difference == pytest.approx(treated.mean() - control.mean())
    assert result.revenue_ci == pytest.approx(tuple(welch.confidence_interval(0.95)), rel=1e-9)
    assert result.revenue_p_value == pytest.approx(welch.pvalue, rel=1e-9)
    difference = treated.mean() - control.mean()
    assert result.incremental_revenue == pytest.approx(difference * 900)
    interval = welch.confidence_interval(0.95)
    assert result.incremental_revenue_ci == pytest.approx((interval.low * 900,
                                                           interval.high * 900))


def test_small_or_uncertain_groups_are_not_conclusive() -> None:
    assert kpi.lift(2421, 32531, 99, 3643).conclusive
    small = kpi.lift(30, 400, 2, 40)  # control of 40 people, 2 conversions
    assert not small.conclusive
    assert {"small_control", "few_conversions"} <= set(small.warnings)
    crossing = kpi.lift(110, 2000, 100, 2000)  # 5.5 % vs 5.0 %: the interval holds 0
    assert crossing.absolute_ci[0] < 0 < crossing.absolute_ci[1]
    assert crossing.warnings == ("uncertain",)
    none_in_control = kpi.lift(20, 500, 0, 200)
    assert none_in_control.relative_lift is None and not none_in_control.conclusive


@pytest.mark.parametrize("counts", [(5, 100, 1, 0), (120, 100, 1, 50), (-1, 100, 1, 50)])
def test_impossible_counts_are_refused(counts: tuple[int, int, int, int]) -> None:
    with pytest.raises(InputError):
        kpi.lift(*counts)


# ----------------------------------------------------------------------------- lift from SQL

_EVENTS = """CREATE TABLE golden.events (person_id VARCHAR, source VARCHAR, kind VARCHAR,
    channel_group VARCHAR, event_id VARCHAR, event_at TIMESTAMP, amount DOUBLE,
    props MAP(VARCHAR, VARCHAR))"""


def _sends(cur: object, campaign: str, group: str, people: int, converted: int,
           revenue: float, start: int, keys: tuple[str, str, str]) -> None:
    """``people`` sends of a campaign to one group, the first ``converted`` converting with
    ``revenue`` euros each."""
    campaign_key, group_key, conversion_key = keys
    cur.execute(
        "INSERT INTO golden.events SELECT 'P' || (i + $start), 'Sends', 'campaign_sends', NULL, "
        "'E' || (i + $start), TIMESTAMP '2025-03-01 10:00' + i * INTERVAL 1 MINUTE, "
        "CASE WHEN i < $converted THEN $revenue ELSE 0 END, "
        "MAP {$ck: $campaign, $gk: $group, $vk: CASE WHEN i < $converted THEN 'yes' ELSE 'no' "
        "END} FROM range($people) t(i)",
        {"start": start, "converted": converted, "revenue": revenue, "people": people,
         "campaign": campaign, "group": group, "ck": campaign_key, "gk": group_key,
         "vk": conversion_key})


@pytest.fixture
def sends_ws(ws: Workspace) -> Workspace:
    """Two campaigns: a French one with a témoin group, an English one with a holdout."""
    with ws.transaction() as cur:
        cur.execute(_EVENTS)
        french = ("campagne", "groupe", "a_repondu")
        _sends(cur, "Soldes", "traitement", 400, 40, 60.0, 0, french)
        _sends(cur, "Soldes", "Témoin", 150, 6, 60.0, 1000, french)
        english = ("Campaign", "test_group", "converted")
        _sends(cur, "Spring", "treatment", 300, 24, 80.0, 2000, english)
        _sends(cur, "Spring", "holdout", 100, 3, 80.0, 3000, english)
    return ws


def test_campaign_lift_reads_groups_and_conversions_from_the_events(sends_ws: Workspace) -> None:
    cur = sends_ws.cursor()
    listed = kpi.campaigns(cur).set_index("campaign")
    assert listed.loc["Soldes", ["treated", "control", "conversions_treated",
                                 "conversions_control"]].tolist() == [400, 150, 40, 6]
    soldes = kpi.campaign_lift(cur, "Soldes")
    assert (soldes.n_treated, soldes.n_control) == (400, 150)
    assert (soldes.conversions_treated, soldes.conversions_control) == (40, 6)
    treated = np.r_[np.full(40, 60.0), np.zeros(360)]
    control = np.r_[np.full(6, 60.0), np.zeros(144)]
    welch = stats.ttest_ind(treated, control, equal_var=False)
    assert soldes.revenue_ci == pytest.approx(tuple(welch.confidence_interval(0.95)))
    assert soldes.incremental_revenue == pytest.approx((60 * 40 / 400 - 60 * 6 / 150) * 400)
    spring = kpi.campaign_lift(cur, "Spring")  # English names: holdout, converted
    assert (spring.n_control, spring.conversions_control) == (100, 3)
    pooled = kpi.campaign_lift(cur)
    assert (pooled.n_treated, pooled.conversions_treated) == (700, 64)


def test_cart_recovery_without_a_status_uses_the_orders(ws: Workspace) -> None:
    with ws.transaction() as cur:
        cur.execute(_EVENTS)
        # Carts of P1 (ordered 2 h later: not abandoned), P2 (ordered 3 days later: abandoned
        # then recovered), P3 (never ordered: abandoned, lost).
        cur.execute(
            "INSERT INTO golden.events VALUES "
            "('P1', 'Carts', 'carts', 'web', 'c1', TIMESTAMP '2025-03-01 10:00', 50, MAP {}), "
            "('P1', 'Orders', 'orders', 'web', 'o1', TIMESTAMP '2025-03-01 12:00', 50, MAP {}), "
            "('P2', 'Carts', 'carts', 'web', 'c2', TIMESTAMP '2025-03-01 10:00', 80, MAP {}), "
            "('P2', 'Orders', 'orders', 'web', 'o2', TIMESTAMP '2025-03-04 10:00', 80, MAP {}), "
            "('P3', 'Carts', 'carts', 'web', 'c3', TIMESTAMP '2025-03-01 10:00', 30, MAP {})")
    value = kpi.compute_kpi(ws.cursor(), "cart_recovery_rate", dt.date(2025, 4, 30)).value
    assert value == pytest.approx(1 / 2)


def test_campaign_without_control_group_or_events(sends_ws: Workspace, ws: Workspace) -> None:
    cur = sends_ws.cursor()
    with pytest.raises(InputError, match="no control group"):
        kpi.campaign_lift(cur, "No such campaign")
    empty = Workspace.open(Path(ws.path).with_name("other.duckdb"))
    with pytest.raises(InputError, match="refresh the traits"):
        kpi.campaign_lift(empty.cursor())
    empty.close()


def test_measured_benefits_are_labelled(sends_ws: Workspace) -> None:
    cur = sends_ws.cursor()
    frame = pd.DataFrame({"use_case_id": ["sales", "birthday", "vip"],
                          "name": ["Sales", "Birthday", "VIP"],
                          "department": ["Marketing"] * 3,
                          "benefit_per_year": [10_000.0, 5_000.0, 2_000.0],
                          "one_off_cost": [0.0] * 3, "yearly_cost": [0.0] * 3,
                          "campaign": ["Soldes", "Nowhere", None]})
    result = kpi.use_case_benefits(cur, frame).set_index("use_case_id")
    assert result["benefit_origin"].tolist() == ["measured", "estimated", "estimated"]
    # Revenue per send: 6.00 € treated vs 2.40 € control; the 400 treated sends of the campaign
    # (none in the last year before the reference date) count as one year: 3.60 × 400 = 1,440 €.
    assert result.loc["sales", "benefit_per_year"] == pytest.approx(1440.0)
    assert result.loc["sales", "estimated_benefit"] == 10_000.0
    assert result.loc[["birthday", "vip"], "benefit_per_year"].tolist() == [5_000.0, 2_000.0]


def test_the_library_gives_a_portfolio_with_departments() -> None:
    library = use_cases.load_library()
    frame = kpi.portfolio(library)
    assert len(frame) == len(library) >= 15
    assert frame["campaign"].notna().any()
    known = {*kpi.DEPARTMENTS, "data_it"}
    assert set(frame["department"].map(kpi.department_id)) <= known


# ----------------------------------------------------------------------------- ROI


def test_roi_payback_and_npv_by_hand() -> None:
    # Implementation 100 k€, run 60 k€/year, benefit 240 k€/year, 3 years, no ramp-up.
    costs = kpi.Costs(implementation=100_000, yearly_run=60_000)
    result = kpi.evaluate(240_000, costs, rate=0.10, years=3)
    # Each month earns 20 k€ and costs 5 k€: +15 k€; cumulative -100 + 15 m >= 0 from m = 7.
    assert result.payback_month == 7
    assert result.flows["cumulative"].iloc[6] == pytest.approx(-10_000)
    assert result.flows["cumulative"].iloc[7] == pytest.approx(5_000)
    # Benefits 720 k€, costs 100 + 3 × 60 = 280 k€: ROI = 440 / 280.
    assert result.total_benefit == pytest.approx(720_000)
    assert result.total_cost == pytest.approx(280_000)
    assert result.roi == pytest.approx(440 / 280)
    # Yearly flows -100, 180, 180, 180 (k€) discounted at 10 %.
    assert kpi.yearly_flows(result.flows) == pytest.approx([-100_000, 180_000, 180_000, 180_000])
    by_hand = -100_000 + 180_000 / 1.1 + 180_000 / 1.1 ** 2 + 180_000 / 1.1 ** 3
    assert result.npv == pytest.approx(by_hand)
    assert result.npv == pytest.approx(347_633.36, abs=0.01)


def test_npv_textbook() -> None:
    # -1000 + 500/1.1 + 500/1.21 + 500/1.331 = -1000 + 454.545 + 413.223 + 375.657 = 243.426
    assert kpi.npv([-1000, 500, 500, 500], 0.10) == pytest.approx(243.426, abs=1e-3)
    assert kpi.npv([-1000, 500, 500, 500], 0.0) == 500


def test_ramp_up_and_use_case_costs() -> None:
    # Platform 50 k€ + use-case set-up 10 k€ at month 0; run 24 k€ + 12 k€ a year = 3 k€/month;
    # benefit 120 k€/year = 10 k€/month, reached in 4 months: 2.5, 5, 7.5, then 10 k€.
    use_cases = pd.DataFrame({"one_off_cost": [10_000.0], "yearly_cost": [12_000.0]})
    costs = kpi.Costs(50_000, 24_000).with_use_cases(use_cases)
    flows = kpi.cash_flows(120_000, costs, years=1, ramp_months=4)
    assert flows["benefit"].head(6).tolist() == pytest.approx([0, 2500, 5000, 7500, 10_000,
                                                               10_000])
    assert flows["cost"].head(3).tolist() == pytest.approx([60_000, 3_000, 3_000])
    # cumulative: -60, -60.5, -58.5, -54, -47, ... +7 k€ a month from month 5: -47 + 7 k × 7
    # = +2 k€ at month 11.
    assert kpi.payback_month(flows) == 11


def test_project_that_never_pays_back() -> None:
    result = kpi.evaluate(50_000, kpi.Costs(100_000, 60_000), years=3)
    assert result.payback_month is None
    assert result.roi == pytest.approx((150_000 - 280_000) / 280_000)


def test_negative_costs_are_refused() -> None:
    with pytest.raises(InputError, match="positive"):
        kpi.Costs(implementation=-1)


# ----------------------------------------------------------------------------- attribution

_PORTFOLIO = pd.DataFrame({
    "use_case_id": ["relaunch", "web_to_store"], "name": ["Relaunch", "Web to store"],
    "department": ["Marketing", "Magasins"], "benefit_per_year": [100_000.0, 50_000.0],
    "one_off_cost": [10_000.0, 0.0], "yearly_cost": [5_000.0, 10_000.0]})
_PLATFORM = kpi.Costs(implementation=30_000, yearly_run=30_000)


def _by_department(rule: kpi.AttributionRule) -> pd.DataFrame:
    return kpi.attribute(_PORTFOLIO, rule, _PLATFORM, years=1).set_index("department")


def test_equal_split_of_the_platform() -> None:
    # Platform 30 + 30 = 60 k€ over one year, 15 k€ for each of the 4 departments.
    result = _by_department(kpi.AttributionRule("equal"))
    assert result.loc["marketing", ["benefit", "cost"]].tolist() == [100_000, 10_000 + 5_000
                                                                     + 15_000]
    assert result.loc["stores", ["benefit", "cost"]].tolist() == [50_000, 10_000 + 15_000]
    assert result.loc["ecommerce", ["benefit", "cost", "net"]].tolist() == [0, 15_000, -15_000]
    assert result.loc["marketing", "roi"] == pytest.approx(70_000 / 30_000)


def test_usage_and_custom_splits() -> None:
    usage = _by_department(kpi.AttributionRule("usage"))  # one use case each: 30 k€ each
    assert usage.loc["marketing", "cost"] == 15_000 + 30_000
    assert "customer_service" not in usage.index  # no use case, no cost: left out
    custom = _by_department(kpi.AttributionRule("custom", {"marketing": 50, "E-commerce": 50}))
    assert custom.loc["ecommerce", "cost"] == 30_000
    assert custom["cost"].sum() == pytest.approx(15_000 + 10_000 + 60_000)


def test_a_use_case_shared_between_departments() -> None:
    rule = kpi.AttributionRule("equal", use_case_shares={"relaunch": {"marketing": 60,
                                                                      "ecommerce": 40}})
    result = _by_department(rule)
    assert result.loc["ecommerce", "benefit"] == pytest.approx(40_000)
    assert result.loc["ecommerce", "cost"] == pytest.approx(0.4 * 15_000 + 15_000)
    assert result["benefit"].sum() == pytest.approx(150_000)


@pytest.mark.parametrize("rule", [
    kpi.AttributionRule("custom", {"marketing": 50, "stores": 40}),
    kpi.AttributionRule("equal", use_case_shares={"relaunch": {"marketing": 70,
                                                               "stores": 40}}),
    kpi.AttributionRule("by_mood")])
def test_shares_must_add_up_to_100(rule: kpi.AttributionRule) -> None:
    with pytest.raises(InputError):
        kpi.attribute(_PORTFOLIO, rule, _PLATFORM)


# ----------------------------------------------------------------------------- on the demo


@pytest.fixture
def demo_ws(unified_demo: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A private copy of the demo with unified profiles and traits (golden.events)."""
    copy = tmp_path / "demo.duckdb"
    shutil.copyfile(unified_demo, copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


def test_demo_campaigns_show_a_positive_lift(demo_ws: Workspace) -> None:
    cur = demo_ws.cursor()
    listed = kpi.campaigns(cur)
    assert len(listed) == 11 and listed["has_control"].all()
    result = kpi.campaign_lift(cur)
    assert result.n_control == listed["control"].sum()
    assert result.rate_treated > result.rate_control
    assert result.incremental_revenue > 0


def _events(cur: object) -> pd.DataFrame:
    return cur.execute("SELECT * FROM golden.events").df()


def test_event_kpis_match_a_pandas_count(demo_ws: Workspace) -> None:
    cur = demo_ws.cursor()
    events = _events(cur)
    day = dt.date(2025, 12, 31)
    end = pd.Timestamp("2026-01-01")
    last_90 = events[(events["event_at"] >= end - pd.Timedelta(days=90))
                     & (events["event_at"] < end)]
    calls = last_90[last_90["kind"] == "contacts"]
    seconds = calls["props"].map(lambda p: float(dict(p)["duree_traitement_s"]))
    assert kpi.compute_kpi(cur, "handling_time", day).value == pytest.approx(seconds.mean())
    sends = last_90[last_90["kind"] == "campaign_sends"]
    treated = sends[sends["props"].map(lambda p: dict(p)["groupe"] == "traitement")]
    responded = treated["props"].map(lambda p: dict(p)["a_repondu"] == "1")
    assert kpi.compute_kpi(cur, "conversion_rate", day).value == pytest.approx(responded.mean())
    # Abandoned carts of the 90 days ending a week before, recovered by an order of the same
    # person within the 7 days after the cart.
    week = pd.Timedelta(days=7)
    carts = events[(events["kind"] == "carts") & (events["event_at"] >= end - pd.Timedelta(
        days=90) - week) & (events["event_at"] < end - week)]
    abandoned = carts[carts["props"].map(lambda p: dict(p)["statut"] == "abandoned")]
    orders = events.loc[events["kind"] == "orders", ["person_id", "event_at"]]
    pairs = abandoned.reset_index().merge(orders, on="person_id", how="left",
                                          suffixes=("", "_order"))
    after = pairs["event_at_order"] - pairs["event_at"]
    pairs["recovered"] = (after > pd.Timedelta(0)) & (after <= week)
    recovered = pairs.groupby("index")["recovered"].any()
    assert len(recovered) == len(abandoned) > 20
    assert kpi.compute_kpi(cur, "cart_recovery_rate", day).value == pytest.approx(
        recovered.mean())
    year = events[(events["event_at"] >= end - pd.Timedelta(days=365))
                  & (events["event_at"] < end) & (events["kind"] == "orders")]
    assert kpi.compute_kpi(cur, "revenue_per_customer", day).value == pytest.approx(
        year["amount"].sum() / year["person_id"].nunique())


def test_profile_kpis_match_the_clusters_and_profiles(demo_ws: Workspace) -> None:
    cur = demo_ws.cursor()
    people, records = cur.execute("SELECT count(DISTINCT cluster_id), count(*) "
                                  "FROM match.clusters").fetchone()
    assert kpi.compute_kpi(cur, "duplicate_rate").value == pytest.approx(1 - people / records)
    profiles = cur.execute("SELECT consent_email, email, phone, postcode "
                           "FROM golden.profiles").df()
    assert kpi.compute_kpi(cur, "opt_in_rate_email").value == pytest.approx(
        profiles["consent_email"].fillna(False).astype(bool).mean())
    filled = profiles[["email", "phone", "postcode"]].notna() & (
        profiles[["email", "phone", "postcode"]].astype(str).apply(lambda c: c.str.strip()) != "")
    assert kpi.compute_kpi(cur, "completeness").value == pytest.approx(filled.mean().mean())
    past = kpi.compute_kpi(cur, "duplicate_rate", dt.date(2024, 1, 31))
    assert (past.value, past.reason) == (None, "current_only")
    assert kpi.compute_kpi(cur, "net_promoter_score").reason == "manual"


def test_kpis_without_events_say_why(matched_ws: Workspace) -> None:
    assert kpi.compute_kpi(matched_ws.cursor(), "conversion_rate").reason == "no_events"
    assert kpi.compute_kpi(matched_ws.cursor(), "duplicate_rate").reason == "no_profiles"


# ----------------------------------------------------------------------------- snapshots


def test_manual_snapshot_history_and_audit(demo_ws: Workspace) -> None:
    day = dt.date(2026, 2, 28)
    kpi.record_snapshot(demo_ws, "call_centre", "nps", 31, day, target=40, note="survey",
                        entered_by="Camille Martin")
    kpi.record_snapshot(demo_ws, "call_centre", "nps", 33, day, target=40,
                        entered_by="Camille Martin")  # a correction of the same day
    shown = kpi.history(demo_ws.cursor(), "call_centre", "nps")
    assert shown[["value", "target", "origin"]].values.tolist() == [[33.0, 40.0, "manual"]]
    logged = demo_ws.cursor().execute("SELECT string_agg(detail, ' ') FROM meta.audit_log "
                                      "WHERE action = 'kpi_snapshot'").fetchone()[0]
    assert "nps" in logged and "Camille" not in logged
    with pytest.raises(InputError):
        kpi.record_snapshot(demo_ws, "call_centre", "nps", float("nan"), day)
    assert len(kpi.history(demo_ws.cursor())) == 1


def test_backfill_rebuilds_a_monthly_trend(demo_ws: Workspace) -> None:
    wanted = {"calls": "handling_time", "sends": "conversion_rate", "dups": "duplicate_rate"}
    recorded = kpi.backfill_history(demo_ws, "relaunch", wanted, months=12,
                                    targets={"calls": 300})
    shown = kpi.history(demo_ws.cursor(), "relaunch")
    assert recorded == len(shown) == 26  # 12 month ends + the reference date, 2 KPIs
    assert set(shown["kpi"]) == {"calls", "sends"}  # profiles have no history
    calls = shown[shown["kpi"] == "calls"]
    assert (calls["target"] == 300).all()
    assert calls["measured_at"].dt.is_month_end.iloc[:-1].all()
    month = calls["measured_at"].iloc[3].date()
    assert calls["value"].iloc[3] == pytest.approx(
        kpi.compute_kpi(demo_ws.cursor(), "handling_time", month).value)
    assert kpi.backfill_history(demo_ws, "relaunch", wanted, months=12) == 26  # replaced
    assert len(kpi.history(demo_ws.cursor(), "relaunch")) == 26
    assert kpi.snapshot_computed(demo_ws, "quality", ["duplicate_rate", "completeness"]) == 2


def test_a_series_of_days_gives_each_day_s_value(demo_ws: Workspace) -> None:
    cur = demo_ws.cursor()
    days = [dt.date(2001, 1, 31), *kpi._month_ends(kpi.reference_day(cur), 12)]  # noqa: SLF001
    for name, definition in kpi.KPIS.items():
        series = kpi.compute_kpi_series(cur, name, days)
        one_by_one = [kpi.compute_kpi(cur, name, day) for day in days]
        assert [v.reason for v in series] == [v.reason for v in one_by_one], name
        assert [v.value for v in series] == pytest.approx([v.value for v in one_by_one]), name
        if definition.historical:
            assert series[0].reason == "no_data" and series[-1].value is not None, name
            assert len({v.value for v in series[1:]}) > 1, name  # a trend, not one figure


# ----------------------------------------------------------------------------- settings


def test_settings_are_kept_in_the_workspace(ws: Workspace) -> None:
    assert kpi.load_costs(ws.cursor()) == kpi.Costs()
    kpi.save_costs(ws, kpi.Costs(120_000, 90_000))
    kpi.save_discount_rate(ws, 0.1)
    kpi.save_attribution(ws, kpi.AttributionRule("custom", {"marketing": 60, "stores": 40}))
    cur = ws.cursor()
    assert kpi.load_costs(cur) == kpi.Costs(120_000, 90_000)
    assert kpi.load_discount_rate(cur) == 0.1
    assert kpi.load_attribution(cur).platform_shares == {"marketing": 60, "stores": 40}
    with pytest.raises(InputError, match="add up to 90"):
        kpi.save_attribution(ws, kpi.AttributionRule("custom", {"marketing": 90}))
    assert kpi.load_attribution(ws.cursor()).platform_shares == {"marketing": 60, "stores": 40}
