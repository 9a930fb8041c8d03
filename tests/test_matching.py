"""Identity resolution on the demo company and FEBRL4: settings, blocking, quality, traps,
never-link pairs, model reuse, export and atomicity.

Quality is measured against the ground truth (pairs of records in one cluster vs pairs of
records of one person), never hard-coded: the floors are below what the pipeline reaches
(demo of 2,500 people: F1 about 0.95; FEBRL4: 0.998).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from splink import SettingsCreator

from benchmarks.matching import ingest_febrl
from cdp_core import catalog, labels, matching
from cdp_core.demo import build_demo
from cdp_core.errors import InputError
from cdp_core.matching_settings import Comparison, MatchSettings
from cdp_core.workspace import Workspace
from tests.conftest import snapshot

PEOPLE = 2_500


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo company workspace file, never matched: tests copy it."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo(path, n_people=PEOPLE)
    return path


def _copy(demo_file: Path, tmp_path: Path) -> Workspace:
    target = tmp_path / "copy.duckdb"
    shutil.copy(demo_file, target)
    return Workspace.open(target)


@pytest.fixture(scope="module")
def matched(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The demo company matched once with run_match (read by several tests, not changed)."""
    ws = _copy(demo_file, tmp_path_factory.mktemp("matched"))
    matching.run_match(ws)
    yield ws
    ws.close()


@pytest.fixture
def fresh(demo_file: Path, tmp_path: Path) -> Iterator[Workspace]:
    """A copy of the demo company of the test's own."""
    ws = _copy(demo_file, tmp_path)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def febrl4(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """FEBRL4 (files A and B) ingested as CSV files, its truth in demo.ground_truth."""
    folder = tmp_path_factory.mktemp("febrl4")
    ws = Workspace.open(folder / "febrl4.duckdb")
    ingest_febrl(ws, "febrl4", folder)
    yield ws
    ws.close()


def _clusters(ws: Workspace) -> dict[str, str]:
    return dict(ws.cursor().execute("SELECT unique_id, cluster_id FROM match.clusters")
                .fetchall())


# --------------------------------------------------------------------------- settings


def test_suggested_settings_compare_the_demo_fields(matched: Workspace) -> None:
    settings = matching.load_settings(matched.cursor())
    methods = {c.name: c.method for c in settings.comparisons}
    assert methods == {"first_name": "name", "last_name": "name", "email": "email",
                       "email_name": "email_name", "phone": "phone", "birth_date": "date",
                       "address": "address"}
    assert settings.comparison("first_name").term_frequencies
    assert ["email_key"] in settings.blocking_rules and ["phone"] in settings.blocking_rules
    assert ["last_name_key", "birth_date"] in settings.blocking_rules
    # the demo has households (couples, twins, family mailboxes): first names are guarded
    assert [g.column for g in settings.guards] == ["first_name_key"]
    assert settings.guards[0].unless == ["phone"]
    assert MatchSettings.from_json(settings.to_json()) == settings


def test_settings_resolve_to_loadable_splink_json(matched: Workspace) -> None:
    settings = matching.load_settings(matched.cursor())
    resolved = json.loads(matching.settings_to_splink_json(settings))
    assert resolved["link_type"] == "link_and_dedupe"
    assert [c["output_column_name"] for c in resolved["comparisons"]] == [
        c.name for c in settings.comparisons]
    assert SettingsCreator.from_path_or_dict(resolved).link_type == "link_and_dedupe"


def test_invalid_settings_are_refused(matched: Workspace) -> None:
    settings = matching.load_settings(matched.cursor())
    data = settings.to_dict()
    data["blocking_rules"].append(["no_such_column"])
    with pytest.raises(InputError, match="no_such_column"):
        MatchSettings.from_dict(data)
    settings.comparisons.append(Comparison("phone", "phone", ["phone"]))
    with pytest.raises(InputError, match="same name"):
        settings.validate()


def test_suggestion_discovers_the_identifier_and_links_febrl4(febrl4: Workspace) -> None:
    cur = febrl4.cursor()
    settings = matching.suggest_settings(cur)
    assert settings.attributes == {"x_soc_sec_id": "soc_sec_id"}
    identifier = settings.comparison("soc_sec_id")
    assert (identifier.method, identifier.columns) == ("identifier", ["x_soc_sec_id"])
    assert identifier.term_frequencies
    assert ["x_soc_sec_id"] in settings.blocking_rules
    # FEBRL people live alone: no household to guard, so no first-name guard
    assert settings.guards == []
    matching.run_match(febrl4)
    assert matching.pairwise_quality(cur)["f1"] >= 0.995


# --------------------------------------------------------------------------- blocking


def test_blocking_analysis_counts_add_up(matched: Workspace) -> None:
    cur = matched.cursor()
    settings = matching.load_settings(cur)
    analysis = matching.blocking_analysis(cur, settings)
    assert list(analysis.columns) == ["rule", "marginal", "cumulative", "records"]
    assert len(analysis) == len(settings.blocking_rules)
    assert analysis["marginal"].sum() == analysis["cumulative"].iloc[-1] == analysis.attrs["total"]
    assert analysis["cumulative"].is_monotonic_increasing
    records = cur.execute("SELECT count(*) FROM match.records").fetchone()[0]
    assert analysis.attrs["records"] == records == analysis["records"].iloc[0]
    assert analysis.attrs["total"] <= 50 * records
    assert analysis.attrs["warning"] is None
    assert "minutes" in matching.too_slow(2_000_000_000, 1_000_000)


# --------------------------------------------------------------------------- blocked values


def test_placeholders_are_detected_and_never_drive_a_link(matched: Workspace) -> None:
    cur = matched.cursor()
    found = matching.detect_blocked_values(cur)
    pairs = set(zip(found["field"], found["value"], strict=True))
    assert ("email", "test@test.com") in pairs
    assert ("phone", "0000000000") in pairs
    saved = matching.blocked_values(cur)
    assert ("email", "test@test.com") in set(zip(saved["field"], saved["value"], strict=True))
    assert cur.execute("SELECT count(*) FROM match.records WHERE email_key = 'test@test.com'"
                       ).fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM match.records "
                       "WHERE unique_id <> source_id || ':' || record_id").fetchone()[0] == 0


