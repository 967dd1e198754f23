"""The threshold logic held to an exact oracle: ``promtool test rules`` evaluates the same rule file over the same
synthetic series, and must agree with the harness on which alerts fire when, near the limits too."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from harness import resources
from harness.load.rules import RuleThreshold, load_rules
from harness.load.window import Counters, Labels, Snapshot, WindowEvaluator

from .promtool import require

RULES = resources.alert_rules()
EVAL_S = 60  # evaluation interval
SCRAPE_S = 40  # the series' sample interval: off the evaluation grid, so rate() must extrapolate like Prometheus
GET: Labels = (("method", "GET"), ("route", "/characters/{character_id}"))
LIST: Labels = (("method", "GET"), ("route", "/characters"))

N = 24  # samples per series: 0 .. 920 s
# (first value, errors added per 40 s sample) of each series; the HighErrorRate limit 0.01/s is 0.4 per sample
ERROR_SCENARIOS = {
    "steady_above": {GET: (0, [0.5] * N)},
    "steady_below": {GET: (0, [0.35] * N)},
    "just_above": {GET: (0, [0.41] * N)},
    "just_below": {GET: (0, [0.39] * N)},
    "burst_then_quiet": {GET: (0, [2.0] * 6 + [0.0] * (N - 6))},
    "late_start": {GET: (0, [0.0] * 9 + [1.0] * (N - 9)), LIST: (0, [0.2] * N)},
    "two_series": {GET: (0, [0.45] * N), LIST: (0, [0.6] * 12 + [0.0] * (N - 12))},
    "counter_already_running": {GET: (500, [0.42] * N)},
}
# (requests per sample, seconds of latency per request) of the GET series, sample by sample
LATENCY_SCENARIOS = {
    "slow": [(40, 0.6)] * N,
    "fast": [(40, 0.2)] * N,
    "near_limit": [(40, 0.51)] * N,
    "slow_then_fast": [(40, 0.9)] * 9 + [(40, 0.1)] * (N - 9),
}
EVAL_TIMES_MIN = (4, 5, 6, 7, 9, 10, 11, 13, 15)


def _cumulative(steps: list[float], start: float = 0.0) -> list[float]:
    total, out = start, [start]
    for v in steps:
        total += v
        out.append(round(total, 6))
    return out


def _series_name(metric: str, labels: Labels, extra: dict[str, str] | None = None) -> str:
    items = [*labels, *(extra or {}).items()]
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in items) + "}"


def _harness_firing(threshold: RuleThreshold, series: dict[Labels, list[Counters]], eval_min: int) -> set[Labels]:
    """Replay the samples and evaluation ticks in time order, as Prometheus does, and return what fires."""
    ev = WindowEvaluator([threshold])
    sample, end = 0, eval_min * EVAL_S
    for tick in range(0, end + 1, EVAL_S):
        while sample * SCRAPE_S <= tick:
            ev.add(Snapshot(sample * SCRAPE_S, {k: v[sample] for k, v in series.items()}), evaluate=False)
            sample += 1
        ev.evaluate(tick)
    return set(ev.states[0].firing)


def _promtool(
    tmp_path: Path, rule_file: Path, tests: Sequence[Mapping[str, object]]
) -> subprocess.CompletedProcess[str]:
    spec = {"rule_files": [str(rule_file)], "evaluation_interval": "1m", "tests": tests}
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return subprocess.run(
        [require("promtool"), "test", "rules", str(path)], capture_output=True, text=True, timeout=120, check=False
    )


def _alerts(rule: dict[str, object], firing: set[Labels], extra: dict[Labels, dict[str, str]]) -> list[object]:
    labels = dict(rule.get("labels") or {})  # type: ignore[call-overload]
    return [
        {"exp_labels": {**labels, **dict(k), **extra.get(k, {})}, "exp_annotations": dict(rule["annotations"])}  # type: ignore[call-overload]
        for k in sorted(firing)
    ]


def _rule(name: str) -> dict[str, object]:
    doc = yaml.safe_load(RULES.read_text())
    return next(r for g in doc["groups"] for r in g["rules"] if r.get("alert") == name)


def test_error_rule_fires_exactly_when_prometheus_fires(tmp_path: Path) -> None:
    threshold = next(t for t in load_rules(RULES).thresholds if t.name == "HighErrorRate")
    rule = _rule("HighErrorRate")
    status = {"status": "500"}
    tests, expected_firing = [], 0
    for per_series in ERROR_SCENARIOS.values():
        values = {k: _cumulative(steps, start) for k, (start, steps) in per_series.items()}
        series = {k: [Counters(failures=v) for v in vs] for k, vs in values.items()}
        cases = []
        for eval_min in EVAL_TIMES_MIN:
            firing = _harness_firing(threshold, series, eval_min)
            expected_firing += bool(firing)
            cases.append(
                {
                    "eval_time": f"{eval_min}m",
                    "alertname": "HighErrorRate",
                    "exp_alerts": _alerts(rule, firing, dict.fromkeys(firing, status)),
                }
            )
        input_series = [
            {"series": _series_name("character_service_errors_total", k, status),
             "values": " ".join(f"{v:g}" for v in vs)}
            for k, vs in values.items()
        ]  # fmt: skip
        tests.append({"interval": f"{SCRAPE_S}s", "input_series": input_series, "alert_rule_test": cases})
    assert expected_firing >= 10  # the scenarios exercise firing and quiet cases alike
    result = _promtool(tmp_path, RULES, tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_oracle_catches_a_wrong_expectation(tmp_path: Path) -> None:
    """Proof the cross-check can fail: claim 'no alert' where the harness (and Prometheus) see one."""
    rule = _rule("HighErrorRate")
    del rule  # the expectation below is deliberately empty
    tests = [
        {
            "interval": "1m",
            "input_series": [
                {"series": _series_name("character_service_errors_total", GET, {"status": "500"}),
                 "values": " ".join(f"{v:g}" for v in _cumulative([1.0] * N))}
            ],
            "alert_rule_test": [{"eval_time": "12m", "alertname": "HighErrorRate", "exp_alerts": []}],
        }
    ]  # fmt: skip
    result = _promtool(tmp_path, RULES, tests)
    assert result.returncode != 0
    assert "HighErrorRate" in result.stdout + result.stderr


def test_latency_rule_as_the_harness_evaluates_it_agrees_with_prometheus(tmp_path: Path) -> None:
    """The guide's avg_over_time(histogram) is evaluated as rate(_sum) / rate(_count): that form, put in a rule
    file, must fire in Prometheus exactly when the harness says it fires."""
    threshold = next(t for t in load_rules(RULES).thresholds if t.name == "HighLatency")
    rule = _rule("HighLatency")
    derived = {
        "groups": [{"name": "derived", "rules": [{**rule, "expr": f"{threshold.promql()} > {threshold.limit:g}"}]}]
    }
    rule_file = tmp_path / "derived-rules.yaml"
    rule_file.write_text(yaml.safe_dump(derived, sort_keys=False))
    tests, expected_firing = [], 0
    for minutes in LATENCY_SCENARIOS.values():
        requests = _cumulative([float(n) for n, _ in minutes])
        seconds = _cumulative([n * s for n, s in minutes])
        series = {GET: [Counters(requests=r, duration_sum_s=s) for r, s in zip(requests, seconds, strict=True)]}
        cases = []
        for eval_min in EVAL_TIMES_MIN:
            firing = _harness_firing(threshold, series, eval_min)
            expected_firing += bool(firing)
            cases.append(
                {"eval_time": f"{eval_min}m", "alertname": "HighLatency", "exp_alerts": _alerts(rule, firing, {})}
            )
        input_series = [
            {"series": _series_name(threshold.metrics[0], GET), "values": " ".join(f"{v:g}" for v in seconds)},
            {"series": _series_name(threshold.metrics[1], GET), "values": " ".join(f"{v:g}" for v in requests)},
        ]
        tests.append({"interval": f"{SCRAPE_S}s", "input_series": input_series, "alert_rule_test": cases})
    assert expected_firing >= 5
    result = _promtool(tmp_path, rule_file, tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_guides_latency_rule_never_fires_on_a_histogram(tmp_path: Path) -> None:
    """Why the harness rewrites it: with only the histogram's series present, Prometheus evaluates the guide's
    HighLatency to nothing even at 2 s per request (promtool accepts 'no alerts' at 12m)."""
    slow = _cumulative([60.0 * 2.0] * N)
    count = _cumulative([60.0] * N)
    tests = [
        {
            "interval": "1m",
            "input_series": [
                {"series": _series_name("character_service_request_duration_seconds_sum", GET),
                 "values": " ".join(f"{v:g}" for v in slow)},
                {"series": _series_name("character_service_request_duration_seconds_count", GET),
                 "values": " ".join(f"{v:g}" for v in count)},
            ],
            "alert_rule_test": [{"eval_time": "12m", "alertname": "HighLatency", "exp_alerts": []}],
        }
    ]  # fmt: skip
    result = _promtool(tmp_path, RULES, tests)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("minute", [0])
def test_rule_file_passes_promtool_check(minute: int) -> None:
    result = subprocess.run(
        [require("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr
