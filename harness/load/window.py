"""Sliding-window evaluation of alert-rule thresholds with Prometheus semantics, over cumulative counters sampled
at intervals (a locust master's stats every second, or scrapes of a service's ``/metrics``).

The samples are treated exactly like scraped counters: ``rate()`` is Prometheus's extrapolated rate over the
samples inside ``[t - window, t]`` (Prometheus 2.x range selection), and an alert goes pending the first time its
condition holds for a series and fires once it has held for the rule's ``for`` duration (``rules/alerting.go``).
``promtool test rules`` is the oracle the tests hold this module to.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .rules import AVG_LATENCY, ERROR_RATE, ERROR_RATIO, RuleThreshold

TICK_S = 1.0  # the locust master samples its stats once a second: no window or `for` can be shorter
TIMELINE_POINTS = 2000
Labels = tuple[tuple[str, str], ...]  # sorted (label, value) pairs naming one series


def labels_of(method: str, route: str) -> Labels:
    return (("method", method), ("route", route))


def describe_labels(labels: Labels) -> str:
    d = dict(labels)
    if set(d) == {"method", "route"}:
        return f"{d['method']} {d['route']}"
    return ",".join(f"{k}={v}" for k, v in labels) or "all"


@dataclass(frozen=True)
class Counters:
    """Cumulative counters of one series: what ``*_requests_total``, ``*_errors_total`` and the duration
    histogram's ``_sum`` / ``_count`` would hold."""

    requests: float = 0.0
    failures: float = 0.0
    duration_sum_s: float = 0.0


@dataclass(frozen=True)
class Snapshot:
    t: float  # seconds, on any clock shared by all snapshots of one evaluation
    series: Mapping[Labels, Counters]


def extrapolated_rate(points: list[tuple[float, float]], range_start: float, range_end: float) -> float | None:
    """Prometheus's ``rate()`` of a counter over the samples ``points`` (time, value) that lie in the range;
    ``None`` with fewer than two samples (Prometheus drops the series)."""
    if len(points) < 2:
        return None
    first_t, first_v = points[0]
    last_t, last_v = points[-1]
    result = last_v - first_v
    previous = 0.0
    for _, v in points:  # counter resets: add the value before the drop
        if v < previous:
            result += previous
        previous = v
    to_start = first_t - range_start
    to_end = range_end - last_t
    sampled = last_t - first_t
    if sampled <= 0:
        return None
    average_gap = sampled / (len(points) - 1)
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        to_start = min(to_start, to_zero)
    threshold = average_gap * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average_gap / 2
    interval += to_end if to_end < threshold else average_gap / 2
    return result * (interval / sampled) / (range_end - range_start)


def instant_values(threshold: RuleThreshold, snapshots: Iterable[Snapshot], t: float) -> dict[Labels, float]:
    """The expression's value per series at time ``t`` (one entry ``()`` when the rule sums all series).
    Series whose value is undefined (no two samples, 0/0) are absent, as in Prometheus."""
    start = t - threshold.window_s
    points: dict[Labels, list[tuple[float, Counters]]] = {}
    for snap in snapshots:
        if start <= snap.t <= t:
            for labels, counters in snap.series.items():
                if threshold.matches(dict(labels)):
                    points.setdefault(labels, []).append((snap.t, counters))

    def rate(samples: list[tuple[float, Counters]], attr: str) -> float | None:
        return extrapolated_rate([(ts, float(getattr(c, attr))) for ts, c in samples], start, t)

    numerators: dict[Labels, float] = {}
    denominators: dict[Labels, float] = {}
    num_attr, den_attr = {
        ERROR_RATE: ("failures", None),
        ERROR_RATIO: ("failures", "requests"),
        AVG_LATENCY: ("duration_sum_s", "requests"),
    }[threshold.kind]
    for labels, samples in points.items():
        n = rate(samples, num_attr)
        if n is None:
            continue
        numerators[labels] = n
        if den_attr:
            d = rate(samples, den_attr)
            if d is not None:
                denominators[labels] = d
    if not threshold.per_series:
        if not numerators:
            return {}
        numerators = {(): sum(numerators.values())}
        denominators = {(): sum(denominators.values())} if denominators else {}
    if threshold.kind == ERROR_RATE:
        return numerators
    values: dict[Labels, float] = {}
    for labels, n in numerators.items():
        d = denominators.get(labels)
        if d:
            values[labels] = n / d
        elif d == 0 and n > 0:
            values[labels] = math.inf
    return values