def test_blocked_values_can_be_added_and_removed(fresh: Workspace) -> None:
    assert matching.save_blocked_values(fresh, [("phone", "+33612345678", "shared line")],
                                        detected=False) == 1
    listed = matching.blocked_values(fresh.cursor())
    assert listed.loc[listed["value"] == "+33612345678", "detected"].tolist() == [False]
    assert matching.remove_blocked_values(fresh, [{"field": "phone",
                                                   "value": "+33612345678"}]) == 1
    with pytest.raises(InputError):
        matching.save_blocked_values(fresh, [("phone", " ")])


# --------------------------------------------------------------------------- quality


def test_demo_quality_against_the_ground_truth(matched: Workspace) -> None:
    quality = matching.pairwise_quality(matched.cursor())
    assert quality["precision"] >= 0.97
    assert quality["f1"] >= 0.92


def _different_people_sharing(cur: duckdb.DuckDBPyConnection,
                              keys: list[str]) -> tuple[int, int]:
    """(pairs of records of different people sharing the keys, of which in one cluster)."""
    same = " AND ".join(f"a.{k} = b.{k}" for k in keys)
    return cur.execute(f"""
        WITH r AS (SELECT m.*, g.person_id, c.cluster_id FROM match.records m
                   JOIN demo.ground_truth g ON g.source = m.source_dataset
                        AND g.record_id = m.record_id
                   JOIN match.clusters c USING (unique_id))
        SELECT count(*), count(*) FILTER (WHERE a.cluster_id = b.cluster_id)
        FROM r a JOIN r b ON {same} AND a.unique_id < b.unique_id
        WHERE a.person_id <> b.person_id""").fetchone()  # noqa: S608


