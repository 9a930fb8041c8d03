"""Ingest + standardise a 1,000,000-row demo profile source; peak memory; quick profile time.

Targets (2 cores): ingest + standardise <= 30 s and <= 2 GB peak memory; quick profile <= 3 s.
Each measured step runs in a fresh process so the peak memory is the ingest's own.

Run from the repository root:
    python -m benchmarks.ingest [--rows 1000000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

from cdp_core import catalog, profiling
from cdp_core.demo_data import generate_demo_files
from cdp_core.ingest import ingest_file
from cdp_core.workspace import Workspace

# Shares of people holding a web account / a loyalty card in the demo (with some margin).
_SOURCES = {"web_accounts.csv": ("Web shop accounts", 0.55),
            "cartes_fidelite.csv": ("Store loyalty cards", 0.5)}


def make_inputs(folder: Path, rows: int) -> list[Path]:
    """Demo profile files cut to exactly ``rows`` data rows each."""
    people = int(rows / min(share for _, share in _SOURCES.values())) + 1
    generated = folder / "generated"
    generate_demo_files(generated, n_people=people, with_events=False)
    inputs = []
    for name in _SOURCES:
        target = folder / name
        with (generated / name).open("rb") as source, target.open("wb") as out:
            out.writelines(islice(source, rows + 1))
        inputs.append(target)
    return inputs


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited on exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(workspace: Path, file: Path, source: str) -> None:
    """One ingest and one quick profile, in this process; prints the figures."""
    with Workspace.open(workspace) as ws:
        start = time.perf_counter()
        result = ingest_file(ws, file, source)
        ingest_seconds = time.perf_counter() - start
        peak_mb = peak_memory_mb()
        cur = ws.cursor()
        found = catalog.require_source(cur, source)
        raw, std = catalog.table_names(found.source_id, result.version)
        start = time.perf_counter()
        profiling.quick_profile(cur, raw)
        profile_seconds = time.perf_counter() - start
    print(f"{file.name}: {result.rows:,} rows, {file.stat().st_size / 1e6:.0f} MB, "
          f"{' · '.join(result.notes)}")
    print(f"  ingest + standardise: {ingest_seconds:.1f} s (target <= 30 s)")
    print(f"  peak memory (RSS):    {peak_mb:,.0f} MB (target <= 2,048 MB)")
    print(f"  quick profile:        {profile_seconds:.2f} s (target <= 3 s)")
    rejected = sum(s.rejected for s in result.stats)
    print(f"  standardisation:      {len(result.stats)} rules, {rejected:,} values rejected")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="folder for the inputs (kept afterwards)")
    parser.add_argument("--measure", nargs=3, metavar=("WS", "FILE", "SOURCE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(Path(args.measure[0]), Path(args.measure[1]), args.measure[2])
        return
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        inputs = make_inputs(folder, args.rows)
        print(f"generated inputs in {time.perf_counter() - start:.0f} s")
        for file in inputs:
            workspace = folder / f"{file.stem}.duckdb"
            workspace.unlink(missing_ok=True)
            subprocess.run([sys.executable, "-m", "benchmarks.ingest", "--measure",
                            str(workspace), str(file), _SOURCES[file.name][0]], check=True)


if __name__ == "__main__":
    main()
