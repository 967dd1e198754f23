"""``harness data validate-export|verify|compare|check-refs|snapshot|mapping``: the CLI shell over this package.

Each command but ``validate-export`` takes ``--target NAME`` and opens it like the suites do (``local``, the
default, starts the embedded default with a migrated copy of the seeded data). Exit status: 0 equal/clean,
1 different or incomplete, 2 usage errors (raised as ``HarnessError``, printed as one line by ``harness.cli``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Target
from ..config.run import resolve_run
from ..errors import ConfigError, HarnessError, did_you_mean

if TYPE_CHECKING:  # each command imports what it runs: every `harness` command builds this parser, and the
    # readers, the compare and the export check pull in psycopg, httpx, deepdiff and jsonschema
    from .readers import DestinationReader, SourceReader
    from .report import CompareReport, ProblemReport
    from .settings import CompareSettings
    from .show import RecordViews


@contextmanager
def open_sides(
    target: Target, *, source: bool = True, destination: bool = True
) -> Iterator[tuple[CompareSettings, SourceReader | None, DestinationReader | None]]:
    """The target's compare settings (its declared mapping included) and readers for the sides asked for; one
    line naming the missing section."""
    settings = target.compare
    if source and target.source is None:
        raise ConfigError(f"target {target.name!r} has no [targets.{target.name}.source] dsn; data checks need it")
    if destination and target.destination is None:
        raise ConfigError(f"target {target.name!r} has no [targets.{target.name}.destination] url; data checks need it")
    from .readers import DestinationReader, SourceReader

    with contextlib.ExitStack() as stack:
        src = dst = None
        if source and target.source is not None:
            src = SourceReader(
                target.source.dsn,
                mapping=settings.mapping,
                page_size=settings.page_size,
                retries=settings.retries,
                connect_timeout=target.timeouts.connect,
            )
            stack.callback(src.close)
        if destination and target.destination is not None:
            dst = DestinationReader(
                target.destination.url,
                target.destination.database,
                mapping=settings.mapping,
                page_size=settings.page_size,
                retries=settings.retries,
                timeout=target.destination.read_timeout,
                headers=target.destination.headers(),
            )
            stack.callback(dst.close)
        yield settings, src, dst


def _emit(report: CompareReport | ProblemReport | RecordViews, args: argparse.Namespace) -> int:
    if args.output:
        try:
            Path(args.output).write_text(report.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            raise HarnessError(f"cannot write {args.output} ({exc.strerror}); choose another --output") from None
    print(report.to_json() if args.json else report.summary(), flush=True)
    return report.exit_code


def _open(args: argparse.Namespace) -> Any:
    from ..targets import open_target

    return open_target(resolve_run(target=args.target), characters=args.characters)


def _collections(args: argparse.Namespace, settings: CompareSettings) -> tuple[str, ...]:
    """``--collection`` (each one declared, else a one-line error; a repeated one compared once, in the order
    first given) or the settings' collections."""
    if not args.collection:
        return settings.collections
    for name in args.collection:
        if name not in settings.mapping:
            raise ConfigError(
                f"--collection {name}: not a collection of the target's mapping{did_you_mean(name, settings.mapping)}"
                f" (collections: {', '.join(settings.mapping)})"
            )
    return tuple(dict.fromkeys(args.collection))


def _check_compare_options(args: argparse.Namespace) -> None:
    """Every option of a compare, checked before anything is opened or started: with ``--jobs``, a bad option is
    one line here rather than one per child and a merge of no reports."""
    if args.sample is not None and not 0 < args.sample <= 1:
        raise ConfigError("--sample must be a fraction in (0, 1], e.g. 0.05 for 5% of the key ranges")
    if args.recheck_after is not None and args.recheck_after < 0:
        raise ConfigError("--recheck-after must be a number of seconds, 0 or more")
    for name, value in (("--max-diffs", args.max_diffs), ("--time-limit", args.time_limit)):
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be positive")
    if args.jobs is not None:
        if args.jobs < 1 or args.partitions is not None or args.partition is not None:
            raise ConfigError("--jobs N needs N >= 1 and makes the partitions itself (no --partitions, --partition)")
        if args.sample is not None:  # as for --partitions: a sample of each partition is no sample of the whole
            raise ConfigError("--sample and --jobs do not go together; sample the whole, or compare in partitions")


