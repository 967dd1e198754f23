"""Performance (guide 5.2 "run load tests", "check latency metrics"): a locust run per backend judged against
the alert rules, the legacy-vs-storage comparison, and check-latency. The load runs in locust children
(``harness.load.runner``) against the resolved target; check-latency judges the storage backend's own
/metrics (or Prometheus) while the storage run is under way, so it has traffic to judge."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from ..durations import parse_duration
from ..errors import HarnessError
from ..load.compare import compare_settings
from ..load.latency import LatencyReport, check_metrics, check_prometheus
from ..load.rules import RuleSet, format_duration
from ..load.runner import compare_backends, run_locust
from ..load.thresholds import target_rules
from ..load.verdict import check_from_verdict
from ..redaction import redact
from ..verdict import CheckResult, inconclusive
from .chart import write_load_chart
from .context import GateContext

LATENCY_DELAY_S = 3.0  # check-latency's first scrape waits for the load to be up


def alert_rules(ctx: GateContext) -> RuleSet:
    return target_rules(ctx.target.thresholds)


def run_time_s(ctx: GateContext) -> float:
    """The quick profile's run length, or long enough for every rule to fire with its own window and for."""
    if ctx.profile.load_run_time_s is not None:
        return ctx.profile.load_run_time_s
    rules = alert_rules(ctx)
    longest = max((t.window_s + t.for_s for t in rules.thresholds), default=60.0)
    return longest + 30.0


def _permissions(ctx: GateContext) -> list[str]:
    """The gate's own --allow-load / --allow-writes, handed to the locust child (which refuses production load
    without them, and writes there only with --allow-writes)."""
    return [flag for flag, given in (("--allow-load", ctx.options.allow_load),
                                     ("--allow-writes", ctx.options.allow_writes)) if given]  # fmt: skip


def _locust_extra(ctx: GateContext, backend: str) -> list[str]:
    extra = ["--backend", backend, "--target", ctx.child_target, *_permissions(ctx)]
    if ctx.profile.rule_window:
        extra += ["--rule-window", ctx.profile.rule_window]
    if ctx.profile.rule_for:
        extra += ["--rule-for", ctx.profile.rule_for]
    return extra


def load_prefix(ctx: GateContext, backend: str) -> Path:
    """Where a load run's verdict, HTML and CSV files go (``<prefix>.json``, ``<prefix>_stats_history.csv``)."""
    return ctx.outdir / "load" / f"load-{backend}"


def load_run(ctx: GateContext, backend: str, *, during: threading.Thread | None = None) -> CheckResult:
    check = f"performance.load_{backend}"
    if backend not in ctx.target.backends:
        return inconclusive(check, f"the target has no {backend} backend")
    prefix = load_prefix(ctx, backend)
    started = time.monotonic()
    seconds = run_time_s(ctx)
    try:
        if during is not None:
            during.start()
        run = run_locust(
            ctx.target.backends[backend].url,
            verdict_prefix=prefix,
            users=ctx.profile.load_users,
            run_time=f"{seconds:.0f}s",
            html=f"{prefix}.html",
            csv=prefix,
            extra=_locust_extra(ctx, backend),
        )
    except HarnessError as exc:
        return inconclusive(check, f"the load run could not run: {redact(str(exc))}")
    finally:
        if during is not None and during.is_alive():
            during.join()
    files = [str(run.verdict_path), f"{prefix}.html"]
    if run.verdict is not None:
        chart = write_load_chart(run.verdict, ctx.outdir / "charts" / f"load-{backend}.svg", title=f"{backend} backend")
        files.append(str(chart))
    result = check_from_verdict(check, run.verdict, tuple(files))
    if run.verdict is None:
        why = run.error() or f"exit {run.exit_code}: {run.tail(3)}"
        result = result.with_(summary=f"the load run wrote no verdict ({redact(why)})")
    return result.with_(elapsed_s=time.monotonic() - started)


class LatencyProbe(threading.Thread):
    """check-latency over the storage backend's /metrics (or Prometheus), run beside the storage load run."""

    def __init__(self, ctx: GateContext) -> None:
        super().__init__(name="gate-check-latency", daemon=True)
        self.ctx = ctx
        self.result: CheckResult | None = None

    def run(self) -> None:
        self.result = check_latency(self.ctx, delay_s=LATENCY_DELAY_S)


def check_latency(ctx: GateContext, *, delay_s: float = 0.0) -> CheckResult:
    started = time.monotonic()
    try:
        rules = alert_rules(ctx)
        if ctx.target.prometheus is not None:
            if ctx.profile.rule_window:
                window = parse_duration(ctx.profile.rule_window, "rule window")
                rules = rules.with_timing(
                    window, parse_duration(ctx.profile.rule_for or "0s", "rule for"), "gate profile", "gate profile"
                )
            if delay_s:
                # beside the storage run: Prometheus judges the last `for` of each rule's window, so the load must
                # have filled both first (queried at once, it judged the time before the run: the legacy run's
                # series, or none at all)
                time.sleep(delay_s + max((t.window_s + t.for_s for t in rules.thresholds), default=0.0))
            report: LatencyReport = check_prometheus(ctx.target, rules)
        else:
            window_s = (
                parse_duration(ctx.profile.latency_window, "latency window") if ctx.profile.latency_window else None
            )
            if delay_s:
                time.sleep(delay_s)
            backends = [b for b in ("storage",) if b in ctx.target.backends] or list(ctx.target.backends)
            report = check_metrics(ctx.target, rules, backends, window_s=window_s)
    except HarnessError as exc:
        return inconclusive("performance.check_latency", f"could not judge: {redact(str(exc))}")
    path = ctx.outdir / "load" / "check-latency.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(report.to_dict(), indent=2)) + "\n", encoding="utf-8")
    return report.to_check("performance.check_latency").with_(files=(str(path),), elapsed_s=time.monotonic() - started)


def load_compare(ctx: GateContext) -> CheckResult:
    check = "performance.compare"
    missing = [b for b in ("legacy", "storage") if b not in ctx.target.backends]
    if missing:
        return inconclusive(check, f"the target lacks the {', '.join(missing)} backend")
    started = time.monotonic()
    try:
        settings = compare_settings(
            ctx.target.load_compare,
            rounds=ctx.profile.compare_rounds,
            run_time=ctx.profile.compare_run_time,
        )
        comparison = compare_backends(
            ctx.target,
            settings,
            prefix_of=lambda backend, round_: ctx.outdir / "load" / f"compare-{backend}-{round_}",
            extra=["--target", ctx.child_target, *_permissions(ctx)],
        )
    except HarnessError as exc:
        return inconclusive(check, f"could not compare: {redact(str(exc))}")
    out = ctx.outdir / "load" / "compare"
    comparison.write(out)
    rounds = f"{settings.rounds} x {format_duration(parse_duration(settings.run_time, 'run time'))} per backend"
    result = comparison.to_check(check)
    return result.with_(
        summary=f"{result.summary} ({rounds})", files=(f"{out}.json",), elapsed_s=time.monotonic() - started
    )
