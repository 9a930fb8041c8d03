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
    built = golden.build(ws, progress=lambda f, m: report(0.8 + 0.1 * f, m))
    report(0.9, "indexing for search")
    customer360.prepare_search(ws)
    report(0.95, "computing traits")
    traits.refresh(ws)
    report(1.0, "done")
    return run, built
