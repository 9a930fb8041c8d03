"""Predictive scores at scale: held-out AUCs and training time.

`propensity_auc` is what benchmarks/segments.py prints for the issue's check "the AUC of the
propensity model on the demo company's held-out period"; run alone, this script measures a full
training (propensity, churn, behaviour clusters) on a workspace whose traits are refreshed.

The workspace is built (demo company, matched, unified, traits refreshed) unless one is given;
training writes to it (golden.scores, meta.models), so pass a copy.

Run from the repository root:
    python -m benchmarks.scores [--people 20000] [--workspace PATH]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.ingest import peak_memory_mb
from cdp_core import scoring, traits
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace


def propensity_auc(ws: Workspace) -> dict[str, Any]:
    """Train every score on ``ws`` and return the held-out figures and the training time."""
    result = scoring.train(ws)
    propensity, churn = result.metrics["propensity"], result.metrics["churn"]
    return {"propensity_auc": propensity["auc"], "churn_auc": churn["auc"],
            "precision_top_decile": propensity["precision_top_decile"],
            "base_rate": propensity["base_rate"],
            "lift_top_decile": propensity["lift_top_decile"],
            "propensity_model": propensity["model"], "churn_model": churn["model"],
            "test_people": propensity["test"]["population"],
            "rows_fitted": max(propensity["rows_fitted"], churn["rows_fitted"]),
            "sampled": propensity["sampled"] or churn["sampled"],
            "silhouette": result.metrics["behaviour"]["silhouette"],
            "people": result.people, "train_seconds": result.seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--workspace", type=Path, help="a workspace with unified profiles")
    args = parser.parse_args()
    path = args.workspace
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="cdp_scores_")) / "demo.duckdb"
        build_demo(path, n_people=args.people, unify=True)
    with Workspace.open(path) as ws:
        if traits.is_stale(ws.cursor()):
            print(f"trait refresh: {traits.refresh(ws).summary()}")
        figures = propensity_auc(ws)
    sampled = (f", models fitted on a random sample of {figures['rows_fitted']:,} people"
               if figures["sampled"] else "")
    print(f"purchase propensity (30 days), held-out period: AUC {figures['propensity_auc']:.3f} "
          f"({figures['propensity_model']}), top-decile precision "
          f"{figures['precision_top_decile']:.1%} vs base rate {figures['base_rate']:.1%} "
          f"(lift x{figures['lift_top_decile']:.1f}) over {figures['test_people']:,} people")
    print(f"churn risk (90 days), held-out period: AUC {figures['churn_auc']:.3f} "
          f"({figures['churn_model']}); behaviour clusters silhouette "
          f"{figures['silhouette']:.2f}")
    print(f"training and scoring {figures['people']:,} people: {figures['train_seconds']:.1f} s"
          f"{sampled}; peak memory {peak_memory_mb():,.0f} MB")


if __name__ == "__main__":
    main()
