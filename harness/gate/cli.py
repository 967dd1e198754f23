"""``harness gate``: the migration guide as one runbook with one verdict. The run is resolved here, once
(targets file, target, profile, phases); children (pytest suites, locust) receive the resolved target by name
and file, never re-applying precedence. On the embedded default the gate starts the reference system seeded but
not migrated, so its migration phase really migrates and its rollback really restores.

Exit status: 0 GO, 1 NO-GO, 4 INCONCLUSIVE (also when interrupted), 2 bad input (one line), 70 a bug in the
harness (``harness.cli``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from ..config import Target
from ..config.model import GATE_PROFILES, LOCAL, Backend, Destination, LocalSettings, Source
from ..config.run import resolve_run
from ..errors import ConfigError
from ..redaction import redact
from .context import PROFILES, GateContext, GateOptions, MigrationScripts, Profile
from .plan import SUITES, build_plan, describe_plan, unknown_name
from .progress import Progress
from .scripts import CommandScripts, missing_scripts

if TYPE_CHECKING:  # the runner and the reports import the checks (httpx, psycopg, jsonschema): a run needs them,
    from .runner import GateRun  # parsing the options and --plan do not

CHILD_TARGET = "gate-embedded"  # the name children know the embedded default by, in the run's own targets file


def _options(args: argparse.Namespace) -> GateOptions:
    for flag, values in (("--only", args.only or []), ("--skip", args.skip or [])):
        for value in values:
            problem = unknown_name(value)
            if problem:
                raise ConfigError(f"{flag} {value}: {problem}")
    if args.fault:  # checked as the run checks them, before the plan or anything starts
        from ..embedded.stack import check_faults

        check_faults(args.fault)
    if args.characters is not None and args.characters < 1:
        raise ConfigError("--characters must be at least 1")
    if args.export is not None and not Path(args.export).is_file():
        raise ConfigError(f"--export {args.export}: no such file; give the export's JSON Lines file")
    return GateOptions(
        target=args.target,
        profile=args.profile,
        only=tuple(args.only or ()),
        skip=tuple(args.skip or ()),
        plan_only=args.plan,
        allow_writes=bool(args.allow_writes),
        allow_load=bool(args.allow_load),
        faults=tuple(args.fault or ()),
        export=Path(args.export) if args.export else None,
        characters=args.characters,
        reports=Path(args.reports),
    )


def _placeholder_local() -> Target:
    """The embedded default as ``--plan`` describes it, before (and without) starting it."""
    return Target(
        name=LOCAL,
        environment="dev",
        backends={b: Backend(b, f"http://127.0.0.1/{b}") for b in ("legacy", "storage")},
        source=Source("postgresql://embedded"),
        destination=Destination("http://127.0.0.1/storage-service"),
    )


def _write_child_config(path: Path, target: Target) -> None:
    """The run's own targets file for its children: the embedded default as a named target. Mode 0600 from its
    creation: it holds the source DSN and the Storage Service tokens (the gate removes it with its workdir)."""

    def q(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    assert target.source is not None and target.destination is not None
    t = f"targets.{CHILD_TARGET}"
    lines = [f"[{t}]", 'environment = "dev"']
    for name, backend in target.backends.items():
        lines += [f"[{t}.backends.{name}]", f"url = {q(backend.url)}"]
    lines += [f"[{t}.source]", f"dsn = {q(target.source.dsn)}"]
    dest = target.destination
    lines += [f"[{t}.destination]", f"url = {q(dest.url)}", f"database = {q(dest.database)}"]
    if dest.token:
        lines.append(f"token = {q(dest.token)}")
    probes = target.security
    security = [(k, v) for k, v in (("other_database_token", probes.other_database_token),
                                    ("read_token", probes.read_token)) if v]  # fmt: skip
    if security:
        lines.append(f"[{t}.security]")
        lines += [f"{k} = {q(v)}" for k, v in security]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM is handled as Ctrl-C: the check under way is stopped, the verdict file still written."""

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cmd_gate(args: argparse.Namespace) -> int:
    options = _options(args)
    resolved = resolve_run(target=options.target)
    resolved.refuse_faults(options.faults)
    named = resolved.named
    if options.characters is not None and named is not None:  # ignored, a run would look seeded as asked
        raise ConfigError(
            f"--characters applies to the embedded default only; target {named.name!r} is tested with its own data"
        )
    profile = PROFILES[options.profile or (named.gate.profile if named else None) or "quick"]
    if options.plan_only:
        target = named or _placeholder_local()
        ctx = GateContext(options, profile, target, named is None, None, resolved.target_name, Path("."), Path("."))
        ctx.scripts = _PlanScripts() if named is None else _declared_scripts(target, Path("logs"))
        print(describe_plan(ctx, build_plan(ctx)))
        return 0

    from ..targets import local_target_of
    from .report import final_table

    outdir = _new_report_dir(options.reports, resolved.target_name)
    workdir = Path(tempfile.mkdtemp(prefix="harness-gate-"))
    progress = Progress()
    stack: Any = None
    try:
        with _interrupts_as_keyboard_interrupt():
            if named is None:
                stack = _embedded_stack(resolved.config.local, options, profile, progress)
                try:
                    target = local_target_of(stack.start())
                except KeyboardInterrupt:  # no check began: each is interrupted, the verdict written all the same
                    ctx = GateContext(options, profile, _placeholder_local(), True, None, LOCAL, outdir, workdir)
                    ctx.scripts = _PlanScripts()
                    run = _report_interrupted_start(ctx, progress)
                else:
                    child_config = workdir / "harness.toml"
                    _write_child_config(child_config, target)
                    ctx = GateContext(options, profile, target, True, child_config, CHILD_TARGET, outdir, workdir)
                    ctx.scripts = stack
                    run = _run_and_report(ctx, progress)
            else:
                config_path = Path(resolved.config.path).resolve() if resolved.config.path else None
                ctx = GateContext(options, profile, named, False, config_path, named.name, outdir, workdir)
                ctx.scripts = _declared_scripts(named, outdir / "logs")
                run = _run_and_report(ctx, progress)
    finally:
        progress.close()
        if stack is not None:
            stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(final_table(run))
    print()
    print(redact(_verdict_line(run, outdir / "summary.md")))
    return run.decision.exit_code


