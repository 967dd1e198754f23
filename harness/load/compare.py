"""The same load against the legacy backend, then the storage backend, compared the way Kayenta compares a canary
with its baseline: a one-sided Mann-Whitney U test on the latency distributions, and the error ratios.

The question answered is "storage is not slower than legacy by more than X%": the storage latencies are tested
against the legacy latencies scaled by (1 + X). If storage is significantly (p < alpha) stochastically greater
than that, it is slower by more than X% and the comparison fails. Equal backends pass; a storage backend 30%
slower fails at X = 10%. The histograms come from locust (rounded milliseconds with counts), so the test works on
value/count pairs with the tie correction.

Keys of ``[targets.NAME.load_compare]`` (all optional; options win; checked by the loader):
    max_slowdown = 0.10             # X: the tolerated slowdown of storage vs legacy (0.10 = 10%)
    alpha = 0.05                    # significance level of the one-sided test
    max_error_ratio_increase = 0.001  # storage's error ratio may exceed legacy's by at most this much
    users = 10                      # locust users for each run
    run_time = "15s"                # length of each run
    rounds = 2                      # legacy, storage, legacy, storage, ...: drift of a shared machine hits both

Runs alternate between the backends for ``rounds`` rounds and each backend's runs are pooled, so a slowdown of
the machine during one run does not pass for a slower backend.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config.model import LoadCompareSettings
from ..durations import parse_duration
from ..errors import ConfigError
from ..redaction import redact
from ..verdict import CheckResult, Finding, Outcome
from .verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U of the first sample: pairs where it is greater, ties counting one half
    n1: int
    n2: int
    z: float
    p_greater: float  # one-sided p-value of "the first sample is stochastically greater"

    @property
    def effect(self) -> float:
        """P(first > second) + P(equal)/2: 0.5 when the distributions are the same."""
        return self.u / (self.n1 * self.n2) if self.n1 and self.n2 else math.nan


def mann_whitney_u(first: dict[float, int], second: dict[float, int]) -> MannWhitney:
    """One-sided Mann-Whitney U test on two histograms (value -> count), normal approximation with tie and
    continuity corrections (as scipy.stats.mannwhitneyu(..., alternative="greater", method="asymptotic"))."""
    n1, n2 = sum(first.values()), sum(second.values())
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    rank, rank_sum, ties = 1.0, 0.0, 0.0
    for value in sorted(set(first) | set(second)):
        c1, c2 = first.get(value, 0), second.get(value, 0)
        t = c1 + c2
        rank_sum += c1 * (rank + (t - 1) / 2)
        ties += t**3 - t
        rank += t
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return MannWhitney(u, n1, n2, 0.0, 0.5)
    z = (u - mean - 0.5) / math.sqrt(variance)
    return MannWhitney(u, n1, n2, z, 0.5 * math.erfc(z / math.sqrt(2)))


def histogram(verdict: dict[str, Any]) -> dict[float, int]:
    """All requests' response-time histogram of a run (ms -> count) from its verdict JSON."""
    raw = verdict["run"]["total"]["response_times_ms"]
    return {float(k): int(v) for k, v in raw.items()}


def pool(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs' verdicts of one backend as one: requests, failures and latency histograms added up."""
    times: dict[str, int] = {}
    for v in verdicts:
        for k, c in v["run"]["total"]["response_times_ms"].items():
            times[k] = times.get(k, 0) + int(c)
    return {
        "run": {
            "requests": sum(int(v["run"]["requests"]) for v in verdicts),
            "failures": sum(int(v["run"]["failures"]) for v in verdicts),
            "total": {"response_times_ms": times},
        },
        "invalid_reasons": [r for v in verdicts for r in v.get("invalid_reasons", [])],
        "runs": len(verdicts),
    }


def _percentile(hist: dict[float, int], fraction: float) -> float:
    total = sum(hist.values())
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= fraction * total:
            return value
    return math.nan


def _mean(hist: dict[float, int]) -> float:
    total = sum(hist.values())
    return sum(v * c for v, c in hist.items()) / total if total else math.nan


# [targets.X.load_compare], checked by the loader, merged with options here
CompareSettings = LoadCompareSettings


def compare_settings(section: LoadCompareSettings | None = None, **options: Any) -> LoadCompareSettings:
    """The target's settings with the options that were given (options win), checked by the same rules."""
    given = {k: v for k, v in options.items() if v is not None}
    if "run_time" in given:
        parse_duration(given["run_time"], "--run-time")
    settings = replace(section or LoadCompareSettings(), **given)
    for key, problem in settings.problems():
        if key in given:
            raise ConfigError(f"--{key.replace('_', '-')}: {problem}")
    return settings


@dataclass(frozen=True)
class Comparison:
    status: str  # pass, fail, invalid
    statement: str
    figures: dict[str, Any]
    reasons: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        return {"pass": EXIT_PASS, "fail": EXIT_BREACH}.get(self.status, EXIT_INVALID)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "exit_code": self.exit_code, "statement": self.statement,
                "reasons": list(self.reasons), **self.figures}  # fmt: skip

    def table(self) -> str:
        f = self.figures
        lines = [f"comparison: {self.status.upper()} (exit {self.exit_code}): {self.statement}", ""]
        lines.append(f"{'':22}{'legacy':>12}{'storage':>12}")
        for key, label in (("requests", "requests"), ("error_ratio", "error ratio"), ("mean_ms", "mean ms"),
                           ("p50_ms", "p50 ms"), ("p95_ms", "p95 ms"), ("p99_ms", "p99 ms")):  # fmt: skip
            a, b = f["legacy"][key], f["storage"][key]
            fmt = "{:>12.4f}" if key == "error_ratio" else "{:>12.1f}" if isinstance(a, float) else "{:>12}"
            lines.append(f"{label:22}" + fmt.format(a) + fmt.format(b))
        t = f.get("test")  # none when a run was invalid: nothing was tested
        if t is not None:
            lines.append(
                f"Mann-Whitney U (storage > legacy x {1 + t['max_slowdown']:.2f}): U={t['u']:.0f}, z={t['z']:.2f}, "
                f"p={t['p']:.3g}, P(storage > scaled legacy)={t['effect']:.3f}; alpha {t['alpha']}"
            )
        lines.extend(f"reason: {r}" for r in self.reasons)
        return "\n".join(lines) + "\n"

    def to_check(self, check: str) -> CheckResult:
        """As the one verdict type: storage slower or less reliable fails; an invalid run cannot decide."""
        outcome = {"pass": Outcome.PASS, "fail": Outcome.FAIL}.get(self.status, Outcome.INCONCLUSIVE)
        f = self.figures
        figure = limit = None
        if "legacy" in f and "storage" in f:
            figure = f"storage mean {f['storage']['mean_ms']:.1f} ms vs legacy {f['legacy']['mean_ms']:.1f} ms"
            limit = f"legacy x {1 + f['test']['max_slowdown']:.2f}" if "test" in f else None
        findings = tuple(Finding("legacy vs storage", r) for r in self.reasons)
        return CheckResult(
            check, outcome, self.statement, figure=figure, limit=limit, findings=findings, evidence=self.to_dict()
        )

    def write(self, prefix: Path) -> None:
        prefix.parent.mkdir(parents=True, exist_ok=True)
        prefix.with_name(prefix.name + ".json").write_text(redact(json.dumps(self.to_dict(), indent=2)) + "\n")
        prefix.with_name(prefix.name + ".txt").write_text(redact(self.table()))


