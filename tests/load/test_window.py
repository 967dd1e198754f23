"""Sliding-window evaluation: Prometheus's extrapolated rate, pending -> firing after `for`, per-series alerts."""

import math

import pytest

from harness.load.rules import interpret
from harness.load.window import Counters, Snapshot, WindowEvaluator, extrapolated_rate, instant_values, labels_of

GET = labels_of("GET", "/characters/{character_id}")
LIST = labels_of("GET", "/characters")


def test_rate_of_samples_filling_the_window_is_the_slope() -> None:
    points = [(float(t), 2.0 * t) for t in range(0, 61, 10)]  # 2 per second, samples at both edges
    assert extrapolated_rate(points, 0, 60) == pytest.approx(2.0)


def test_rate_extrapolates_to_the_window_edges_like_prometheus() -> None:
    # samples 10..50 s of a 60 s window, 1/s: the gaps (10 s) are within 1.1 x the sample spacing, so Prometheus
    # extrapolates the 40 s it saw to the full 60 s: increase 40 -> 60, rate 1.0
    points = [(float(t), float(t)) for t in range(10, 51, 10)]
    assert extrapolated_rate(points, 0, 60) == pytest.approx(1.0)
    # a counter that starts near zero is not extrapolated below zero
    assert extrapolated_rate([(30.0, 1.0), (40.0, 11.0), (50.0, 21.0)], 0, 60) == pytest.approx(
        (20 * (20 + 1 + 10) / 20) / 60
    )


def test_rate_handles_counter_resets_and_too_few_samples() -> None:
    assert extrapolated_rate([(0.0, 5.0), (10.0, 10.0), (20.0, 2.0)], 0, 20) == pytest.approx(
        7 / 20
    )  # +5, then a reset to 2: +2
    assert extrapolated_rate([(5.0, 1.0)], 0, 20) is None


def test_average_latency_is_rate_of_sum_over_rate_of_count() -> None:
    th = interpret("L", "rate(d_seconds_sum[10s]) / rate(d_seconds_count[10s]) > 0.5", 0)
    snaps = [Snapshot(float(t), {GET: Counters(requests=10 * t, duration_sum_s=6.0 * t)}) for t in range(11)]
    assert instant_values(th, snaps, 10.0) == {GET: pytest.approx(0.6)}  # type: ignore[arg-type]


def test_no_requests_in_the_window_is_no_value_not_zero() -> None:
    th = interpret("L", "rate(d_seconds_sum[10s]) / rate(d_seconds_count[10s]) > 0.5", 0)
    snaps = [Snapshot(float(t), {GET: Counters(requests=5, duration_sum_s=9.0)}) for t in range(11)]
    assert instant_values(th, snaps, 10.0) == {}  # type: ignore[arg-type]


def _run(expr: str, for_s: float, rows: list[dict[tuple[tuple[str, str], ...], Counters]]) -> WindowEvaluator:
    th = interpret("R", expr, for_s)
    ev = WindowEvaluator([th])  # type: ignore[list-item]
    for t, series in enumerate(rows):
        ev.add(Snapshot(float(t), series))
    return ev


def test_alert_goes_pending_then_fires_after_for_and_names_the_series() -> None:
    # GET fails 1/s from t=0, the listing never: only GET's series breaches
    rows = [{GET: Counters(requests=10 * t, failures=t), LIST: Counters(requests=5 * t)} for t in range(12)]
    ev = _run("rate(x_errors_total[4s]) > 0.01", 5, rows)
    state = ev.states[0]
    assert state.first_pending_t == 1.0  # first evaluation with two samples
    assert state.first_firing_t == 6.0  # pending for 5 s
    assert state.firing_series == GET and state.status == "firing"


def test_a_breach_shorter_than_for_never_fires() -> None:
    rows = [{GET: Counters(requests=10 * t, failures=min(t, 3))} for t in range(20)]
    ev = _run("rate(x_errors_total[2s]) > 0.01", 5, rows)
    assert ev.states[0].first_pending_t is not None
    assert ev.states[0].first_firing_t is None
    assert ev.states[0].status == "ok"


def test_summed_rules_add_the_series() -> None:
    rows = [{GET: Counters(failures=0.006 * t), LIST: Counters(failures=0.006 * t)} for t in range(10)]
    per_series = _run("rate(x_errors_total[4s]) > 0.01", 0, rows).states[0]
    summed = _run("sum(rate(x_errors_total[4s])) > 0.01", 0, rows).states[0]
    assert per_series.first_firing_t is None  # each 0.006/s
    assert summed.first_firing_t is not None and math.isclose(summed.peak or 0, 0.012)