def test_family_mailboxes_and_twins_are_not_merged(matched: Workspace) -> None:
    cur = matched.cursor()
    pairs, merged = _different_people_sharing(cur, ["email_key"])
    assert pairs >= 30  # partners signing up with one family address
    assert merged / pairs < 0.1
    pairs, merged = _different_people_sharing(cur, ["last_name_key", "birth_date",
                                                    "street_key"])
    assert pairs >= 3  # twins: same surname, birth date and address
    assert merged / pairs < 0.2


def test_export_has_one_row_per_profile_record(matched: Workspace) -> None:
    cur = matched.cursor()
    exported = matching.export_clusters(cur)
    assert list(exported.columns) == ["source", "record_id", "cluster_id"]
    profiles = catalog.source_overview(cur).query("kind == 'profiles'")
    assert len(exported) == profiles["rows"].sum()
    assert not exported.duplicated(["source", "record_id"]).any()
    assert set(exported["source"]) == set(profiles["source"])


def test_run_is_recorded_without_personal_data(matched: Workspace) -> None:
    cur = matched.cursor()
    run = cur.execute("SELECT records, pairs, clusters, finished_at IS NOT NULL "
                      "FROM meta.match_runs ORDER BY run_id DESC LIMIT 1").fetchone()
    assert run[0] == cur.execute("SELECT count(*) FROM match.records").fetchone()[0]
    assert run[1] > 0 and 0 < run[2] < run[0] and run[3]
    details = [row[0] for row in cur.execute("SELECT detail FROM meta.audit_log "
                                             "WHERE action LIKE 'match%'").fetchall()]
    assert details and not any("@" in d or "+33" in d for d in details)


def test_last_run_and_review_queue_read_the_results(matched: Workspace) -> None:
    cur = matched.cursor()
    last = matching.last_run(cur)
    assert last is not None and last.records == len(matching.export_clusters(cur))
    assert f"{last.clusters:,} clusters" in last.summary() and "@" not in last.summary()
    queue = labels.review_queue(cur, threshold=0.9, size=5)
    assert len(queue) == 5 and queue["first_name_l"].notna().any()


def test_predictions_say_what_decided_each_pair(matched: Workspace) -> None:
    decided = dict(matched.cursor().execute(
        "SELECT decided_by, count(*) FROM match.predictions GROUP BY ALL").fetchall())
    assert {"model", "rule", "guard"} <= set(decided)
    vetoed = matched.cursor().execute("SELECT max(match_probability), min(model_probability) "
                                      "FROM match.predictions WHERE decided_by = 'guard'"
                                      ).fetchone()
    assert vetoed[0] == 0.0 and vetoed[1] >= matching.PREDICTION_FLOOR


def test_charts_are_vega_lite_specs(matched: Workspace) -> None:
    cur = matched.cursor()
    model = matching.load_model(cur)
    assert matching.match_weights_chart(cur, model)["data"]["values"]
    assert matching.m_u_parameters_chart(cur, model)["data"]["values"]
    pair = cur.execute("SELECT unique_id_l, unique_id_r FROM match.predictions "
                       "WHERE decided_by = 'model' LIMIT 1").fetchone()
    waterfall = matching.waterfall_chart(cur, model, *pair)
    assert waterfall["data"]["values"]
    with pytest.raises(InputError):
        matching.waterfall_chart(cur, model, pair[0], "no such record")


# --------------------------------------------------------------------------- model reuse


def test_saved_model_reapplied_gives_the_same_clusters(matched: Workspace, fresh: Workspace,
                                                       tmp_path: Path) -> None:
    model = matching.load_model(matched.cursor())
    path = tmp_path / "model.json"
    matching.save_model_json(model, path)
    result = matching.run_match(fresh, model_json_path=path)
    assert result.threshold == model.threshold
    assert _clusters(fresh) == _clusters(matched)
    with pytest.raises(InputError, match="not a workbench matching model"):
        matching.TrainedModel.from_json(json.dumps({"link_type": "dedupe_only"}))


