"""Clerical review: labels on predicted pairs, and the accuracy they imply at every threshold.

A reviewer labels pairs as match, not a match or unsure; the queue offers the most uncertain
pairs first (those whose probability is nearest the threshold), which teach the most. From the
labels: precision, recall and F1 at every threshold and a suggested threshold. Without labels the
same curve is estimated from the model's own probabilities, and says so.

Pairs are keyed by the two records' ``unique_id`` in a fixed order (the smaller first), so a
label survives a re-run of matching whatever order the new prediction lists the pair in.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

LABELS = ("match", "non_match", "unsure")
PREDICTIONS = "match.predictions"
RECORDS = "match.records"
SHOWN_FIELDS = ("source", "first_name", "last_name", "email", "phone", "birth_date", "street",
                "postcode", "city")


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold and the accuracy expected there; ``estimated`` when no labels back it."""

    threshold: float
    precision: float
    recall: float
    f1: float
    estimated: bool
    labelled_pairs: int


def ordered(id_a: str, id_b: str) -> tuple[str, str]:
    """A pair's key: its two ids, smaller first.

    Example:
        >>> ordered("2:W9", "1:C4")
        ('1:C4', '2:W9')
    """
    return (id_a, id_b) if id_a <= id_b else (id_b, id_a)


def save_label(ws: Workspace, id_a: str, id_b: str, label: str, by: str = "") -> None:
    """Store (or replace) a reviewer's label on a pair."""
    if label not in LABELS:
        raise InputError(f"label {label!r}: use one of {', '.join(LABELS)}")
    left, right = ordered(id_a, id_b)
    with ws.transaction() as cur:
        cur.execute("DELETE FROM meta.match_labels WHERE unique_id_l = ? AND unique_id_r = ?",
                    [left, right])
        cur.execute("INSERT INTO meta.match_labels (unique_id_l, unique_id_r, label, "
                    "labelled_by) VALUES (?, ?, ?, ?)", [left, right, label, by or None])
        ws.audit(cur, "label", label)


