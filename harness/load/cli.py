"""``harness check-latency``, ``harness load run`` and ``harness load compare``: thin shells over this package.
Exit codes as a load run's verdict: 0 pass, 3 breach (or storage slower), 4 cannot judge / invalid run, 2 bad
input."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..config import Target
from ..config.model import BACKENDS
from ..config.run import RunContext, resolve_run
from ..durations import parse_duration
from ..errors import ConfigError
from ..redaction import redact
from .rules import RuleSet
from .thresholds import target_rules

REPORTS = Path("reports")


@contextmanager
def _open(args: argparse.Namespace, *, backend: str | None = None) -> Iterator[tuple[RunContext, Target]]:
    """The run, resolved once here, and its target (the embedded default started for the command)."""
    from ..targets import open_target

    run = resolve_run(target=args.target, backend=backend)
    faults = list(getattr(args, "fault", None) or [])
    with open_target(run, characters=getattr(args, "characters", None), faults=faults) as target:
        yield run, target


def _positive_duration(
    value: str | None, flag: str, at_least: float = 0.0, why: str = "the load's sampling interval"
) -> None:
    """Refuse a duration option that is not one, or is zero, or shorter than ``at_least`` seconds: before the
    command starts anything (a stack, locust) or sends any load."""
    if value is None:
        return
    seconds = parse_duration(value, flag)
    if seconds <= 0 or seconds < at_least:
        floor = f"at least {at_least:g}s ({why})" if at_least else "above zero"
        raise ConfigError(f"{flag} {value}: must be {floor}")


def _check_load_options(args: argparse.Namespace) -> None:
    """The options of ``load run`` and ``load compare`` the child would otherwise reject after load was sent."""
    from .window import TICK_S

    _positive_duration(args.run_time, "--run-time")
    # a rate needs two samples in its window (one holds none: every window would have no data)
    _positive_duration(args.rule_window, "--rule-window", 2 * TICK_S, "two of the load's 1 s samples")
    _positive_duration(args.rule_for, "--rule-for", TICK_S)
    if args.processes is not None and args.processes < 1:
        raise ConfigError(f"--processes must be at least 1, got {args.processes}")


def _rules(args: argparse.Namespace, target: Target) -> RuleSet:
    window = parse_duration(args.window, "--window") if args.window else None
    for_raw: str | None = getattr(args, "for_", None)
    for_ = parse_duration(for_raw, "--for") if for_raw else None
    rules = target_rules(target.thresholds, args.rules)
    return rules.with_timing(window, for_, "option --window", "option --for")


def _cmd_check_latency(args: argparse.Namespace) -> int:
    from .latency import check_metrics, check_prometheus

    _positive_duration(args.window, "--window")
    if args.for_:
        parse_duration(args.for_, "--for")
    with _open(args, backend=args.backend) as (run, target):
        rules = _rules(args, target)
        source = args.source
        if source == "auto":
            source = "prometheus" if target.prometheus else "metrics"
        if source == "prometheus":
            if target.prometheus is None:
                raise ConfigError(f"target {target.name!r} has no [prometheus] url; use --source metrics")
            report = check_prometheus(target, rules)
        else:
            window = parse_duration(args.window, "--window") if args.window else None
            report = check_metrics(target, rules, list(run.backends), window_s=window)
    for line in report.lines():
        print(redact(line))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact(json.dumps(report.to_dict(), indent=2)) + "\n", encoding="utf-8")
    return report.exit_code


def _locust_extra(args: argparse.Namespace, run: RunContext) -> list[str]:
    """The child's options. The target is the one this run resolved (option > HARNESS_TARGET > default_target >
    local), passed by name: the child never resolves precedence itself, so a target chosen by the environment
    or the file keeps its thresholds, auth, timeouts and production rule. The built-in local target has no
    entry in the file: the child gets its URL as the host."""
    extra = run.child_target_option()
    for flag, value in (("--rule-window", args.rule_window), ("--rule-for", args.rule_for)):
        if value:
            extra += [flag, value]
    for flag, on in (
        ("--allow-load", getattr(args, "allow_load", False)),
        ("--allow-writes", getattr(args, "allow_writes", False)),
    ):
        if on:
            extra.append(flag)
    return extra + list(args.locust_args or [])


def _announce(target: Target, backend: str) -> str:
    return f"target {target.name} ({target.environment}), {backend} backend"


def _cmd_load_run(args: argparse.Namespace) -> int:
    from .runner import check_load_allowed, run_locust

    _check_load_options(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with _open(args) as (resolved, target):
        check_load_allowed(target, allow_load=args.allow_load)
        backend = args.backend or "storage"
        if backend not in target.backends:
            raise ConfigError(f"target {target.name!r} has no {backend} backend")
        prefix = REPORTS / f"load-{target.name}-{backend}-{stamp}"
        run = run_locust(
            target.backends[backend].url,
            verdict_prefix=prefix,
            users=args.users,
            spawn_rate=args.spawn_rate,
            run_time=args.run_time,
            processes=args.processes,
            html=f"{prefix}.html",
            csv=prefix,
            extra=["--backend", backend, *_locust_extra(args, resolved)],
            announce=_announce(target, backend),
        )
    refused = run.error()
    if refused:  # the child refused an option after `--`: its one line, not its log
        raise ConfigError(refused)
    text = prefix.with_name(prefix.name + ".txt")
    print(text.read_text() if text.is_file() else run.tail())
    print(f"reports: {prefix}.json, {prefix}.txt, {prefix}.html, {prefix}_stats.csv")
    return run.exit_code


def _cmd_load_compare(args: argparse.Namespace) -> int:
    from .compare import compare_settings
    from .runner import check_load_allowed, compare_backends

    _check_load_options(args)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    with _open(args) as (resolved, target):
        settings = compare_settings(
            target.load_compare, max_slowdown=args.max_slowdown, alpha=args.alpha, users=args.users,
            run_time=args.run_time, rounds=args.rounds,
        )  # fmt: skip
        check_load_allowed(target, allow_load=args.allow_load)
        missing = [b for b in BACKENDS if b not in target.backends]
        if missing:
            raise ConfigError(f"target {target.name!r} lacks the {', '.join(missing)} backend: compare needs both")
        comparison = compare_backends(
            target,
            settings,
            prefix_of=lambda backend, round_: REPORTS / f"compare-{target.name}-{stamp}-{backend}-{round_}",
            extra=_locust_extra(args, resolved),
            processes=args.processes,
        )
    out = REPORTS / f"compare-{target.name}-{stamp}"
    comparison.write(out)
    print(comparison.table())
    print(f"reports: {out}.json, {out}.txt")
    return comparison.exit_code


def _target_options(p: argparse.ArgumentParser, local_faults: bool = True) -> None:
    p.add_argument("--target", help="target name from harness.toml (default: HARNESS_TARGET, the file's, local)")
    if local_faults:
        p.add_argument("--fault", action="append", metavar="NAME[=VALUE]",
                       help="with the built-in local target: start it with this fault (repeatable)")  # fmt: skip
        p.add_argument("--characters", type=int, default=None, help="with local: characters to seed")


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check-latency",
        help="judge a running service against the alert rules (Prometheus, or two /metrics scrapes)",
    )
    _target_options(check)
    check.add_argument("--backend", help="legacy, storage or both (for /metrics; default: every backend)")
    check.add_argument("--source", choices=("auto", "prometheus", "metrics"), default="auto",
                       help="auto: Prometheus when the target names one, else /metrics")  # fmt: skip
    check.add_argument("--rules", help="alert rule file (default: thresholds.rules, else the shipped alert-rules.yaml)")
    check.add_argument("--window", help="evaluate the rules over this window instead of theirs (e.g. 30s)")
    check.add_argument("--for", dest="for_", help="use this `for` instead of the rules' own (Prometheus source)")
    check.add_argument("--json", help="also write the report as JSON to this path")
    check.set_defaults(func=_cmd_check_latency)

    load = subparsers.add_parser("load", help="load tests judged against the alert rules")
    sub = load.add_subparsers(dest="load_command", required=True)
    run = sub.add_parser("run", help="one headless locust run against a target's backend; verdict in reports/")
    compare = sub.add_parser("compare", help="the same load against legacy then storage; Mann-Whitney U comparison")
    for p in (run, compare):
        _target_options(p)
        p.add_argument("--processes", type=int, default=None, help="locust --processes (local workers)")
        p.add_argument("--rule-window", help="evaluate every rule over this window (e.g. 30s)")
        p.add_argument("--rule-for", help="use this `for` for every rule (e.g. 15s)")
        p.add_argument("--allow-load", action="store_true", help="send load to a production target (it only reads)")
        p.add_argument("--allow-writes", action="store_true", help="on production, also the create/patch/delete cycle")
        p.add_argument("locust_args", nargs="*", help="further locust options after --")
    run.add_argument("--backend", choices=BACKENDS, default=None, help="backend to load (default storage)")
    run.add_argument("--users", type=int, default=10, help="locust users (default 10)")
    run.add_argument("--spawn-rate", type=float, default=10, help="users started per second (default 10)")
    run.add_argument("--run-time", default="60s", help="run length (default 60s)")
    run.set_defaults(func=_cmd_load_run)
    compare.add_argument("--users", type=int, default=None, help="locust users per run (default 10)")
    compare.add_argument("--run-time", default=None, help="length of each run (default 15s)")
    compare.add_argument("--rounds", type=int, default=None, help="alternating legacy/storage rounds (default 2)")
    compare.add_argument("--max-slowdown", type=float, default=None, help="X: tolerated slowdown, 0.10 = 10%%")
    compare.add_argument("--alpha", type=float, default=None, help="significance level (default 0.05)")
    compare.set_defaults(func=_cmd_load_compare)