def test_never_link_pair_ends_in_different_clusters(matched: Workspace,
                                                    fresh: Workspace) -> None:
    model = matching.load_model(matched.cursor())
    with fresh.transaction() as cur:
        matching.build_match_input(cur, model.settings)
    matching.predict(fresh, matching.save_model(fresh, model))
    # two records of a cluster of four or more: other records may still connect them
    cur = fresh.cursor()
    left, right = cur.execute("""
        SELECT a.unique_id, b.unique_id FROM match.clusters a JOIN match.clusters b
        ON a.cluster_id = b.cluster_id AND a.unique_id < b.unique_id
        WHERE (SELECT count(*) FROM match.clusters c WHERE c.cluster_id = a.cluster_id) >= 4
        ORDER BY a.unique_id, b.unique_id LIMIT 1""").fetchone()
    with fresh.transaction() as tx:
        tx.execute("INSERT INTO meta.never_link (unique_id_l, unique_id_r, reason) "
                   "VALUES (?, ?, 'reviewed')", [right, left])
    matching.predict(fresh, model)
    clusters = _clusters(fresh)
    assert clusters[left] != clusters[right]
    assert len(clusters) == cur.execute("SELECT count(*) FROM match.records").fetchone()[0]


def test_labels_train_the_model_and_choose_the_threshold(matched: Workspace,
                                                         fresh: Workspace) -> None:
    labels = matched.cursor().execute("""
        WITH r AS (SELECT m.unique_id, g.person_id FROM match.records m JOIN demo.ground_truth g
                   ON g.source = m.source_dataset AND g.record_id = m.record_id)
        SELECT p.unique_id_l, p.unique_id_r,
               CASE WHEN a.person_id = b.person_id THEN 'match' ELSE 'non_match' END
        FROM match.predictions p JOIN r a ON a.unique_id = p.unique_id_l
        JOIN r b ON b.unique_id = p.unique_id_r
        WHERE p.decided_by = 'model' ORDER BY p.model_probability, p.unique_id_l LIMIT 80
        """).fetchall()
    with fresh.transaction() as tx:
        tx.executemany("INSERT INTO meta.match_labels (unique_id_l, unique_id_r, label) "
                       "VALUES (?, ?, ?)", labels)
    result = matching.run_match(fresh)
    model = matching.load_model(fresh.cursor())
    assert model.trained_with_labels and model.threshold == result.threshold
    assert 0 < model.threshold < 1
    assert matching.pairwise_quality(fresh.cursor())["f1"] >= 0.9


def test_recluster_changes_clusters_without_scoring(matched: Workspace,
                                                    fresh: Workspace) -> None:
    model = matching.load_model(matched.cursor())
    with fresh.transaction() as cur:
        matching.build_match_input(cur, model.settings)
    matching.predict(fresh, model, threshold=0.99)
    strict = matching.pairwise_quality(fresh.cursor())
    loose = matching.recluster(fresh, 0.6)
    assert loose.threshold == 0.6
    assert matching.pairwise_quality(fresh.cursor())["recall"] >= strict["recall"]


# --------------------------------------------------------------------------- atomicity


def test_failure_mid_predict_leaves_previous_results(matched: Workspace, fresh: Workspace,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    model = matching.load_model(matched.cursor())
    with fresh.transaction() as cur:
        matching.build_match_input(cur, model.settings)
    matching.predict(fresh, model)
    before, clusters = snapshot(fresh), _clusters(fresh)

    def fail(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(matching, "_cluster", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        matching.predict(fresh, model, threshold=0.5)
    assert snapshot(fresh) == before
    assert _clusters(fresh) == clusters
    leftovers = fresh.cursor().execute("SELECT count(*) FROM duckdb_tables() "
                                       "WHERE database_name = 'memory'").fetchone()[0]
    assert leftovers == 0