def _new_report_dir(reports: Path, target_name: str) -> Path:
    """``reports/gate-<target>-<stamp>/``, made new for this run: a gate started in the same second as another
    (two gates of a CI matrix in one workspace) gets ``...-2``, never the other's folder, whose ``verdict.json``
    and ``summary.md`` it overwrote."""
    base = reports.resolve() / f"gate-{target_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    try:
        base.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                path.mkdir()  # not exist_ok: the folder is this run's alone
                return path
            except FileExistsError:
                n += 1
                path = base.with_name(f"{base.name}-{n}")
    except OSError as exc:  # --reports names a file, or a path through one, or a place the user cannot write
        raise ConfigError(
            f"--reports {reports}: cannot make {path} there ({exc.strerror or exc}); give a directory"
        ) from None


def _embedded_stack(local: LocalSettings, options: GateOptions, profile: Profile, progress: Progress) -> Any:
    """The embedded default for this run, not started yet: seeded, and migrated unless the run migrates it."""
    from ..embedded import EmbeddedStack

    characters = options.characters or local.characters
    migrates = _migrates(options, profile)
    progress.note(
        f"starting the embedded default ({characters} characters, seeded, {'not migrated' if migrates else 'migrated'})"
    )
    return EmbeddedStack(
        characters=characters,
        seed=local.seed,
        pg_dsn=local.pg_dsn,
        faults=[*local.faults, *options.faults],
        migrate=not migrates,
    )


def _run_and_report(ctx: GateContext, progress: Progress) -> GateRun:
    """Run the plan with the run's targets file as the children's, then write verdict.json, summary.md and the
    Allure results."""
    from .report import write_allure, write_summary, write_verdict
    from .runner import run_plan

    plan = build_plan(ctx)
    env = {"HARNESS_CONFIG": str(ctx.config_path)} if ctx.config_path else {}
    with _environ(**env):
        where = "the embedded default" if ctx.embedded else f"target {ctx.target.name}"
        progress.note(
            f"gate on {where} ({ctx.target.environment}), profile {ctx.profile.name}; reports in {ctx.outdir}"
        )
        run = run_plan(ctx, plan, progress)
    write_allure(ctx, run, set(SUITES))
    write_verdict(ctx, run)
    write_summary(ctx, run)
    return run


