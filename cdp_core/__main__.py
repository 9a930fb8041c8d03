"""The command line: ``python -m cdp_core COMMAND WS ...`` (the contract in DESIGN.md).

Every command exits 0 on success; on bad input it prints one line on stderr, exits 2 and leaves
the workspace as it was. Progress of long commands goes to stderr, results to stdout.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cdp_core import catalog, demo, exports, golden, profiling
from cdp_core.errors import WorkbenchError
from cdp_core.ingest import check_source_name, ingest_file
from cdp_core.mapping import parse_mapping_yaml
from cdp_core.readers import read_text_file
from cdp_core.workspace import Workspace


def _progress(label: str) -> Callable[[float, str], None]:
    """Progress on one rewritten terminal line; silent when stderr is a file or a pipe."""
    def report(fraction: float, message: str) -> None:
        if sys.stderr.isatty():
            end = "\n" if fraction >= 1 else ""
            print(f"\r{label}: {fraction:4.0%} {message:<40}", end=end, file=sys.stderr,
                  flush=True)

    return report


def _init(args: argparse.Namespace) -> None:
    path = Path(args.workspace)
    if path.exists():
        raise WorkbenchError(f"{path} already exists: choose a new file name")
    Workspace.open(path).close()
    print(f"created workspace {path}")


def _demo(args: argparse.Namespace) -> None:
    path = Path(args.workspace)
    if path.exists():
        raise WorkbenchError(f"{path} already exists: choose a new file name")
    summary = demo.build_demo(path, n_people=args.people, seed=args.seed,
                              progress=_progress("demo"), unify=True)
    print(f"created demo workspace {path}: {summary}")


def _ingest(args: argparse.Namespace) -> None:
    check_source_name(args.source)  # refuse a bad name before touching the workspace
    file_mapping = None
    if args.mapping:
        mapping_path = Path(args.mapping)
        if not mapping_path.is_file():
            raise WorkbenchError(f"{mapping_path}: no such mapping file")
        file_mapping = parse_mapping_yaml(read_text_file(mapping_path), mapping_path.name)
    with Workspace.open(args.workspace) as ws:
        result = ingest_file(ws, args.file, args.source, mapping_override=file_mapping,
                             sheet=args.sheet, progress=_progress("ingest"))
    mapped = ", ".join(f"{m.field}={m.column}" for m in result.mapping)
    print(f"source {result.source!r} version {result.version}: {result.rows} rows, "
          f"kind {result.kind}; mapping: {mapped}")
    if result.changes and (result.changes.added or result.changes.removed):
        print(f"columns added: {result.changes.added}; removed: {result.changes.removed}")


def _profile(args: argparse.Namespace) -> None:
    with Workspace.open(args.workspace) as ws:
        cur = ws.cursor()
        source = catalog.require_source(cur, args.source)
        version = catalog.current_version(cur, source.source_id)
        raw_table, _ = catalog.table_names(source.source_id, version)
        summary = profiling.quick_profile(cur, raw_table)
        print(summary.to_string(index=False, max_colwidth=30))
        if args.html:
            report = profiling.full_report_html(cur, raw_table, args.source,
                                                progress=_progress("report"))
            profiling.save_report(ws, source.source_id, version, report)
            Path(args.html).write_text(report.html, encoding="utf-8")
            print(f"full report written to {args.html} ({report.rows_sampled} of "
                  f"{report.rows_total} rows)")


def _match(args: argparse.Namespace) -> None:
    if args.threshold is not None and not 0 < args.threshold < 1:
        raise WorkbenchError(f"--threshold {args.threshold}: give a probability between 0 and 1")
    if args.model and not Path(args.model).is_file():
        raise WorkbenchError(f"{args.model}: no such model file")
    if args.engine == "spark":
        _match_spark(args)
        return
    if args.input or args.output:
        raise WorkbenchError("--input and --output go with --engine spark")
    from cdp_core.unify import unify  # Splink is slow to import: only the commands using it pay

    with Workspace.open(args.workspace) as ws:
        run, built = unify(ws, threshold=args.threshold, model_json_path=args.model,
                           progress=_progress("match"))
        print(run.summary())
        print(built.summary())


def _match_spark(args: argparse.Namespace) -> None:
    """Score and cluster exported records on Spark; the workspace is not opened (it may be
    elsewhere): `import-clusters` brings the result into it."""
    if not (args.model and args.input and args.output):
        raise WorkbenchError("--engine spark needs --model MODEL.json, --input DIR (from "
                             "`export WS standardised DIR`) and --output DIR")
    from cdp_core import matching, offload

    model = matching.load_model_json(args.model)
    offload.read_manifest(args.input, offload.STANDARDISED)  # refuse bad input before Spark starts
    from cdp_core import spark_engine

    result = spark_engine.match_parquet(model, args.input, args.output, threshold=args.threshold,
                                        progress=_progress("match"))
    print(result.summary())


def _import_clusters(args: argparse.Namespace) -> None:
    """A Spark run's pairs and clusters become the workspace's matching run."""
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    from cdp_core import offload

    offload.read_manifest(args.directory, offload.MATCHED)  # before opening the workspace
    with Workspace.open(args.workspace) as ws:
        run, built = offload.import_clusters(ws, args.directory,
                                             progress=_progress("import"))
    print(run.summary())
    print(built.summary())


def _export_standardised(args: argparse.Namespace) -> None:
    """The match input as Parquet for another engine (Spark), with its manifest."""
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    from cdp_core import offload

    with Workspace.open(args.workspace, read_only=True) as ws:
        print(offload.export_standardised(ws, args.names[0]).summary())


def _export(args: argparse.Namespace) -> None:
    if args.what == "segment":
        _export_segment(args)
        return
    if len(args.names) != 1:
        out = "DIR" if args.what == "standardised" else "OUT.csv"
        raise WorkbenchError(f"usage: export WS {args.what} {out}")
    if args.channel or args.hashed or args.fields:
        raise WorkbenchError("--channel, --hashed and --fields apply to segments only")
    if args.what == "profiles":
        _export_profiles(args)
        return
    if args.lineage or args.consented:
        raise WorkbenchError("--lineage and --consented apply to profiles only")
    if args.what == "standardised":
        _export_standardised(args)
        return
    from cdp_core import matching

    with Workspace.open(args.workspace, read_only=True) as ws:
        frame = matching.export_clusters(ws.cursor())
    out = exports.write_table(frame, args.names[0], sheet_name="clusters")
    print(f"{len(frame)} records written to {out}")


def _export_profiles(args: argparse.Namespace) -> None:
    """Unified profiles, built first when they are missing or older than the clusters."""
    if args.consented is not None and args.consented not in golden.CONSENT_CHANNELS:
        raise WorkbenchError(f"--consented {args.consented}: choose email or sms")
    if Path(args.names[0]).suffix.lower() not in exports.FORMATS:
        raise WorkbenchError(f"{args.names[0]}: choose an output ending in "
                             f"{', '.join(exports.FORMATS)}")
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    with Workspace.open(args.workspace) as ws:
        if golden.is_stale(ws.cursor()):
            print(golden.build(ws, progress=_progress("profiles")).summary())
        frame = golden.export_profiles(ws.cursor(), lineage=args.lineage,
                                       consented=args.consented)
    out = exports.write_table(frame, args.names[0], sheet_name="profiles")
    print(f"{len(frame)} profiles written to {out}")


def _export_segment(args: argparse.Namespace) -> None:
    """A segment's members who may be contacted on its channel, formula-safe."""
    from cdp_core import segments

    if len(args.names) != 2:
        raise WorkbenchError("usage: export WS segment NAME OUT.csv")
    if args.lineage or args.consented:
        raise WorkbenchError("--lineage and --consented apply to profiles only")
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    name, out = args.names
    columns = [c.strip() for c in args.fields.split(",") if c.strip()] if args.fields else None
    with Workspace.open(args.workspace) as ws:
        result = segments.export(ws, name, out, channel=args.channel, columns=columns,
                                 hashed=args.hashed, by="command line")
    print(result.summary())