def _cmd_compare(args: argparse.Namespace) -> int:
    from .compare import CompareOptions, compare
    from .progress import stderr_progress

    if args.against_snapshot:
        return _cmd_against_snapshot(args)
    _check_compare_options(args)
    if args.jobs is not None:
        return _cmd_jobs(args)
    partition = _partition(args)
    with _open(args) as target, open_sides(target) as (settings, src, dst):
        assert src is not None and dst is not None
        with stderr_progress(quiet=args.quiet) as progress:
            options = CompareOptions(
                collections=_collections(args, settings),
                max_diffs=args.max_diffs,
                time_limit=args.time_limit,
                sample=args.sample,
                seed=args.seed,
                checksums=False if args.no_checksums else None,
                progress=progress,
                recheck_after=args.recheck_after,
                partition=partition,
            )
            report = compare(src, dst, settings, options)
        return _emit(report, args)


def _partition(args: argparse.Namespace) -> tuple[int, int] | None:
    if args.partitions is None and args.partition is None:
        return None
    if args.partitions is None or args.partition is None or not 0 <= args.partition < args.partitions:
        raise ConfigError("--partitions N and --partition I go together, with 0 <= I < N")
    if args.sample is not None:
        raise ConfigError("--sample and --partitions do not go together; sample the whole, or compare a partition")
    return args.partition, args.partitions


def _partition_options(args: argparse.Namespace, collections: tuple[str, ...]) -> list[str]:
    """The options of this compare that each ``--jobs`` child runs with: everything that applies to a partition
    (``--max-diffs`` and ``--time-limit`` bound each child; ``--recheck-after`` rechecks each one's mismatches)."""
    options = ["--seed", str(args.seed), *(a for c in collections for a in ("--collection", c))]
    for option, value in (
        ("--max-diffs", args.max_diffs),
        ("--time-limit", args.time_limit),
        ("--recheck-after", args.recheck_after),
    ):
        options += [option, str(value)] if value is not None else []
    return options + (["--no-checksums"] if args.no_checksums else [])


def _cmd_jobs(args: argparse.Namespace) -> int:
    """``--jobs N``: the N partitions as local processes (the same command with --partition I), then merged."""
    from .merge import merge_reports, read_report

    run = resolve_run(target=args.target)
    if run.embedded or run.named is None:
        raise ConfigError("--jobs needs a named target (each job would start its own local stack)")
    # the collections are checked here, once, rather than by every child
    collections = _collections(args, run.named.compare) if args.collection else ()
    child = ["data", "compare", *run.child_target_option(), *_partition_options(args, collections)]
    with tempfile.TemporaryDirectory(prefix="harness-jobs-") as tmp:
        outputs = [Path(tmp) / f"partition-{i}.json" for i in range(args.jobs)]
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "harness",
                    *child,
                    "--partitions",
                    str(args.jobs),
                    "--partition",
                    str(i),
                    "--quiet",
                    "--json",
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
            )
            for i, out in enumerate(outputs)
        ]
        for proc in procs:
            proc.wait()
        report = merge_reports([read_report(p) for p in outputs if p.exists()] or _none(args.jobs))
    return _emit(report, args)


def _none(parts: int) -> list[dict[str, Any]]:
    raise HarnessError(f"none of the {parts} jobs wrote a report; run one partition alone to see why")


def _cmd_merge(args: argparse.Namespace) -> int:
    from .merge import merge_reports, read_report

    return _emit(merge_reports([read_report(Path(p)) for p in args.reports]), args)


