"""Identity resolution: which profile records, across and within sources, are the same person.

The pipeline is Splink's (Fellegi-Sunter with term frequencies) on the workspace's DuckDB:

1. ``match.records`` is built from the standardised profile sources (`build_match_input`);
   blocked values (placeholders, over-shared e-mails and phones) are NULL there.
2. `train` estimates u by random sampling, the prior from deterministic rules and m by EM on
   blocking sessions chosen so that every comparison is trained, or from pairwise labels.
3. `predict` scores the blocked pairs, then applies what a probability model cannot: pairs a
   deterministic rule links always link, guards veto pairs whose first names disagree (twins,
   family mailboxes) and never-link pairs are cut, even through other records. Records are
   clustered (connected components) at the threshold; ``match.predictions``,
   ``match.clusters`` and a ``meta.match_runs`` row are replaced in one transaction at the end.

Splink works in the connection's in-memory catalogue on its own cursor, so its scratch tables
never reach the workspace file. Nothing here logs or prints personal data.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules
from splink.clustering import cluster_pairwise_predictions_at_threshold

from cdp_core.blocked_values import (
    blocked_values,
    detect_blocked_values,
    remove_blocked_values,
    save_blocked_values,
)
from cdp_core.clusters import cluster_id_sql, partition, refresh_metrics
from cdp_core.errors import InputError
from cdp_core.matching_settings import (
    ARRAY_COLUMNS,
    MAX_PAIRS_PER_RECORD,
    Comparison,
    DeterministicRule,
    Guard,
    MatchSettings,
    blocking_rule,
    input_sql,
    rule_pairs_sql,
    settings_creator,
    settings_to_splink_json,
    suggest_settings,
    to_splink_settings,
)
from cdp_core.sqlutil import quote_ident
from cdp_core.workspace import CATALOG, Workspace

__all__ = [
    "Comparison", "DeterministicRule", "Guard", "MatchSettings", "Progress", "RunResult",
    "TrainedModel", "blocked_values", "blocking_analysis", "build_match_input",
    "detect_blocked_values", "export_clusters", "last_run", "load_model", "load_model_json",
    "load_settings", "m_u_parameters_chart", "match_weights_chart", "pairwise_quality", "predict",
    "recluster", "remove_blocked_values", "run_match", "save_blocked_values", "save_model",
    "save_model_json", "save_settings", "saved_labels", "settings_to_splink_json",
    "store_scored_pairs", "suggest_settings", "to_splink_settings", "too_slow", "train",
    "waterfall_chart",
]

Progress = Callable[[float, str], None]
M_FLOOR = 0.01  # the smallest m a level keeps after training: evidence, never a veto
MEMORY_CATALOG = "memory"  # the connection's own in-memory database: Splink's scratch space
PREDICTION_FLOOR = 0.5  # pairs scored at least this (or the threshold, if lower) are stored
SEED = 42
PRIOR_RECALL = 0.75  # share of true pairs the deterministic rules are assumed to find
MAX_EM_SESSIONS = 4
EM_MAX_PAIRS = 2e6
MIN_LABELS_FOR_THRESHOLD = 20
COMPARISONS_PER_SECOND = 800_000  # Splink scoring, suggested comparisons, 2 cores (measured)
RECORDS_PER_SECOND = 15_000  # input, training, rules and clustering (measured)
SLOW_SECONDS = 600
MODEL_FORMAT = "cdp-workbench-match-model"
_MODEL_TABLE = "match.model_settings"
NEVER_LINK_TABLE = f"{CATALOG}.meta.never_link"
_NOTE_SEPARATOR = "\n"


def _quiet(_fraction: float, _message: str) -> None:
    """A progress callback that reports nothing."""


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    """Report a sub-step's 0..1 progress as start..end of the whole."""
    return lambda fraction, message: progress(start + (end - start) * fraction, message)


# --------------------------------------------------------------------------- settings storage


def save_settings(ws: Workspace, settings: MatchSettings) -> None:
    """Store the user's matching settings (one current version per workspace)."""
    text = settings.validate().to_json()
    with ws.transaction() as cur:
        cur.execute("DELETE FROM meta.match_settings WHERE settings_id = 1")
        cur.execute("INSERT INTO meta.match_settings (settings_id, user_settings) VALUES (1, ?)",
                    [text])
        ws.audit(cur, "match settings", f"comparisons={len(settings.comparisons)} "
                 f"rules={len(settings.blocking_rules)}")


def load_settings(cur: duckdb.DuckDBPyConnection) -> MatchSettings | None:
    """The saved matching settings, or None when the user has saved none yet."""
    row = cur.execute("SELECT user_settings FROM meta.match_settings WHERE settings_id = 1"
                      ).fetchone()
    return MatchSettings.from_json(row[0]) if row else None


# --------------------------------------------------------------------------- match input


def build_match_input(cur: duckdb.DuckDBPyConnection,
                      settings: MatchSettings | None = None) -> int:
    """(Re)create ``match.records`` from the current profile sources; return its row count.

    The extra attributes included are those the settings use (the saved settings, or a
    suggestion, when none are given). Run it inside the caller's transaction.
    """
    chosen = settings or load_settings(cur) or suggest_settings(cur)
    sql, params = input_sql(cur, chosen.attributes)
    cur.execute("CREATE SCHEMA IF NOT EXISTS match")
    cur.execute(f"CREATE OR REPLACE TABLE match.records AS {sql}", params)
    return cur.execute("SELECT count(*) FROM match.records").fetchone()[0]


# --------------------------------------------------------------------------- Splink sessions


