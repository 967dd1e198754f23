"""Run-level thresholds from the targets file and options, and the verdict's outcome and exit code rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness import resources
from harness.config.loader import parse_config
from harness.config.model import ThresholdSettings
from harness.errors import ConfigError
from harness.load.rules import load_rules
from harness.load.thresholds import EndpointSummary, RunSummary, threshold_config
from harness.load.verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS, build_verdict
from harness.load.window import Counters, Snapshot, WindowEvaluator, labels_of

RULES = str(resources.alert_rules())
GET = "/characters/{character_id}"


def _section(toml: str) -> ThresholdSettings:
    """A [targets.staging.thresholds] section as the loader reads it."""
    text = f'[targets.staging]\nenvironment = "staging"\n[targets.staging.thresholds]\nrules = {RULES!r}\n{toml}'
    return parse_config(text, "harness.toml", {}).targets["staging"].thresholds


def _summary(times: dict[int, int], failures: int = 0, duration: float = 10.0, cpu: float = 20.0) -> RunSummary:
    n = sum(times.values())
    total_ms = float(sum(k * v for k, v in times.items()))
    endpoint = EndpointSummary("GET", GET, n, failures, total_ms, times)
    total = EndpointSummary("", "Aggregated", n, failures, total_ms, times)
    return RunSummary(duration, total, (endpoint,), max_generator_cpu=cpu)


def _states(window: str = "2s", for_: str = "1s", failures_per_s: float = 0.0, seconds: int = 12) -> tuple:  # type: ignore[type-arg]
    config = threshold_config(_section(f"window = {window!r}\nfor = {for_!r}"))
    rules = config.apply_timing(load_rules(config.rules_path))
    ev = WindowEvaluator(rules.thresholds)
    for t in range(seconds + 1):
        ev.add(Snapshot(float(t), {labels_of("GET", GET): Counters(10.0 * t, failures_per_s * t, 0.01 * t)}))
    return config, rules, ev.states


def test_targets_file_keys_become_run_thresholds_with_their_source() -> None:
    section = _section(f'p95_ms = 50\nmin_rps = 5\n[targets.staging.thresholds.endpoints."GET {GET}"]\np99_ms = 80')
    config = threshold_config(section, target="staging", run_options={"max_error_ratio": 0.01})
    names = {t.name for t in config.run_thresholds}
    assert names == {"p95_ms", "min_rps", "max_error_ratio", f"p99_ms GET {GET}"}
    assert config.sources == {"p95_ms": "targets file", "min_rps": "targets file", "max_error_ratio": "option"}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("p95 = 3", "p95: unknown key; did you mean 'p95_ms'"),
        ('p95_ms = "fast"', "must be an integer or a number"),
        ("window = 30", "must be a string"),
        ('[targets.staging.thresholds.endpoints."/characters"]\np95_ms = 1', 'name endpoints "METHOD name"'),
        # TOML's nan is a number that no value ever exceeds: a limit of nan would pass every run
        ("p95_ms = nan", r"p95_ms: must be a finite number, not negative, got nan"),
        ("max_error_ratio = nan", r"max_error_ratio: must be a finite number"),
        ("min_rps = inf", r"min_rps: must be a finite number"),
        ("max_generator_cpu = nan", r"max_generator_cpu: must be a finite number"),
        (f'[targets.staging.thresholds.endpoints."GET {GET}"]\navg_ms = nan', r"avg_ms: must be a finite number"),
    ],
)
def test_bad_threshold_sections_are_one_line(toml: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _section(toml)


@pytest.mark.parametrize(
    ("run_options", "cpu", "message"),
    [
        ({"p95_ms": float("nan")}, None, r"--p95-ms: must be a finite number, not negative, got nan"),
        ({"min_rps": float("inf")}, None, r"--min-rps: must be a finite number"),
        ({}, float("nan"), r"--max-generator-cpu: must be a finite number, not negative, got nan"),
        ({}, -5.0, r"--max-generator-cpu: must be a finite number, not negative, got -5"),
    ],
)
def test_non_finite_or_negative_options_are_refused(
    run_options: dict[str, float], cpu: float | None, message: str
) -> None:
    """A nan limit is never exceeded (a p95 of nan passed every run) and a nan CPU limit never invalidates one;
    a negative CPU limit invalidated every run."""
    with pytest.raises(ConfigError, match=message):
        threshold_config(run_options=run_options, max_generator_cpu=cpu)


def test_a_missing_rule_file_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"alert rule file missing\.yaml"):
        threshold_config(ThresholdSettings(rules="missing.yaml"), target="staging")


def test_run_thresholds_breach_and_pass() -> None:
    config, rules, states = _states()
    fast = _summary({5: 90, 40: 10})  # p95 40 ms, 10 req/s
    ok = build_verdict(threshold_config(_section('p95_ms = 50\nmin_rps = 5\nwindow = "2s"\nfor = "1s"')),
                       rules, states, fast)  # fmt: skip
    assert ok.status == "pass" and ok.exit_code == EXIT_PASS
    strict = threshold_config(_section('p95_ms = 30\nmin_rps = 50\nwindow = "2s"\nfor = "1s"'))
    breach = build_verdict(strict, rules, states, fast)
    assert breach.exit_code == EXIT_BREACH
    assert {r.name: (r.value, r.outcome) for r in breach.results if r.source == "targets file"} == {
        "p95_ms": (40.0, "breach"),
        "min_rps": (10.0, "breach"),
    }
    del config


def test_saturated_generator_wins_over_a_breach_and_short_runs_are_invalid() -> None:
    config, rules, states = _states(failures_per_s=1.0)
    breached = build_verdict(config, rules, states, _summary({5: 100}))
    assert breached.exit_code == EXIT_BREACH and breached.breaches[0].name == "HighErrorRate"
    saturated = build_verdict(config, rules, states, _summary({5: 100}, cpu=97.0))
    assert saturated.exit_code == EXIT_INVALID and "CPU reached 97%" in saturated.invalid_reasons[0]
    config, rules, states = _states(window="10s", for_="5s", seconds=8)
    short = build_verdict(config, rules, states, _summary({5: 100}, duration=8.0))
    assert short.exit_code == EXIT_INVALID
    assert {r.outcome for r in short.results} == {"not proven"}
    text = short.table()
    assert text.startswith("verdict: INVALID (exit 4)") and "window 5m -> 10s" in text


def test_a_rule_with_no_data_is_invalid_unless_another_breaches() -> None:
    """No sample pair in any window (the evaluator saw one snapshot): the rules have nothing to judge. That
    passed before ("2 thresholds hold"); a breach of a run threshold still decides."""
    config, rules, states = _states(seconds=0)
    verdict = build_verdict(config, rules, states, _summary({5: 100}, duration=12.0))
    assert {r.outcome for r in verdict.results} == {"no data"}
    assert verdict.exit_code == EXIT_INVALID
    assert "no data to judge HighErrorRate, HighLatency" in verdict.invalid_reasons[0]
    strict = threshold_config(_section('p95_ms = 1\nwindow = "2s"\nfor = "1s"'))
    breached = build_verdict(strict, rules, states, _summary({5: 100}, duration=12.0))
    assert breached.exit_code == EXIT_BREACH, breached.table()


def test_a_run_none_of_whose_requests_succeeded_is_invalid_unless_a_threshold_breaches() -> None:
    """Every request refused (the backend down): a refused connection is a failure answered in a millisecond, so
    HighLatency held at 1 ms and a rule file of latency rules alone passed the run ("1 thresholds hold"). With the
    error rule it breaches, as before; a run with one success among its failures is judged as it is."""
    config, rules, states = _states()
    latency_only = replace(rules, thresholds=tuple(t for t in rules.thresholds if t.name == "HighLatency"))
    latency_states = [s for s in states if s.threshold.name == "HighLatency"]
    refused = build_verdict(config, latency_only, latency_states, _summary({1: 120}, failures=120, duration=12.0))
    assert refused.exit_code == EXIT_INVALID, refused.table()
    assert "no request succeeded (120 of 120 failed)" in refused.invalid_reasons[0]
    one_answered = build_verdict(config, latency_only, latency_states, _summary({1: 120}, failures=119, duration=12.0))
    assert one_answered.exit_code == EXIT_PASS, one_answered.table()
    config, rules, states = _states(failures_per_s=10.0)
    breached = build_verdict(config, rules, states, _summary({1: 120}, failures=120, duration=12.0))
    assert breached.exit_code == EXIT_BREACH and breached.breaches[0].name == "HighErrorRate", breached.table()