def _cmd_against_snapshot(args: argparse.Namespace) -> int:
    from .snapshot import changed_since, read_snapshot

    snap = read_snapshot(Path(args.against_snapshot))
    side = args.side or "source"
    with (
        _open(args) as target,
        open_sides(target, source=side == "source", destination=side == "destination") as (settings, src, dst),
    ):
        reader = src if side == "source" else dst
        assert reader is not None
        return _emit(changed_since(snap, reader, settings), args)


def _cmd_snapshot(args: argparse.Namespace) -> int:
    from .snapshot import snapshot, write_snapshot

    want_src, want_dst = args.side in ("source", "both"), args.side in ("destination", "both")
    with _open(args) as target, open_sides(target, source=want_src, destination=want_dst) as (settings, src, dst):
        snap = snapshot(src, dst, settings, _collections(args, settings))
    write_snapshot(snap, Path(args.output))
    for name, entry in snap["collections"].items():
        sides = ", ".join(f"{side} {entry[side]['count']}" for side in ("source", "destination") if side in entry)
        print(f"{name}: {sides} records in {len(entry['bounds'])} ranges", flush=True)
    print(f"snapshot written to {args.output} in {snap['elapsed_s']:.1f} s", flush=True)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .show import show_record

    with _open(args) as target, open_sides(target) as (settings, src, dst):
        assert src is not None and dst is not None
        collection = args.collection or ("characters" if "characters" in settings.mapping else settings.collections[0])
        _collections(argparse.Namespace(collection=[collection]), settings)  # a declared one, else one line
        return _emit(show_record(target, settings, src, dst, collection, args.key), args)


def _cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    with _open(args) as target, open_sides(target) as (settings, src, dst):
        assert src is not None and dst is not None
        report = verify(src, dst, _collections(args, settings))
        return _emit(report, args)


def _cmd_check_refs(args: argparse.Namespace) -> int:
    from .refs import check_refs

    want_src, want_dst = args.side in ("source", "both"), args.side in ("destination", "both")
    with _open(args) as target, open_sides(target, source=want_src, destination=want_dst) as (settings, src, dst):
        return _emit(check_refs(src, dst, settings), args)


def _cmd_validate_export(args: argparse.Namespace) -> int:
    from .export_check import validate_export

    schemas = _schemas(args.schema) if args.schema else None
    return _emit(validate_export(Path(args.file), Path(args.manifest) if args.manifest else None, schemas), args)


def _schemas(specs: list[str]) -> dict[str, dict[str, Any]]:
    """``COLLECTION=FILE`` options -> JSON Schemas of each collection's documents."""
    schemas: dict[str, dict[str, Any]] = {}
    for spec in specs:
        collection, sep, file = spec.partition("=")
        if not sep or not collection or not file:
            raise ConfigError(f"--schema {spec}: use COLLECTION=FILE (a JSON Schema of that collection's documents)")
        try:
            schema = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"--schema {spec}: cannot read a JSON Schema from {file} ({type(exc).__name__})"
            ) from None
        if not isinstance(schema, dict):
            raise ConfigError(f"--schema {spec}: {file} holds no JSON object")
        schemas[collection] = schema
    return schemas


def _cmd_mapping(args: argparse.Namespace) -> int:
    """The reference's mapping as the tables of a target's section, ready to paste and edit."""
    from .reference_mapping import REFERENCE_MAPPING_TOML

    print(REFERENCE_MAPPING_TOML.strip().replace("[collections.", f"[targets.{args.target_name}.compare.collections."))
    return 0


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a summary")
    parser.add_argument("--output", metavar="FILE", help="also write the JSON report to FILE")


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="target from the targets file (default: HARNESS_TARGET, the file, local)")
    parser.add_argument("--characters", type=int, help="local target only: characters to seed (default from [local])")