def _report_interrupted_start(ctx: GateContext, progress: Progress) -> GateRun:
    """An interrupt while the embedded default was starting: every planned check is interrupted before it began
    (INCONCLUSIVE, exit 4, as any interrupted run), and verdict.json and summary.md say so."""
    from .report import write_allure, write_summary, write_verdict
    from .runner import GateRun, record_interrupted

    run = GateRun()
    record_interrupted(run, build_plan(ctx), "interrupted before it started (the embedded default was starting)")
    progress.note("interrupted while the embedded default was starting: it is stopped and removed")
    write_allure(ctx, run, set(SUITES))
    write_verdict(ctx, run)
    write_summary(ctx, run)
    return run


def _verdict_line(run: GateRun, summary_path: Path) -> str:
    # "decided" is what passed or failed: an inconclusive check decided nothing, and is counted on its own
    decided = sum(1 for r in run.results if r.deciding and r.outcome.value in ("pass", "fail"))
    undecided = sum(1 for r in run.results if r.deciding and r.outcome.value == "inconclusive")
    not_run = sum(1 for r in run.results if r.outcome.value == "skipped")
    interrupted = " (interrupted)" if run.interrupted else ""
    inconclusive = f", {undecided} inconclusive" if undecided else ""
    return (
        f"verdict: {run.decision.value}{interrupted} ({decided} checks decided{inconclusive}, {not_run} not run) in "
        f"{run.elapsed_s:.0f} s; report: {summary_path}"
    )


def _migrates(options: GateOptions, profile: Profile) -> bool:
    """Whether this run's migration phase imports: if not (``--only data``, ``--skip migration``), the embedded
    default is started migrated, so the later phases judge a migrated system."""
    ctx = GateContext(options, profile, _placeholder_local(), True, None, LOCAL, Path("."), Path("."))
    ctx.scripts = _PlanScripts()
    return any(e.planned.check == "migration.import" and e.skip_reason is None for e in build_plan(ctx))


def _declared_scripts(target: Target, logs: Path) -> CommandScripts | None:
    """A named target's own data scripts, when it may be rehearsed on and declares every one of them."""
    scripts = dict(target.gate.scripts)
    if target.gate.rehearse and not target.is_production and not missing_scripts(scripts):
        return CommandScripts(scripts, logs)
    return None


class _PlanScripts:
    """Stands for the embedded default's scripts in ``--plan``: the plan only asks whether there are any."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


def register(subparsers: Any) -> None:
    gate = subparsers.add_parser(
        "gate",
        help="run the migration guide as one runbook and answer GO / NO-GO / INCONCLUSIVE",
        description="Runs the guide's validation as ordered phases (preflight, snapshot, migration, data, endpoints, "
        "integration, performance, staging, smoke, rollback) on a target and decides. Exit 0 GO, 1 NO-GO, "
        "4 INCONCLUSIVE, 2 bad input.",
    )
    gate.add_argument("--target", help="target from the targets file (default: HARNESS_TARGET, the file's, local)")
    gate.add_argument("--profile", choices=GATE_PROFILES, help="quick (CI, default) or full (before a rollout)")
    gate.add_argument("--only", action="append", metavar="PHASE", help="run only this phase or check (repeatable)")
    gate.add_argument("--skip", action="append", metavar="PHASE", help="skip this phase or check (repeatable)")
    gate.add_argument("--plan", action="store_true", help="print what would run and why not, send nothing")
    gate.add_argument("--allow-writes", action="store_true", help="production: run the checks that write")
    gate.add_argument("--allow-load", action="store_true", help="production: run the load checks")
    gate.add_argument(
        "--fault",
        action="append",
        metavar="NAME[=VALUE]",
        help="embedded default only: inject a fault (see `harness up --list-faults`)",
    )
    gate.add_argument("--export", metavar="FILE", help="validate this export (targets that are not rehearsed on)")
    gate.add_argument("--characters", type=int, help="embedded default: characters to seed (default from [local])")
    gate.add_argument("--reports", default="reports", help="where the gate's report folder goes (default reports)")
    gate.set_defaults(func=cmd_gate)


__all__ = ["MigrationScripts", "cmd_gate", "register"]
