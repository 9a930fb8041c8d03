"""Records out to another engine as Parquet, its clusters back in: the Spark round trip.

1. `export_standardised` writes what matching reads (the match input of the current profile
   sources: unique_id, source_dataset, record_id, display forms, matching keys, derived
   columns, blocked values already NULL) to ``DIR/records/`` with ``DIR/manifest.json``.
2. `cdp_core.spark_engine.match_parquet` scores and clusters them on Spark with a saved
   model and writes ``OUT/pairs/``, ``OUT/clusters/`` and ``OUT/manifest.json``.
3. `import_clusters` stores those pairs as the workspace's matching run, exactly as a DuckDB
   run with the same model stores its own, then rebuilds the unified profiles.

A manifest is written last, so a directory without one is an interrupted export: refused.
Manifests hold counts, column and source names, never personal data. This module never
imports pyspark.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from cdp_core import catalog, mapping
from cdp_core.errors import InputError
from cdp_core.workspace import Workspace

if TYPE_CHECKING:
    from cdp_core.golden import BuildResult
    from cdp_core.matching import RunResult

__all__ = [
    "CLUSTERS_DIR", "MANIFEST", "MATCHED", "PAIRS_DIR", "RECORDS_DIR", "STANDARDISED",
    "ExportResult", "export_standardised", "import_clusters", "read_manifest", "write_manifest",
]

Progress = Callable[[float, str], None]
MANIFEST = "manifest.json"
FORMAT = "cdp-workbench-offload"
STANDARDISED = "standardised"  # manifest kinds
MATCHED = "matched"
RECORDS_DIR = "records"
PAIRS_DIR = "pairs"
CLUSTERS_DIR = "clusters"
_WRITTEN_BY = {STANDARDISED: "python -m cdp_core export WS standardised DIR",
               MATCHED: "python -m cdp_core match WS --engine spark ... --output DIR"}


def quiet(_fraction: float, _message: str) -> None:
    """A progress callback that reports nothing."""


# --------------------------------------------------------------------------- manifests


def write_manifest(directory: str | Path, kind: str, content: dict[str, Any]) -> Path:
    """Write ``manifest.json`` of ``kind`` into ``directory`` atomically (renamed into place)."""
    target = Path(directory) / MANIFEST
    body = {"format": FORMAT, "version": 1, "kind": kind,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"), **content}
    handle, tmp_name = tempfile.mkstemp(prefix=".tmp_", suffix=".json", dir=target.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2, ensure_ascii=False, default=str)
    os.replace(tmp_name, target)
    return target


def read_manifest(directory: str | Path, kind: str) -> dict[str, Any]:
    """The manifest of a directory this module (or the Spark engine) wrote.

    Raises:
        InputError: no such directory, no manifest, or a manifest of another kind.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such directory")
    path = folder / MANIFEST
    expected = f"a directory written by `{_WRITTEN_BY[kind]}`"
    if not path.is_file():
        raise InputError(f"{folder}: no {MANIFEST}; give {expected}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{path}: not valid JSON; give {expected}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("kind") != kind:
        raise InputError(f"{path}: not the manifest expected; give {expected}")
    return manifest


# --------------------------------------------------------------------------- export


def _profile_sources(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Each profile source's id, name, current version and rows: what the records came from."""
    found = []
    for source in catalog.all_sources(cur):
        if source.kind != mapping.PROFILE_KIND:
            continue
        version = catalog.current_version(cur, source.source_id)
        rows = cur.execute("SELECT row_count FROM meta.source_versions WHERE source_id = ? "
                           "AND version = ?", [source.source_id, version]).fetchone()[0]
        found.append({"source_id": source.source_id, "name": source.name, "version": version,
                      "records": rows})
    return found


def _attributes(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The extra attributes matching may use: those of the saved settings and of the current
    model (a model file applied here may name others), else those a suggestion would use."""
    from cdp_core import matching

    attributes: dict[str, str] = {}
    settings = matching.load_settings(cur)
    if settings is not None:
        attributes |= settings.attributes
    with suppress(InputError):  # no model yet
        attributes |= matching.load_model(cur).settings.attributes
    if settings is None and not attributes:
        attributes = matching.suggest_settings(cur).attributes
    return attributes


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote: where, how many records, and its manifest."""

    path: Path
    records: int
    manifest: dict[str, Any]

    def summary(self) -> str:
        """One line for the command line."""
        return (f"{self.records:,} standardised records of {len(self.manifest['sources'])} "
                f"profile sources written to {self.path}")


def export_standardised(ws: Workspace, directory: str | Path) -> ExportResult:
    """Write the match input of the current profile sources as Parquet, plus a manifest.

    ``directory`` must be new or empty. Records go to ``records/records.parquet``; the manifest
    (sources and versions, columns, record count) is written last.

    Raises:
        InputError: the directory holds files already; the workspace has no profile source.
    """
    from cdp_core.matching_settings import input_sql

    folder = Path(directory)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(f"{folder}: choose a new or empty directory")
    cur = ws.cursor()
    attributes = _attributes(cur)
    sql, params = input_sql(cur, attributes)
    sources = _profile_sources(cur)
    (folder / RECORDS_DIR).mkdir(parents=True, exist_ok=True)
    target = folder / RECORDS_DIR / "records.parquet"
    cur.execute(f"COPY ({sql} ORDER BY unique_id) TO ? (FORMAT parquet)", [*params, str(target)])
    written = cur.execute("SELECT * FROM read_parquet(?) LIMIT 0", [str(target)])
    columns = [column[0] for column in written.description]
    records = cur.execute("SELECT count(*) FROM read_parquet(?)", [str(target)]).fetchone()[0]
    manifest = {"records": records, "columns": columns, "attributes": attributes,
                "sources": sources}
    write_manifest(folder, STANDARDISED, manifest)
    return ExportResult(folder, records, manifest)


# --------------------------------------------------------------------------- import


def import_clusters(ws: Workspace, directory: str | Path, *, progress: Progress | None = None
                    ) -> tuple[RunResult, BuildResult]:
    """Store a Spark run's pairs as the workspace's matching run, then rebuild the profiles.

    The pairs are clustered again here, as `matching.predict` clusters its own, so reviewers'
    must-link and never-link decisions apply and the clusters, their stable ids, the
    predictions and the ``meta.match_runs`` row are exactly those of a DuckDB run with the
    same model; they replace the previous ones in one transaction. The unified profiles,
    search index and traits are then rebuilt as `unify.unify` does.

    Raises:
        InputError: not a Spark run's directory; the profile sources changed since the export.

    """
    from cdp_core import matching, unify

    report = progress or quiet
    folder = Path(directory)
    manifest = read_manifest(folder, MATCHED)
    try:
        model = matching.TrainedModel.from_json(json.dumps(manifest["model"]))
        exported = manifest["input"]["sources"]
        threshold = float(manifest["threshold"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{folder / MANIFEST}: incomplete; run the Spark match again") from None
    pairs = sorted((folder / PAIRS_DIR).glob("*.parquet"))
    if not pairs:
        raise InputError(f"{folder / PAIRS_DIR}: no Parquet files of pairs")
    if _profile_sources(ws.cursor()) != exported:
        raise InputError("the profile sources changed since the records were exported: export "
                         "them again and match them on Spark again")
    report(0.05, "clustering the imported pairs")
    run = matching.store_scored_pairs(ws, model, str(folder / PAIRS_DIR / "*.parquet"),
                                      threshold)
    built = unify.refresh_unified(ws, progress=lambda f, m: report(0.5 + 0.5 * f, m))
    return run, built
