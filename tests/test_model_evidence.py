"""A model's evidence read off its JSON: level weights and a pair's waterfall."""
from __future__ import annotations

import math

import pytest

from cdp_core import model_evidence

MODEL = {
    "probability_two_random_records_match": 0.001,
    "comparisons": [
        {"output_column_name": "email", "comparison_levels": [
            {"is_null_level": True, "label_for_charts": "null"},
            {"label_for_charts": "Exact", "m_probability": 0.8, "u_probability": 0.001},
            {"label_for_charts": "Else", "m_probability": 0.2, "u_probability": 0.999}]},
        {"output_column_name": "first_name", "comparison_levels": [
            {"is_null_level": True, "label_for_charts": "null"},
            {"label_for_charts": "Exact", "m_probability": 0.9, "u_probability": 0.01},
            {"label_for_charts": "Close", "m_probability": 0.08, "u_probability": 0.04},
            {"label_for_charts": "Else", "m_probability": 0.02, "u_probability": 0.95}]},
    ],
}


def test_weights_are_log2_of_m_over_u_for_every_level() -> None:
    table = model_evidence.weights_table(MODEL)
    assert table["level"].tolist() == ["Exact", "Else", "Exact", "Close", "Else"]
    assert table.loc[0, "match_weight"] == pytest.approx(math.log2(800))
    assert (table.loc[table["level"] == "Else", "match_weight"] < 0).all()


def test_waterfall_reads_gammas_and_adds_up_to_the_weight() -> None:
    prediction = {"gamma_email": -1, "gamma_first_name": 1, "match_weight": -8.0}
    steps = model_evidence.pair_waterfall(MODEL, prediction).set_index("step")
    assert steps.loc["email", "level"] == "null" and steps.loc["email", "match_weight"] == 0
    assert steps.loc["first_name", "level"] == "Close"  # gamma 1 of 3 non-null levels
    assert steps.loc["prior", "match_weight"] == pytest.approx(math.log2(0.001 / 0.999))
    assert steps["match_weight"].sum() == pytest.approx(-8.0)
