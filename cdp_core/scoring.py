"""Predictive scores: purchase propensity, churn risk and behavioural clusters, honestly measured.

Models learn from the past to predict what followed, never from what they are asked to predict.
Each person's features are computed *as of* a cutoff date T in one DuckDB statement over
``golden.events`` (only events up to T) and profile facts known then (`features_sql`).

The split is by time, as the models are used: with R the data's reference date (its latest
event) and N the horizon, a model learns on features as of R − 2N with what happened in the
next N days, and is judged on features as of R − N against what really happened up to R — a
period it never saw. The figures kept (ROC AUC, precision in the top decile against the base
rate, lift by decile, calibration) are those of that held-out period. The scores written to
``golden.scores`` come from the same recipe refitted on the latest labelled window (features as
of R − N, outcomes up to R) and applied to features as of R; the metrics say so.

Behavioural clusters are k-means on standardised RFM and channel traits of the buyers, each
described in words from its members (recency, value, channel).

`train` writes ``golden.scores`` and one row per model in ``meta.models`` (parameters, metrics,
the fitted model pickled) in one transaction; earlier models of each kind become inactive.
"""
from __future__ import annotations

import json
import pickle
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import calibration_curve
from sklearn.cluster import KMeans
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from cdp_core import golden, i18n
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

Progress = Callable[[float, str], None]
KINDS = ("propensity", "churn", "behaviour")
RANDOM_STATE = 7
MIN_POSITIVES = 20  # per class and period: fewer and the AUC of the held-out period is noise
MAX_TRAIN_ROWS = 200_000  # training rows beyond this are sampled (stated in the metrics)
SELECTION_ROWS = 50_000  # the recipes are compared on at most this many training rows
SILHOUETTE_SAMPLE = 5_000
ABANDON_AFTER_HOURS = 24
NO_PURCHASE = 0  # behaviour_cluster of people who never bought
FEATURES = ("recency_days", "orders_total", "orders_30d", "orders_90d", "orders_365d",
            "revenue_30d", "revenue_90d", "revenue_365d", "web_orders", "store_orders",
            "avg_basket", "carts_30d", "abandoned_carts_30d", "contacts_90d",
            "campaign_sends_365d", "campaign_responses_365d", "tenure_days", "channels_used",
            "age_years", "account_age_days")
CLUSTER_FEATURES = ("recency_days", "orders", "revenue_365d", "avg_basket", "web_share",
                    "contacts_90d")
RECENT_DAYS, LAPSED_DAYS = 90, 365
_AS_OF = "CAST($as_of AS TIMESTAMP)"


# --------------------------------------------------------------------------- features