class _Session:
    """Splink on its own cursor, working in the in-memory catalogue of the workspace's
    connection, over a private copy of the match input; everything it made goes at the end."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, source_sql: str, params: list[Any]):
        self.cur = cur.cursor()  # Splink needs a cursor nobody else leaves results on
        self.cur.execute(f"USE {MEMORY_CATALOG}")
        self.own = cur.cursor()  # our own queries, in the same catalogue
        self.own.execute(f"USE {MEMORY_CATALOG}")
        self.tag = uuid.uuid4().hex[:12]
        self.tables: list[str] = []
        self.input = self.table("input")
        loader = cur.cursor()  # the source SQL names workspace tables: run it from there
        try:
            loader.execute(f"USE {CATALOG}")
            loader.execute(f"CREATE TABLE {MEMORY_CATALOG}.main.{self.input} AS {source_sql}",
                           params)
        finally:
            loader.close()
        count = f"SELECT count(*) FROM {self.input}"  # noqa: S608
        self.records = self.own.execute(count).fetchone()[0]
        self.db_api = DuckDBAPI(connection=self.cur)
        self.df = self.db_api.register(self.input)

    def table(self, purpose: str) -> str:
        """A fresh scratch table name, dropped when the session ends."""
        name = f"__cdp_{purpose}_{self.tag}"
        self.tables.append(name)
        return name

    def frame_table(self, purpose: str, frame: pd.DataFrame) -> str:
        """A scratch table holding a DataFrame (registered on a cursor of its own)."""
        table = self.table(purpose)
        writer = self.own.cursor()
        try:
            writer.register("frame", frame)
            writer.execute(f"CREATE TABLE {MEMORY_CATALOG}.main.{table} AS "  # noqa: S608
                           "SELECT * FROM frame")
        finally:
            writer.close()
        return table

    def linker(self, settings: SettingsCreator | dict[str, Any]) -> Linker:
        """A Linker on the session's input; Splink's own logging is kept to errors."""
        return Linker(self.df, settings, log_level=logging.ERROR)

    def close(self) -> None:
        """Drop Splink's tables and ours; close the cursors."""
        with suppress(duckdb.Error):
            self.db_api.delete_tables_created_by_splink_from_db()
        for name in self.tables:
            with suppress(duckdb.Error):
                self.own.execute(f"DROP TABLE IF EXISTS {name}")
        self.own.close()
        self.cur.close()


def _table_exists(cur: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? "
                            "AND schema_name = ? AND table_name = ?",
                            [CATALOG, schema, table]).fetchone()[0])


def _records_sql(cur: duckdb.DuckDBPyConnection, columns: Iterable[str]) -> str:
    """SELECT of some columns of the built match input.

    Raises:
        InputError: it is not built yet, or was built for settings without these columns.
    """
    if not _table_exists(cur, "match", "records"):
        raise InputError("the match input is not built yet: run matching first")
    present = {row[0] for row in cur.execute(f"DESCRIBE {CATALOG}.match.records").fetchall()}
    missing = [c for c in columns if c not in present]
    if missing:
        raise InputError(f"the match input has no column {missing[0]!r}: build it again with "
                         "these settings")
    picked = ", ".join(quote_ident(c) for c in columns)
    return f"SELECT {picked} FROM {CATALOG}.match.records"  # noqa: S608


@contextmanager
def _session(cur: duckdb.DuckDBPyConnection, source_sql: str,
             params: list[Any] | None = None) -> Iterator[_Session]:
    """A Splink session over the rows of ``source_sql``."""
    session = _Session(cur, source_sql, params or [])
    try:
        yield session
    finally:
        session.close()


# --------------------------------------------------------------------------- blocking analysis


def _rule_label(keys: list[str]) -> str:
    return " + ".join(keys)


def blocking_analysis(cur: duckdb.DuckDBPyConnection, settings: MatchSettings) -> pd.DataFrame:
    """Comparisons each blocking rule adds (marginal) and the running total (cumulative),
    counted by Splink on the current sources (a 20% sample per side above 200,000 records).

    Returns:
        One row per rule: rule, marginal, cumulative and records (the input size, for figures
        per record); ``attrs`` holds ``total`` (comparisons), ``records`` and ``warning`` (the
        `too_slow` text, or None).
    """
    settings.validate()
    sql, params = input_sql(cur, settings.attributes)
    used = ", ".join(quote_ident(c) for c in settings.used_columns())
    with _session(cur, f"SELECT {used} FROM ({sql})", params) as session:  # noqa: S608
        proportion = 1.0 if session.records <= 200_000 else 0.2
        counts = count_comparisons_from_blocking_rules(
            session.df, blocking_rules=[blocking_rule(r) for r in settings.blocking_rules],
            link_type=settings.link_type, unique_id_column_name="unique_id",
            source_dataset_column_name="source_dataset", record_sample_proportion=proportion)
        records = session.records
    frame = pd.DataFrame({
        "rule": [_rule_label(r) for r in settings.blocking_rules],
        "marginal": [int(c["marginal_comparison_count"]) for c in counts],
        "cumulative": [int(c["cumulative_comparison_count"]) for c in counts],
        "records": records,
    })
    total = int(frame["cumulative"].iloc[-1])
    frame.attrs.update(total=total, records=records, warning=too_slow(total, records))
    return frame


def estimated_seconds(total: int, records: int) -> float:
    """Rough end-to-end seconds on this 2-core machine for a run making ``total`` comparisons
    (rates measured with benchmarks/matching.py)."""
    return total / COMPARISONS_PER_SECOND + records / RECORDS_PER_SECOND


def too_slow(total: int, records: int) -> str | None:
    """A warning when blocking makes too many comparisons to score in reasonable time."""
    seconds = estimated_seconds(total, records)
    per_record = total / max(records, 1)
    if seconds <= SLOW_SECONDS and per_record <= MAX_PAIRS_PER_RECORD:
        return None
    return (f"{total:,} comparisons ({per_record:,.0f} per record) would take about "
            f"{seconds / 60:,.0f} minutes: make the broadest blocking rules stricter "
            "(add a second key) or remove them")


# --------------------------------------------------------------------------- training


