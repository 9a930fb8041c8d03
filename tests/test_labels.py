"""Clerical review: the queue, labels, and the threshold they suggest."""
from __future__ import annotations

import pytest

from cdp_core import labels
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

# (id_l, id_r, probability) of predicted pairs; records "1:a".."1:j".
PAIRS = [("1:a", "1:b", 0.99), ("1:c", "1:d", 0.95), ("1:e", "1:f", 0.8), ("1:g", "1:h", 0.62),
         ("1:i", "1:j", 0.55), ("1:a", "1:j", 0.2), ("1:c", "1:h", 0.05)]


@pytest.fixture
def predicted(ws: Workspace) -> Workspace:
    with ws.transaction() as cur:
        ids = sorted({i for pair in PAIRS for i in pair[:2]})
        cur.execute("CREATE TABLE match.records AS SELECT unique_id, 'Web' AS source, "
                    "'Web' AS source_dataset, 'Ann' AS first_name, 'Lee' AS last_name, "
                    "NULL AS email, NULL AS phone, NULL::DATE AS birth_date, NULL AS street, "
                    "NULL AS postcode, NULL AS city FROM unnest(?::VARCHAR[]) t(unique_id)",
                    [ids])
        cur.execute("CREATE TABLE match.predictions (unique_id_l VARCHAR, unique_id_r VARCHAR, "
                    "match_probability DOUBLE, match_weight DOUBLE)")
        cur.executemany("INSERT INTO match.predictions VALUES (?, ?, ?, 0)", PAIRS)
    return ws


def test_queue_offers_the_most_uncertain_pairs_first(predicted: Workspace) -> None:
    queue = labels.review_queue(predicted.cursor(), threshold=0.6, size=3)
    assert list(zip(queue["unique_id_l"], queue["unique_id_r"], strict=True)) == [
        ("1:g", "1:h"), ("1:i", "1:j"), ("1:e", "1:f")]
    assert {"first_name_l", "first_name_r", "source_l"} <= set(queue.columns)
    labels.save_label(predicted, "1:h", "1:g", "match")  # either order names the same pair
    queue = labels.review_queue(predicted.cursor(), threshold=0.6, size=3)
    assert ("1:g", "1:h") not in set(zip(queue["unique_id_l"], queue["unique_id_r"],
                                         strict=True))


def test_without_labels_the_curve_is_an_estimate(predicted: Workspace) -> None:
    choice = labels.suggest_threshold(predicted.cursor())
    assert choice.estimated and choice.labelled_pairs == 0
    assert 0 < choice.threshold < 1


def test_labels_move_the_suggested_threshold(predicted: Workspace) -> None:
    for left, right, label in [("1:a", "1:b", "match"), ("1:c", "1:d", "match"),
                               ("1:e", "1:f", "match"), ("1:g", "1:h", "non_match"),
                               ("1:i", "1:j", "non_match")]:
        labels.save_label(predicted, left, right, label)
    high = labels.suggest_threshold(predicted.cursor())
    assert not high.estimated and high.labelled_pairs == 5
    assert 0.62 < high.threshold <= 0.8 and high.f1 == pytest.approx(1.0)
    labels.save_label(predicted, "1:g", "1:h", "match")  # the reviewer changes their mind
    labels.save_label(predicted, "1:i", "1:j", "match")
    labels.save_label(predicted, "1:a", "1:j", "non_match")
    low = labels.suggest_threshold(predicted.cursor())
    assert 0.2 < low.threshold <= 0.55 < high.threshold
    assert labels.label_counts(predicted.cursor()) == {"match": 5, "non_match": 1, "unsure": 0}


def test_a_labelled_match_the_model_missed_lowers_recall(predicted: Workspace) -> None:
    labels.save_label(predicted, "1:a", "1:b", "match")
    labels.save_label(predicted, "1:x", "1:y", "match")  # never predicted: probability 0
    labels.save_label(predicted, "1:c", "1:h", "non_match")
    curve, estimated = labels.accuracy_curve(predicted.cursor())
    assert not estimated
    at_half = curve.set_index("threshold").loc[0.5]
    assert at_half["recall"] == pytest.approx(0.5) and at_half["precision"] == pytest.approx(1)


def test_never_link_is_stored_once_and_labels_the_pair(predicted: Workspace) -> None:
    labels.never_link(predicted, "1:b", "1:a", "twins")
    labels.never_link(predicted, "1:a", "1:b", "twins")
    cur = predicted.cursor()
    assert cur.execute("SELECT unique_id_l, unique_id_r FROM meta.never_link").fetchall() == [
        ("1:a", "1:b")]
    assert labels.label_counts(cur)["non_match"] == 1


def test_unknown_label_is_refused(predicted: Workspace) -> None:
    with pytest.raises(InputError, match="label 'maybe'"):
        labels.save_label(predicted, "1:a", "1:b", "maybe")
    assert labels.labelled_pairs(predicted.cursor()).empty
