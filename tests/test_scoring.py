"""Predictive scores on the demo company: honest held-out figures, no peeking at the future,
a score for everyone, readable clusters, stored models, usable in segments."""
from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cdp_core import golden, i18n, scoring, segments, traits
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace


def _ready(ws: Workspace) -> Workspace:
    golden.build(ws)
    traits.refresh(ws)
    return ws


@pytest.fixture(scope="module")
def trained(matched_demo: Path, tmp_path_factory: pytest.TempPathFactory,
            ) -> Iterator[tuple[Workspace, scoring.TrainingResult]]:
    """The matched demo with profiles, traits and the three models trained once."""
    copy = tmp_path_factory.mktemp("scored") / "demo.duckdb"
    shutil.copyfile(matched_demo, copy)
    ws = _ready(Workspace.open(copy))
    yield ws, scoring.train(ws)
    ws.close()


def test_propensity_ranks_the_held_out_period_well(trained) -> None:
    ws, result = trained
    cur = ws.cursor()
    metrics = result.metrics["propensity"]
    reference = golden.reference_date(cur)
    test_as_of = reference - timedelta(days=30)
    assert metrics["test"]["as_of"] == test_as_of.isoformat()
    assert metrics["train"]["as_of"] == (reference - timedelta(days=60)).isoformat()
    # The test labels, counted here from the events: people known at the cutoff who ordered
    # in the 30 days after it.
    truth = cur.execute(
        "SELECT p.person_id, coalesce(max(e.event_at > ? AND e.kind = 'orders'), false) AS bought, "
        "count(*) FILTER (e.kind = 'orders' AND e.event_at <= ? AND e.event_at > ? - "
        "INTERVAL 365 DAY) AS orders_year FROM golden.profiles p LEFT JOIN golden.events e "
        "USING (person_id) GROUP BY ALL HAVING min(e.event_at) <= ? OR "
        "any_value(p.created_at) <= ?",
        [test_as_of, test_as_of, test_as_of, test_as_of, test_as_of]).df()
    assert metrics["test"]["population"] == len(truth)
    assert metrics["test"]["positives"] == int(truth["bought"].sum())
    # Demo people have a steady buying appetite, so the past year's orders already rank the
    # next month well; the model must do at least about as well, and clearly beat chance.
    baseline = roc_auc_score(truth["bought"], truth["orders_year"])
    assert metrics["auc"] > 0.65
    assert metrics["auc"] > baseline - 0.05
    assert metrics["precision_top_decile"] > 2 * metrics["base_rate"]
    deciles = pd.DataFrame(metrics["deciles"])
    assert list(deciles["decile"]) == list(range(1, 11))
    assert deciles["people"].sum() == len(truth)
    assert deciles["positives"].sum() == metrics["test"]["positives"]
    assert deciles["lift"].iloc[0] > deciles["lift"].iloc[-1]
    points = pd.DataFrame(metrics["calibration"])
    assert points["predicted"].between(0, 1).all() and points["observed"].between(0, 1).all()
    assert points["predicted"].is_monotonic_increasing


def test_churn_is_measured_among_recent_buyers(trained) -> None:
    ws, result = trained
    metrics = result.metrics["churn"]
    cur = ws.cursor()
    as_of = golden.reference_date(cur) - timedelta(days=90)
    recent_buyers, stopped = cur.execute(
        "SELECT count(*), count(*) FILTER (NOT later) FROM (SELECT person_id, "
        "bool_or(event_at > ?) AS later, bool_or(event_at <= ? AND event_at > ? - "
        "INTERVAL 365 DAY) AS recent FROM golden.events WHERE kind = 'orders' GROUP BY ALL) "
        "WHERE recent", [as_of, as_of, as_of]).fetchone()
    assert (metrics["test"]["population"], metrics["test"]["positives"]) == (recent_buyers,
                                                                               stopped)
    assert metrics["auc"] > 0.5