@dataclass
class TrainedModel:
    """A trained Splink model with the user settings (rules, guards) it was trained from."""

    settings: MatchSettings
    splink_model: dict[str, Any]
    threshold: float
    trained_with_labels: bool = False
    model_id: int | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The model file: Splink's JSON under ``splink_model``, the settings beside it."""
        return json.dumps({"format": MODEL_FORMAT, "version": 1, "threshold": self.threshold,
                           "trained_with_labels": self.trained_with_labels,
                           "notes": self.notes, "settings": self.settings.to_dict(),
                           "splink_model": self.splink_model}, indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TrainedModel:
        """A model from `to_json` text.

        Raises:
            InputError: the text is not a workbench model file.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"the model file is not valid JSON: {exc.msg}") from None
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise InputError("not a workbench matching model: export one from the matching "
                             "page or with save_model_json")
        try:
            return cls(MatchSettings.from_dict(data["settings"]), dict(data["splink_model"]),
                       float(data["threshold"]), bool(data.get("trained_with_labels")),
                       notes=[str(note) for note in data.get("notes", [])])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"the model file is incomplete: {exc}") from None


_DERIVED_FROM = {"email_user": {"email_key"}, "name_grams": {"last_name_key", "email_key"}}


def _roots(columns: Iterable[str]) -> set[str]:
    """Columns with those they derive from (an e-mail user part is part of the e-mail key)."""
    return {root for c in columns for root in {c, *_DERIVED_FROM.get(c, set())}}


def _household_safe(settings: MatchSettings, rule: list[str]) -> list[str]:
    """The rule made to keep households apart when guards are set: unless it is keyed on a
    column the guards trust (a phone), it also requires the guarded column (the first name),
    so EM never sees a family mailbox or twins as one block and learns them as matches."""
    trusted = {col for guard in settings.guards for name in guard.unless
               for col in settings.comparison(name).columns}
    guarded = [guard.column for guard in settings.guards
               if guard.column not in rule and not trusted & set(rule)]
    return [*rule, *dict.fromkeys(guarded)]


def _training_rules(settings: MatchSettings, session: _Session) -> list[list[str]]:
    """EM sessions: the user's, or the plain blocking rules (household-safe) in order until
    every comparison is estimated in some session that does not block on its columns, then
    (up to MAX_EM_SESSIONS) the next specific ones, making at most one pair per record, so
    each m is the median of several estimates. Broad blocks (same first name and surname,
    among thousands of namesakes) hold too few matches for EM to tell them apart."""
    if settings.training_rules:
        return settings.training_rules
    untrained = {c.name for c in settings.comparisons}
    plain = [_household_safe(settings, r) for r in settings.blocking_rules
             if not set(r) & ARRAY_COLUMNS]
    plain = [r for i, r in enumerate(plain) if r not in plain[:i]]
    chosen: list[list[str]] = []
    for rule in plain:
        trains = {c.name for c in settings.comparisons
                  if not _roots(c.columns) & _roots(rule)}
        if trains & untrained:
            chosen.append(rule)
            untrained -= trains
    for rule in plain:
        if len(chosen) >= MAX_EM_SESSIONS:
            break
        pairs = session.own.execute(rule_pairs_sql(session.input, rule)).fetchone()[0]
        if rule not in chosen and pairs <= session.records:
            chosen.append(rule)
    return chosen


def _prior_rules(settings: MatchSettings, session: _Session) -> list[Any]:
    """Near-certain rules for the prior that find some pairs: each deterministic key with the
    first name, and first name, surname and birth date together."""
    rules = [[*r.keys, "first_name_key"] if "first_name_key" not in r.keys else r.keys
             for r in settings.deterministic_rules]
    rules.append(["first_name_key", "last_name_key", "birth_date"])
    kept = []
    for rule in rules:
        keys = [quote_ident(k) for k in rule]
        if not set(rule) <= settings.columns():
            continue
        found = session.own.execute(
            f"SELECT count(*) FROM (SELECT {', '.join(keys)} FROM {session.input} "  # noqa: S608
            f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)} GROUP BY ALL "
            "HAVING count(*) > 1 LIMIT 1)").fetchone()[0]
        if found:
            kept.append(block_on(*rule))
    return kept


def _untrained(model: dict[str, Any]) -> set[tuple[str, int]]:
    """(comparison, level position) of the non-null levels still without an m probability."""
    return {(c["output_column_name"], i) for c in model["comparisons"]
            for i, level in enumerate(c["comparison_levels"])
            if not level.get("is_null_level") and level.get("m_probability") is None}


def _confident_pairs(session: _Session, settings: MatchSettings) -> str:
    """Pairs of records joined through the deterministic rules (name-consistent shared
    e-mails, phones, identifiers), small groups only: near-certain matches, labelled so."""
    edges = session.table("rule_edges")
    session.own.execute(f"CREATE TABLE {edges} AS SELECT id_a AS unique_id_l, "  # noqa: S608
                        f"id_b AS unique_id_r FROM ({_rule_pairs_sql(session.input, settings)})")
    groups = cluster_pairwise_predictions_at_threshold(
        session.df, session.db_api.register(edges), session.db_api,
        node_id_column_name="unique_id").physical_name
    pairs = session.table("confident_pairs")
    session.own.execute(
        f"CREATE TABLE {pairs} AS WITH g AS (SELECT g.unique_id, g.cluster_id, "  # noqa: S608
        f"i.source_dataset, count(*) OVER (PARTITION BY g.cluster_id) AS size FROM {groups} g "
        f"JOIN {session.input} i USING (unique_id)) "
        "SELECT a.source_dataset AS source_dataset_l, a.unique_id AS unique_id_l, "
        "b.source_dataset AS source_dataset_r, b.unique_id AS unique_id_r FROM g a JOIN g b "
        f"ON a.cluster_id = b.cluster_id AND a.unique_id < b.unique_id WHERE a.size <= 10")
    return pairs


def _train_unobserved(linker: Linker, session: _Session, settings: MatchSettings,
                      model: dict[str, Any]) -> dict[str, Any]:
    """m for the levels no EM session observed (an e-mail holding the surname of a record
    without e-mail is only seen across sources EM blocks never pair), estimated from
    `_confident_pairs`; every other level keeps its EM estimate."""
    missing = _untrained(model)
    if not missing or not settings.deterministic_rules:
        return model
    linker.training.estimate_m_from_pairwise_labels(_confident_pairs(session, settings))
    estimated = linker.misc.save_model_to_json()
    for comparison, new in zip(model["comparisons"], estimated["comparisons"], strict=True):
        for position, (level, fresh) in enumerate(zip(comparison["comparison_levels"],
                                                      new["comparison_levels"], strict=True)):
            m = fresh.get("m_probability")
            if (comparison["output_column_name"], position) in missing and m:
                level["m_probability"] = m
    return model


def _neutralise_untrained(model: dict[str, Any]) -> list[str]:
    """Give levels never seen among matches, or never among random pairs, a neutral weight
    (m = u) instead of Splink's defaults, which can make an unseen level count as strong
    evidence; return notes saying which."""
    notes = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m, u = level.get("m_probability"), level.get("u_probability")
            if level.get("is_null_level") or (m is not None and u is not None):
                continue
            level["m_probability"] = level["u_probability"] = u or m or 1e-6
            among = "matches" if m is None else "random pairs"
            notes.append(f"{comparison['output_column_name']}: "
                         f"{level.get('label_for_charts')} never seen among {among} (neutral)")
    return notes


def _floor_m(model: dict[str, Any], floor: float = M_FLOOR) -> list[str]:
    """Keep every level's m at ``floor`` or more; return notes saying which were raised.

    EM on one company's data can push m to nearly zero (on the demo, no true pair has two
    different e-mails, so "other e-mail" gets m = 1e-24, a weight of -78 that no other evidence
    can outweigh). People do use several addresses; a floor keeps such a level strong evidence
    against a match, not a veto.
    """
    notes = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            m = level.get("m_probability")
            if level.get("is_null_level") or m is None or m >= floor:
                continue
            if level.get("u_probability", 0) <= floor:
                continue  # a rare level either way: its weight stays near neutral
            level["m_probability"] = floor
            notes.append(f"{comparison['output_column_name']}: {level.get('label_for_charts')}"
                         f" m raised from {m:.1e} to {floor:.0%} (no veto by one field)")
    return notes


def saved_labels(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The pairwise labels users gave on the review page: unique_id_l, unique_id_r, label."""
    return cur.execute("SELECT unique_id_l, unique_id_r, label FROM meta.match_labels").df()