def register(subparsers: Any) -> None:
    """Add ``harness data ...`` to the ``harness`` command's subparsers."""
    data = subparsers.add_parser(
        "data", help="data parity: validate-export, verify, compare, check-refs, snapshot, mapping"
    )
    sub = data.add_subparsers(dest="data_command", required=True)

    p = sub.add_parser("validate-export", help="check an export file against its schema and manifest")
    p.add_argument("file", help="the export's JSON Lines file (export.jsonl)")
    p.add_argument("--manifest", help="the manifest (default: manifest.json beside FILE)")
    p.add_argument(
        "--schema",
        action="append",
        metavar="COLLECTION=FILE",
        help="JSON Schema of a collection's documents (repeatable; default: the reference's two collections)",
    )
    _output_options(p)
    p.set_defaults(func=_cmd_validate_export)

    p = sub.add_parser("verify", help="counts and checksums per collection on both sides")
    _target_options(p)
    p.add_argument("--collection", action="append", help="only this collection of the mapping (repeatable)")
    _output_options(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("compare", help="record-by-record parity of source and destination")
    _target_options(p)
    p.add_argument("--collection", action="append", help="only this collection of the mapping (repeatable)")
    p.add_argument("--max-diffs", type=int, help="stop after this many differences")
    p.add_argument("--time-limit", type=float, metavar="SECONDS", help="stop after this long (verdict incomplete)")
    p.add_argument("--sample", type=float, metavar="FRACTION", help="compare only this fraction of the key ranges")
    p.add_argument("--seed", type=int, default=0, help="which ranges --sample picks (default 0)")
    p.add_argument("--no-checksums", action="store_true", help="read every record instead of checksumming ranges")
    p.add_argument(
        "--against-snapshot", metavar="FILE", help="what changed on one side since `harness data snapshot` wrote FILE"
    )
    p.add_argument("--side", choices=("source", "destination"), help="with --against-snapshot (default: source)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--partitions", type=int, metavar="N", help="split each collection into N key-range partitions")
    p.add_argument("--partition", type=int, metavar="I", help="compare partition I (0..N-1) only; merge the reports")
    p.add_argument("--jobs", type=int, metavar="N", help="run N partitions as local processes and merge them")
    p.add_argument(
        "--recheck-after",
        type=float,
        metavar="SECONDS",
        help="read every mismatch again after this delay; one that became equal counts as in flight",
    )
    _output_options(p)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("merge", help="combine the reports of a partitioned compare into one verdict")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="the --output files of the partitions")
    _output_options(p)
    p.set_defaults(func=_cmd_merge)

    p = sub.add_parser("snapshot", help="counts, range checksums and record digests of both sides, to a file")
    _target_options(p)
    p.add_argument("--output", required=True, metavar="FILE", help="where the snapshot (JSON) is written")
    p.add_argument("--side", choices=("source", "destination", "both"), default="both", help="default: both")
    p.add_argument("--collection", action="append", help="only this collection of the mapping (repeatable)")
    p.set_defaults(func=_cmd_snapshot)

    p = sub.add_parser("check-refs", help="referential integrity on both sides, every orphan named")
    _target_options(p)
    p.add_argument("--side", choices=("source", "destination", "both"), default="both", help="default: both")
    _output_options(p)
    p.set_defaults(func=_cmd_check_refs)

    p = sub.add_parser("show", help="one record as source, Storage Service and each backend hold it, and diffs")
    p.add_argument("key", help="the record's key (its id)")
    _target_options(p)
    p.add_argument("--collection", help="the collection (default: characters, else the mapping's first)")
    _output_options(p)
    p.set_defaults(func=_cmd_show)

    p = sub.add_parser("mapping", help="print the default mapping (the reference's layout) as a starting point")
    p.add_argument("--target-name", default="staging", help="the target the printed tables belong to")
    p.set_defaults(func=_cmd_mapping)


__all__ = ["open_sides", "register"]