def test_features_as_of_a_date_ignore_later_events(matched_ws: Workspace) -> None:
    cur = _ready(matched_ws).cursor()
    as_of = golden.reference_date(cur) - timedelta(days=30)
    before = scoring.features(cur, as_of)
    person = before.loc[before["orders_total"] > 0, "person_id"].iloc[0]

    def add(kind: str, at: object, amount: float) -> None:
        cur.execute("INSERT INTO golden.events (person_id, source, kind, channel_group, "
                    "event_id, event_at, amount, props) VALUES (?, 'test', ?, 'web', ?, ?, ?, "
                    "MAP {'a_repondu': '1'})", [person, kind, f"x{kind}{at}", at, amount])

    for kind in ("orders", "carts", "contacts", "campaign_sends"):
        add(kind, as_of + timedelta(seconds=1), 999.0)
    after = scoring.features(cur, as_of)
    pd.testing.assert_frame_equal(before, after)
    add("orders", as_of - timedelta(days=1), 999.0)  # the same order a day earlier does count
    changed = scoring.features(cur, as_of).set_index("person_id").loc[person]
    was = before.set_index("person_id").loc[person]
    assert changed["orders_30d"] == was["orders_30d"] + 1
    assert changed["revenue_30d"] == pytest.approx(was["revenue_30d"] + 999.0)
    assert changed["recency_days"] == pytest.approx(1.0)


def test_everyone_gets_scores_in_range(trained) -> None:
    ws, _ = trained
    cur = ws.cursor()
    frame = cur.execute("SELECT p.person_id, p.orders, s.* EXCLUDE (person_id) "
                        "FROM golden.profiles p LEFT JOIN golden.scores s USING (person_id)").df()
    assert cur.execute("SELECT count(*) FROM golden.scores").fetchone()[0] == len(frame)
    assert frame["purchase_propensity"].between(0, 1).all()  # no NULL either
    never = frame["orders"] == 0
    assert frame.loc[never, "churn_risk"].isna().all()
    assert frame.loc[~never, "churn_risk"].between(0, 1).all()
    assert (frame.loc[never, "behaviour_cluster"] == scoring.NO_PURCHASE).all()
    assert (frame.loc[never, "behaviour_label"] == "No purchase yet").all()
    # Regular buyers are more likely to buy again than people who never bought.
    assert (frame.loc[frame["orders"] >= 3, "purchase_propensity"].mean()
            > 2 * frame.loc[never, "purchase_propensity"].mean())


def test_behaviour_clusters_read_true_and_differ(trained) -> None:
    ws, result = trained
    cur = ws.cursor()
    metrics = result.metrics["behaviour"]
    found = cur.execute(
        "SELECT s.behaviour_cluster, s.behaviour_label, count(*) AS people, "
        "median(p.days_since_last_purchase) AS recency, avg(p.orders_web / p.orders) AS web "
        "FROM golden.scores s JOIN golden.profiles p USING (person_id) WHERE p.orders > 0 "
        "GROUP BY ALL ORDER BY 1").df()
    assert list(found["behaviour_cluster"]) == [1, 2, 3, 4, 5]
    assert found["behaviour_label"].is_unique
    for row in found.itertuples():
        assert re.fullmatch(r"[A-Z][a-z-]+( [a-z-]+)+(, [a-z -]+)+( \(\d\))?",
                            row.behaviour_label), row.behaviour_label
        # The words match the members, measured here from the profiles.
        if row.behaviour_label.startswith("Recent "):
            assert row.recency <= scoring.RECENT_DAYS
        if row.behaviour_label.startswith("Lapsed "):
            assert row.recency > scoring.LAPSED_DAYS
        if ", web," in f"{row.behaviour_label},":
            assert row.web >= 0.75
        if ", store," in f"{row.behaviour_label},":
            assert row.web <= 0.25
    stored = {c["cluster"]: c for c in metrics["clusters"]}
    assert {k: stored[k]["people"] for k in found["behaviour_cluster"]} == dict(
        zip(found["behaviour_cluster"], found["people"], strict=True))
    centres = scoring.load_model(cur, "behaviour")[-1].cluster_centers_
    distances = np.linalg.norm(centres[:, None] - centres[None, :], axis=2)
    assert distances[~np.eye(len(centres), dtype=bool)].min() > 0.5  # standardised units
    assert -1 <= metrics["silhouette"] <= 1
    french = scoring.cluster_label(stored[1]["codes"], "fr")
    assert french != stored[1]["label"] and "{" not in french
    assert scoring.cluster_label({"value": "no_purchase"}, "fr") == i18n.t(
        "scores.cluster.no_purchase", "fr")