def _labels_table(session: _Session, labels: pd.DataFrame) -> str:
    """Labelled pairs as Splink wants them (with source datasets and a clerical score)."""
    given = session.frame_table("labels_given", labels[labels["label"].isin(
        ["match", "non_match"])][["unique_id_l", "unique_id_r", "label"]])
    table = session.table("labels")
    session.own.execute(
        f"CREATE TABLE {table} AS SELECT l.source_dataset AS source_dataset_l, "  # noqa: S608
        "x.unique_id_l, r.source_dataset AS source_dataset_r, x.unique_id_r, "
        "CASE WHEN x.label = 'match' THEN 1.0 ELSE 0.0 END AS clerical_match_score "
        f"FROM {given} x JOIN {session.input} l ON l.unique_id = x.unique_id_l "
        f"JOIN {session.input} r ON r.unique_id = x.unique_id_r")
    return table


def _threshold_from_labels(linker: Linker, session: _Session, table: str) -> float | None:
    """The match probability with the best F1 on the labelled pairs (enough of each kind)."""
    counts = session.own.execute(
        f"SELECT count(*) FILTER (WHERE clerical_match_score = 1), "  # noqa: S608
        f"count(*) FILTER (WHERE clerical_match_score = 0) FROM {table}").fetchone()
    if min(counts) < MIN_LABELS_FOR_THRESHOLD / 2:
        return None
    curve = linker.evaluation.accuracy_analysis_from_labels_table(
        session.db_api.register(table), output_type="table", add_metrics=["f1"]
    ).as_pandas_dataframe()
    best = curve.sort_values(["f1", "match_probability"], ascending=[False, True]).iloc[0]
    return float(min(max(best["match_probability"], 0.01), 0.999))


def train(ws: Workspace, settings: MatchSettings, labels: pd.DataFrame | None = None,
          progress: Progress | None = None) -> TrainedModel:
    """Train a model on ``match.records`` and store it as the current model.

    u comes from random sampling (1 to 5 million pairs, by size), the prior from the
    deterministic rules (assumed to find 75% of true pairs), m from EM sessions (see
    `_training_rules`) and, when ``labels`` (unique_id_l, unique_id_r, label) hold matches,
    from those pairs. With 20 labels or more of both kinds the threshold is the one with the
    best F1 on them; otherwise the settings' threshold.
    """
    report = progress or _quiet
    settings.validate()
    cur = ws.cursor()
    with _session(cur, _records_sql(cur, settings.used_columns())) as session:
        linker = session.linker(settings_creator(settings))
        report(0.05, "estimating u by random sampling")
        max_pairs = min(max(30.0 * session.records, 1e6), 5e6)
        linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=SEED)
        prior = _prior_rules(settings, session)
        if prior:
            report(0.3, "estimating the share of matching pairs")
            linker.training.estimate_probability_two_random_records_match(
                prior, recall=PRIOR_RECALL)
        sessions = _training_rules(settings, session)
        for index, rule in enumerate(sessions):
            report(0.35 + 0.5 * index / max(len(sessions), 1),
                   f"estimating m, blocking on {_rule_label(rule)}")
            linker.training.estimate_parameters_using_expectation_maximisation(
                blocking_rule(rule), max_pairs=EM_MAX_PAIRS)
        threshold = settings.threshold
        with_labels = labels is not None and bool((labels["label"] == "match").any())
        if with_labels:
            report(0.9, "estimating m from labels")
            table = _labels_table(session, labels)
            matches = session.table("label_matches")
            session.own.execute(f"CREATE TABLE {matches} AS SELECT * FROM {table} "  # noqa: S608
                                "WHERE clerical_match_score = 1")
            linker.training.estimate_m_from_pairwise_labels(matches)
            threshold = _threshold_from_labels(linker, session, table) or threshold
        report(0.95, "estimating m of levels EM never saw")
        splink_model = _train_unobserved(linker, session, settings,
                                         linker.misc.save_model_to_json())
    notes = _neutralise_untrained(splink_model) + _floor_m(splink_model)
    model = TrainedModel(settings, splink_model, threshold, with_labels, notes=notes)
    report(1.0, "model trained")
    return save_model(ws, model)


def _ensure_model_table(cur: duckdb.DuckDBPyConnection) -> None:
    cur.execute("CREATE SCHEMA IF NOT EXISTS match")
    cur.execute(f"CREATE TABLE IF NOT EXISTS {_MODEL_TABLE} (model_id INTEGER PRIMARY KEY, "
                "user_settings VARCHAR NOT NULL)")


