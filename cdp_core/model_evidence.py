"""A trained model's evidence as tables: what each comparison level is worth.

Splink draws these charts itself; the workbench reads them off the model JSON so the pages can
show them in the same style as every other chart and a notebook can print the same numbers.

Example:
    >>> model = {"comparisons": [{"output_column_name": "email", "comparison_levels": [
    ...     {"is_null_level": True, "label_for_charts": "null"},
    ...     {"label_for_charts": "Exact", "m_probability": 0.8, "u_probability": 0.001},
    ...     {"label_for_charts": "Else", "m_probability": 0.2, "u_probability": 0.999}]}]}
    >>> weights_table(model)[["level", "match_weight"]].round(2).values.tolist()
    [['Exact', 9.64], ['Else', -2.32]]
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd


def weights_table(splink_model: dict[str, Any]) -> pd.DataFrame:
    """One row per non-null comparison level: m, u and the match weight log2(m / u)."""
    rows = []
    for comparison in splink_model.get("comparisons", []):
        for level in comparison.get("comparison_levels", []):
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            weight = math.log2(m / u) if m and u else float("nan")
            rows.append({"comparison": comparison.get("output_column_name", ""),
                         "level": level.get("label_for_charts", ""),
                         "m_probability": m, "u_probability": u, "match_weight": weight})
    return pd.DataFrame(rows, columns=["comparison", "level", "m_probability", "u_probability",
                                       "match_weight"])


def prior_weight(splink_model: dict[str, Any]) -> float:
    """The starting weight before any comparison: log2 of the prior odds of a match."""
    prior = splink_model.get("probability_two_random_records_match") or 0.0
    return math.log2(prior / (1 - prior)) if 0 < prior < 1 else float("nan")


def _level_for(comparison: dict[str, Any], gamma: int) -> dict[str, Any] | None:
    """The level a gamma value stands for: Splink numbers non-null levels from the last (0)."""
    levels = [lvl for lvl in comparison.get("comparison_levels", [])
              if not lvl.get("is_null_level")]
    if gamma < 0 or gamma >= len(levels):
        return None
    return levels[len(levels) - 1 - gamma]


def pair_waterfall(splink_model: dict[str, Any], prediction: dict[str, Any]) -> pd.DataFrame:
    """How a predicted pair's score builds up: the prior, each comparison, then the rest.

    ``prediction`` is the pair's row of ``match.predictions`` (its ``gamma_*`` columns and
    ``match_weight``). What the levels do not explain (term-frequency adjustments) is shown as
    its own step, so the steps always add up to the model's weight.
    """
    steps = [("prior", "", prior_weight(splink_model))]
    for comparison in splink_model.get("comparisons", []):
        name = comparison.get("output_column_name", "")
        gamma = prediction.get(f"gamma_{name}")
        level = _level_for(comparison, int(gamma)) if gamma is not None else None
        if level is None:
            steps.append((name, "null", 0.0))
            continue
        m, u = level.get("m_probability"), level.get("u_probability")
        steps.append((name, level.get("label_for_charts", ""),
                      math.log2(m / u) if m and u else 0.0))
    explained = sum(weight for _, _, weight in steps)
    total = prediction.get("match_weight")
    if total is not None and abs(total - explained) > 1e-6:
        steps.append(("term frequencies", "", total - explained))
    return pd.DataFrame(steps, columns=["step", "level", "match_weight"])