def features_sql(profile_columns: Collection[str]) -> str:
    """The SELECT of every person's features as of ``$as_of``, over golden.events and
    golden.profiles.

    Only events at or before ``$as_of`` are read, so nothing that happened afterwards can
    leak into a model. ``known`` says whether the person existed then (an event or a profile
    created by that date): models learn only on people known at their cutoff. Age and account
    age are NULL when no source maps the birth date or creation date (``profile_columns``).
    """
    def within(days: int) -> str:
        return f"event_at > {_AS_OF} - INTERVAL {days} DAY"

    def days_since(column: str) -> str:
        return f"epoch({_AS_OF} - {column}) / 86400"

    has_created = "created_at" in profile_columns
    created = f"CASE WHEN p.created_at <= {_AS_OF} THEN p.created_at END" if has_created \
        else "CAST(NULL AS TIMESTAMP)"
    age = (f"(CAST({_AS_OF} AS DATE) - p.birth_date) / 365.25" if "birth_date" in profile_columns
           else "NULL")
    order = "kind = 'orders'"
    sends = f"kind = 'campaign_sends' AND {within(365)}"
    aggregates = ", ".join([
        "min(event_at) AS first_event",
        f"max(event_at) FILTER ({order}) AS last_order",
        f"count(*) FILTER ({order}) AS orders_total",
        *(f"count(*) FILTER ({order} AND {within(d)}) AS orders_{d}d" for d in (30, 90, 365)),
        *(f"sum(amount) FILTER ({order} AND {within(d)}) AS revenue_{d}d" for d in (30, 90, 365)),
        f"count(*) FILTER ({order} AND channel_group = 'web') AS web_orders",
        f"count(*) FILTER ({order} AND channel_group = 'store') AS store_orders",
        f"avg(amount) FILTER ({order}) AS avg_basket",
        f"count(*) FILTER (kind = 'carts' AND {within(30)}) AS carts_30d",
        f"count(*) FILTER (kind = 'contacts' AND {within(90)}) AS contacts_90d",
        f"count(*) FILTER ({sends}) AS campaign_sends_365d",
        f"count(*) FILTER ({sends} AND props['a_repondu'] = '1') AS campaign_responses_365d",
        # web, store (orders or carts) and the call centre: how many of the three were used
        " + ".join(f"CAST(count(*) FILTER ({used}) > 0 AS INTEGER)" for used in (
            "kind IN ('orders', 'carts') AND channel_group = 'web'",
            "kind IN ('orders', 'carts') AND channel_group = 'store'", "kind = 'contacts'"))
        + " AS channels_used"])
    zero_when_none = ("orders_total", "orders_30d", "orders_90d", "orders_365d", "revenue_30d",
                      "revenue_90d", "revenue_365d", "web_orders", "store_orders", "carts_30d",
                      "contacts_90d", "campaign_sends_365d", "campaign_responses_365d",
                      "channels_used")
    columns = ", ".join(f"CAST(coalesce(a.{c}, 0) AS DOUBLE) AS {c}" for c in zero_when_none)
    return (
        f"WITH past AS (SELECT person_id, kind, channel_group, event_at, amount, props "  # noqa: S608
        f"FROM golden.events WHERE event_at <= {_AS_OF}), "
        f"agg AS (SELECT person_id, {aggregates} FROM past GROUP BY person_id), "
        "orders AS (SELECT person_id, event_at FROM past WHERE kind = 'orders'), "
        # A cart is abandoned when no order of the person follows within a day (before T).
        f"abandoned AS (SELECT c.person_id, count(*) AS n FROM (SELECT person_id, event_at "
        f"FROM past WHERE kind = 'carts' AND {within(30)}) c ASOF LEFT JOIN orders o "
        "ON c.person_id = o.person_id AND o.event_at >= c.event_at "
        f"WHERE o.event_at IS NULL OR o.event_at > c.event_at + INTERVAL {ABANDON_AFTER_HOURS} "
        "HOUR GROUP BY ALL) "
        f"SELECT p.person_id, (a.first_event IS NOT NULL OR {created} IS NOT NULL) AS known, "
        f"{days_since('a.last_order')} AS recency_days, {columns}, "
        "a.avg_basket, CAST(coalesce(ab.n, 0) AS DOUBLE) AS abandoned_carts_30d, "
        f"{days_since('a.first_event')} AS tenure_days, CAST({age} AS DOUBLE) AS age_years, "
        f"{days_since(created)} AS account_age_days "
        "FROM golden.profiles p LEFT JOIN agg a USING (person_id) "
        "LEFT JOIN abandoned ab USING (person_id) ORDER BY p.person_id")