def save_model(ws: Workspace, model: TrainedModel) -> TrainedModel:
    """Store the model as the workspace's current one; return it with its model_id."""
    with ws.transaction() as cur:
        model_id = _insert_model(ws, cur, model)
    model.model_id = model_id
    return model


def _insert_model(ws: Workspace, cur: duckdb.DuckDBPyConnection, model: TrainedModel) -> int:
    """Store the model as the current one inside the caller's transaction; return its id."""
    _ensure_model_table(cur)
    model_id = cur.execute("SELECT coalesce(max(model_id), 0) + 1 FROM meta.match_models"
                           ).fetchone()[0]
    cur.execute("UPDATE meta.match_models SET is_current = false WHERE is_current")
    cur.execute("INSERT INTO meta.match_models (model_id, splink_settings, threshold, "
                "trained_with_labels, note, is_current) VALUES (?, ?, ?, ?, ?, true)",
                [model_id, json.dumps(model.splink_model), model.threshold,
                 model.trained_with_labels, _NOTE_SEPARATOR.join(model.notes) or None])
    cur.execute(f"INSERT INTO {_MODEL_TABLE} VALUES (?, ?)",  # noqa: S608
                [model_id, model.settings.to_json()])
    ws.audit(cur, "match model", f"model_id={model_id} labels={model.trained_with_labels}")
    return model_id


def load_model(cur: duckdb.DuckDBPyConnection, model_id: int | None = None) -> TrainedModel:
    """A stored model, the current one by default.

    Raises:
        InputError: there is no such model.
    """
    if not _table_exists(cur, "match", "model_settings"):
        raise InputError("no matching model yet: train one first")
    row = cur.execute(
        f"SELECT m.model_id, m.splink_settings, m.threshold, m.trained_with_labels, "  # noqa: S608
        f"s.user_settings, m.note FROM meta.match_models m JOIN {_MODEL_TABLE} s USING (model_id) "
        "WHERE (m.model_id = ? OR (? IS NULL AND m.is_current))", [model_id, model_id]
    ).fetchone()
    if row is None:
        raise InputError("no matching model yet: train one first" if model_id is None
                         else f"no matching model {model_id}")
    return TrainedModel(MatchSettings.from_json(row[4]), json.loads(row[1]), row[2], row[3],
                        row[0], row[5].split(_NOTE_SEPARATOR) if row[5] else [])


def save_model_json(model: TrainedModel, path: str | Path) -> None:
    """Write the model file another workspace can apply with ``run_match(model_json_path=)``."""
    Path(path).write_text(model.to_json(), encoding="utf-8")


def load_model_json(path: str | Path) -> TrainedModel:
    """Read a model file written by `save_model_json`."""
    return TrainedModel.from_json(Path(path).read_text(encoding="utf-8", errors="replace"))


# --------------------------------------------------------------------------- prediction


@dataclass(frozen=True)
class RunResult:
    """What a matching run produced."""

    run_id: int
    model_id: int | None
    threshold: float
    records: int
    pairs: int  # links used for clustering (at or above the threshold)
    clusters: int
    seconds: float

    def summary(self) -> str:
        """One line for the command line and the audit trail (no personal data)."""
        return (f"{self.records:,} records in {self.clusters:,} clusters ({self.pairs:,} links "
                f"at threshold {self.threshold:.3g}); run {self.run_id}, model {self.model_id}, "
                f"{self.seconds:.1f} s")


def last_run(cur: duckdb.DuckDBPyConnection) -> RunResult | None:
    """The latest matching run, or None before the first."""
    row = cur.execute(
        "SELECT run_id, model_id, threshold, records, pairs, clusters, "
        "epoch(finished_at) - epoch(started_at) FROM meta.match_runs "
        "ORDER BY run_id DESC LIMIT 1").fetchone()
    return RunResult(*row[:6], float(row[6] or 0.0)) if row else None


def _similar_sql(left: str, right: str, similarity: float) -> str:
    """The left record's ``left`` column is at least that similar to the right's ``right``."""
    return (f"jaro_winkler_similarity({quote_ident(left + '_l')}, {quote_ident(right + '_r')}) "
            f">= {float(similarity)}")


def _guard_sql(settings: MatchSettings) -> str:
    """SQL condition on a prediction row (matching columns retained): some guard vetoes it."""
    vetoes = []
    for guard in settings.guards:
        column, swap, similarity = guard.column, guard.swap_column, guard.min_similarity
        veto = f"NOT {_similar_sql(column, column, similarity)}"
        if swap:
            veto += (f" AND NOT coalesce({_similar_sql(column, swap, similarity)} AND "
                     f"{_similar_sql(swap, column, similarity)}, false)")
        lifted = " OR ".join(f"{quote_ident('gamma_' + name)} > 0" for name in guard.unless)
        vetoes.append(f"({veto} AND NOT coalesce({lifted}, false))" if lifted else veto)
    return " OR ".join(f"coalesce({veto}, false)" for veto in vetoes) or "false"


def _rule_pairs_sql(records: str, settings: MatchSettings) -> str:
    """Pairs the deterministic rules link: every record of a group of records sharing the
    keys, joined to the group's first record (a star is enough to connect the group)."""
    parts = []
    for rule in settings.deterministic_rules:
        keys = [quote_ident(k) for k in rule.keys]
        filled = " AND ".join(f"{k} IS NOT NULL" for k in keys)
        joined = " AND ".join(f"r.{k} = g.{k}" for k in keys)
        single = "HAVING count(DISTINCT first_name_key) <= 1" if rule.single_first_name else ""
        parts.append(
            f"SELECT least(r.unique_id, g.root) AS id_a, greatest(r.unique_id, g.root) AS id_b "  # noqa: S608
            f"FROM {records} r JOIN (SELECT {', '.join(keys)}, min(unique_id) AS root "
            f"FROM {records} WHERE {filled} GROUP BY ALL {single}) g ON {joined} "
            "WHERE r.unique_id <> g.root")
    return " UNION ".join(parts) or "SELECT NULL AS id_a, NULL AS id_b WHERE false"


def _never_sql(never_link: str) -> str:
    """The never-link pairs of ``never_link`` as (id_a, id_b), smallest id first."""
    return (f"SELECT DISTINCT least(unique_id_l, unique_id_r) AS id_a, "  # noqa: S608
            f"greatest(unique_id_l, unique_id_r) AS id_b FROM {never_link}")


