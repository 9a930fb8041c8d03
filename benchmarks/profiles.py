"""Unified profiles at scale: golden-record build time and Customer 360 search latency.

Targets (issue "cluster review, golden records, 360"): build <= 60 s and search <= 200 ms per
query at 1,000,000 demo people, on this 2-core machine.

The workspace is built (demo company, then a full matching run) unless an already matched one
is given. Queries are drawn from the data: e-mails, phones written the French way
("06 12 34 56 78"), surnames, "first-name surname" and person ids, 50 of each.

Run from the repository root:
    python -m benchmarks.profiles [--people 1000000] [--workspace PATH]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.ingest import peak_memory_mb
from cdp_core import customer360, golden, matching
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace

PER_KIND = 50


def _queries(ws: Workspace) -> dict[str, list[str]]:
    """Search texts a call-centre agent would type, sampled from the matched records."""
    sample = ws.cursor().execute(
        "SELECT r.email, r.phone, r.first_name, r.last_name, c.cluster_id FROM match.records r "
        "JOIN match.clusters c USING (unique_id) WHERE r.email IS NOT NULL "
        "AND r.phone LIKE '+336%' AND r.last_name IS NOT NULL "
        "ORDER BY hash(r.unique_id) LIMIT ?", [PER_KIND]).fetchall()
    french = [f"0{p[3]} {p[4:6]} {p[6:8]} {p[8:10]} {p[10:12]}" for _, p, *_ in sample]
    return {"email": [row[0] for row in sample], "phone": french,
            "surname": [row[3] for row in sample],
            "first name and surname": [f"{row[2]} {row[3]}" for row in sample],
            "person id": [row[4] for row in sample]}


def _latencies(ws: Workspace, queries: list[str]) -> list[float]:
    cur = ws.cursor()
    timings = []
    for query in queries:
        start = time.perf_counter()
        found = customer360.search(cur, query)
        timings.append((time.perf_counter() - start) * 1000)
        assert len(found), f"the search found nobody for a {len(query)}-character query"
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, help="an already matched workspace")
    args = parser.parse_args()
    path = args.workspace
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="cdp_profiles_")) / "demo.duckdb"
        start = time.perf_counter()
        build_demo(path, n_people=args.people)
        with Workspace.open(path) as ws:
            print(matching.run_match(ws).summary())
        print(f"demo + matching: {time.perf_counter() - start:.1f} s")
    with Workspace.open(path) as ws:
        start = time.perf_counter()
        result = golden.build(ws)
        built = time.perf_counter() - start
        records = ws.cursor().execute("SELECT count(*) FROM match.records").fetchone()[0]
        print(f"unified profiles: {result.profiles:,} people from {records:,} records in "
              f"{built:.1f} s (target 60 s); peak memory {peak_memory_mb():,.0f} MB")
        start = time.perf_counter()
        customer360.prepare_search(ws)
        print(f"search index: {time.perf_counter() - start:.1f} s")
        everything = []
        for kind, queries in _queries(ws).items():
            timings = _latencies(ws, queries)
            everything += timings
            print(f"  search by {kind:<24} median {statistics.median(timings):6.1f} ms   "
                  f"max {max(timings):6.1f} ms")
        everything.sort()
        p95 = everything[int(0.95 * (len(everything) - 1))]
        print(f"search, all {len(everything)} queries: median "
              f"{statistics.median(everything):.1f} ms, p95 {p95:.1f} ms, max "
              f"{everything[-1]:.1f} ms (target 200 ms)")


if __name__ == "__main__":
    main()
