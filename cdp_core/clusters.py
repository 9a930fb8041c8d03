"""Clusters of matched records: metrics, the review queue and reviewers' decisions.

A cluster is a connected component of the links at the run's threshold; its id is
``'C' + md5(smallest member)[:16]``, so a cluster whose membership did not change keeps its id
from one run to the next. Reviewers' decisions are stored as pairs, never as cluster ids:

- "split a record out", "split at a link" and "never merge" add never-link pairs;
- "merge" and "confirm" add must-link pairs.

Every matching run feeds the must-link pairs to the clustering as certain links and cuts the
never-link pairs (strongest links first), so human work survives any re-run. A decision made
on the page re-partitions only the clusters it touches, with the same rule, so the result is
the one the next full run will give. Undoing a decision removes exactly its pairs.

Example:
    >>> partition({"a", "b", "c"}, [("a", "b"), ("b", "c")], [("a", "c")])["c"]
    'c'
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import networkx as nx
import pandas as pd

from cdp_core import customer360, golden
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

__all__ = [
    "DECISION_KINDS", "cluster_id_sql", "cluster_of", "confirm", "decisions", "graph_layout",
    "links", "members", "merge", "metrics", "needing_review", "neighbours", "never_merge",
    "partition",
    "refresh_metrics", "review_queue", "review_reasons", "size_distribution", "split_link",
    "split_out", "undo",
]

DECISION_KINDS = ("split_out", "split_link", "never_merge", "merge", "confirm")
METRICS = "match.cluster_metrics"
MAX_PAIRS_PER_DECISION = 50_000
LARGE_CLUSTER = 6  # records: more than one person's usual footprint across four sources
WEAK_LINK = 0.95  # a bridge scored below this is worth a look
NAMES_APART = 0.8  # Jaro-Winkler below this: two names, not a typo of one
# Weights of the "needs review" score (0 to 1): what a reviewer would check first.
_REVIEW_WEIGHTS = {"large": 0.3, "weak_bridge": 0.35, "birth_dates": 0.35, "names": 0.25,
                   "same_source": 0.1}


def cluster_id_sql(smallest_member: str) -> str:
    """SQL of a cluster's id from the SQL of its smallest member's unique_id."""
    return f"'C' || substr(md5({smallest_member}), 1, 16)"


def partition(nodes: set[str], links: Sequence[tuple[str, str]],
              never: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Connected components over ``links`` taken in order (strongest first), skipping any link
    that would put both records of a never-link pair in one component; node -> root."""
    parent = {node: node for node in nodes}
    members = {node: {node} for node in nodes}
    banned: dict[str, set[str]] = {node: set() for node in nodes}
    for a, b in never:
        if a in nodes and b in nodes:
            banned[a].add(b)
            banned[b].add(a)

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in links:
        ra, rb = root(a), root(b)
        if ra == rb or banned[ra] & members[rb]:
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        banned[ra] |= banned.pop(rb)
    return {node: root(node) for node in nodes}


# --------------------------------------------------------------------------- reading


def _threshold(cur: duckdb.DuckDBPyConnection) -> float:
    row = cur.execute("SELECT threshold FROM meta.match_runs ORDER BY run_id DESC LIMIT 1"
                      ).fetchone()
    if row is None:
        raise InputError("no clusters yet: run matching first")
    return float(row[0])


def _require_clusters(cur: duckdb.DuckDBPyConnection) -> None:
    if not cur.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = "
                       "current_database() AND schema_name = 'match' AND table_name = 'clusters'"
                       ).fetchone()[0]:
        raise InputError("no clusters yet: run matching first")


_LINKS_SQL = """
    SELECT unique_id_l, unique_id_r, match_probability, decided_by FROM match.predictions
    WHERE match_probability >= $threshold
      AND list_contains($nodes, unique_id_l) AND list_contains($nodes, unique_id_r)
    UNION ALL
    SELECT DISTINCT unique_id_l, unique_id_r, 1.0, 'reviewer' FROM meta.must_link
    WHERE list_contains($nodes, unique_id_l) AND list_contains($nodes, unique_id_r)
    ORDER BY match_probability DESC, unique_id_l, unique_id_r
"""