def _edges_sql(scored: str, records: str, settings: MatchSettings,
               model: dict[str, Any], never_link: str = NEVER_LINK_TABLE) -> str:
    """Final pairs: never-link, then rules, then guards, then the model decide each one.

    Plain SQL that sqlglot also writes for Spark (`cdp_core.spark_engine`), which passes an
    empty ``never_link`` relation: reviewers' decisions are applied when its pairs come back.
    """
    gammas = [quote_ident(f"gamma_{c['output_column_name']}") for c in model["comparisons"]]
    gamma_cols = "".join(f", m.{g}" for g in gammas)
    return f"""
        WITH model AS (
            SELECT least(unique_id_l, unique_id_r) AS id_a,
                   greatest(unique_id_l, unique_id_r) AS id_b, *, ({_guard_sql(settings)})
                   AS vetoed
            FROM {scored}),
        rule AS ({_rule_pairs_sql(records, settings)}),
        never AS ({_never_sql(never_link)}),
        pairs AS (
            SELECT coalesce(m.id_a, r.id_a) AS id_a, coalesce(m.id_b, r.id_b) AS id_b,
                   r.id_a IS NOT NULL AS by_rule, m.match_probability AS model_probability,
                   m.match_weight, m.vetoed{gamma_cols}
            FROM model m FULL JOIN rule r ON m.id_a = r.id_a AND m.id_b = r.id_b)
        SELECT p.id_a AS unique_id_l, p.id_b AS unique_id_r,
               CASE WHEN n.id_a IS NOT NULL OR (p.vetoed AND NOT p.by_rule) THEN 0.0
                    WHEN p.by_rule THEN 1.0 ELSE p.model_probability END AS match_probability,
               CASE WHEN n.id_a IS NOT NULL THEN 'never_link' WHEN p.by_rule THEN 'rule'
                    WHEN p.vetoed THEN 'guard' ELSE 'model' END AS decided_by,
               p.model_probability, p.match_weight{"".join(f", p.{g}" for g in gammas)}
        FROM pairs p LEFT JOIN never n ON n.id_a = p.id_a AND n.id_b = p.id_b
    """  # noqa: S608


def _violations(cur: duckdb.DuckDBPyConnection, clusters: str) -> list[str]:
    """Clusters holding both records of a never-link pair."""
    return [row[0] for row in cur.execute(
        f"SELECT DISTINCT a.cluster_id FROM {CATALOG}.meta.never_link n "  # noqa: S608
        f"JOIN {clusters} a ON a.unique_id = n.unique_id_l "
        f"JOIN {clusters} b ON b.unique_id = n.unique_id_r WHERE a.cluster_id = b.cluster_id"
    ).fetchall()]


def _split_never_linked(session: _Session, clusters: str, edges: str,
                        threshold: float) -> None:
    """Re-cluster the clusters holding a never-link pair, strongest links first, so that the
    pair ends in separate clusters even when other records connected them."""
    own = session.own
    bad = _violations(own, clusters)
    if not bad:
        return
    nodes = {row[0] for row in own.execute(
        f"SELECT unique_id FROM {clusters} WHERE list_contains(?, cluster_id)",  # noqa: S608
        [bad]).fetchall()}
    links = own.execute(
        f"SELECT e.unique_id_l, e.unique_id_r FROM {edges} e "  # noqa: S608
        f"JOIN {clusters} c ON c.unique_id = e.unique_id_l "
        "WHERE list_contains(?, c.cluster_id) AND e.match_probability >= ? "
        "ORDER BY e.match_probability DESC, e.unique_id_l, e.unique_id_r",
        [bad, threshold]).fetchall()
    never = own.execute(f"SELECT unique_id_l, unique_id_r FROM {CATALOG}.meta.never_link"  # noqa: S608
                        ).fetchall()
    roots = partition(nodes, links, never)
    fixed = session.frame_table("split", pd.DataFrame(
        {"unique_id": list(roots), "cluster_id": [f"split:{r}" for r in roots.values()]}))
    own.execute(f"UPDATE {clusters} SET cluster_id = f.cluster_id FROM {fixed} f "  # noqa: S608
                f"WHERE {clusters}.unique_id = f.unique_id")


def _cluster(session: _Session, edges: str, threshold: float) -> str:
    """Connected components at the threshold (Splink) over the scored links and reviewers'
    must-link pairs, never-link pairs split; returns the table of unique_id, source,
    record_id, cluster_id (an opaque id stable for a cluster)."""
    linked = session.table("linked")
    session.own.execute(
        f"CREATE TABLE {linked} AS SELECT unique_id_l, unique_id_r, match_probability "  # noqa: S608
        f"FROM {edges} UNION ALL SELECT DISTINCT m.unique_id_l, m.unique_id_r, 1.0 "
        f"FROM {CATALOG}.meta.must_link m JOIN {session.input} l ON l.unique_id = m.unique_id_l "
        f"JOIN {session.input} r ON r.unique_id = m.unique_id_r")
    raw = cluster_pairwise_predictions_at_threshold(
        session.df, session.db_api.register(linked), session.db_api,
        node_id_column_name="unique_id", threshold_match_probability=threshold)
    clusters = session.table("clusters")
    session.own.execute(f"CREATE TABLE {clusters} AS SELECT unique_id, "  # noqa: S608
                        f"CAST(cluster_id AS VARCHAR) AS cluster_id FROM {raw.physical_name}")
    _split_never_linked(session, clusters, linked, threshold)
    final = session.table("final_clusters")
    smallest = "min(c.unique_id) OVER (PARTITION BY c.cluster_id)"
    session.own.execute(
        f"CREATE TABLE {final} AS SELECT c.unique_id, i.source_dataset AS source, "  # noqa: S608
        f"i.record_id, {cluster_id_sql(smallest)} AS cluster_id "
        f"FROM {clusters} c JOIN {session.input} i USING (unique_id)")
    return final


