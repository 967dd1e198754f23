"""The verdict of a load run: every threshold's value, limit and outcome, the rules that were not evaluated, why a
run is invalid, the exit code, and the files written to ``reports/`` (JSON for machines, a short table for people).

Exit codes (locust's own 1 = "some request failed" and 2 = "a listener raised" keep their meaning):
    0  every threshold holds over a valid run
    3  a threshold was breached (an alert rule fired, or a run-level limit was exceeded)
    4  the run is invalid: the load generator's CPU was saturated, no requests were made (or none succeeded and
       no threshold was breached), the run was shorter than a rule's window + for and that rule did not fire (so
       it was not proven to hold), a rule was breaching (pending) when the run ended, or no alert rule of the file
       could be evaluated
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..redaction import redact
from ..verdict import CheckResult, Finding, Outcome
from .rules import NotEvaluated, RuleSet, format_duration
from .thresholds import RunSummary, RunThreshold, ThresholdConfig
from .window import RuleState, describe_labels

EXIT_PASS = 0
EXIT_BREACH = 3
EXIT_INVALID = 4
PASS, BREACH, INVALID = "pass", "breach", "invalid"
NOT_PROVEN = "not proven"
NO_DATA = "no data"
PENDING_AT_END = "breaching (pending) when the run ended"


@dataclass(frozen=True)
class ThresholdResult:
    name: str
    source: str  # "alert rule" or where a run-level limit came from
    condition: str
    value: float | None
    unit: str
    outcome: str  # pass, breach, not proven, no data
    detail: str = ""
    pending: bool = False  # not proven because it was breaching when the run ended (not because the run was short)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "condition": self.condition,
            "value": self.value,
            "unit": self.unit,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Verdict:
    status: str  # pass, breach, invalid
    results: tuple[ThresholdResult, ...]
    not_evaluated: tuple[NotEvaluated, ...]
    invalid_reasons: tuple[str, ...]
    run: dict[str, Any]
    rules_file: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {PASS: EXIT_PASS, BREACH: EXIT_BREACH, INVALID: EXIT_INVALID}[self.status]

    @property
    def breaches(self) -> list[ThresholdResult]:
        return [r for r in self.results if r.outcome == BREACH]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "summary": self.headline(),
            "rules_file": self.rules_file,
            "thresholds": [r.to_dict() for r in self.results],
            "not_evaluated": [n.to_dict() for n in self.not_evaluated],
            "invalid_reasons": list(self.invalid_reasons),
            "run": self.run,
            **self.extra,
        }

    def headline(self) -> str:
        run = self.run
        figures = (
            f"run {run.get('duration_s', 0):.1f} s, {run.get('requests', 0)} requests, {run.get('rps', 0):.1f} req/s"
        )
        if self.status == BREACH:
            names = ", ".join(f"{r.name} ({_fmt(r.value, r.unit)} {r.condition})" for r in self.breaches)
            return f"BREACH (exit {self.exit_code}): {names}; {figures}"
        if self.status == INVALID:
            return f"INVALID (exit {self.exit_code}): {'; '.join(self.invalid_reasons)}; {figures}"
        return f"PASS (exit 0): {len(self.results)} thresholds hold; {figures}"

    def table(self) -> str:
        rows = [("threshold", "source", "condition", "value", "outcome", "detail")]
        for r in self.results:
            rows.append((r.name, r.source, r.condition, _fmt(r.value, r.unit), r.outcome.upper(), r.detail))
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        lines = [f"verdict: {self.headline()}", ""]
        for row in rows:
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5])
        for n in self.not_evaluated:
            lines.append(f"not evaluated: {n.name}: {n.reason} [{n.expr}]")
        for reason in self.invalid_reasons:
            lines.append(f"invalid: {reason}")
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def write(self, prefix: str | Path) -> tuple[Path, Path]:
        """``<prefix>.json`` and ``<prefix>.txt``; secrets are masked."""
        base = Path(prefix)
        base.parent.mkdir(parents=True, exist_ok=True)
        json_path, text_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".txt")
        json_path.write_text(redact(json.dumps(self.to_dict(), indent=2, default=str)) + "\n", encoding="utf-8")
        text_path.write_text(redact(self.table()), encoding="utf-8")
        return json_path, text_path


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.0f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ratio":
        return f"{value:.4f}"
    return f"{value:.3g} {unit}"


def rule_result(state: RuleState, duration_s: float) -> ThresholdResult:
    th = state.threshold
    timing = f"window {format_duration(th.window_s)}, for {format_duration(th.for_s)}"
    condition = f"{th.op} {th.limit:g} {th.unit}"
    notes = list(th.overridden) or [timing]
    if state.first_firing_t is not None:
        series = describe_labels(state.firing_series or ())
        return ThresholdResult(
            th.name, "alert rule", condition, state.peak, th.unit, BREACH,
            f"fired on {series} at {state.first_firing_t:.1f} s; " + "; ".join(notes),
        )  # fmt: skip
    if state.peak is None:
        return ThresholdResult(th.name, "alert rule", condition, None, th.unit, NO_DATA, "; ".join(notes))
    needed = th.window_s + th.for_s
    if duration_s < needed:
        return ThresholdResult(
            th.name, "alert rule", condition, state.peak, th.unit, NOT_PROVEN,
            f"run of {duration_s:.0f} s is shorter than window + for = {needed:g} s, so it could not have fired; "
            + "; ".join(notes),
        )  # fmt: skip
    if state.status == "pending":
        # breaching when the run ended, not yet for its whole `for`: Prometheus would fire it if that went on, so
        # the run proved nothing about it (e.g. latency that only rose after a warm-up)
        end = state.timeline[-1][0] if state.timeline else duration_s
        since = min(state.active_since.values(), default=end)
        series = describe_labels(state.series or ())
        return ThresholdResult(
            th.name, "alert rule", condition, state.peak, th.unit, NOT_PROVEN,
            f"{PENDING_AT_END} on {series} ({_fmt(state.value, th.unit)} for {end - since:.0f} s of its for "
            f"{format_duration(th.for_s)}): it fires if that goes on; " + "; ".join(notes), pending=True,
        )  # fmt: skip
    worst = f"worst {describe_labels(state.peak_series or ())}; " if state.peak_series else ""
    return ThresholdResult(th.name, "alert rule", condition, state.peak, th.unit, PASS, worst + "; ".join(notes))


def run_result(threshold: RunThreshold, summary: RunSummary, source: str) -> ThresholdResult:
    unit = {"min_rps": "req/s", "max_error_ratio": "ratio"}.get(threshold.key, "ms")
    value = threshold.measure(summary)
    if value is None:
        return ThresholdResult(threshold.name, source, threshold.condition, None, unit, NO_DATA, "no requests")
    outcome = BREACH if threshold.breached(value) else PASS
    return ThresholdResult(threshold.name, source, threshold.condition, value, unit, outcome, "whole run")


def build_verdict(
    config: ThresholdConfig,
    rules: RuleSet,
    states: list[RuleState],
    summary: RunSummary,
    extra: dict[str, Any] | None = None,
) -> Verdict:
    results = [rule_result(s, summary.duration_s) for s in states]
    for th in config.run_thresholds:
        results.append(run_result(th, summary, config.sources.get(th.key, "targets file")))
    invalid: list[str] = []
    cpu = summary.max_generator_cpu
    if cpu is not None and cpu > config.max_generator_cpu:
        invalid.append(
            f"load generator CPU reached {cpu:.0f}% (limit {config.max_generator_cpu:g}%): its latencies are not the "
            "server's; add --processes or lower the load"
        )
    if summary.total.requests == 0:
        invalid.append("no requests were made")
    if summary.evaluation_error:  # the rules were judged on the seconds before it only
        invalid.append(f"the rules' evaluation stopped during the run ({summary.evaluation_error})")
    pending = [r.name for r in results if r.outcome == NOT_PROVEN and r.pending]
    short = [r.name for r in results if r.outcome == NOT_PROVEN and not r.pending]
    # a threshold with nothing to judge decided nothing: never a pass (a run whose every request failed to
    # connect has no latency samples, and a rule window as short as the sampling holds no rate); a breach of
    # another threshold still decides
    no_data = [r.name for r in results if r.outcome == NO_DATA]
    # every request failed (a refused connection is one, answered in a millisecond by no server): the latencies
    # are the failures', and nothing the service answered was judged; a breach (HighErrorRate) still decides
    requests, failures = summary.total.requests, summary.total.failures
    no_answer = requests > 0 and failures >= requests
    if invalid:
        status = INVALID
    elif any(r.outcome == BREACH for r in results):
        status = BREACH
    elif short or pending or no_data or no_answer or not states:
        status = INVALID
        if no_answer:
            invalid.append(
                f"no request succeeded ({failures} of {requests} failed): the latencies judged are the failures',"
                " not the service's answers"
            )
        if not states:
            # nothing of the rule file could be judged (every rule of a shape the harness cannot evaluate, or no
            # rule at all): the run did not test the alert rules, whatever its run-level limits say
            invalid.append(
                f"no alert rule of {rules.path} could be evaluated"
                + (f" (not evaluated: {', '.join(n.name for n in rules.not_evaluated)})" if rules.not_evaluated else "")
            )
        if pending:
            invalid.append(
                f"{', '.join(pending)} breaching (pending) when the run ended, not yet for its whole for: it fires"
                " if that goes on; use a longer --run-time"
            )
        if short:
            invalid.append(
                f"run too short to prove {', '.join(short)} (see each rule's window + for; use a longer --run-time"
                " or --rule-window/--rule-for)"
            )
        if no_data:
            invalid.append(
                f"no data to judge {', '.join(no_data)} (no request was answered, or the rule window holds fewer"
                " than two samples: use a longer --rule-window)"
            )
    else:
        status = PASS
    run = {
        "duration_s": round(summary.duration_s, 3),
        "requests": summary.total.requests,
        "failures": summary.total.failures,
        "rps": summary.total.requests / summary.duration_s if summary.duration_s > 0 else 0.0,
        "max_generator_cpu": cpu,
        "workers": summary.workers,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "total": summary.total.to_dict(),
        "endpoints": [e.to_dict() for e in summary.endpoints],
        "rules_timing": " and ".join(o for o in (config.window_origin, config.for_origin) if o) or "the rule file's",
        # per rule: [t, worst value, status] per evaluation, with its limit: what `harness gate` charts
        "timelines": {
            s.threshold.name: {
                "limit": s.threshold.limit,
                "op": s.threshold.op,
                "unit": s.threshold.unit,
                "points": [list(p) for p in s.timeline],
            }
            for s in states
        },
    }
    return Verdict(
        status=status,
        results=tuple(results),
        not_evaluated=rules.not_evaluated,
        invalid_reasons=tuple(invalid),
        run=run,
        rules_file=rules.path,
        extra=extra or {},
    )


def check_from_verdict(check: str, verdict: dict[str, Any] | None, files: tuple[str, ...] = ()) -> CheckResult:
    """A load run's verdict JSON (as the locust child wrote it) as the one verdict type: a breach fails, an
    invalid run (or none written) cannot decide. Every threshold is a finding with its value and limit."""
    if verdict is None:
        return CheckResult(check, Outcome.INCONCLUSIVE, "the load run wrote no verdict", files=files)
    outcome = {PASS: Outcome.PASS, BREACH: Outcome.FAIL}.get(verdict.get("status", ""), Outcome.INCONCLUSIVE)
    where = " on ".join(str(x) for x in (verdict.get("backend"),) if x)
    findings = []
    for t in verdict.get("thresholds", []):
        value = t.get("value")
        findings.append(
            Finding(
                f"{t['name']}" + (f" on {where}" if where else ""),
                f"{t['outcome']}: {t.get('detail', '')}",
                value=None if value is None else _fmt(float(value), t.get("unit", "")),
                limit=t.get("condition"),
            )
        )
    breached = [f for f in findings if f.detail.startswith(BREACH)]
    shown = breached or findings
    return CheckResult(
        check,
        outcome,
        str(verdict.get("summary", "")),
        figure=", ".join(f"{f.what.split(' on ')[0]} {f.value}" for f in shown if f.value is not None) or None,
        limit=", ".join(f"{f.limit}" for f in shown if f.limit) or None,
        findings=tuple(breached if outcome is Outcome.FAIL else findings),
        evidence={k: v for k, v in verdict.items() if k != "run"} | {"run": _run_evidence(verdict.get("run", {}))},
        files=files,
    )


def _run_evidence(run: dict[str, Any]) -> dict[str, Any]:
    """The run's figures without the per-endpoint histograms (they stay in the verdict file)."""
    return {k: v for k, v in run.items() if k not in ("endpoints", "total", "timelines")}
