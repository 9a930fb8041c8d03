"""Editors for matching settings: tables a business analyst can change without writing code."""
from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from cdp_core.errors import InputError
from cdp_core.matching_settings import METHODS, Comparison, DeterministicRule, MatchSettings
from ui.state import tr


def _keys(text: str) -> list[str]:
    """'last_name_key + birth_date' -> ['last_name_key', 'birth_date']."""
    return [part.strip() for part in re.split(r"[+,]", text or "") if part.strip()]


def _numbers(text: str) -> list[float]:
    try:
        return [float(part) for part in _keys(text)]
    except ValueError:
        raise InputError(f"thresholds {text!r}: give numbers between 0 and 1, e.g. 0.92, 0.8"
                         ) from None


def comparisons_editor(settings: MatchSettings, key: str) -> list[Comparison]:
    """Each comparison as a row: keep it or not, its method, columns, thresholds, TF."""
    frame = pd.DataFrame([{
        "use": True, "name": c.name, "method": c.method, "columns": " + ".join(c.columns),
        "thresholds": ", ".join(f"{t:g}" for t in c.thresholds),
        "term_frequencies": c.term_frequencies} for c in settings.comparisons])
    edited = st.data_editor(frame, key=key, hide_index=True, width="stretch", column_config={
        "use": st.column_config.CheckboxColumn(tr("matching.use"), width="small"),
        "name": st.column_config.TextColumn(tr("matching.comparison"), disabled=True),
        "method": st.column_config.SelectboxColumn(tr("matching.method"), options=METHODS,
                                                   required=True),
        "columns": st.column_config.TextColumn(tr("matching.columns")),
        "thresholds": st.column_config.TextColumn(tr("matching.thresholds")),
        "term_frequencies": st.column_config.CheckboxColumn(tr("matching.tf")),
    })
    return [Comparison(row.name, row.method, _keys(row.columns), _numbers(row.thresholds),
                       bool(row.term_frequencies))
            for row in edited.itertuples() if row.use]


def rules_editor(rules: list[list[str]], key: str, label: str) -> list[list[str]]:
    """Rules as 'column + column' lines; rows can be added and removed."""
    frame = pd.DataFrame({"keys": [" + ".join(rule) for rule in rules]})
    edited = st.data_editor(frame, key=key, hide_index=True, width="stretch", num_rows="dynamic",
                            column_config={"keys": st.column_config.TextColumn(label)})
    return [_keys(text) for text in edited["keys"].fillna("") if _keys(text)]


def deterministic_editor(rules: list[DeterministicRule], key: str) -> list[DeterministicRule]:
    """Exact-key rules that always link, with the one-first-name safeguard."""
    frame = pd.DataFrame({"keys": [" + ".join(r.keys) for r in rules],
                          "single_first_name": [r.single_first_name for r in rules]})
    edited = st.data_editor(frame, key=key, hide_index=True, width="stretch", num_rows="dynamic",
                            column_config={
                                "keys": st.column_config.TextColumn(tr("matching.rule_keys")),
                                "single_first_name": st.column_config.CheckboxColumn(
                                    tr("matching.single_first_name"))})
    return [DeterministicRule(_keys(row.keys), bool(row.single_first_name))
            for row in edited.itertuples() if _keys(row.keys or "")]