def _profile_columns(cur: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in cur.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'golden' AND table_name = 'profiles'").fetchall()}


def features(cur: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    """Every unified person's features as of ``as_of``: person_id, known, then FEATURES."""
    frame = cur.execute(features_sql(_profile_columns(cur)), {"as_of": as_of}).df()
    return frame[["person_id", "known", *FEATURES]]


def _orders_between(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime,
                    ) -> pd.DataFrame:
    """Orders per person in (start, end]: what a model predicts."""
    return cur.execute("SELECT person_id, count(*) AS future_orders FROM golden.events "
                       "WHERE kind = 'orders' AND event_at > ? AND event_at <= ? GROUP BY ALL",
                       [start, end]).df()


# --------------------------------------------------------------------------- supervised models


def signed_log(values: np.ndarray) -> np.ndarray:
    """log(1 + |x|) with the sign kept: counts and euros have long tails a linear model dislikes."""
    return np.sign(values) * np.log1p(np.abs(values))


def candidates() -> dict[str, Pipeline]:
    """The recipes compared on the training period; the better one is judged on the test."""
    return {
        "logistic_regression": make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            FunctionTransformer(signed_log), StandardScaler(),
            LogisticRegression(C=0.3, max_iter=2000)),
        "gradient_boosting": make_pipeline(HistGradientBoostingClassifier(
            learning_rate=0.1, max_iter=100, max_leaf_nodes=15, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, random_state=RANDOM_STATE)),
    }


@dataclass(frozen=True)
class Period:
    """The people of one labelled window: features as of ``as_of``, outcome up to ``until``."""

    as_of: datetime
    until: datetime
    frame: pd.DataFrame  # person_id, FEATURES, label

    @property
    def x(self) -> pd.DataFrame:
        return self.frame[list(FEATURES)]

    @property
    def y(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype=int)

    def counts(self) -> dict[str, Any]:
        positives = int(self.y.sum())
        return {"as_of": self.as_of.isoformat(), "until": self.until.isoformat(),
                "population": len(self.frame), "positives": positives,
                "base_rate": positives / len(self.frame) if len(self.frame) else None}


@dataclass(frozen=True)
class Task:
    """A supervised score: its name, horizon, who it is about and what counts as positive."""

    kind: str
    days: int
    outcome: str  # what a positive is, in words, for errors
    opposite: str  # what a negative is

    def population(self, frame: pd.DataFrame) -> pd.Series:
        """Rows modelled: people known at the cutoff (churn: who bought in the year before)."""
        if self.kind == "churn":
            return frame["known"] & (frame["orders_365d"] > 0)
        return frame["known"]

    def label(self, future_orders: pd.Series) -> pd.Series:
        return future_orders == 0 if self.kind == "churn" else future_orders > 0


def _period(cur: duckdb.DuckDBPyConnection, task: Task, as_of: datetime) -> Period:
    """The task's people with their features as of ``as_of`` and what happened next."""
    until = as_of + timedelta(days=task.days)
    frame = features(cur, as_of)
    frame = frame[task.population(frame)].merge(_orders_between(cur, as_of, until),
                                                 on="person_id", how="left")
    frame["label"] = task.label(frame["future_orders"].fillna(0)).astype(int)
    return Period(as_of, until, frame.drop(columns=["known", "future_orders"]))


def _check_enough(task: Task, period: Period, name: str) -> None:
    """An InputError when a period has too few positives or negatives to learn or judge."""
    positives = int(period.y.sum())
    negatives = len(period.y) - positives
    if min(positives, negatives) < MIN_POSITIVES:
        found = positives if positives < MIN_POSITIVES else negatives
        what = task.outcome if positives < MIN_POSITIVES else task.opposite
        raise InputError(
            f"{task.kind}: only {found} people {what} in the {task.days} days after "
            f"{period.as_of:%Y-%m-%d} ({name} period); at least {MIN_POSITIVES} are needed. "
            "Use a longer horizon, or more history and people.")


def _sample(x: pd.DataFrame, y: np.ndarray, limit: int, rng: np.random.Generator,
            ) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows, sampled down to ``limit`` at random when there are more."""
    if len(y) <= limit:
        return x, y
    keep = np.sort(rng.choice(len(y), limit, replace=False))
    return x.iloc[keep], y[keep]


def _choose(x: pd.DataFrame, y: np.ndarray) -> tuple[str, dict[str, float]]:
    """The recipe with the best cross-validated AUC inside the training period (the test period
    plays no part in the choice)."""
    folds = StratifiedKFold(3, shuffle=True, random_state=RANDOM_STATE)
    scores = {name: float(cross_val_score(model, x, y, cv=folds, scoring="roc_auc").mean())
              for name, model in candidates().items()}
    return max(scores, key=scores.__getitem__), scores


def evaluate(y: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """The held-out figures: ROC AUC, base rate, precision and lift in the top decile, lift by
    decile (1 = highest scores) and calibration points (predicted vs observed, by quantile)."""
    n = len(y)
    base_rate = float(y.mean())
    order = np.argsort(-predicted, kind="stable")
    decile = np.empty(n, dtype=int)
    decile[order] = np.arange(n) * 10 // n + 1
    table = (pd.DataFrame({"decile": decile, "y": y, "p": predicted}).groupby("decile")
             .agg(people=("y", "size"), positives=("y", "sum"), mean_score=("p", "mean"))
             .reset_index())
    table["rate"] = table["positives"] / table["people"]
    table["lift"] = table["rate"] / base_rate
    table["capture"] = table["positives"].cumsum() / max(int(y.sum()), 1)
    observed, mean_predicted = calibration_curve(y, predicted, n_bins=10, strategy="quantile")
    top = table.iloc[0]
    return {"auc": float(roc_auc_score(y, predicted)), "base_rate": base_rate,
            "precision_top_decile": float(top["rate"]), "lift_top_decile": float(top["lift"]),
            "deciles": json.loads(table.to_json(orient="records")),
            "calibration": [{"predicted": float(p), "observed": float(o)}
                            for p, o in zip(mean_predicted, observed, strict=True)]}


@dataclass(frozen=True)
class Fitted:
    """A supervised model trained and judged: what to store and the scores of today."""

    kind: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    model: Pipeline
    scores: pd.DataFrame  # person_id, score


def _fit_task(cur: duckdb.DuckDBPyConnection, task: Task, reference_at: datetime,
              today: pd.DataFrame, report: Progress, start: float, span: float) -> Fitted:
    """Train on R − 2N, judge on R − N, refit on the latest window and score ``today`` (the
    features as of R)."""
    started = time.monotonic()
    horizon = timedelta(days=task.days)
    report(start, f"{task.kind}: features as of two dates")
    train = _period(cur, task, reference_at - 2 * horizon)
    test = _period(cur, task, reference_at - horizon)
    _check_enough(task, train, "training")
    _check_enough(task, test, "test")
    rng = np.random.default_rng(RANDOM_STATE)
    x_train, y_train = _sample(train.x, train.y, MAX_TRAIN_ROWS, rng)
    report(start + span * 0.3, f"{task.kind}: comparing models on the training period")
    chosen, cross_validated = _choose(*_sample(x_train, y_train, SELECTION_ROWS, rng))
    model = clone(candidates()[chosen]).fit(x_train, y_train)
    report(start + span * 0.6, f"{task.kind}: judging on the held-out period")
    held_out = evaluate(test.y, model.predict_proba(test.x)[:, 1])
    x_latest, y_latest = _sample(test.x, test.y, MAX_TRAIN_ROWS, rng)
    final = clone(candidates()[chosen]).fit(x_latest, y_latest)
    report(start + span * 0.8, f"{task.kind}: scoring everyone as of the reference date")
    scored = (today["orders_total"] > 0 if task.kind == "churn"
              else pd.Series(True, index=today.index))
    scores = pd.DataFrame({"person_id": today["person_id"], "score": np.nan})
    scores.loc[scored, "score"] = final.predict_proba(today.loc[scored, list(FEATURES)])[:, 1]
    metrics = {
        **held_out, "horizon_days": task.days, "model": chosen,
        "cross_validated_auc": cross_validated,
        "reference_at": reference_at.isoformat(), "train": train.counts(),
        "test": test.counts(), "rows_fitted": len(y_train),
        "sampled": len(y_train) < len(train.y),
        "scored_with": "refitted on the latest labelled window (features as of the test "
                       "date, outcomes up to the reference date); the held-out figures are "
                       "those of the same recipe trained one window earlier",
        "scored_people": int(scored.sum()),
        "scored_population": "everyone who ever bought (those whose last order is over a year "
                             "old are outside the population it learned on)"
        if task.kind == "churn" else "every unified person",
        "seconds": time.monotonic() - started}
    params = {"horizon_days": task.days, "features": list(FEATURES), "model": chosen,
              "random_state": RANDOM_STATE, "max_train_rows": MAX_TRAIN_ROWS,
              "selection_rows": SELECTION_ROWS,
              **({"population": "bought in the 365 days before the cutoff"}
                 if task.kind == "churn" else {})}
    return Fitted(task.kind, params, metrics, final, scores)


# --------------------------------------------------------------------------- behaviour clusters


def cluster_label(codes: dict[str, Any], language: str = i18n.DEFAULT_LANGUAGE) -> str:
    """A cluster's description in words, from its codes (see `_describe`), in ``language``."""
    if codes.get("value") == "no_purchase":
        return i18n.t("scores.cluster.no_purchase", language)
    words = i18n.t("scores.cluster.label", language,
                   recency=i18n.t(f"scores.cluster.recency.{codes['recency']}", language),
                   value=i18n.t(f"scores.cluster.value.{codes['value']}", language),
                   channel=i18n.t(f"scores.cluster.channel.{codes['channel']}", language))
    if codes.get("contacts"):
        words += i18n.t("scores.cluster.contacts", language)
    if codes.get("basket"):
        words += i18n.t(f"scores.cluster.basket.{codes['basket']}", language)
    if codes.get("number"):
        words += f" ({codes['number']})"
    return words


def _describe(summary: pd.DataFrame, buyers: pd.DataFrame) -> list[dict[str, Any]]:
    """Words for each cluster from its members, compared with all buyers: how recently
    (absolute: 3 months, a year), how much (relative to the buyers), through which channel
    ("web and store" when most members use both, "web or store" for a mix of single-channel
    buyers).
    Clusters that would read the same get their basket size, then a number."""
    big_revenue = buyers["revenue_365d"].quantile(0.75)
    frequent = max(buyers["orders"].quantile(0.75), 2)
    basket = buyers["avg_basket"].median()
    codes: list[dict[str, Any]] = []
    taken: set[tuple[Any, ...]] = set()
    for row in summary.itertuples():  # one row per cluster (k of them), not per person
        value = ("one_off" if row.median_orders <= 1 else
                 "big_spenders" if row.avg_revenue_365d >= big_revenue > 0 else
                 "frequent" if row.median_orders >= frequent else "occasional")
        code = {"recency": "recent" if row.median_recency_days <= RECENT_DAYS else
                "lapsing" if row.median_recency_days <= LAPSED_DAYS else "lapsed",
                "value": value,
                "channel": "web" if row.web_share >= 0.75 else
                "store" if row.web_share <= 0.25 else
                "both" if row.omnichannel_share >= 0.5 else "either",
                "contacts": bool(row.avg_contacts_90d >= 1)}
        if tuple(code.values()) in taken:
            code["basket"] = "large" if row.median_basket >= basket else "small"
        if tuple(code.values()) in taken:
            code["number"] = row.cluster
        taken.add(tuple(code.values()))
        codes.append(code)
    return codes


def _behaviour(cur: duckdb.DuckDBPyConnection, clusters: int) -> Fitted:
    """k-means on the buyers' standardised (log-scaled) RFM and channel traits; clusters are
    numbered 1..k by average revenue over the year, 0 is "no purchase yet"."""
    started = time.monotonic()
    people = cur.execute(
        "SELECT p.person_id, p.orders > 0 AS buyer, "
        "CAST(p.days_since_last_purchase AS DOUBLE) AS recency_days, "
        "CAST(p.orders AS DOUBLE) AS orders, t.revenue_365d, t.avg_basket, "
        "CAST(p.orders_web AS DOUBLE) / nullif(p.orders, 0) AS web_share, "
        "CAST(t.contacts_90d AS DOUBLE) AS contacts_90d "
        "FROM golden.profiles p JOIN golden.traits t USING (person_id) ORDER BY p.person_id"
    ).df()
    buyers = people[people["buyer"].fillna(False)]
    if len(buyers) < clusters * MIN_POSITIVES:
        raise InputError(f"behaviour clusters: only {len(buyers)} people ever bought; "
                         f"{clusters} clusters need at least {clusters * MIN_POSITIVES}")
    x = buyers[list(CLUSTER_FEATURES)].fillna(0.0)
    model = make_pipeline(FunctionTransformer(signed_log), StandardScaler(),
                          KMeans(clusters, n_init=10, random_state=RANDOM_STATE))
    fit_rows = x.sample(min(len(x), MAX_TRAIN_ROWS), random_state=RANDOM_STATE)
    model.fit(fit_rows)
    raw = model.predict(x)
    transformed = model[:-1].transform(x)
    silhouette = float(silhouette_score(
        transformed, raw, sample_size=min(len(x), SILHOUETTE_SAMPLE), random_state=RANDOM_STATE))
    members = x.assign(raw=raw, omnichannel=x["web_share"].between(0, 1, inclusive="neither"))
    summary = members.groupby("raw").agg(
        people=("orders", "size"), avg_revenue_365d=("revenue_365d", "mean"),
        median_recency_days=("recency_days", "median"), median_orders=("orders", "median"),
        avg_orders=("orders", "mean"), web_share=("web_share", "mean"),
        median_basket=("avg_basket", "median"), avg_contacts_90d=("contacts_90d", "mean"),
        omnichannel_share=("omnichannel", "mean"))
    summary = summary.sort_values("avg_revenue_365d", ascending=False).reset_index()
    summary["cluster"] = np.arange(1, len(summary) + 1)
    summary["share_of_buyers"] = summary["people"] / len(x)
    summary["codes"] = _describe(summary, x)
    summary["label"] = summary["codes"].map(cluster_label)
    number = dict(zip(summary["raw"], summary["cluster"], strict=True))
    labels = dict(zip(summary["cluster"], summary["label"], strict=True))
    scores = pd.DataFrame({"person_id": people["person_id"], "cluster": NO_PURCHASE})
    scores.loc[buyers.index, "cluster"] = pd.Series(raw, index=buyers.index).map(number)
    scores["label"] = scores["cluster"].map(labels).fillna(
        cluster_label({"value": "no_purchase"}))
    no_purchase = {"cluster": NO_PURCHASE, "label": cluster_label({"value": "no_purchase"}),
                   "codes": {"value": "no_purchase"}, "people": int(len(people) - len(x)),
                   "avg_revenue_365d": 0.0, "avg_orders": 0.0}
    table = summary.drop(columns=["raw"])
    metrics = {"silhouette": silhouette, "buyers": len(x), "people": len(people),
               "rows_fitted": len(fit_rows), "sampled": len(fit_rows) < len(x),
               "clusters": [*json.loads(table.to_json(orient="records")), no_purchase],
               "seconds": time.monotonic() - started}
    params = {"clusters": clusters, "features": list(CLUSTER_FEATURES), "n_init": 10,
              "scaling": "signed log, then standardised", "random_state": RANDOM_STATE}
    return Fitted("behaviour", params, metrics, model, scores)


# --------------------------------------------------------------------------- training


@dataclass(frozen=True)
class TrainingResult:
    """What a training produced: the three models' metrics and ids, and counts only."""

    model_ids: dict[str, int]
    metrics: dict[str, dict[str, Any]]
    people: int
    seconds: float

    def summary(self) -> str:
        """One line for the command line."""
        return (f"propensity AUC {self.metrics['propensity']['auc']:.3f}, churn AUC "
                f"{self.metrics['churn']['auc']:.3f}, "
                f"{len(self.metrics['behaviour']['clusters']) - 1} behaviour clusters, "
                f"{self.people:,} people scored in {self.seconds:.1f} s")


def _require_events(cur: duckdb.DuckDBPyConnection) -> datetime:
    """The reference date, or an InputError when there is nothing to learn from yet."""
    present = {row[0] for row in cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'golden'").fetchall()}
    if not {"profiles", "events", "traits"} <= present:
        raise InputError("refresh the traits first (Traits page): scores learn from the "
                         "events and traits it computes")
    first = cur.execute("SELECT min(event_at) FROM golden.events WHERE kind = 'orders'"
                        ).fetchone()[0]
    if first is None:
        raise InputError("there are no orders in the events: scores need purchase history "
                         "(refresh the traits after adding an orders source)")
    return golden.reference_date(cur)


def _store(ws: Workspace, fitted: list[Fitted]) -> tuple[dict[str, int], int]:
    """golden.scores and the three models, in one transaction."""
    by_kind = {f.kind: f.scores for f in fitted}
    scores = by_kind["propensity"].rename(columns={"score": "purchase_propensity"}).merge(
        by_kind["churn"].rename(columns={"score": "churn_risk"}), on="person_id").merge(
        by_kind["behaviour"].rename(columns={"cluster": "behaviour_cluster",
                                             "label": "behaviour_label"}), on="person_id")
    ids: dict[str, int] = {}
    with ws.transaction() as tx:
        tx.register("new_scores", scores)
        tx.execute("CREATE OR REPLACE TABLE golden.scores AS SELECT person_id, "
                   "CAST(purchase_propensity AS DOUBLE) AS purchase_propensity, "
                   "CAST(churn_risk AS DOUBLE) AS churn_risk, "
                   "CAST(behaviour_cluster AS INTEGER) AS behaviour_cluster, "
                   "CAST(behaviour_label AS VARCHAR) AS behaviour_label FROM new_scores "
                   "ORDER BY person_id")
        tx.unregister("new_scores")
        for model in fitted:
            tx.execute("UPDATE meta.models SET active = false WHERE kind = ? AND active",
                       [model.kind])
            model_id = tx.execute("SELECT coalesce(max(model_id), 0) + 1 FROM meta.models"
                                  ).fetchone()[0]
            tx.execute("INSERT INTO meta.models (model_id, kind, params, metrics, model, active) "
                       "VALUES (?, ?, ?, ?, ?, true)",
                       [model_id, model.kind, json.dumps(model.params),
                        json.dumps(model.metrics), pickle.dumps(model.model)])
            ids[model.kind] = model_id
        ws.audit(tx, "scores trained", f"people={len(scores)} " + " ".join(
            f"{kind}_model={model_id}" for kind, model_id in ids.items()))
    return ids, len(scores)


def train(ws: Workspace, horizon_days: int = 30, churn_days: int = 90, clusters: int = 5,
          progress: Progress | None = None) -> TrainingResult:
    """Train purchase propensity, churn risk and behaviour clusters, score every person and
    store the scores and models (reads and fits first, then one transaction)."""
    started = time.monotonic()
    report = progress or (lambda _fraction, _message: None)
    for name, value, low in (("horizon", horizon_days, 1), ("churn window", churn_days, 1),
                             ("number of clusters", clusters, 2)):
        if not isinstance(value, int) or value < low:
            raise InputError(f"the {name} must be a whole number of at least {low}")
    cur = ws.cursor()
    reference_at = _require_events(cur)
    report(0.0, "features as of the reference date")
    today = features(cur, reference_at)
    fitted = [
        _fit_task(cur, Task("propensity", horizon_days, "bought", "did not buy"), reference_at,
                  today, report, 0.05, 0.4),
        _fit_task(cur, Task("churn", churn_days, "stopped buying", "bought again"), reference_at,
                  today, report, 0.45, 0.35)]
    report(0.8, "behaviour clusters")
    fitted.append(_behaviour(cur, clusters))
    report(0.95, "saving the scores and models")
    ids, people = _store(ws, fitted)
    report(1.0, "done")
    return TrainingResult(ids, {f.kind: f.metrics for f in fitted}, people,
                          time.monotonic() - started)


# --------------------------------------------------------------------------- reading back


def has_scores(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether golden.scores exists (a training has run)."""
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                            "current_database() AND schema_name = 'golden' AND "
                            "table_name = 'scores'").fetchone()[0])


def latest_metrics(cur: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """The active model's metrics per kind, with its id and training time."""
    rows = cur.execute("SELECT kind, model_id, trained_at, metrics FROM meta.models "
                       "WHERE active ORDER BY model_id").fetchall()
    return {kind: {**json.loads(metrics), "model_id": model_id, "trained_at": trained_at}
            for kind, model_id, trained_at, metrics in rows}


def load_model(cur: duckdb.DuckDBPyConnection, kind: str) -> Pipeline:
    """The active fitted model of a kind (trusted: only this workspace's trainings write it)."""
    row = cur.execute("SELECT model FROM meta.models WHERE kind = ? AND active", [kind]
                      ).fetchone()
    if row is None:
        raise InputError(f"no {kind} model has been trained yet (Scores page)")
    return pickle.loads(row[0])