def members(cur: duckdb.DuckDBPyConnection, cluster_id: str) -> pd.DataFrame:
    """The cluster's records with their standardised fields, by source."""
    return cur.execute(
        "SELECT r.* EXCLUDE (source_id, source_dataset, first_name_key, last_name_key, "
        "email_key, city_key, street_key, email_user, name_grams) FROM match.clusters c "
        "JOIN match.records r USING (unique_id) WHERE c.cluster_id = ? "
        "ORDER BY r.source, r.record_id", [cluster_id]).df()


def links(cur: duckdb.DuckDBPyConnection, cluster_id: str) -> pd.DataFrame:
    """Every stored link between the cluster's records (below the threshold too), strongest
    first, with ``used`` telling whether it is at or above the run's threshold."""
    threshold = _threshold(cur)
    nodes = _nodes(cur, [cluster_id])
    return cur.execute(
        "SELECT unique_id_l, unique_id_r, match_probability, decided_by, "
        "match_probability >= $threshold AS used FROM match.predictions "
        "WHERE list_contains($nodes, unique_id_l) AND list_contains($nodes, unique_id_r) "
        "UNION ALL SELECT DISTINCT unique_id_l, unique_id_r, 1.0, 'reviewer', true "
        "FROM meta.must_link WHERE list_contains($nodes, unique_id_l) "
        "AND list_contains($nodes, unique_id_r) "
        "ORDER BY match_probability DESC, unique_id_l, unique_id_r",
        {"threshold": threshold, "nodes": nodes}).df()


def neighbours(cur: duckdb.DuckDBPyConnection, cluster_id: str, limit: int = 10) -> pd.DataFrame:
    """Other clusters linked to this one by pairs scored below the threshold: the ones a
    reviewer may want to merge, best first."""
    return cur.execute(
        "WITH mine AS (SELECT unique_id FROM match.clusters WHERE cluster_id = ?), "
        "pairs AS (SELECT CASE WHEN l.unique_id IS NOT NULL THEN p.unique_id_r "
        "ELSE p.unique_id_l END AS other, p.match_probability FROM match.predictions p "
        "LEFT JOIN mine l ON l.unique_id = p.unique_id_l "
        "LEFT JOIN mine r ON r.unique_id = p.unique_id_r "
        "WHERE (l.unique_id IS NULL) <> (r.unique_id IS NULL)) "
        "SELECT c.cluster_id, max(p.match_probability) AS best_probability, "
        "count(*) AS pairs FROM pairs p JOIN match.clusters c ON c.unique_id = p.other "
        "GROUP BY c.cluster_id ORDER BY best_probability DESC, c.cluster_id LIMIT ?",
        [cluster_id, limit]).df()


