"""Reading alert rules into thresholds: the guide's rules, other shapes, and what is listed as not evaluated."""

from pathlib import Path

import pytest

from harness import resources
from harness.durations import parse_duration
from harness.errors import ConfigError
from harness.load.rules import (
    AVG_LATENCY,
    ERROR_RATE,
    ERROR_RATIO,
    NotEvaluated,
    RuleThreshold,
    interpret,
    load_rules,
    parse_rules,
)

RULES = resources.alert_rules()


def test_the_guides_rules_become_two_thresholds_with_their_windows() -> None:
    rules = load_rules(RULES)
    by_name = {t.name: t for t in rules.thresholds}
    assert set(by_name) == {"HighErrorRate", "HighLatency"}
    errors, latency = by_name["HighErrorRate"], by_name["HighLatency"]
    assert (errors.kind, errors.op, errors.limit, errors.window_s, errors.for_s) == (ERROR_RATE, ">", 0.01, 300, 300)
    assert errors.per_series and errors.severity == "critical"
    assert (latency.kind, latency.limit, latency.window_s, latency.for_s) == (AVG_LATENCY, 0.5, 300, 300)
    assert latency.metrics == (
        "character_service_request_duration_seconds_sum",
        "character_service_request_duration_seconds_count",
    )
    assert latency.note and "histogram" in latency.note  # the guide's expression never fires in Prometheus
    assert rules.not_evaluated == ()


@pytest.mark.parametrize(
    ("expr", "kind", "per_series"),
    [
        ("sum(rate(x_errors_total[1m])) > 0.5", ERROR_RATE, False),
        ("rate(x_errors_total[1m]) / rate(x_requests_total[1m]) > 0.01", ERROR_RATIO, True),
        ("sum(rate(x_errors_total[1m])) / sum(rate(x_requests_total[1m])) > 0.01", ERROR_RATIO, False),
        ("rate(d_seconds_sum[2m]) / rate(d_seconds_count[2m]) > 0.3", AVG_LATENCY, True),
        ('rate(x_errors_total{route="/characters"}[1m]) > 0', ERROR_RATE, True),
    ],
)
def test_other_understood_shapes(expr: str, kind: str, per_series: bool) -> None:
    th = interpret("A", expr, 30)
    assert isinstance(th, RuleThreshold), th
    assert (th.kind, th.per_series, th.for_s) == (kind, per_series, 30)


@pytest.mark.parametrize(
    ("expr", "reason"),
    [
        ("up == 0", "shape not understood"),
        ("rate(character_service_cache_misses_total[5m]) > 3", "not an error counter"),
        ('rate(x_errors_total{status=~"5.."}[1m]) > 0', "only = is supported"),
        ('rate(x_errors_total{job="a"}[1m]) > 0', "a load test only knows"),
        ("rate(x_errors_total[1m]) / rate(x_requests_total[5m]) > 0.1", "windows differ"),
        ("avg_over_time(queue_depth[5m]) > 3", "not a duration in seconds"),
    ],
)
def test_rules_it_cannot_judge_are_listed_with_the_reason(expr: str, reason: str) -> None:
    result = interpret("B", expr, 0)
    assert isinstance(result, NotEvaluated)
    assert reason in result.reason


def test_a_rule_file_with_unknown_rules_lists_them_not_evaluated() -> None:
    text = """
groups:
  - name: g
    rules:
      - record: job:errors:rate5m
        expr: sum(rate(x_errors_total[5m]))
      - alert: Down
        expr: up == 0
      - alert: Errors
        expr: rate(x_errors_total[30s]) > 1
"""
    rules = parse_rules(text, "r.yaml")
    assert [t.name for t in rules.thresholds] == ["Errors"]
    assert rules.thresholds[0].for_s == 0
    assert (rules.not_evaluated[0].name, rules.not_evaluated[0].reason) == ("job:errors:rate5m", "a recording rule")
    assert rules.not_evaluated[1].name == "Down"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("groups: [", "not valid YAML"),
        ("alerts: []", "expected a top-level 'groups:' list"),
        ("groups:\n  - rules:\n      - alert: A\n", "needs an 'expr:'"),
        ("groups:\n  - rules:\n      - alert: A\n        expr: rate(x_errors_total[5m]) > 1\n        for: soon\n",
         "is not a duration"),
        ("groups:\n  - rules:\n      - alert: A\n        expr: rate(x_errors_total[0s]) > 1\n",
         r"rule A: the range window \[0s\] must be greater than 0"),
    ],
)  # fmt: skip
def test_bad_rule_files_give_one_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_rules(text, "bad.yaml")
    assert "\n" not in str(info.value)


def test_missing_rule_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the alert rule file"):
        load_rules(tmp_path / "nope.yaml")


def test_durations() -> None:
    assert parse_duration("5m") == 300
    assert parse_duration("1h30m") == 5400
    assert parse_duration("500ms") == 0.5
    assert parse_duration("0") == 0
    with pytest.raises(ConfigError):
        parse_duration("5 minutes")


def test_overridden_timing_is_recorded() -> None:
    rules = load_rules(RULES).with_timing(20, 10, "option --rule-window", "option --rule-for")
    th = rules.thresholds[0]
    assert (th.window_s, th.for_s) == (20, 10)
    assert th.overridden == ("window 5m -> 20s (option --rule-window)", "for 5m -> 10s (option --rule-for)")
    assert "[20s]" in th.promql()
