"""Runs a plan, phase by phase, and collects one CheckResult per planned check (skipped ones included, with
their reason). A preflight that does not pass stops the run (the rest is reported as not run, with why); an
interrupt stops the check under way (its children clean up), and the run's verdict is INCONCLUSIVE."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..verdict import CheckResult, Decision, Outcome, decide, inconclusive, skipped
from . import data_checks, performance, preflight
from .children import stop_all
from .context import GateContext
from .plan import SUITES, PlanEntry
from .progress import Detail, Progress, locust_rate
from .suites import run_suites


@dataclass
class GateRun:
    results: list[CheckResult] = field(default_factory=list)
    interrupted: bool = False
    started_at: float = field(default_factory=time.time)
    elapsed_s: float = 0.0
    phase_times: dict[str, float] = field(default_factory=dict)
    under_way: dict[str, float] = field(default_factory=dict)  # check -> when it started (monotonic)

    @property
    def decision(self) -> Decision:
        return decide(self.results, interrupted=self.interrupted)


def _single(ctx: GateContext, check: str) -> Callable[[], CheckResult] | None:
    runners: dict[str, Callable[[], CheckResult]] = {
        "preflight.reachable": lambda: preflight.reachable(ctx),
        "preflight.storage_health": lambda: preflight.storage_health(ctx),
        "preflight.character_db": lambda: preflight.database_provisioned(ctx),
        "preflight.metrics": lambda: preflight.metrics_exported(ctx),
        "snapshot.baseline": lambda: data_checks.baseline(ctx),
        "snapshot.backup": lambda: data_checks.backup(ctx),
        "migration.export": lambda: data_checks.export(ctx),
        "migration.validate_export": lambda: data_checks.validate(ctx),
        "migration.import": lambda: data_checks.import_(ctx),
        "migration.verify": lambda: data_checks.verify_migration(ctx),
        "data.check_refs": lambda: data_checks.references(ctx),
        "performance.load_legacy": lambda: performance.load_run(ctx, "legacy"),
        "performance.compare": lambda: performance.load_compare(ctx),
        "rollback.stop": lambda: data_checks.stop_migration(ctx),
        "rollback.restore": lambda: data_checks.restore(ctx),
        "rollback.cleanup": lambda: data_checks.cleanup(ctx),
    }
    return runners.get(check)


def _over_budget(result: CheckResult, entry: PlanEntry) -> CheckResult:
    if result.outcome is Outcome.PASS and result.elapsed_s > entry.budget_s:
        return result.with_(
            outcome=Outcome.INCONCLUSIVE,
            summary=f"took {result.elapsed_s:.0f} s, over its budget of {entry.budget_s:.0f} s: {result.summary}",
        )
    return result


def run_plan(ctx: GateContext, plan: list[PlanEntry], progress: Progress) -> GateRun:
    run = GateRun()
    started = time.monotonic()
    phases: list[str] = []
    for e in plan:
        if e.planned.phase not in phases:
            phases.append(e.planned.phase)
    stopped_by: str | None = None
    try:
        for phase in phases:
            entries = [e for e in plan if e.planned.phase == phase]
            phase_started = time.monotonic()
            if stopped_by is not None:
                for e in entries:
                    reason = e.skip_reason or f"not run: {stopped_by}"
                    _record(run, progress, skipped(e.planned.check, reason), e)
                continue
            progress.phase(phase, [e.planned.check for e in entries if e.skip_reason is None])
            _run_phase(ctx, phase, entries, run, progress)
            run.phase_times[phase] = round(time.monotonic() - phase_started, 3)
            if phase == "preflight":
                bad = [
                    r for r in run.results if r.phase == "preflight" and r.deciding and r.outcome is not Outcome.PASS
                ]
                if bad:
                    stopped_by = f"preflight did not pass ({bad[0].check}: {bad[0].summary})"
    except KeyboardInterrupt:
        stop_all()
        record_interrupted(run, plan, "interrupted before it finished")
        progress.note("interrupted: the checks under way were stopped and cleaned up")
    # a phase records its skipped checks before the ones it runs: reports list them in the runbook's order
    order = {e.planned.check: i for i, e in enumerate(plan)}
    run.results.sort(key=lambda r: order.get(r.check, len(order)))
    run.elapsed_s = time.monotonic() - started
    return run


def record_interrupted(run: GateRun, plan: list[PlanEntry], reason: str) -> None:
    """The run was interrupted: every planned check without a result is inconclusive for ``reason`` (one the
    plan skips keeps its skip), with how long it ran if it was under way."""
    run.interrupted = True
    done = {r.check for r in run.results}
    for e in plan:
        if e.planned.check in done:
            continue
        result = skipped(e.planned.check, e.skip_reason) if e.skip_reason else inconclusive(e.planned.check, reason)
        if e.planned.check in run.under_way:  # how long it ran before the interrupt, not 0 s
            result = result.with_(elapsed_s=time.monotonic() - run.under_way[e.planned.check])
        run.results.append(result)


def _start(run: GateRun, progress: Progress, checks: list[str], budget_s: float, detail: Detail | None = None) -> None:
    started = time.monotonic()
    run.under_way.update(dict.fromkeys(checks, started))
    progress.start(", ".join(checks), budget_s, detail)


def _record(run: GateRun, progress: Progress, result: CheckResult, entry: PlanEntry) -> None:
    if entry.report_only:
        result = result.with_(report_only=True)
    run.under_way.pop(result.check, None)
    run.results.append(result)
    progress.result(result)


def _run_phase(ctx: GateContext, phase: str, entries: list[PlanEntry], run: GateRun, progress: Progress) -> None:
    todo = [e for e in entries if e.skip_reason is None]
    for e in entries:
        if e.skip_reason is not None:
            _record(run, progress, skipped(e.planned.check, e.skip_reason), e)
    if phase == "performance":
        _run_performance(ctx, [e for e in todo if e.planned.check not in SUITES], run, progress)
        return
    # a part must answer before it is judged: one that is not reached (or is not the service) is not probed
    # further, so its 404s are not failures of the migration and nothing more is sent to it
    unreached: list[str] = []

    def not_reached(check: str) -> str | None:
        missing = [part for part in preflight.parts_needed(ctx, check) if part in unreached]
        return f"not run: {', '.join(missing)} did not answer (preflight.reachable)" if missing else None

    for e in todo:
        if e.planned.check in SUITES:
            continue
        if (why := not_reached(e.planned.check)) is not None:
            _record(run, progress, skipped(e.planned.check, why), e)
            continue
        if e.planned.check == "data.compare":  # the one long in-process check: a live figure for the progress line
            tracker = data_checks.CompareTracker()
            _start(run, progress, [e.planned.check], e.budget_s, tracker.detail)
            _record(run, progress, _over_budget(data_checks.compare_data(ctx, e.budget_s, tracker), e), e)
            continue
        runner = _single(ctx, e.planned.check)
        assert runner is not None, e.planned.check
        _start(run, progress, [e.planned.check], e.budget_s)
        result = _over_budget(runner(), e)
        _record(run, progress, result, e)
        if e.planned.check == "preflight.reachable" and result.outcome is not Outcome.PASS:
            unreached = list(result.evidence.get("unanswered", ()))
    # the suites after the phase's own checks (preflight: the parts answer before access control is probed)
    suite_entries = []
    for e in todo:
        if e.planned.check in SUITES:
            if (why := not_reached(e.planned.check)) is not None:
                _record(run, progress, skipped(e.planned.check, why), e)
            else:
                suite_entries.append(e)
    if suite_entries:
        budget = max(e.budget_s for e in suite_entries)
        _start(run, progress, [e.planned.check for e in suite_entries], budget)
        results = run_suites(ctx, phase, [(e.planned.name, SUITES[e.planned.check]) for e in suite_entries], budget)
        for e, result in zip(suite_entries, results, strict=True):
            _record(run, progress, result, e)


def _run_performance(ctx: GateContext, todo: list[PlanEntry], run: GateRun, progress: Progress) -> None:
    """check-latency runs beside the storage load run (it judges the service's own metrics, so it needs
    traffic), or on its own when no load runs (production: live traffic)."""
    by_check = {e.planned.check: e for e in todo}
    latency = by_check.pop("performance.check_latency", None)
    probe = performance.LatencyProbe(ctx) if latency is not None and "performance.load_storage" in by_check else None
    for check in ("performance.load_legacy", "performance.load_storage", "performance.compare"):
        e = by_check.get(check)
        if e is None:
            continue
        backend = check.removeprefix("performance.load_")
        live = locust_rate(performance.load_prefix(ctx, backend)) if check != "performance.compare" else None
        _start(run, progress, [check], e.budget_s, live)
        if check == "performance.load_storage" and latency is not None and probe is not None:
            run.under_way[latency.planned.check] = run.under_way[check]  # the probe runs beside the load
        if check == "performance.load_storage":
            result = performance.load_run(ctx, "storage", during=probe)
        else:
            runner = _single(ctx, check)
            assert runner is not None
            result = runner()
        _record(run, progress, _over_budget(result, e), e)
        if check == "performance.load_storage" and latency is not None and probe is not None:
            probe.join()
            lat = probe.result or inconclusive("performance.check_latency", "check-latency did not finish")
            _record(run, progress, lat, latency)
            latency = None
    if latency is not None:
        _start(run, progress, [latency.planned.check], latency.budget_s)
        _record(run, progress, performance.check_latency(ctx), latency)