def size_distribution(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many clusters have each size (records per person)."""
    _require_clusters(cur)
    return cur.execute(
        "SELECT size, count(*) AS clusters FROM (SELECT count(*) AS size FROM match.clusters "
        "GROUP BY cluster_id) GROUP BY size ORDER BY size").df()


# --------------------------------------------------------------------------- metrics


_METRICS_SQL = """
    WITH scope AS (
        SELECT c.cluster_id, r.* FROM match.clusters c JOIN match.records r USING (unique_id)
        WHERE $all OR list_contains($clusters, c.cluster_id)),
    edges AS (
        SELECT a.cluster_id, e.match_probability FROM (
            SELECT unique_id_l, unique_id_r, match_probability FROM match.predictions
            WHERE match_probability >= $threshold
            UNION ALL SELECT DISTINCT unique_id_l, unique_id_r, 1.0 FROM meta.must_link) e
        JOIN scope a ON a.unique_id = e.unique_id_l
        JOIN scope b ON b.unique_id = e.unique_id_r AND b.cluster_id = a.cluster_id),
    edge_stats AS (
        SELECT cluster_id, count(*) AS links, min(match_probability) AS weakest_link,
               max(match_probability) AS strongest_link FROM edges GROUP BY cluster_id),
    node_stats AS (
        SELECT cluster_id, count(*) AS size, count(DISTINCT source_dataset) AS sources,
               count(*) - count(DISTINCT source_dataset) AS same_source_records,
               greatest(count(DISTINCT birth_date) - 1, 0) AS birth_date_conflicts
        FROM scope GROUP BY cluster_id),
    names AS (SELECT DISTINCT cluster_id, first_name_key, last_name_key FROM scope),
    name_stats AS (  -- pairs of names too far apart to be a typo or a nickname
        SELECT a.cluster_id, count(*) AS name_conflicts FROM names a JOIN names b
            ON a.cluster_id = b.cluster_id AND (a.first_name_key, a.last_name_key)
               < (b.first_name_key, b.last_name_key)
        WHERE jaro_winkler_similarity(a.first_name_key, b.first_name_key) < $names_apart
           OR jaro_winkler_similarity(a.last_name_key, b.last_name_key) < $names_apart
        GROUP BY a.cluster_id)
    SELECT n.cluster_id, n.size, n.sources, coalesce(e.links, 0) AS links,
           CASE WHEN n.size > 1 THEN coalesce(e.links, 0) / (n.size * (n.size - 1) / 2.0) END
               AS density,
           e.weakest_link, e.strongest_link, n.birth_date_conflicts,
           coalesce(s.name_conflicts, 0) AS name_conflicts, n.same_source_records
    FROM node_stats n LEFT JOIN edge_stats e USING (cluster_id)
        LEFT JOIN name_stats s USING (cluster_id)
"""


def _weak_bridges(cur: duckdb.DuckDBPyConnection, frame: pd.DataFrame,
                  threshold: float) -> dict[str, float]:
    """Cluster -> probability of its weakest bridge (a link whose removal splits it).

    In a tree every link is a bridge and in a complete cluster none is, so only the clusters
    in between go through networkx.
    """
    weakest = {}
    trees = frame[(frame["size"] >= 2) & (frame["links"] == frame["size"] - 1)]
    weakest.update(zip(trees["cluster_id"], trees["weakest_link"], strict=True))
    cyclic = frame[(frame["size"] >= 4) & (frame["links"] > frame["size"] - 1)
                   & (frame["density"] < 1)]["cluster_id"].tolist()
    if not cyclic:
        return weakest
    edges = cur.execute(
        "SELECT a.cluster_id, e.unique_id_l, e.unique_id_r, e.match_probability FROM ("
        "SELECT unique_id_l, unique_id_r, match_probability FROM match.predictions "
        "WHERE match_probability >= $threshold UNION ALL "
        "SELECT DISTINCT unique_id_l, unique_id_r, 1.0 FROM meta.must_link) e "
        "JOIN match.clusters a ON a.unique_id = e.unique_id_l "
        "JOIN match.clusters b ON b.unique_id = e.unique_id_r AND b.cluster_id = a.cluster_id "
        "WHERE list_contains($clusters, a.cluster_id)",
        {"threshold": threshold, "clusters": cyclic}).df()
    for cluster_id, group in edges.groupby("cluster_id"):
        graph = nx.Graph()
        for left, right, probability in group[
                ["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False):
            if not graph.has_edge(left, right) or graph[left][right]["p"] < probability:
                graph.add_edge(left, right, p=probability)
        bridges = [graph[a][b]["p"] for a, b in nx.bridges(graph)]
        if bridges:
            weakest[cluster_id] = min(bridges)
    return weakest


def _review_score(frame: pd.DataFrame) -> pd.Series:
    """0 (looks fine) to 1 (check it first), from size, weak bridges and conflicting facts."""
    w = _REVIEW_WEIGHTS
    large = ((frame["size"] - LARGE_CLUSTER + 1).clip(lower=0) / LARGE_CLUSTER).clip(upper=1)
    bridge = ((WEAK_LINK - frame["weakest_bridge"].fillna(1.0)) / WEAK_LINK).clip(lower=0)
    score = (w["large"] * large + w["weak_bridge"] * (bridge * 4).clip(upper=1)
             + w["birth_dates"] * frame["birth_date_conflicts"].clip(upper=2) / 2
             + w["names"] * frame["name_conflicts"].clip(upper=2) / 2
             + w["same_source"] * (frame["same_source_records"] > 0))
    return score.clip(upper=1.0).where(frame["size"] > 1, 0.0).round(3)


def _compute_metrics(cur: duckdb.DuckDBPyConnection,
                     cluster_ids: Sequence[str] | None) -> pd.DataFrame:
    threshold = _threshold(cur)
    frame = cur.execute(_METRICS_SQL, {"threshold": threshold, "all": cluster_ids is None,
                                       "clusters": list(cluster_ids or []),
                                       "names_apart": NAMES_APART}).df()
    frame["weakest_bridge"] = frame["cluster_id"].map(_weak_bridges(cur, frame, threshold))
    frame["review_score"] = _review_score(frame)
    return frame


def refresh_metrics(cur: duckdb.DuckDBPyConnection,
                    cluster_ids: Sequence[str] | None = None) -> None:
    """(Re)compute ``match.cluster_metrics``: all clusters, or only those given (after a
    decision). Run inside the caller's transaction."""
    frame = _compute_metrics(cur, cluster_ids)
    cur.register("fresh_metrics", frame)
    try:
        if cluster_ids is None:
            cur.execute(f"CREATE OR REPLACE TABLE {METRICS} AS SELECT * FROM fresh_metrics")  # noqa: S608
        else:
            cur.execute(f"DELETE FROM {METRICS} WHERE list_contains(?, cluster_id) "  # noqa: S608
                        "OR cluster_id NOT IN (SELECT cluster_id FROM match.clusters)",
                        [list(cluster_ids)])
            cur.execute(f"INSERT INTO {METRICS} BY NAME SELECT * FROM fresh_metrics")  # noqa: S608
    finally:
        cur.unregister("fresh_metrics")


def metrics(cur: duckdb.DuckDBPyConnection, cluster_id: str) -> dict[str, object]:
    """The stored metrics of one cluster (empty when it does not exist)."""
    result = cur.execute(f"SELECT * FROM {METRICS} WHERE cluster_id = ?", [cluster_id])  # noqa: S608
    row = result.fetchone()
    return dict(zip([c[0] for c in result.description], row, strict=True)) if row else {}


_CONFIRMED_SQL = """
    SELECT DISTINCT c.cluster_id FROM meta.cluster_decisions d,
        LATERAL (SELECT min(cluster_id) AS cluster_id, count(DISTINCT cluster_id) AS n
                 FROM match.clusters WHERE list_contains(d.records, unique_id)) c
    WHERE d.kind = 'confirm' AND d.active AND c.n = 1
      AND len(d.records) = (SELECT count(*) FROM match.clusters x
                            WHERE x.cluster_id = c.cluster_id)
"""


def needing_review(cur: duckdb.DuckDBPyConnection) -> int:
    """How many clusters have a reason to be looked at and are not confirmed as they are."""
    _require_clusters(cur)
    return cur.execute(f"SELECT count(*) FROM {METRICS} WHERE review_score > 0 "  # noqa: S608
                       f"AND cluster_id NOT IN ({_CONFIRMED_SQL})").fetchone()[0]


def review_queue(cur: duckdb.DuckDBPyConnection, limit: int = 50,
                 min_size: int = 2) -> pd.DataFrame:
    """Clusters worth a look, highest review score first; confirmed clusters whose
    membership has not changed since are left out."""
    _require_clusters(cur)
    return cur.execute(
        f"SELECT m.* FROM {METRICS} m WHERE m.size >= ? "  # noqa: S608
        f"AND m.cluster_id NOT IN ({_CONFIRMED_SQL}) "
        "ORDER BY m.review_score DESC, m.size DESC, m.cluster_id LIMIT ?",
        [min_size, limit]).df()


# --------------------------------------------------------------------------- decisions


def _nodes(cur: duckdb.DuckDBPyConnection, cluster_ids: Sequence[str]) -> list[str]:
    return [row[0] for row in cur.execute(
        "SELECT unique_id FROM match.clusters WHERE list_contains(?, cluster_id) "
        "ORDER BY unique_id", [list(cluster_ids)]).fetchall()]


def cluster_of(cur: duckdb.DuckDBPyConnection, unique_id: str) -> str | None:
    """The cluster a record is in now (None if it is not in the match results)."""
    row = cur.execute("SELECT cluster_id FROM match.clusters WHERE unique_id = ?",
                      [unique_id]).fetchone()
    return row[0] if row else None


def _cluster_of(cur: duckdb.DuckDBPyConnection, unique_ids: Sequence[str]) -> list[str]:
    found = cur.execute("SELECT unique_id, cluster_id FROM match.clusters "
                        "WHERE list_contains(?, unique_id)", [list(unique_ids)]).fetchall()
    if len(found) != len(set(unique_ids)):
        raise InputError("a record of this decision is no longer in the match results: "
                         "refresh the page")
    return sorted({cluster for _, cluster in found})


def _repartition(cur: duckdb.DuckDBPyConnection, cluster_ids: Sequence[str]) -> list[str]:
    """Cluster these clusters' records again (links at the threshold, must-links first, never
    pairs cut) exactly as a full run would; store and return the new cluster ids."""
    nodes = _nodes(cur, cluster_ids)
    threshold = _threshold(cur)
    pairs = cur.execute(_LINKS_SQL, {"threshold": threshold, "nodes": nodes}).fetchall()
    never = cur.execute("SELECT unique_id_l, unique_id_r FROM meta.never_link "
                        "WHERE list_contains($nodes, unique_id_l) "
                        "AND list_contains($nodes, unique_id_r)", {"nodes": nodes}).fetchall()
    roots = partition(set(nodes), [(a, b) for a, b, _, _ in pairs], never)
    cur.register("regrouped", pd.DataFrame({"unique_id": list(roots),
                                            "root": list(roots.values())}))
    try:
        cur.execute(
            "UPDATE match.clusters SET cluster_id = g.cluster_id FROM (SELECT unique_id, "  # noqa: S608
            f"{cluster_id_sql('min(unique_id) OVER (PARTITION BY root)')} AS cluster_id "
            "FROM regrouped) g WHERE match.clusters.unique_id = g.unique_id")
    finally:
        cur.unregister("regrouped")
    return _cluster_of(cur, nodes)


def _follow(cur: duckdb.DuckDBPyConnection, before: list[str], index_current: bool) -> list[str]:
    """Re-partition the clusters a decision touched and bring everything built on them up to
    date (metrics, unified profiles, the search index); return the clusters now."""
    if not before:
        return []
    nodes = _nodes(cur, before)
    after = _repartition(cur, before)
    refresh_metrics(cur, sorted(set(before) | set(after)))
    golden.rebuild_people(cur, before, after)
    if index_current:
        customer360.follow_clusters(cur, nodes)
    return after


def _record(ws: Workspace, kind: str, records: Sequence[str], *, never: Sequence[tuple[str, str]],
            must: Sequence[tuple[str, str]], reason: str, by: str) -> int:
    """Store a decision and its pairs, re-partition the clusters it touches, refresh their
    metrics and unified profiles: one transaction."""
    if len(never) + len(must) > MAX_PAIRS_PER_DECISION:
        raise InputError("these clusters are too large to decide on as a whole: split them "
                         "record by record first")
    with ws.transaction() as cur:
        index_current = customer360.index_is_current(cur)
        before = _cluster_of(cur, records)
        decision_id = cur.execute("SELECT coalesce(max(decision_id), 0) + 1 "
                                  "FROM meta.cluster_decisions").fetchone()[0]
        cur.execute("INSERT INTO meta.cluster_decisions (decision_id, kind, records, cluster_id, "
                    "reason, decided_by) VALUES (?, ?, ?, ?, ?, ?)",
                    [decision_id, kind, list(records), before[0], reason or None, by or None])
        if never:
            cur.executemany("INSERT INTO meta.never_link (unique_id_l, unique_id_r, reason, "
                            "decision_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            [[min(a, b), max(a, b), kind, decision_id] for a, b in never])
        if must:
            cur.executemany("INSERT INTO meta.must_link VALUES (?, ?, ?) "
                            "ON CONFLICT DO NOTHING",
                            [[min(a, b), max(a, b), decision_id] for a, b in must])
        after = _follow(cur, before, index_current)
        ws.audit(cur, f"cluster {kind.replace('_', ' ')}",
                 f"decision_id={decision_id} records={len(records)} clusters_before="
                 f"{len(before)} clusters_after={len(after)}")
    return decision_id


def _others(cur: duckdb.DuckDBPyConnection, unique_id: str) -> list[str]:
    (cluster_id,) = _cluster_of(cur, [unique_id])
    return [n for n in _nodes(cur, [cluster_id]) if n != unique_id]


def split_out(ws: Workspace, unique_id: str, *, reason: str = "", by: str = "") -> int:
    """Take one record out of its cluster: it is never the same person as the others."""
    others = _others(ws.cursor(), unique_id)
    if not others:
        raise InputError("this record is already alone in its cluster")
    return _record(ws, "split_out", [unique_id, *others],
                   never=[(unique_id, other) for other in others], must=[], reason=reason, by=by)


def split_link(ws: Workspace, unique_id_l: str, unique_id_r: str, *, reason: str = "",
               by: str = "") -> int:
    """Cut the cluster at a link: its two records are never the same person; the rest follow
    their strongest links."""
    if len(_cluster_of(ws.cursor(), [unique_id_l, unique_id_r])) != 1:
        raise InputError("these two records are not in the same cluster")
    return _record(ws, "split_link", [unique_id_l, unique_id_r],
                   never=[(unique_id_l, unique_id_r)], must=[], reason=reason, by=by)


def _conflicts(cur: duckdb.DuckDBPyConnection, left: list[str], right: list[str]) -> str | None:
    """A readable account of a never-link pair between the two groups, if any."""
    row = cur.execute(
        "SELECT n.decision_id, d.kind, d.decided_by, d.decided_at FROM meta.never_link n "
        "LEFT JOIN meta.cluster_decisions d USING (decision_id) "
        "WHERE (list_contains($l, n.unique_id_l) AND list_contains($r, n.unique_id_r)) "
        "OR (list_contains($r, n.unique_id_l) AND list_contains($l, n.unique_id_r)) LIMIT 1",
        {"l": left, "r": right}).fetchone()
    if row is None:
        return None
    if row[0] is None:
        return "two of these records were marked 'never link' in pair review"
    who = f" by {row[2]}" if row[2] else ""
    return (f"decision {row[0]} ({row[1].replace('_', ' ')}{who}, {row[3]:%Y-%m-%d}) keeps "
            "them apart: undo it first")


def _two_clusters(cur: duckdb.DuckDBPyConnection, cluster_a: str,
                  cluster_b: str) -> tuple[list[str], list[str]]:
    if cluster_a == cluster_b:
        raise InputError("choose two different clusters")
    left, right = _nodes(cur, [cluster_a]), _nodes(cur, [cluster_b])
    if not left or not right:
        raise InputError("a cluster chosen no longer exists: refresh the page")
    return left, right


def merge(ws: Workspace, cluster_a: str, cluster_b: str, *, reason: str = "",
          by: str = "") -> int:
    """Put two clusters together: they are one person.

    Raises:
        InputError: an earlier decision or label says some of their records differ.
    """
    cur = ws.cursor()
    left, right = _two_clusters(cur, cluster_a, cluster_b)
    conflict = _conflicts(cur, left, right)
    if conflict:
        raise InputError(f"cannot merge: {conflict}")
    return _record(ws, "merge", left + right, never=[], must=[(left[0], r) for r in right],
                   reason=reason, by=by)


def never_merge(ws: Workspace, cluster_a: str, cluster_b: str, *, reason: str = "",
                by: str = "") -> int:
    """Two clusters are different people: no later run may join them."""
    left, right = _two_clusters(ws.cursor(), cluster_a, cluster_b)
    return _record(ws, "never_merge", left + right, never=[(a, b) for a in left for b in right],
                   must=[], reason=reason, by=by)


def confirm(ws: Workspace, cluster_id: str, *, reason: str = "", by: str = "") -> int:
    """The cluster is right as it is: its records stay together and it leaves the queue."""
    nodes = _nodes(ws.cursor(), [cluster_id])
    if not nodes:
        raise InputError("this cluster no longer exists: refresh the page")
    return _record(ws, "confirm", nodes, never=[], must=[(nodes[0], n) for n in nodes[1:]],
                   reason=reason, by=by)


def undo(ws: Workspace, decision_id: int) -> None:
    """Withdraw a decision: its pairs go and the clusters it touched are formed again."""
    with ws.transaction() as cur:
        index_current = customer360.index_is_current(cur)
        row = cur.execute("SELECT records FROM meta.cluster_decisions WHERE decision_id = ? "
                          "AND active", [decision_id]).fetchone()
        if row is None:
            raise InputError(f"decision {decision_id} does not exist or was already undone")
        cur.execute("DELETE FROM meta.never_link WHERE decision_id = ?", [decision_id])
        cur.execute("DELETE FROM meta.must_link WHERE decision_id = ?", [decision_id])
        cur.execute("UPDATE meta.cluster_decisions SET active = false, "
                    "undone_at = current_timestamp WHERE decision_id = ?", [decision_id])
        present = [r for r, in cur.execute("SELECT unique_id FROM match.clusters WHERE "
                                           "list_contains(?, unique_id)", [row[0]]).fetchall()]
        before = _cluster_of(cur, present) if present else []
        _follow(cur, before, index_current)
        ws.audit(cur, "cluster decision undone", f"decision_id={decision_id}")


def decisions(cur: duckdb.DuckDBPyConnection, cluster_id: str | None = None,
              include_undone: bool = False) -> pd.DataFrame:
    """Reviewers' decisions, newest first; those touching one cluster's records if given."""
    return cur.execute(
        "SELECT decision_id, kind, len(records) AS records, reason, decided_by, decided_at, "
        "active, undone_at FROM meta.cluster_decisions d "
        "WHERE ($all_undone OR active) AND ($cluster IS NULL OR EXISTS (SELECT 1 FROM "
        "match.clusters c WHERE c.cluster_id = $cluster AND list_contains(d.records, "
        "c.unique_id))) ORDER BY decision_id DESC",
        {"all_undone": include_undone, "cluster": cluster_id}).df()


# --------------------------------------------------------------------------- for the page


def review_reasons(row: pd.Series | dict[str, object]) -> list[tuple[str, object]]:
    """Why a cluster is in the queue, as (reason key, figure) pairs, most serious first."""
    reasons: list[tuple[str, object]] = []
    bridge = row.get("weakest_bridge")
    if bridge is not None and bridge == bridge and bridge < WEAK_LINK:
        reasons.append(("weak_bridge", float(bridge)))
    for key, column in (("birth_dates", "birth_date_conflicts"), ("names", "name_conflicts"),
                        ("same_source", "same_source_records")):
        if row.get(column):
            reasons.append((key, int(row[column])))
    if int(row.get("size") or 0) >= LARGE_CLUSTER:
        reasons.append(("large", int(row["size"])))
    return reasons


def graph_layout(nodes: Sequence[str], edges: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Positions for drawing a cluster: stronger links pull their records closer. The seed is
    fixed so the same cluster is drawn the same way every time."""
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    for left, right, probability in edges[
            ["unique_id_l", "unique_id_r", "match_probability"]].itertuples(index=False):
        graph.add_edge(left, right, weight=max(float(probability), 0.05))
    if len(nodes) <= 2:
        return {node: (float(i), 0.0) for i, node in enumerate(nodes)}
    spread = 2.5 / len(nodes) ** 0.5  # more room between records than networkx's default
    return {node: (float(x), float(y)) for node, (x, y) in nx.spring_layout(
        graph, k=spread, seed=7, weight="weight").items()}
