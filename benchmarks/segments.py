"""Activation at scale: trait refresh, live segment size, overlap of ten segments.

Targets (issue "Activate"), on 1,000,000 demo profiles on this 2-core machine: trait refresh
<= 60 s, size of a nested segment with an event condition <= 300 ms, overlap matrix of 10
segments <= 2 s; and the AUC of the propensity model on the demo company's held-out period.

The workspace is built (demo company, matched and unified) unless a workspace with unified
profiles is given; it is then changed (traits, segments), so pass a copy.

Run from the repository root:
    python -m benchmarks.segments [--people 1000000] [--workspace PATH]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.ingest import peak_memory_mb
from benchmarks.scores import propensity_auc
from cdp_core import segments, traits
from cdp_core.demo import DEMO_TRAITS, build_demo
from cdp_core.segments import Segment
from cdp_core.workspace import Workspace

NESTED = {"all": [
    {"field": "consent_email", "op": "eq", "value": True},
    {"any": [{"event": "orders", "did": True, "amount_gt": 50, "within_days": 30},
             {"field": "rfm_cell", "op": "in", "value": ["champions", "loyal"]}]},
    {"not": {"event": "carts", "did": True, "at_least": 2, "within_days": 90}}]}
TEN = [
    Segment("Champions", {"field": "rfm_cell", "op": "eq", "value": "champions"}),
    Segment("At risk", {"field": "rfm_cell", "op": "in", "value": ["at_risk", "cannot_lose"]}),
    Segment("Web only", {"field": "channel_profile", "op": "eq", "value": "web_only"}),
    Segment("Store only", {"field": "channel_profile", "op": "eq", "value": "store_only"}),
    Segment("Web-to-store", {"field": "web_to_store", "op": "eq", "value": True}),
    Segment("Big baskets", {"field": "avg_basket", "op": "gt", "value": 80}),
    Segment("E-mail opt-in", {"field": "consent_email", "op": "eq", "value": True}),
    Segment("SMS opt-in", {"field": "consent_sms", "op": "eq", "value": True}),
    Segment("Recent buyers", {"event": "orders", "did": True, "within_days": 90}),
    Segment("Nested", NESTED),
]


def _timed(action: object, repeats: int = 1) -> tuple[float, object]:
    """Median seconds of ``repeats`` calls and the last result."""
    timings, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--workspace", type=Path, help="a workspace with unified profiles")
    args = parser.parse_args()
    path = args.workspace
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="cdp_segments_")) / "demo.duckdb"
        seconds, _ = _timed(lambda: build_demo(path, n_people=args.people, unify=True))
        print(f"demo, matched and unified: {seconds:.1f} s")
    with Workspace.open(path) as ws:
        cur = ws.cursor()
        if not traits.declared(cur):
            traits.declare(ws, list(DEMO_TRAITS))
        seconds, result = _timed(lambda: traits.refresh(ws))
        print(f"trait refresh: {result.summary()}; {seconds:.1f} s (target 60 s), "
              f"peak memory {peak_memory_mb():,.0f} MB")
        segments.size(cur, NESTED)  # warm the caches as a user editing the rule would
        seconds, size = _timed(lambda: segments.size(cur, NESTED), repeats=7)
        print(f"nested segment with event conditions: {size.members:,} of {size.base:,} "
              f"people, median {seconds * 1000:.0f} ms over 7 sizings (target 300 ms)")
        seconds, _ = _timed(lambda: segments.install(ws, TEN))
        print(f"saving 10 segments with their members: {seconds:.1f} s")
        names = [segment.name for segment in TEN]
        seconds, matrix = _timed(lambda: segments.overlap(cur, names), repeats=3)
        print(f"overlap matrix of {len(names)} segments ({len(matrix)} cells): median "
              f"{seconds * 1000:.0f} ms (target 2,000 ms)")
        figures = propensity_auc(ws)
        print(f"purchase propensity, 30 days, held-out period: AUC "
              f"{figures['propensity_auc']:.3f} ({figures['propensity_model']}; top decile "
              f"{figures['precision_top_decile']:.1%} vs base rate {figures['base_rate']:.1%}); "
              f"churn AUC {figures['churn_auc']:.3f}; training {figures['train_seconds']:.0f} s")


if __name__ == "__main__":
    main()