def _store_run(ws: Workspace, session: _Session, *, started: datetime, model_id: int | None,
               threshold: float, clusters: str, edges: str | None) -> RunResult:
    """Replace the result tables and record the run, all in one transaction."""
    with ws.transaction() as cur:
        return _write_run(ws, cur, session, started=started, model_id=model_id,
                          threshold=threshold, clusters=clusters, edges=edges)


def _write_run(ws: Workspace, cur: duckdb.DuckDBPyConnection, session: _Session, *,
               started: datetime, model_id: int | None, threshold: float, clusters: str,
               edges: str | None) -> RunResult:
    """Replace the result tables and record the run inside the caller's transaction."""
    own = session.own
    pairs = own.execute(f"SELECT count(*) FROM {edges or CATALOG + '.match.predictions'} "  # noqa: S608
                        "WHERE match_probability >= ?", [threshold]).fetchone()[0]
    n_clusters = own.execute(f"SELECT count(DISTINCT cluster_id) FROM {clusters}"  # noqa: S608
                             ).fetchone()[0]
    memory = f"{MEMORY_CATALOG}.main"
    if edges is not None:
        cur.execute("CREATE OR REPLACE TABLE match.predictions AS "  # noqa: S608
                    f"SELECT * FROM {memory}.{edges}")
    cur.execute("CREATE OR REPLACE TABLE match.clusters AS "  # noqa: S608
                f"SELECT * FROM {memory}.{clusters} ORDER BY cluster_id, unique_id")
    run_id = cur.execute("SELECT coalesce(max(run_id), 0) + 1 FROM meta.match_runs"
                         ).fetchone()[0]
    cur.execute("INSERT INTO meta.match_runs VALUES (?, ?, current_timestamp, ?, ?, ?, ?, ?)",
                [run_id, started, model_id, threshold, session.records, pairs, n_clusters])
    refresh_metrics(cur)
    ws.audit(cur, "match run", f"run_id={run_id} model_id={model_id} records="
             f"{session.records} pairs={pairs} clusters={n_clusters}")
    seconds = (datetime.now() - started).total_seconds()
    return RunResult(run_id, model_id, threshold, session.records, pairs, n_clusters, seconds)


def predict(ws: Workspace, model: TrainedModel, threshold: float | None = None,
            progress: Progress | None = None) -> RunResult:
    """Score ``match.records`` with the model, apply rules, guards and never-link pairs,
    cluster at the threshold (the model's by default) and store the results.

    ``match.predictions`` keeps every pair scored at least min(threshold, 0.5) with its final
    ``match_probability``, Splink's ``model_probability`` and ``match_weight``, the gamma
    columns and ``decided_by`` (model, rule, guard or never_link). Until the final transaction
    the previous results stay as they were, whatever fails.
    """
    report = progress or _quiet
    threshold = model.threshold if threshold is None else threshold
    if not 0 < threshold < 1:
        raise InputError("the threshold is a match probability between 0 and 1")
    started = datetime.now()
    cur = ws.cursor()
    with _session(cur, _records_sql(cur, model.settings.used_columns())) as session:
        report(0.05, "scoring pairs")
        linker = session.linker(model.splink_model)
        scored = linker.inference.predict(
            threshold_match_probability=min(threshold, PREDICTION_FLOOR))
        report(0.6, "applying rules and guards")
        edges = session.table("predictions")
        session.own.execute(f"CREATE TABLE {edges} AS " + _edges_sql(
            scored.physical_name, session.input, model.settings, model.splink_model))
        scored.drop_table_from_database_and_remove_from_cache()
        report(0.75, "clustering")
        clusters = _cluster(session, edges, threshold)
        report(0.95, "saving")
        result = _store_run(ws, session, started=started, model_id=model.model_id,
                            threshold=threshold, clusters=clusters, edges=edges)
    report(1.0, "done")
    return result


def store_scored_pairs(ws: Workspace, model: TrainedModel, pairs_parquet: str,
                       threshold: float) -> RunResult:
    """Store pairs another engine scored with ``model`` (Spark) as this workspace's run.

    The pairs (``match.predictions`` columns, as `cdp_core.spark_engine` writes them) are
    clustered here as `predict` clusters its own: never-link pairs cut, must-link pairs added,
    so reviewers' decisions hold. The match input is rebuilt for the model's settings, the
    model saved as the current one and the results replaced, all in one transaction.

    Raises:
        InputError: a pair names a record the workspace's current sources do not hold.
    """
    started = datetime.now()
    cur = ws.cursor()
    sql, params = input_sql(cur, model.settings.attributes)
    records = f"SELECT unique_id, source_dataset, record_id FROM ({sql})"  # noqa: S608
    with _session(cur, records, params) as session:
        edges = session.table("imported_pairs")
        never = f"({_never_sql(NEVER_LINK_TABLE)})"
        session.own.execute(
            f"CREATE TABLE {edges} AS SELECT p.* REPLACE ("  # noqa: S608
            "CASE WHEN n.id_a IS NULL THEN p.match_probability ELSE 0.0 END AS match_probability, "
            "CASE WHEN n.id_a IS NULL THEN p.decided_by ELSE 'never_link' END AS decided_by) "
            f"FROM read_parquet(?) p LEFT JOIN {never} n "
            "ON n.id_a = p.unique_id_l AND n.id_b = p.unique_id_r", [pairs_parquet])
        unknown = session.own.execute(
            f"SELECT count(*) FROM {edges} p WHERE NOT EXISTS (SELECT 1 FROM {session.input} i "  # noqa: S608
            "WHERE i.unique_id = p.unique_id_l) OR NOT EXISTS (SELECT 1 FROM "
            f"{session.input} i WHERE i.unique_id = p.unique_id_r)").fetchone()[0]
        if unknown:
            raise InputError(f"{unknown:,} pairs name records the workspace's current sources "
                             "do not hold: export the standardised records again")
        clusters = _cluster(session, edges, threshold)
        with ws.transaction() as tx:
            build_match_input(tx, model.settings)
            model.model_id = _insert_model(ws, tx, model)
            return _write_run(ws, tx, session, started=started, model_id=model.model_id,
                              threshold=threshold, clusters=clusters, edges=edges)


