"""Cluster review: metrics, the queue, and reviewers' decisions surviving every re-run."""
from __future__ import annotations

import pytest

from cdp_core import clusters, golden, matching
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

Partition = frozenset[frozenset[str]]


def _partition(ws: Workspace) -> Partition:
    rows = ws.cursor().execute("SELECT cluster_id, list(unique_id) FROM match.clusters "
                               "GROUP BY cluster_id").fetchall()
    return frozenset(frozenset(members) for _, members in rows)


def _ids(ws: Workspace) -> dict[str, str]:
    return dict(ws.cursor().execute("SELECT unique_id, cluster_id FROM match.clusters").fetchall())


def _cluster(ws: Workspace, unique_id: str) -> set[str]:
    return {row[0] for row in ws.cursor().execute(
        "SELECT unique_id FROM match.clusters WHERE cluster_id = (SELECT cluster_id FROM "
        "match.clusters WHERE unique_id = ?)", [unique_id]).fetchall()}


def _cluster_with(ws: Workspace, at_least: int) -> list[str]:
    """The members of the first cluster (by id) with at least that many records."""
    row = ws.cursor().execute(
        "SELECT list(unique_id ORDER BY unique_id) FROM match.clusters GROUP BY cluster_id "
        "HAVING count(*) >= ? ORDER BY min(cluster_id) LIMIT 1", [at_least]).fetchone()
    assert row, f"the demo has no cluster of {at_least} records"
    return row[0]


def _singletons(ws: Workspace, n: int) -> list[str]:
    return [row[0] for row in ws.cursor().execute(
        "SELECT min(unique_id) FROM match.clusters GROUP BY cluster_id HAVING count(*) = 1 "
        "ORDER BY 1 LIMIT ?", [n]).fetchall()]


def test_a_rerun_without_decisions_keeps_every_cluster_id(matched_ws: Workspace) -> None:
    before = _ids(matched_ws)
    matching.run_match(matched_ws)
    assert _ids(matched_ws) == before


def test_split_out_survives_a_full_rerun_and_leaves_other_clusters_alone(
        matched_ws: Workspace) -> None:
    members = _cluster_with(matched_ws, 3)
    record = members[1]
    untouched = {k: v for k, v in _ids(matched_ws).items() if k not in members}
    clusters.split_out(matched_ws, record, reason="different person", by="Alice")
    assert _cluster(matched_ws, record) == {record}
    after_decision = _partition(matched_ws)
    matching.run_match(matched_ws)
    assert _cluster(matched_ws, record) == {record}
    assert _partition(matched_ws) == after_decision  # the page's result is the run's result
    ids = _ids(matched_ws)
    assert all(ids[k] == v for k, v in untouched.items())


def test_merge_survives_a_full_rerun(matched_ws: Workspace) -> None:
    first, second = _singletons(matched_ws, 2)
    cur = matched_ws.cursor()
    clusters.merge(matched_ws, clusters.cluster_of(cur, first), clusters.cluster_of(cur, second),
                   reason="same customer, moved house", by="Bob")
    assert _cluster(matched_ws, first) == {first, second}
    matching.run_match(matched_ws)
    assert _cluster(matched_ws, first) == {first, second}


def test_split_at_a_link_keeps_its_two_records_apart_after_a_rerun(matched_ws: Workspace) -> None:
    members = _cluster_with(matched_ws, 3)
    cur = matched_ws.cursor()
    edges = clusters.links(cur, clusters.cluster_of(cur, members[0]))
    weakest = edges[edges["used"]].iloc[-1]
    left, right = weakest["unique_id_l"], weakest["unique_id_r"]
    clusters.split_link(matched_ws, left, right)
    assert right not in _cluster(matched_ws, left)
    matching.run_match(matched_ws)
    assert right not in _cluster(matched_ws, left)


def test_never_merge_refuses_a_later_merge_and_names_the_decision(matched_ws: Workspace) -> None:
    first, second = _singletons(matched_ws, 2)
    cur = matched_ws.cursor()
    a, b = clusters.cluster_of(cur, first), clusters.cluster_of(cur, second)
    decision = clusters.never_merge(matched_ws, a, b, by="Chloé")
    with pytest.raises(InputError, match=f"decision {decision}"):
        clusters.merge(matched_ws, a, b)
    assert _cluster(matched_ws, first) == {first}


