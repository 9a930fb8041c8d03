"""Computed traits on the demo company, each recomputed in pandas from golden.events.

The reference date ("today" of the data) is the latest event: windows count back from it.
"""
from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from cdp_core import golden, traits
from cdp_core.errors import InputError
from cdp_core.traits import TraitDefinition
from cdp_core.workspace import Workspace
from tests.conftest import snapshot

DAY = pd.Timedelta(days=1)
# The classic RFM grid as documented: the cell of each recency score (5 = most recent) and
# frequency-monetary score (the rounded-up mean of the two, 1 to 5).
RFM_GRID = {
    5: ("new_customers", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    4: ("promising", "potential_loyalists", "potential_loyalists", "champions", "champions"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("lost", "lost", "at_risk", "at_risk", "cannot_lose"),
}


@pytest.fixture(scope="module")
def unified(unified_demo: Path, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[Workspace]:
    """The unified demo, read only by the tests that use it (a copy all the same)."""
    copy = tmp_path_factory.mktemp("traits") / "demo.duckdb"
    shutil.copyfile(unified_demo, copy)
    workspace = Workspace.open(copy)
    yield workspace
    workspace.close()


@pytest.fixture
def demo(unified_ws: Workspace) -> Workspace:
    """The unified demo, a private copy for each test."""
    return unified_ws


def _frames(workspace: Workspace) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """golden.traits by person, golden.events with props as dicts, and the reference date."""
    cur = workspace.cursor()
    table = cur.execute("SELECT * FROM golden.traits").df().set_index("person_id")
    events = cur.execute("SELECT person_id, kind, channel_group, event_at, amount, props "
                         "FROM golden.events").df()
    return table, events, events["event_at"].max()


def _per_person(values: pd.Series, index: pd.Index, empty: Any = 0) -> pd.Series:
    """A per-person series over every profile, ``empty`` for people without events."""
    return values.reindex(index).fillna(empty) if empty is not None else values.reindex(index)


def _prop(events: pd.DataFrame, name: str) -> pd.Series:
    return events["props"].map(lambda props: props.get(name))


def _number(texts: pd.Series) -> pd.Series:
    return pd.to_numeric(texts, errors="coerce")


def _assert_same(actual: pd.Series, expected: pd.Series, what: str) -> None:
    actual, expected = actual.sort_index(), expected.sort_index()
    assert actual.index.equals(expected.index), what
    if pd.api.types.is_numeric_dtype(expected) or pd.api.types.is_numeric_dtype(actual):
        np.testing.assert_allclose(actual.astype(float), expected.astype(float), rtol=1e-9,
                                   err_msg=what)
    else:
        differ = [(i, a, e) for i, a, e in zip(actual.index, actual, expected, strict=True)
                  if not (pd.isna(a) and pd.isna(e)) and a != e]
        assert not differ, (what, differ[:5])


def test_the_reference_date_is_the_latest_event(unified: Workspace) -> None:
    _, events, reference = _frames(unified)
    refresh = traits.last_refresh(unified.cursor())
    assert pd.Timestamp(refresh["reference_at"]) == reference
    assert refresh["people"] == unified.cursor().execute(
        "SELECT count(*) FROM golden.profiles").fetchone()[0]


@pytest.mark.parametrize(("trait", "kind", "days", "how"), [
    ("orders_30d", "orders", 30, "count"), ("orders_90d", "orders", 90, "count"),
    ("orders_365d", "orders", 365, "count"), ("revenue_30d", "orders", 30, "sum"),
    ("revenue_90d", "orders", 90, "sum"), ("revenue_365d", "orders", 365, "sum"),
    ("carts_30d", "carts", 30, "count"), ("contacts_90d", "contacts", 90, "count"),
    ("campaign_sends_30d", "campaign_sends", 30, "count"),
    ("avg_basket", "orders", None, "mean"), ("max_basket", "orders", None, "max"),
])
def test_windowed_counts_and_sums(unified: Workspace, trait: str, kind: str,
                                  days: int | None, how: str) -> None:
    table, events, reference = _frames(unified)
    chosen = events[events["kind"] == kind]
    if days:
        chosen = chosen[chosen["event_at"] > reference - days * DAY]
    grouped = chosen.groupby("person_id")["amount"]
    values = grouped.size() if how == "count" else getattr(grouped, how)()
    expected = _per_person(values, table.index, None if how in ("mean", "max") else 0)
    # The demo's last campaign went out 34 days before its latest event: nobody has a send
    # in the last 30 days, so that one trait is zero for all.
    assert expected.fillna(0).sum() > 0 or trait == "campaign_sends_30d", trait
    _assert_same(table[trait], expected, trait)


def _rfm_scores(events: pd.DataFrame) -> pd.DataFrame:
    """Recency, frequency and monetary quintiles among buyers: the share of buyers ranked
    strictly below (percent rank), times five, plus one; equal values share a score."""
    orders = events[events["kind"] == "orders"].groupby("person_id").agg(
        last=("event_at", "max"), orders=("event_at", "size"), revenue=("amount", "sum"))
    orders["revenue"] = orders["revenue"].round(6)
    scores = pd.DataFrame(index=orders.index)
    for score, column in (("recency_score", "last"), ("frequency_score", "orders"),
                          ("monetary_score", "revenue")):
        below = orders[column].rank(method="min") - 1
        scores[score] = (1 + np.floor(5 * below / (len(orders) - 1))).clip(upper=5).astype(int)
    return scores


def test_rfm_scores_are_quintiles_among_buyers(unified: Workspace) -> None:
    table, events, _ = _frames(unified)
    expected = _rfm_scores(events)
    buyers = table.loc[table["recency_score"].notna()]
    assert set(buyers.index) == set(expected.index)
    for score in ("recency_score", "frequency_score", "monetary_score"):
        assert buyers[score].between(1, 5).all()
        assert set(buyers[score]) == {1, 2, 3, 4, 5} or score == "frequency_score"
        _assert_same(buyers[score], expected[score], score)
    others = table.drop(index=expected.index)
    assert others[["recency_score", "frequency_score", "monetary_score"]].isna().all().all()
    assert (others["rfm_cell"] == "no_purchase").all()


def test_every_buyer_sits_in_the_cell_of_the_rfm_grid(unified: Workspace) -> None:
    table, _, _ = _frames(unified)
    buyers = table.loc[table["recency_score"].notna()]
    for person_id, row in buyers.iterrows():
        fm = math.ceil((row["frequency_score"] + row["monetary_score"]) / 2)
        assert row["rfm_cell"] == RFM_GRID[int(row["recency_score"])][fm - 1], person_id
    assert set(buyers["rfm_cell"]) <= set(traits.RFM_CELLS) - {"no_purchase"}
    assert buyers["rfm_cell"].nunique() >= 6  # the demo spreads buyers over the grid


def test_channel_profile_and_web_to_store(unified: Workspace) -> None:
    table, events, _ = _frames(unified)
    orders = events[events["kind"] == "orders"]
    web = set(orders.loc[orders["channel_group"] == "web", "person_id"])
    store = set(orders.loc[orders["channel_group"] == "store", "person_id"])
    expected = pd.Series(
        ["omnichannel" if p in web and p in store else "web_only" if p in web
         else "store_only" if p in store else "none" for p in table.index], index=table.index)
    _assert_same(table["channel_profile"], expected, "channel_profile")

    # A store purchase within 30 days after a web cart or web order.
    visits = events[(events["channel_group"] == "web")
                    & events["kind"].isin(["orders", "carts"])][["person_id", "event_at"]]
    purchases = orders.loc[orders["channel_group"] == "store", ["person_id", "event_at"]]
    pairs = purchases.merge(visits, on="person_id", suffixes=("_store", "_web"))
    gap = pairs["event_at_store"] - pairs["event_at_web"]
    converted = set(pairs.loc[(gap >= pd.Timedelta(0)) & (gap <= 30 * DAY), "person_id"])
    assert converted, "the demo has web-to-store customers"
    assert set(table.index[table["web_to_store"]]) == converted


def test_abandoned_carts_in_the_last_48_hours(unified: Workspace) -> None:
    """A cart of the last 48 hours with no order of the same person within 24 hours after."""
    table, events, reference = _frames(unified)
    carts = events[(events["kind"] == "carts")
                   & (events["event_at"] > reference - pd.Timedelta(hours=48))]
    orders = events[events["kind"] == "orders"]
    abandoned: dict[str, int] = {}
    for cart in carts.itertuples():
        theirs = orders.loc[orders["person_id"] == cart.person_id, "event_at"]
        if not ((theirs >= cart.event_at)
                & (theirs <= cart.event_at + pd.Timedelta(hours=24))).any():
            abandoned[cart.person_id] = abandoned.get(cart.person_id, 0) + 1
    assert 0 < sum(abandoned.values()) < len(carts)  # the demo has both kinds
    expected = _per_person(pd.Series(abandoned, dtype=float), table.index)
    _assert_same(table["abandoned_carts_48h"], expected, "abandoned_carts_48h")


def test_store_revenue_share_from_web_users(unified: Workspace) -> None:
    _, events, _ = _frames(unified)
    store = events[(events["kind"] == "orders") & (events["channel_group"] == "store")]
    web_users = set(events.loc[events["channel_group"] == "web", "person_id"])
    summary = traits.summary(unified.cursor())
    assert summary.store_revenue == pytest.approx(store["amount"].sum())
    from_web = store.loc[store["person_id"].isin(web_users), "amount"].sum()
    assert summary.web_share_of_store_revenue == pytest.approx(from_web / store["amount"].sum())


# --------------------------------------------------------------------------- declared traits


def _most_frequent(values: pd.DataFrame) -> pd.Series:
    """Each person's most frequent value; a tie goes to the larger value."""
    counts = values.groupby(["person_id", "value"]).size().reset_index(name="n")
    counts = counts.sort_values(["person_id", "n", "value"])
    return counts.groupby("person_id")["value"].last()


def test_the_demos_declared_traits(unified: Workspace) -> None:
    table, events, reference = _frames(unified)
    store = events[(events["kind"] == "orders") & (events["channel_group"] == "store")]
    stores = pd.DataFrame({"person_id": store["person_id"], "value": _prop(store, "magasin")})
    calls = events[events["kind"] == "contacts"]
    reasons = pd.DataFrame({"person_id": calls["person_id"], "value": _prop(calls, "motif")})
    sends = events[(events["kind"] == "campaign_sends")
                   & (events["event_at"] > reference - 365 * DAY)]
    expected = {
        "favourite_store": _per_person(_most_frequent(stores.dropna()), table.index, None),
        "stores_visited": _per_person(stores.dropna().groupby("person_id")["value"].nunique(),
                                      table.index),
        "main_call_reason": _per_person(_most_frequent(reasons.dropna()), table.index, None),
        "avg_handling_time_s": _per_person(
            _number(_prop(calls, "duree_traitement_s")).groupby(calls["person_id"]).mean(),
            table.index, None),
        "campaign_responses_365d": _per_person(
            _number(_prop(sends, "a_repondu")).groupby(sends["person_id"]).sum(), table.index),
    }
    for name, values in expected.items():
        assert values.notna().any() and (values != 0).any(), f"the demo gives no {name}"
        _assert_same(table[name], values, name)


MINE = [
    TraitDefinition("treated_revenue_365d", "campaign_sends", "sum", "amount", window_days=365,
                    where_property="groupe", where_value="traitement"),
    TraitDefinition("first_store", "orders", "first", "magasin", channel="store"),
    TraitDefinition("last_web_order_at", "orders", "max", "event_at", channel="web"),
    TraitDefinition("orders_2025", "orders", "count", since="2025-01-01", until="2025-12-31"),
    TraitDefinition("shortest_call_s", "contacts", "min", "duree_traitement_s"),
]


def test_declared_traits_with_filters_windows_and_dates(demo: Workspace) -> None:
    traits.declare(demo, MINE, by="analyst")
    assert traits.is_stale(demo.cursor())
    traits.refresh(demo)
    table, events, reference = _frames(demo)
    sends = events[(events["kind"] == "campaign_sends")
                   & (events["event_at"] > reference - 365 * DAY)
                   & (_prop(events, "groupe") == "traitement")]
    store = events[(events["kind"] == "orders") & (events["channel_group"] == "store")]
    web = events[(events["kind"] == "orders") & (events["channel_group"] == "web")]
    in_2025 = events[(events["kind"] == "orders")
                     & (events["event_at"] >= pd.Timestamp("2025-01-01"))
                     & (events["event_at"] < pd.Timestamp("2026-01-01"))]
    calls = events[events["kind"] == "contacts"]
    expected = {
        "treated_revenue_365d": sends.groupby("person_id")["amount"].sum(),
        "first_store": store.sort_values("event_at").assign(value=_prop(store, "magasin"))
        .groupby("person_id")["value"].first(),
        "last_web_order_at": web.groupby("person_id")["event_at"].max(),
        "orders_2025": in_2025.groupby("person_id").size(),
        "shortest_call_s": _number(_prop(calls, "duree_traitement_s"))
        .groupby(calls["person_id"]).min(),
    }
    zero_when_none = {"treated_revenue_365d", "orders_2025"}
    for name, values in expected.items():
        wanted = _per_person(values, table.index, 0 if name in zero_when_none else None)
        if name == "last_web_order_at":
            assert (table[name].dropna() == wanted.dropna()).all()
            assert table[name].isna().equals(wanted.isna())
        else:
            _assert_same(table[name], wanted, name)
    assert {d.name for d in traits.declared(demo.cursor())} >= {d.name for d in MINE}


def test_declared_traits_come_back_in_the_order_declared(demo: Workspace) -> None:
    traits.declare(demo, MINE)
    assert [d.name for d in traits.declared(demo.cursor())][-len(MINE):] == [
        d.name for d in MINE]


@pytest.mark.parametrize(("definition", "words"), [
    (TraitDefinition("it's", "orders", "count"), ("lower-case",)),
    (TraitDefinition("x; DROP TABLE golden.traits; --", "orders", "count"), ("lower-case",)),
    (TraitDefinition("Panier", "orders", "count"), ("lower-case",)),
    (TraitDefinition("médian", "orders", "count"), ("lower-case",)),
    (TraitDefinition("basket", "orders", "median", "amount"), ("aggregate", "most_frequent")),
    (TraitDefinition("basket", "visits", "count"), ("orders", "campaign_sends")),
    (TraitDefinition("basket", "orders", "sum"), ("property",)),
    (TraitDefinition("basket", "orders", "avg", "event_at"), ("dates",)),
    (TraitDefinition("basket", "orders", "count", window_days=0), ("window",)),
    (TraitDefinition("basket", "orders", "count", since="2025-06-01", until="2025-01-01"),
     ("2025-06-01", "2025-01-01")),
    (TraitDefinition("basket", "orders", "count", since="01/06/2025"), ("YYYY-MM-DD",)),
    (TraitDefinition("basket", "orders", "count", where_property="statut"), ("filter",)),
    (TraitDefinition("basket", "orders", "count", channel="phone"), ("web or store",)),
    (TraitDefinition("orders_30d", "orders", "count"), ("taken",)),
    (TraitDefinition("email", "orders", "count"), ("taken",)),
])
def test_a_bad_declaration_is_refused_and_saves_nothing(demo: Workspace,
                                                       definition: TraitDefinition,
                                                       words: tuple[str, ...]) -> None:
    before = snapshot(demo)
    with pytest.raises(InputError) as caught:
        traits.declare(demo, [MINE[0], definition])  # all or nothing: the good one neither
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert snapshot(demo) == before


@pytest.mark.parametrize("definition", [
    TraitDefinition("long_window", "orders", "count", window_days=10**10),
    TraitDefinition("yes_window", "orders", "count", window_days=True),
    TraitDefinition("basic_date", "orders", "count", since="20240101"),
    TraitDefinition("week_date", "orders", "count", until="2025-W01-1"),
    TraitDefinition("broken_text", "orders", "most_frequent", "magasin\ud800"),
])
def test_a_declaration_duckdb_cannot_run_is_refused_up_front(
        demo: Workspace, definition: TraitDefinition) -> None:
    before = snapshot(demo)
    with pytest.raises(InputError):
        traits.declare(demo, [definition])
    assert snapshot(demo) == before


def test_an_unknown_setting_in_a_stored_definition_is_refused() -> None:
    with pytest.raises(InputError, match="'median'"):
        TraitDefinition.from_dict({"name": "x", "event_kind": "orders", "aggregate": "count",
                                   "median": True})


# --------------------------------------------------------------------------- refreshing


def test_a_failing_refresh_changes_nothing(demo: Workspace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The last statement fails after golden.events and golden.traits were rebuilt in the
    transaction: both keep what they held before."""
    person = demo.cursor().execute("SELECT min(person_id) FROM golden.traits").fetchone()[0]
    with demo.transaction() as cur:  # a state a successful refresh would overwrite
        cur.execute("DELETE FROM golden.events WHERE kind = 'carts'")
        cur.execute("UPDATE golden.traits SET orders_30d = 999 WHERE person_id = ?", [person])
    before = snapshot(demo)
    monkeypatch.setattr(traits, "_people_sql", lambda cur: "SELECT * FROM golden.nowhere")
    with pytest.raises(Exception, match="nowhere"):
        traits.refresh(demo)
    assert snapshot(demo) == before
    cur = demo.cursor()
    assert cur.execute("SELECT count(*) FROM golden.events WHERE kind = 'carts'"
                       ).fetchone()[0] == 0
    assert cur.execute("SELECT orders_30d FROM golden.traits WHERE person_id = ?",
                       [person]).fetchone()[0] == 999
    monkeypatch.undo()
    traits.refresh(demo)
    assert demo.cursor().execute("SELECT count(*) FROM golden.events WHERE kind = 'carts'"
                                 ).fetchone()[0] > 0


def test_traits_go_stale_when_the_profiles_are_rebuilt(demo: Workspace) -> None:
    cur = demo.cursor()
    assert not traits.is_stale(cur)
    golden.build(demo)
    assert traits.is_stale(cur)
    refreshes = len(cur.execute("SELECT * FROM meta.trait_refreshes").fetchall())
    result = traits.refresh(demo)
    assert not traits.is_stale(cur)
    assert result.refresh_id == refreshes + 1
    assert result.people == cur.execute("SELECT count(*) FROM golden.profiles").fetchone()[0]
    assert result.events == cur.execute("SELECT count(*) FROM golden.events").fetchone()[0]
    traits.declare(demo, MINE[:1])
    assert traits.is_stale(cur)


def test_refresh_before_any_profile_is_a_clear_message(ws: Workspace) -> None:
    with pytest.raises(InputError, match="unified profiles"):
        traits.refresh(ws)