def label_counts(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """How many pairs carry each label."""
    rows = dict(cur.execute("SELECT label, count(*) FROM meta.match_labels GROUP BY label")
                .fetchall())
    return {label: rows.get(label, 0) for label in LABELS}


def _side(alias: str, side: str) -> str:
    return ", ".join(f"{alias}.{field} AS {field}_{side}" for field in SHOWN_FIELDS)


def review_queue_sql() -> str:
    """Unlabelled predicted pairs, nearest the threshold first, with both records side by side."""
    return (
        f"SELECT p.unique_id_l, p.unique_id_r, p.match_probability, p.match_weight, "  # noqa: S608
        f"{_side('l', 'l')}, {_side('r', 'r')} "
        f"FROM {PREDICTIONS} p "
        f"JOIN {RECORDS} l ON l.unique_id = p.unique_id_l "
        f"JOIN {RECORDS} r ON r.unique_id = p.unique_id_r "
        "ANTI JOIN meta.match_labels m ON m.unique_id_l = least(p.unique_id_l, p.unique_id_r) "
        "  AND m.unique_id_r = greatest(p.unique_id_l, p.unique_id_r) "
        "ORDER BY abs(p.match_probability - $threshold), p.unique_id_l, p.unique_id_r "
        "LIMIT $size"
    )


def review_queue(cur: duckdb.DuckDBPyConnection, threshold: float, size: int = 20) -> pd.DataFrame:
    """The next pairs to review: the ones the model is least sure about at ``threshold``."""
    return cur.execute(review_queue_sql(), {"threshold": threshold, "size": size}).df()


def _labelled_predictions(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Labelled match / non-match pairs with their probability (0 when not predicted at all)."""
    return cur.execute(
        f"SELECT m.label = 'match' AS is_match, coalesce(p.match_probability, 0.0) "  # noqa: S608
        "AS probability FROM meta.match_labels m "
        f"LEFT JOIN {PREDICTIONS} p "
        "  ON least(p.unique_id_l, p.unique_id_r) = m.unique_id_l "
        " AND greatest(p.unique_id_l, p.unique_id_r) = m.unique_id_r "
        "WHERE m.label IN ('match', 'non_match')").df()


def _curve(scores: np.ndarray, weights_match: np.ndarray, weights_non: np.ndarray,
           thresholds: np.ndarray) -> pd.DataFrame:
    """Precision, recall and F1 when pairs scoring at or above each threshold are linked."""
    order = np.argsort(-scores)
    scores, weights_match, weights_non = scores[order], weights_match[order], weights_non[order]
    cum_true = np.concatenate([[0.0], np.cumsum(weights_match)])
    cum_false = np.concatenate([[0.0], np.cumsum(weights_non)])
    kept = np.searchsorted(-scores, -thresholds, side="right")  # pairs with score >= t
    true_pos, false_pos = cum_true[kept], cum_false[kept]
    total_true = weights_match.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(true_pos + false_pos > 0, true_pos / (true_pos + false_pos), 1.0)
        recall = np.where(total_true > 0, true_pos / total_true, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return pd.DataFrame({"threshold": thresholds, "precision": precision, "recall": recall,
                         "f1": f1})


THRESHOLDS = np.round(np.linspace(0.01, 0.99, 99), 2)


def accuracy_curve(cur: duckdb.DuckDBPyConnection) -> tuple[pd.DataFrame, bool]:
    """Precision, recall and F1 at every threshold, and whether they are only estimates.

    With at least one labelled match and one labelled non-match, the curve comes from the
    labels. Otherwise it is Splink's own view: each predicted pair counts as a match with its
    probability (expected precision and recall), which is only as good as the model.
    """
    labelled = _labelled_predictions(cur)
    if labelled["is_match"].any() and (~labelled["is_match"]).any():
        scores = labelled["probability"].to_numpy(float)
        is_match = labelled["is_match"].to_numpy(bool).astype(float)
        return _curve(scores, is_match, 1 - is_match, THRESHOLDS), False
    scores = cur.execute(f"SELECT match_probability FROM {PREDICTIONS}").fetchnumpy()[  # noqa: S608
        "match_probability"].astype(float)
    return _curve(scores, scores, 1 - scores, THRESHOLDS), True


def suggest_threshold(cur: duckdb.DuckDBPyConnection) -> ThresholdChoice:
    """The threshold with the best F1 (the highest such threshold when several tie)."""
    curve, estimated = accuracy_curve(cur)
    best = curve.iloc[::-1]["f1"].idxmax()
    row = curve.loc[best]
    labelled = sum(label_counts(cur)[label] for label in ("match", "non_match"))
    return ThresholdChoice(float(row["threshold"]), float(row["precision"]),
                           float(row["recall"]), float(row["f1"]), estimated, labelled)


def labelled_pairs(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Labelled match / non-match pairs in Splink's pairwise-labels layout, for retraining."""
    return cur.execute(
        f"SELECT m.unique_id_l, m.unique_id_r, l.source_dataset AS source_dataset_l, "  # noqa: S608
        "r.source_dataset AS source_dataset_r, "
        "CASE m.label WHEN 'match' THEN 1.0 ELSE 0.0 END AS clerical_match_score "
        f"FROM meta.match_labels m JOIN {RECORDS} l ON l.unique_id = m.unique_id_l "
        f"JOIN {RECORDS} r ON r.unique_id = m.unique_id_r "
        "WHERE m.label IN ('match', 'non_match')").df()


def has_predictions(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether matching has run, so there are pairs to review."""
    return bool(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'match' AND table_name IN ('predictions', 'records')").fetchone()[0]
        == 2)


def side_by_side(pair: pd.Series) -> pd.DataFrame:
    """A queued pair as two text columns (A, B), one row per shown field, '—' when empty."""
    def text(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
            return "—"
        return value.date().isoformat() if isinstance(value, pd.Timestamp) else str(value)

    return pd.DataFrame({side: [text(pair[f"{field}_{side}"]) for field in SHOWN_FIELDS]
                         for side in ("l", "r")}, index=list(SHOWN_FIELDS))


def prediction_row(cur: duckdb.DuckDBPyConnection, id_a: str, id_b: str) -> dict[str, object]:
    """A pair's row of the predictions (either order), or an empty dict."""
    result = cur.execute(
        f"SELECT * FROM {PREDICTIONS} WHERE (unique_id_l = ? AND unique_id_r = ?) "  # noqa: S608
        "OR (unique_id_l = ? AND unique_id_r = ?)", [id_a, id_b, id_b, id_a])
    row = result.fetchone()
    return dict(zip([c[0] for c in result.description], row, strict=True)) if row else {}


def never_link(ws: Workspace, id_a: str, id_b: str, reason: str = "") -> None:
    """Record that two records must never be linked; every later run separates them."""
    left, right = ordered(id_a, id_b)
    with ws.transaction() as cur:
        cur.execute("DELETE FROM meta.never_link WHERE unique_id_l = ? AND unique_id_r = ?",
                    [left, right])
        cur.execute("INSERT INTO meta.never_link (unique_id_l, unique_id_r, reason) "
                    "VALUES (?, ?, ?)", [left, right, reason or None])
        cur.execute("DELETE FROM meta.match_labels WHERE unique_id_l = ? AND unique_id_r = ?",
                    [left, right])
        cur.execute("INSERT INTO meta.match_labels (unique_id_l, unique_id_r, label) "
                    "VALUES (?, ?, 'non_match')", [left, right])
        ws.audit(cur, "never link", "pair added")
