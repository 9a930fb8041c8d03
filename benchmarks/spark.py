"""Time the two matching engines on one saved model: DuckDB (embedded) and Spark (local mode).

For each size, a demo company is built (or a matched workspace copied), matched once on
DuckDB to train and save a model, then the same model predicts and clusters on both engines:
DuckDB through `matching.predict`, Spark through `spark_engine.match_parquet` over the
records `offload.export_standardised` wrote. Prints seconds per engine and whether the
clusters are identical (same members, same ids).

    python -m benchmarks.spark                       # 100,000 and 1,000,000 people
    python -m benchmarks.spark --people 100000
    python -m benchmarks.spark --people 1000000 --workspace matched_1m.duckdb

A given --workspace (matched, with a current model) is COPIED first and never written.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from cdp_core import matching, offload
from cdp_core.demo import build_demo
from cdp_core.workspace import Workspace


def _matched_copy(people: int, workspace: Path | None, folder: Path) -> Path:
    """A private matched workspace: a copy of ``workspace``, or a new demo matched here."""
    path = folder / f"demo_{people}.duckdb"
    if workspace is not None:
        shutil.copyfile(workspace, path)
        return path
    started = time.monotonic()
    build_demo(path, n_people=people, unify=False)
    with Workspace.open(path) as ws:
        matching.run_match(ws)
    print(f"  demo of {people:,} people built and matched in {time.monotonic() - started:.0f} s")
    return path


def _cluster_sets(frame_sql: str, params: list[str], con: duckdb.DuckDBPyConnection) -> set:
    """Clusters as (cluster_id, sorted members) for comparing engines."""
    rows = con.execute(f"SELECT cluster_id, list(unique_id ORDER BY unique_id) FROM ({frame_sql}) "  # noqa: S608
                       "GROUP BY cluster_id", params).fetchall()
    return {(cluster_id, tuple(members)) for cluster_id, members in rows}


def _differing_pairs(duck_pairs: Path, spark_pairs: Path) -> tuple[int, int]:
    """(pairs DuckDB scored, pairs found by one engine only or scored differently)."""
    con = duckdb.connect()
    gammas = [row[0] for row in con.execute(
        "SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(?)) "
        "WHERE column_name LIKE 'gamma_%'", [str(duck_pairs)]).fetchall()]
    same = " AND ".join(f"d.{g} IS NOT DISTINCT FROM s.{g}" for g in gammas)
    return con.execute(
        "SELECT count(d.unique_id_l), count(*) FILTER (WHERE d.unique_id_l IS NULL OR "  # noqa: S608
        "s.unique_id_l IS NULL OR d.decided_by <> s.decided_by OR "
        f"abs(d.match_probability - s.match_probability) > 1e-9 OR NOT ({same or 'true'})) "
        "FROM read_parquet(?) d FULL JOIN read_parquet(?) s USING (unique_id_l, unique_id_r)",
        [str(duck_pairs), str(spark_pairs)]).fetchone()


def measure(people: int, workspace: Path | None) -> None:
    """Print the seconds of both engines at one size, and how far their results differ."""
    from cdp_core import spark_engine

    with tempfile.TemporaryDirectory(prefix="cdp-bench-spark-") as tmp:
        folder = Path(tmp)
        path = _matched_copy(people, workspace, folder)
        with Workspace.open(path) as ws:
            model = matching.load_model(ws.cursor())
            started = time.monotonic()
            run = matching.predict(ws, model)
            duck_seconds = time.monotonic() - started
            started = time.monotonic()
            exported = offload.export_standardised(ws, folder / "std")
            export_seconds = time.monotonic() - started
            duck = _cluster_sets("SELECT unique_id, cluster_id FROM match.clusters", [],
                                 ws.cursor())
            ws.cursor().execute("COPY match.predictions TO ? (FORMAT parquet)",
                                [str(folder / "duck_pairs.parquet")])
        spark = spark_engine.spark_session(scratch_dir=folder / "spark")
        started = time.monotonic()
        result = spark_engine.match_parquet(model, folder / "std", folder / "out", spark=spark)
        spark_seconds = time.monotonic() - started
        spark.stop()
        sparked = _cluster_sets("SELECT * FROM read_parquet(?)",
                                [str(folder / "out" / offload.CLUSTERS_DIR / "*.parquet")],
                                duckdb.connect())
        scored, differing = _differing_pairs(
            folder / "duck_pairs.parquet", folder / "out" / offload.PAIRS_DIR / "*.parquet")
        print(f"{people:>9,} people, {exported.records:,} records: DuckDB predict+cluster "
              f"{duck_seconds:.1f} s ({run.clusters:,} clusters); export {export_seconds:.1f} s; "
              f"Spark local[*] predict+cluster {spark_seconds:.1f} s ({result.clusters:,} "
              f"clusters); identical clusters: {duck == sparked}; pairs scored differently: "
              f"{differing:,} of {scored:,}", flush=True)


def main() -> None:
    """Parse the sizes and measure each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, action="append",
                        help="demo size (repeatable; default 100,000 and 1,000,000)")
    parser.add_argument("--workspace", type=Path,
                        help="a matched workspace to copy instead of building the demo")
    args = parser.parse_args()
    for people in args.people or [100_000, 1_000_000]:
        measure(people, args.workspace)


if __name__ == "__main__":
    main()