def test_confirmed_cluster_leaves_the_queue_until_undone(matched_ws: Workspace) -> None:
    cur = matched_ws.cursor()
    top = clusters.review_queue(cur, limit=1)["cluster_id"].iloc[0]
    waiting = clusters.needing_review(cur)
    decision = clusters.confirm(matched_ws, top, reason="checked by phone")
    assert top not in set(clusters.review_queue(cur, limit=10_000)["cluster_id"])
    assert clusters.needing_review(cur) == waiting - 1
    clusters.undo(matched_ws, decision)
    assert top in set(clusters.review_queue(cur, limit=10_000)["cluster_id"])
    assert clusters.needing_review(cur) == waiting


def test_undoing_a_split_gives_the_cluster_and_its_id_back(matched_ws: Workspace) -> None:
    members = _cluster_with(matched_ws, 3)
    before = _ids(matched_ws)
    decision = clusters.split_out(matched_ws, members[-1])
    assert _ids(matched_ws) != before
    clusters.undo(matched_ws, decision)
    assert _ids(matched_ws) == before
    assert clusters.decisions(matched_ws.cursor()).empty  # undone decisions are not listed
    with pytest.raises(InputError, match="already undone"):
        clusters.undo(matched_ws, decision)


def test_metrics_agree_with_the_links_shown(matched_ws: Workspace) -> None:
    cur = matched_ws.cursor()
    for cluster_id in clusters.review_queue(cur, limit=20)["cluster_id"]:
        stats = clusters.metrics(cur, cluster_id)
        size = len(clusters.members(cur, cluster_id))
        used = clusters.links(cur, cluster_id).query("used")
        assert stats["size"] == size
        assert stats["links"] == len(used)
        assert stats["density"] == pytest.approx(len(used) / (size * (size - 1) / 2))
        assert stats["weakest_link"] == pytest.approx(used["match_probability"].min())


def test_review_queue_puts_clusters_with_conflicts_before_clean_ones(
        matched_ws: Workspace) -> None:
    queue = clusters.review_queue(matched_ws.cursor(), limit=10_000)
    conflicting = queue[(queue["birth_date_conflicts"] > 0) | (queue["name_conflicts"] > 0)]
    clean = queue[[not clusters.review_reasons(row) for _, row in queue.iterrows()]]
    assert len(conflicting) and len(clean)
    assert conflicting["review_score"].min() > clean["review_score"].max()


def test_a_decision_updates_the_unified_profiles_at_once(matched_ws: Workspace) -> None:
    golden.build(matched_ws)
    members = _cluster_with(matched_ws, 3)
    cur = matched_ws.cursor()
    old_id = clusters.cluster_of(cur, members[0])
    clusters.split_out(matched_ws, members[0])
    new_ids = {clusters.cluster_of(cur, m) for m in members}
    people = {row[0] for row in cur.execute("SELECT person_id FROM golden.profiles").fetchall()}
    assert new_ids <= people
    assert old_id not in people or old_id in new_ids
    assert len(people) == cur.execute("SELECT count(DISTINCT cluster_id) FROM match.clusters"
                                      ).fetchone()[0]


def test_decisions_are_audited_without_record_ids(matched_ws: Workspace) -> None:
    members = _cluster_with(matched_ws, 2)
    clusters.split_out(matched_ws, members[0], reason="twins", by="Alice")
    details = [row[0] for row in matched_ws.cursor().execute(
        "SELECT detail FROM meta.audit_log WHERE action LIKE 'cluster%'").fetchall()]
    assert details and not any(m in d for d in details for m in members)
    stored = clusters.decisions(matched_ws.cursor())
    assert stored.iloc[0][["kind", "decided_by", "reason"]].tolist() == [
        "split_out", "Alice", "twins"]


def test_a_record_no_longer_matched_gets_a_clear_message(matched_ws: Workspace) -> None:
    with pytest.raises(InputError, match="no longer in the match results"):
        clusters.split_out(matched_ws, "999:nobody")


def test_the_search_index_follows_a_decision(matched_ws: Workspace) -> None:
    from cdp_core import customer360

    customer360.prepare_search(matched_ws)
    members = _cluster_with(matched_ws, 3)
    record = members[-1]
    clusters.split_out(matched_ws, record)
    cur = matched_ws.cursor()
    assert customer360.index_is_current(cur)
    record_id = record.split(":", 1)[1]
    found = customer360.search(cur, record_id)
    assert clusters.cluster_of(cur, record) in set(found["person_id"])
    assert found.set_index("person_id").loc[clusters.cluster_of(cur, record), "records"] == 1
