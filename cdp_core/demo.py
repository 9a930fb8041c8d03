"""The demo company as a ready workspace: its files generated, ingested and catalogued.

The files (`cdp_core.demo_data`) are written beside the workspace, so a user can also upload
them by hand, and ingested through the same path as any user file. The ground truth (which
records are the same person) goes to ``demo.ground_truth``, which matching never reads: it is
only there to measure matching quality.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cdp_core.demo_data import GROUND_TRUTH_FILE, generate_demo_files
from cdp_core.ingest import SourceMeta, ingest_file
from cdp_core.traits import TraitDefinition, declare
from cdp_core.workspace import Workspace

if TYPE_CHECKING:
    from cdp_core.use_cases import UseCase

DEFAULT_PEOPLE = 20_000
DEFAULT_SEED = 7
Progress = Callable[[float, str], None]
# Traits over the demo's own event columns (store, call reason, handling time, responses).
DEMO_TRAITS = (
    TraitDefinition("favourite_store", "orders", "most_frequent", "magasin", channel="store"),
    TraitDefinition("stores_visited", "orders", "distinct_count", "magasin", channel="store"),
    TraitDefinition("main_call_reason", "contacts", "most_frequent", "motif"),
    TraitDefinition("avg_handling_time_s", "contacts", "avg", "duree_traitement_s"),
    TraitDefinition("campaign_responses_365d", "campaign_sends", "sum", "a_repondu",
                    window_days=365),
)


def demo_files_dir(workspace_path: str | Path) -> Path:
    """Where the demo's source files live: a folder beside the workspace file."""
    path = Path(workspace_path)
    return path.with_name(f"{path.stem}_files")


def _activate(ws: Workspace, report: Progress) -> str:
    """Scores, the use-case library and its segments, ready to export; a one-line summary."""
    from cdp_core import scoring, segments, use_cases  # scikit-learn: loaded on demand

    scoring.train(ws, progress=lambda f, m: report(0.9 + 0.07 * f, m))
    report(0.97, "installing the use cases and their segments")
    # The demo's campaigns are monthly: at most two messages in two months keeps the rule
    # visible (a few people are left out of each export).
    segments.save_pressure_rule(ws, segments.PressureRule(max_messages=2, period_days=60))
    library = use_cases.load_library()
    use_cases.install_library(ws)
    saved = use_cases.install_segments(ws, library)
    report(0.98, "rebuilding the KPIs' last 12 months")
    _project_under_way(ws, library)
    return f"{len(library)} use cases, {saved} segments"


def _project_under_way(ws: Workspace, library: list[UseCase]) -> None:
    """A CDP project a year in: the use cases the demo's campaigns measure went live with
    their campaign's first send, and every computed KPI has its monthly history rebuilt from
    the dated events, so trends and their go-live marks show from the first start."""
    from cdp_core import kpi, use_cases

    for use_case in library:
        computed = {k.id: k.computed for k in use_case.kpis if k.computed}
        if computed:
            kpi.backfill_history(ws, use_case.id, computed,
                                 targets={k.id: k.target for k in use_case.kpis})
        if use_case.campaign:
            first_send = ws.cursor().execute(
                "SELECT min(event_at)::DATE FROM golden.events WHERE kind = 'campaign_sends' "
                "AND props['campagne'] = ?", [use_case.campaign]).fetchone()[0]
            if first_send is not None:
                use_cases.set_status(ws, use_case.id, "active", first_send, by="demo")


def build_demo(
    workspace_path: str | Path,
    *,
    n_people: int = DEFAULT_PEOPLE,
    seed: int = DEFAULT_SEED,
    progress: Progress | None = None,
    unify: bool = False,
) -> str:
    """Create a workspace holding the demo company; return a one-line summary.

    With ``unify`` the records are also matched and the unified profiles built, so every
    page has something to show from the first start. The workspace is built under a
    temporary name and renamed when complete, so an interrupted build never leaves a
    half-filled workspace at ``workspace_path``.
    """
    report = progress or (lambda _fraction, _message: None)
    target = Path(workspace_path)
    building = target.with_name(f".{target.name}.building")
    for leftover in (building, Path(f"{building}.wal")):
        leftover.unlink(missing_ok=True)
    files_dir = demo_files_dir(target)
    report(0.0, f"generating {n_people} people")
    sources = generate_demo_files(files_dir, n_people=n_people, seed=seed)
    rows = 0
    with Workspace.open(building) as ws:
        for index, source in enumerate(sources):
            report(0.1 + (0.6 if unify else 0.85) * index / len(sources),
                   f"ingesting {source.name}")
            meta = SourceMeta(
                kind=source.kind, department=source.department,
                collection_mode=source.collection_mode, refresh_cadence=source.refresh_cadence,
                description=source.description, profile_source=source.profile_source)
            result = ingest_file(ws, files_dir / source.file, source.name, meta=meta,
                                 mapping_override=source.mapping, sheet=source.sheet)
            rows += result.rows
        with ws.transaction() as cur:
            cur.execute("INSERT INTO demo.ground_truth SELECT source, record_id, person_id "
                        "FROM read_csv(?, all_varchar = true)",
                        [str(files_dir / GROUND_TRUTH_FILE)])
        declare(ws, list(DEMO_TRAITS), by="demo")
        unified = ""
        if unify:
            from cdp_core.unify import unify as match_and_build  # needs Splink: loaded on demand

            run, _ = match_and_build(ws, progress=lambda f, m: report(0.7 + 0.2 * f, m))
            unified = f", {run.clusters} people after matching, " + _activate(ws, report)
    os.replace(building, target)
    report(1.0, "done")
    return f"{len(sources)} sources, {rows} rows{unified}, files in {files_dir}"