def _check(args: argparse.Namespace) -> None:
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    with Workspace.open(args.workspace) as ws:  # read-write: replays a crashed write's log
        problems = catalog.consistency_problems(ws.cursor())
    if problems:
        raise WorkbenchError(f"{len(problems)} problem(s): " + "; ".join(problems))
    print(f"workspace {args.workspace} is consistent")


def _list(args: argparse.Namespace) -> None:
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    with Workspace.open(args.workspace, read_only=True) as ws:
        if args.what == "segments":
            from cdp_core import segments

            names = segments.names(ws.cursor())
        elif args.what == "use-cases":  # the library's until the workspace holds its own
            from cdp_core import report

            names = [entry.use_case.name for entry in report.tracked_use_cases(ws.cursor())]
        else:
            names = [source.name for source in catalog.all_sources(ws.cursor())]
    for name in names:
        print(name)


def _report(args: argparse.Namespace) -> None:
    """The workshop pack, read from the workspace without changing it."""
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        raise WorkbenchError(f"{out.name}: the workshop pack is an Excel workbook; choose an "
                             "output ending in .xlsx")
    if not Path(args.workspace).is_file():
        raise WorkbenchError(f"{args.workspace}: no such workspace")
    from cdp_core import report

    with Workspace.open(args.workspace, read_only=True) as ws:
        written = report.write_workshop_pack(ws, out, language=args.language)
    print(f"workshop pack written to {written} ({len(report.SHEETS)} sheets)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, kept to the command line of DESIGN.md."""
    parser = argparse.ArgumentParser(prog="python -m cdp_core",
                                     description="CDP Workbench command line")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create an empty workspace")
    init.add_argument("workspace")
    init.set_defaults(run=_init)

    demo_cmd = commands.add_parser("demo", help="create a workspace holding the demo company")
    demo_cmd.add_argument("workspace")
    demo_cmd.add_argument("--people", type=int, default=demo.DEFAULT_PEOPLE)
    demo_cmd.add_argument("--seed", type=int, default=demo.DEFAULT_SEED)
    demo_cmd.set_defaults(run=_demo)

    ingest = commands.add_parser("ingest", help="ingest a file as a new version of a source")
    ingest.add_argument("workspace")
    ingest.add_argument("file")
    ingest.add_argument("--source", required=True)
    ingest.add_argument("--mapping")
    ingest.add_argument("--sheet")
    ingest.set_defaults(run=_ingest)

    profile = commands.add_parser("profile", help="profile a source")
    profile.add_argument("workspace")
    profile.add_argument("--source", required=True)
    profile.add_argument("--html")
    profile.set_defaults(run=_profile)

    match = commands.add_parser("match", help="match profile records into people")
    match.add_argument("workspace")
    match.add_argument("--threshold", type=float)
    match.add_argument("--model")
    match.add_argument("--engine", choices=["duckdb", "spark"], default="duckdb",
                       help="spark: score exported records on Spark (needs --input, --output)")
    match.add_argument("--input", metavar="DIR", help="spark: `export WS standardised DIR` output")
    match.add_argument("--output", metavar="DIR", help="spark: where pairs and clusters go")
    match.set_defaults(run=_match)

    imported = commands.add_parser("import-clusters",
                                   help="store a Spark match's clusters as the matching run")
    imported.add_argument("workspace")
    imported.add_argument("directory", metavar="DIR")
    imported.set_defaults(run=_import_clusters)

    export = commands.add_parser("export", help="export clusters, profiles, a segment or the "
                                 "standardised records (Parquet, for Spark)")
    export.add_argument("workspace")
    export.add_argument("what", choices=["clusters", "profiles", "segment", "standardised"])
    export.add_argument("names", nargs="+", metavar="[NAME] OUT")
    export.add_argument("--lineage", action="store_true",
                        help="profiles: add each value's source and record")
    export.add_argument("--consented", metavar="email|sms",
                        help="profiles: only the people who agreed to this channel")
    export.add_argument("--channel", choices=["email", "sms", "ads", "call_centre", "store"],
                        help="segment: the channel to export for (default: the segment's)")
    export.add_argument("--hashed", action="store_true",
                        help="segment: SHA-256 of e-mails and phones, for ad platforms")
    export.add_argument("--fields", help="segment: the columns to write, comma-separated")
    export.set_defaults(run=_export)

    check = commands.add_parser("check", help="check a workspace's consistency")
    check.add_argument("workspace")
    check.set_defaults(run=_check)

    listing = commands.add_parser("list", help="list sources, segments or use cases")
    listing.add_argument("workspace")
    listing.add_argument("what", choices=["sources", "segments", "use-cases"])
    listing.set_defaults(run=_list)

    pack = commands.add_parser("report", help="write the workshop pack (.xlsx)")
    pack.add_argument("workspace")
    pack.add_argument("out", metavar="OUT.xlsx")
    pack.add_argument("--language", choices=["en", "fr"], default="en")
    pack.set_defaults(run=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a user error becomes one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except WorkbenchError as exc:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