def recluster(ws: Workspace, threshold: float) -> RunResult:
    """Cluster the stored predictions again at another threshold, without scoring again.

    Only pairs stored by the last `predict` count (those scored min(threshold, 0.5) or more).
    """
    if not 0 < threshold < 1:
        raise InputError("the threshold is a match probability between 0 and 1")
    started = datetime.now()
    cur = ws.cursor()
    if not _table_exists(cur, "match", "predictions"):
        raise InputError("nothing to cluster yet: run matching first")
    model_id = cur.execute("SELECT model_id FROM meta.match_runs ORDER BY run_id DESC LIMIT 1"
                           ).fetchone()
    with _session(cur, _records_sql(cur, ("unique_id", "source_dataset", "record_id"))
                  ) as session:
        edges = session.table("stored_predictions")
        session.own.execute(f"CREATE TABLE {edges} AS SELECT unique_id_l, unique_id_r, "  # noqa: S608
                            f"match_probability FROM {CATALOG}.match.predictions")
        clusters = _cluster(session, edges, threshold)
        return _store_run(ws, session, started=started, model_id=model_id[0] if model_id else None,
                          threshold=threshold, clusters=clusters, edges=None)


def run_match(ws: Workspace, *, threshold: float | None = None,
              model_json_path: str | Path | None = None,
              progress: Progress | None = None) -> RunResult:
    """Match every profile record headlessly.

    Without a model file: detect blocked values (the first time only, so a user's edits to the
    list stay), take the saved settings or suggest and save them, build the input, train
    (with the saved labels, if any) and predict. With a model file: apply it as it is.
    The threshold is, in order: the argument, the one chosen from labels, the settings' (0.9).
    """
    report = progress or _quiet
    cur = ws.cursor()
    if model_json_path is None:
        report(0.0, "detecting blocked values")
        detected = cur.execute("SELECT count(*) FROM meta.blocked_values WHERE detected"
                               ).fetchone()[0]
        if not detected:
            found = detect_blocked_values(cur)
            if len(found):
                save_blocked_values(ws, found)
        settings = load_settings(cur)
        if settings is None:
            report(0.02, "suggesting settings")
            settings = suggest_settings(cur)
            save_settings(ws, settings)
        report(0.05, "building the match input")
        with ws.transaction() as tx:
            build_match_input(tx, settings)
        labels = saved_labels(cur)
        model = train(ws, settings, labels if len(labels) else None,
                      progress=_scaled(report, 0.1, 0.5))
    else:
        model = load_model_json(model_json_path)
        report(0.05, "building the match input")
        with ws.transaction() as tx:
            build_match_input(tx, model.settings)
        model = save_model(ws, model)
    return predict(ws, model, threshold, progress=_scaled(report, 0.5, 1.0))


def export_clusters(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per matched profile record: source (its name), record_id, cluster_id."""
    return cur.execute("SELECT source, record_id, cluster_id FROM match.clusters "
                       "ORDER BY cluster_id, source, record_id").df()


_QUALITY_SQL = """
    WITH t AS (SELECT c.cluster_id, g.person_id FROM match.clusters c
               JOIN demo.ground_truth g ON g.source = c.source AND g.record_id = c.record_id),
    pairs AS (SELECT (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
                      (SELECT count(*) AS n FROM t GROUP BY cluster_id, person_id)) AS correct,
                     (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
                      (SELECT count(*) AS n FROM t GROUP BY cluster_id)) AS predicted,
                     (SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM
                      (SELECT count(*) AS n FROM t GROUP BY person_id)) AS true_pairs)
    SELECT correct, predicted, true_pairs FROM pairs
"""


def pairwise_quality(cur: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``match.clusters`` against the ground truth in
    ``demo.ground_truth`` (source, record_id, person_id): a pair of records is predicted when
    they share a cluster and true when they are the same person. Only the demo company (or a
    benchmark) has a ground truth; matching itself never reads it.
    """
    correct, predicted, true_pairs = cur.execute(_QUALITY_SQL).fetchone()
    precision = correct / predicted if predicted else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "true_pairs": int(true_pairs),
            "predicted_pairs": int(predicted), "correct_pairs": int(correct)}


# --------------------------------------------------------------------------- charts


@contextmanager
def _model_linker(cur: duckdb.DuckDBPyConnection, model: TrainedModel, *,
                  rows: bool = False) -> Iterator[tuple[_Session, Linker]]:
    """A linker for charts: over the match input (``rows``) or over its empty shape."""
    source_sql = _records_sql(cur, model.settings.used_columns()) + ("" if rows else " LIMIT 0")
    with _session(cur, source_sql) as session:
        splink_model = {**model.splink_model, "retain_intermediate_calculation_columns": True}
        yield session, session.linker(splink_model)


def match_weights_chart(cur: duckdb.DuckDBPyConnection, model: TrainedModel) -> dict[str, Any]:
    """Splink's match weights chart of the model, as a Vega-Lite (Altair) spec."""
    with _model_linker(cur, model) as (_, linker):
        return linker.visualisations.match_weights_chart().chart_dict


def m_u_parameters_chart(cur: duckdb.DuckDBPyConnection, model: TrainedModel) -> dict[str, Any]:
    """Splink's m and u parameters chart of the model, as a Vega-Lite (Altair) spec."""
    with _model_linker(cur, model) as (_, linker):
        return linker.visualisations.m_u_parameters_chart().chart_dict


def waterfall_chart(cur: duckdb.DuckDBPyConnection, model: TrainedModel, unique_id_l: str,
                    unique_id_r: str) -> dict[str, Any]:
    """Splink's waterfall chart for one pair of records: how each comparison moved the score.

    Raises:
        InputError: either record is not in the match input.
    """
    with _model_linker(cur, model, rows=True) as (session, linker):
        pair = {}
        for side, unique_id in (("l", unique_id_l), ("r", unique_id_r)):
            table = session.table(f"record_{side}")
            session.own.execute(f"CREATE TABLE {table} AS SELECT * FROM {session.input} "  # noqa: S608
                                "WHERE unique_id = ?", [unique_id])
            if not session.own.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:  # noqa: S608
                raise InputError(f"record {unique_id!r} is not in the match input")
            pair[side] = session.db_api.register(table)
        scored = linker.inference.score_pair(pair["l"], pair["r"])
        return linker.visualisations.waterfall_chart(scored.as_record_list()).chart_dict