def _side(verdict: dict[str, Any]) -> dict[str, Any]:
    hist = histogram(verdict)
    run = verdict["run"]
    requests = int(run["requests"])
    return {
        "requests": requests,
        "failures": int(run["failures"]),
        "error_ratio": run["failures"] / requests if requests else math.nan,
        "mean_ms": _mean(hist),
        "p50_ms": _percentile(hist, 0.5),
        "p95_ms": _percentile(hist, 0.95),
        "p99_ms": _percentile(hist, 0.99),
        "generator_invalid": [r for r in verdict.get("invalid_reasons", []) if "CPU" in r],
    }


def compare_runs(legacy: dict[str, Any], storage: dict[str, Any], settings: CompareSettings) -> Comparison:
    """Judge two verdict JSONs of the same load against each backend."""
    a, b = _side(legacy), _side(storage)
    figures: dict[str, Any] = {"legacy": a, "storage": b}
    invalid = [f"{name}: {r}" for name, side in (("legacy", a), ("storage", b)) for r in side["generator_invalid"]]
    invalid += [f"{name}: no requests" for name, side in (("legacy", a), ("storage", b)) if not side["requests"]]
    # every request failed (a backend down: connection refused): the latencies are the failures', no answer's
    invalid += [
        f"{name}: no request succeeded ({side['failures']} of {side['requests']} failed), so no answer's latency"
        " to compare"
        for name, side in (("legacy", a), ("storage", b))
        if side["requests"] and side["failures"] >= side["requests"]
    ]
    x = settings.max_slowdown
    if invalid:
        return Comparison("invalid", "cannot compare: a run is invalid", figures, tuple(invalid))
    scaled = {v * (1 + x): c for v, c in histogram(legacy).items()}
    test = mann_whitney_u(histogram(storage), scaled)
    figures["test"] = {"u": test.u, "z": test.z, "p": test.p_greater, "effect": test.effect,
                       "alpha": settings.alpha, "max_slowdown": x}  # fmt: skip
    reasons = []
    slower = test.p_greater < settings.alpha
    if slower:
        # locust rounds to whole milliseconds: a legacy answering under 0.5 ms has a mean of 0
        change = f" ({(b['mean_ms'] / a['mean_ms'] - 1) * 100:+.0f}%)" if a["mean_ms"] > 0 else ""
        reasons.append(
            f"storage latencies are significantly above legacy's x {1 + x:.2f} (p={test.p_greater:.3g} < "
            f"{settings.alpha}); mean {b['mean_ms']:.1f} ms vs {a['mean_ms']:.1f} ms{change}"
        )
    error_delta = b["error_ratio"] - a["error_ratio"]
    if error_delta > settings.max_error_ratio_increase:
        reasons.append(
            f"storage error ratio {b['error_ratio']:.4f} exceeds legacy's {a['error_ratio']:.4f} by more than "
            f"{settings.max_error_ratio_increase:g}"
        )
    pct = f"{x * 100:g}%"
    if reasons:
        return Comparison(
            "fail", f"storage IS slower or less reliable than legacy beyond {pct}", figures, tuple(reasons)
        )
    return Comparison("pass", f"storage is not slower than legacy by more than {pct}", figures)
