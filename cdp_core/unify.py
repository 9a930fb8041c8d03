"""The whole Unify step headless: match, build the unified profiles, index them for search,
compute the traits.

What `python -m cdp_core match` and the demo company run, so that after it every page (clusters,
golden records, Customer 360, segments) has current results.
"""
from __future__ import annotations

from pathlib import Path

from cdp_core import customer360, golden, matching, traits
from cdp_core.golden import BuildResult
from cdp_core.matching import Progress, RunResult
from cdp_core.workspace import Workspace


def unify(ws: Workspace, *, threshold: float | None = None,
          model_json_path: str | Path | None = None,
          progress: Progress | None = None) -> tuple[RunResult, BuildResult]:
    """Match every profile record, build the unified profiles, the search index and traits."""
    report = progress or (lambda _fraction, _message: None)
    run = matching.run_match(ws, threshold=threshold, model_json_path=model_json_path,
                             progress=lambda f, m: report(0.8 * f, m))
    return run, refresh_unified(ws, progress=lambda f, m: report(0.8 + 0.2 * f, m))


def refresh_unified(ws: Workspace, *, progress: Progress | None = None) -> BuildResult:
    """After a matching run (here or imported from Spark): unified profiles, search, traits."""
    report = progress or (lambda _fraction, _message: None)
    built = golden.build(ws, progress=lambda f, m: report(0.5 * f, m))
    report(0.5, "indexing for search")
    customer360.prepare_search(ws)
    report(0.75, "computing traits")
    traits.refresh(ws)
    report(1.0, "done")
    return built