def test_models_and_metrics_are_stored_and_loadable(trained) -> None:
    ws, result = trained
    cur = ws.cursor()
    rows = cur.execute("SELECT kind, params, metrics FROM meta.models WHERE active "
                       "ORDER BY kind").fetchall()
    assert [r[0] for r in rows] == ["behaviour", "churn", "propensity"]
    latest = scoring.latest_metrics(cur)
    assert latest["propensity"]["auc"] == json.loads(rows[2][2])["auc"]
    assert json.loads(rows[2][1])["horizon_days"] == 30
    # The stored model gives back the scores stored for today.
    model = scoring.load_model(cur, "propensity")
    today = scoring.features(cur, golden.reference_date(cur))
    stored = cur.execute("SELECT person_id, purchase_propensity FROM golden.scores").df()
    merged = today.merge(stored, on="person_id")
    assert np.allclose(model.predict_proba(merged[list(scoring.FEATURES)])[:, 1],
                       merged["purchase_propensity"])
    audit = cur.execute("SELECT detail FROM meta.audit_log WHERE action = 'scores trained'"
                        ).fetchall()
    assert len(audit) == 1
    person_ids = set(stored["person_id"])
    assert not any(token in person_ids for token in re.split(r"[ =]", audit[0][0]))
    assert scoring.has_scores(cur)


def test_training_twice_keeps_one_active_model_per_kind(matched_ws: Workspace) -> None:
    ws = _ready(matched_ws)
    first = scoring.train(ws)
    second = scoring.train(ws)
    cur = ws.cursor()
    active = cur.execute("SELECT kind, model_id FROM meta.models WHERE active ORDER BY kind"
                         ).fetchall()
    assert dict(active) == second.model_ids
    assert cur.execute("SELECT count(*) FROM meta.models").fetchone()[0] == 6
    assert set(first.model_ids.values()).isdisjoint(second.model_ids.values())
    # The same data and random states give the same figures.
    assert first.metrics["propensity"]["auc"] == second.metrics["propensity"]["auc"]


def test_segments_can_use_the_scores(trained) -> None:
    ws, _ = trained
    cur = ws.cursor()
    scores = cur.execute("SELECT * FROM golden.scores").df()
    assert segments.size(cur, {"field": "purchase_propensity", "op": "gt", "value": 0.5}
                         ).members == int((scores["purchase_propensity"] > 0.5).sum())
    label = scores.loc[scores["behaviour_cluster"] == 1, "behaviour_label"].iloc[0]
    rule = {"all": [{"field": "behaviour_label", "op": "eq", "value": label},
                    {"field": "churn_risk", "op": "lt", "value": 0.5}]}
    expected = (scores["behaviour_label"] == label) & (scores["churn_risk"] < 0.5)
    assert segments.size(cur, rule).members == int(expected.sum())


def test_clear_errors_before_traits_and_with_too_few_buyers(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    with pytest.raises(InputError, match="refresh the traits first"):
        scoring.train(matched_ws)
    traits.refresh(matched_ws)
    with pytest.raises(InputError, match=r"only \d+ people bought in the 1 days .* at least 20"):
        scoring.train(matched_ws, horizon_days=1)
    assert not scoring.has_scores(matched_ws.cursor())


def test_a_failure_while_saving_changes_nothing(matched_ws: Workspace,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ready(matched_ws)

    def broken(_model: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(scoring.pickle, "dumps", broken)
    with pytest.raises(RuntimeError):
        scoring.train(ws)
    cur = ws.cursor()
    assert not scoring.has_scores(cur)
    assert cur.execute("SELECT count(*) FROM meta.models").fetchone()[0] == 0