@dataclass
class RuleState:
    """The alert's life during one run: Prometheus's pending/firing per series, and what the verdict needs."""

    threshold: RuleThreshold
    active_since: dict[Labels, float] = field(default_factory=dict)
    status: str = "ok"  # live: ok, pending or firing ("no data" before the first value)
    value: float | None = None  # the live value (worst series)
    series: Labels | None = None
    peak: float | None = None  # the worst value seen during the run
    peak_series: Labels | None = None
    first_pending_t: float | None = None
    first_firing_t: float | None = None
    firing_series: Labels | None = None
    firing: frozenset[Labels] = frozenset()  # the series firing now
    evaluations: int = 0
    # (t, worst value, status) per evaluation, for the verdict's latency-over-time chart; capped so a long run
    # stays bounded in memory (every second evaluation is dropped when full, halving the resolution)
    timeline: list[tuple[float, float | None, str]] = field(default_factory=list)

    def _worse(self, a: float, b: float) -> bool:
        return a < b if self.threshold.op in ("<", "<=") else a > b

    def update(self, values: Mapping[Labels, float], t: float) -> None:
        th = self.threshold
        self.evaluations += 1
        worst: tuple[Labels, float] | None = None
        for labels, v in values.items():
            if worst is None or self._worse(v, worst[1]):
                worst = (labels, v)
        self.value, self.series = (worst[1], worst[0]) if worst else (None, None)
        if worst and (self.peak is None or self._worse(worst[1], self.peak)):
            self.peak, self.peak_series = worst[1], worst[0]
        breaching = {labels for labels, v in values.items() if th.breaches(v)}
        self.active_since = {k: v for k, v in self.active_since.items() if k in breaching}
        for labels in breaching:
            self.active_since.setdefault(labels, t)
        firing = sorted(labels for labels, since in self.active_since.items() if t - since >= th.for_s)
        self.firing = frozenset(firing)
        if firing:
            self.status = "firing"
            if self.first_firing_t is None:
                self.first_firing_t, self.firing_series = t, firing[0]
        elif self.active_since:
            self.status = "pending"
        else:
            self.status = "ok" if values else "no data"
        if self.active_since and self.first_pending_t is None:
            self.first_pending_t = t
        self.timeline.append((round(t, 3), self.value, self.status))
        if len(self.timeline) > TIMELINE_POINTS:
            self.timeline = self.timeline[::2]

    def live(self) -> dict[str, Any]:
        th = self.threshold
        return {
            "name": th.name,
            "condition": f"{th.op} {th.limit:g} {th.unit}",
            "window": f"{th.window_s:g}s",
            "for": f"{th.for_s:g}s",
            "value": self.value,
            "series": describe_labels(self.series) if self.series is not None else None,
            "status": self.status,
            "fired": self.first_firing_t is not None,
        }


class WindowEvaluator:
    """Keeps the snapshots the longest window needs and advances every rule's state on each new snapshot."""

    def __init__(self, thresholds: Iterable[RuleThreshold]) -> None:
        self.states = [RuleState(th) for th in thresholds]
        longest = max((s.threshold.window_s for s in self.states), default=0.0)
        self._keep = longest + 2.0
        self.snapshots: deque[Snapshot] = deque()

    def reset(self) -> None:
        self.states = [RuleState(s.threshold) for s in self.states]
        self.snapshots.clear()

    def add(self, snapshot: Snapshot, evaluate: bool = True) -> None:
        """Record a snapshot and (by default) evaluate every rule at its time."""
        self.snapshots.append(snapshot)
        while self.snapshots and self.snapshots[0].t < snapshot.t - self._keep:
            self.snapshots.popleft()
        if evaluate:
            self.evaluate(snapshot.t)

    def evaluate(self, t: float) -> None:
        """Evaluate every rule at time ``t`` over the snapshots recorded so far (like a rule evaluation tick)."""
        for state in self.states:
            state.update(instant_values(state.threshold, self.snapshots, t), t)
