"""``harness check-latency``: the alert rules judged against a running service after a deploy.

Two sources, same rules, same verdict and exit codes as a load run (0 pass, 3 breach, 4 cannot judge):
- a Prometheus server (``prometheus.url`` of the target): each rule's value is queried over the last ``for``
  with the HTTP API (``/api/v1/query_range``); a series breaching at every step of that period is firing;
- no Prometheus: two scrapes of each backend's ``/metrics`` taken one window apart give each rule's value over
  that window (the rules' ``for`` cannot be applied to one window, and the report says so).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from ..config import Target
from ..errors import HarnessError, TargetUnreachable
from ..http_client import new_client
from ..redaction import redact
from ..verdict import CheckResult, Finding, Outcome
from .rules import AVG_LATENCY, ERROR_RATE, ERROR_RATIO, RuleSet, RuleThreshold, format_duration
from .verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS
from .window import Counters, Labels, Snapshot, describe_labels, instant_values

PASS, BREACH, NO_DATA, PENDING = "pass", "breach", "no data", "pending"
MAX_QUERY_POINTS = 200  # bounds a range query: the step grows with the `for`


@dataclass(frozen=True)
class RuleCheck:
    threshold: RuleThreshold
    outcome: str  # pass, breach, pending (breaching now, not yet for the whole `for`: cannot judge), no data
    value: float | None
    series: str | None
    source: str  # "prometheus" or "/metrics of <backend>"
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        th = self.threshold
        return {
            "name": th.name,
            "condition": f"{th.op} {th.limit:g} {th.unit}",
            "window_s": th.window_s,
            "for_s": th.for_s,
            "value": self.value,
            "series": self.series,
            "outcome": self.outcome,
            "source": self.source,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class LatencyReport:
    checks: tuple[RuleCheck, ...]
    not_evaluated: tuple[Any, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def status(self) -> str:
        if any(c.outcome == BREACH for c in self.checks):
            return BREACH
        # pending: breaching now, not yet for the whole `for` (Prometheus fires it if that goes on): not a pass
        if not self.checks or any(c.outcome in (NO_DATA, PENDING) for c in self.checks):
            return "invalid"
        return PASS

    @property
    def exit_code(self) -> int:
        return {PASS: EXIT_PASS, BREACH: EXIT_BREACH}.get(self.status, EXIT_INVALID)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "checks": [c.to_dict() for c in self.checks],
            "not_evaluated": [n.to_dict() for n in self.not_evaluated],
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        out = []
        for c in self.checks:
            th = c.threshold
            value = "-" if c.value is None else f"{c.value:.4g} {th.unit}"
            where = f" on {c.series}" if c.series else ""
            out.append(
                f"{th.name:<16} {c.outcome.upper():<8} {value:>16}  ({th.op} {th.limit:g} {th.unit}, window "
                f"{format_duration(th.window_s)}, for {format_duration(th.for_s)}){where} [{c.source}]"
            )
            out.extend(f"    note: {n}" for n in c.notes)
        out.extend(f"not evaluated: {n.name}: {n.reason}" for n in self.not_evaluated)
        out.extend(f"note: {n}" for n in self.notes)
        why = "pending" if any(c.outcome == PENDING for c in self.checks) else "no data"
        word = {PASS: "PASS", BREACH: "BREACH"}.get(self.status, f"CANNOT JUDGE ({why})")
        out.append(f"verdict: {word} (exit {self.exit_code})")
        return out

    def to_check(self, check: str) -> CheckResult:
        """As the one verdict type: a breach fails, no data, a rule pending (or no rule) cannot decide."""
        outcome = {PASS: Outcome.PASS, BREACH: Outcome.FAIL}.get(self.status, Outcome.INCONCLUSIVE)
        findings = tuple(
            Finding(
                f"{c.threshold.name}" + (f" on {c.series}" if c.series else ""),
                f"{c.outcome} [{c.source}]" + "".join(f"; {n}" for n in c.notes),
                value=None if c.value is None else f"{c.value:.4g} {c.threshold.unit}",
                limit=f"{c.threshold.op} {c.threshold.limit:g} {c.threshold.unit}",
            )
            for c in self.checks
            if c.outcome != PASS or outcome is Outcome.PASS
        )
        worst = [c for c in self.checks if c.outcome == BREACH] or [c for c in self.checks if c.outcome != PASS]
        if outcome is Outcome.PASS:
            summary = f"{len(self.checks)} rules hold"
        elif outcome is Outcome.FAIL:
            summary = "fired: " + ", ".join(f.describe() for f in findings if "breach" in f.detail)
        else:
            summary = "cannot judge: " + ("; ".join(f.describe() for f in findings) or "no rule could be evaluated")
        shown = worst or list(self.checks)
        return CheckResult(
            check,
            outcome,
            summary,
            figure=", ".join(
                f"{c.threshold.name} {c.value:.4g} {c.threshold.unit}" for c in shown if c.value is not None
            )
            or None,
            limit=", ".join(f"{c.threshold.op} {c.threshold.limit:g} {c.threshold.unit}" for c in shown) or None,
            findings=findings,
            evidence=self.to_dict(),
        )


# --- two scrapes of /metrics -------------------------------------------------------------------------------------


SCRAPE_ROUTES = ("/metrics", "/health")  # our own scrapes and probes: not the service's traffic


def parse_exposition(text: str) -> list[Metric]:
    """One scrape's metric families, parsed once for every rule that reads them."""
    try:
        return list(text_string_to_metric_families(text))
    except ValueError as exc:
        raise HarnessError(f"/metrics is not Prometheus text format ({exc}); is this the Character Service?") from None


def parse_metrics(families: list[Metric], threshold: RuleThreshold) -> dict[Labels, Counters]:
    """The counters a threshold reads, per (method, route), from one Prometheus text exposition; other labels
    (``status``) are summed; the /metrics and /health routes (the check's own scrapes) are left out."""
    wanted = {"a": threshold.metrics[0], "b": threshold.traffic_metric}
    sums: dict[Labels, dict[str, float]] = {}
    for family in families:
        for sample in family.samples:
            for slot, name in wanted.items():
                if sample.name == name and sample.labels.get("route") not in SCRAPE_ROUTES:
                    key: Labels = (
                        ("method", sample.labels.get("method", "")),
                        ("route", sample.labels.get("route", "")),
                    )
                    bucket = sums.setdefault(key, {"a": 0.0, "b": 0.0})
                    bucket[slot] += float(sample.value)
    out: dict[Labels, Counters] = {}
    for key, v in sums.items():
        if threshold.kind in (ERROR_RATE, ERROR_RATIO):
            out[key] = Counters(failures=v["a"], requests=v["b"])
        else:
            out[key] = Counters(duration_sum_s=v["a"], requests=v["b"])
    return out


def _scrape(client: httpx.Client, url: str) -> str:
    try:
        response = client.get(f"{url}/metrics")
    except httpx.HTTPError as exc:
        raise TargetUnreachable(
            f"{redact(url)}/metrics did not answer ({type(exc).__name__}); is the service up?"
        ) from None
    if response.status_code != 200:
        raise TargetUnreachable(f"{redact(url)}/metrics answered {response.status_code}; expected 200")
    return response.text


def check_metrics(
    target: Target,
    rules: RuleSet,
    backends: Sequence[str],
    *,
    window_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> LatencyReport:
    """Scrape each backend's /metrics, wait one window, scrape again, and judge each rule over that window."""
    wait = window_s if window_s is not None else max((t.window_s for t in rules.thresholds), default=60.0)
    with new_client(timeout=target.timeouts.httpx(), headers=target.auth.headers()) as client:
        urls = {b: target.backends[b].url for b in backends}
        first = {b: (time.monotonic(), _scrape(client, u)) for b, u in urls.items()}
        sleep(wait)
        second = {b: (time.monotonic(), _scrape(client, u)) for b, u in urls.items()}
    checks = []
    for backend in backends:
        (t0, text0), (t1, text1) = first[backend], second[backend]
        scrape0, scrape1 = parse_exposition(text0), parse_exposition(text1)
        for threshold in rules.thresholds:
            th = threshold.with_timing(t1 - t0, None, "the time between the two scrapes")
            before, after = parse_metrics(scrape0, th), parse_metrics(scrape1, th)
            # a labelled series appears with its first request: absent from the first scrape means zero then
            before = {**dict.fromkeys(after, Counters()), **before}
            snaps = [Snapshot(0.0, before), Snapshot(t1 - t0, after)]
            # traffic the rule can judge: requests on the series it reads (its matchers), not on any route
            moved = any(after[k].requests > before[k].requests for k in after if th.matches(dict(k)))
            # a counter the service does not export at all would read as zero errors: not a pass
            absent = [m for m in (th.metrics[0], th.traffic_metric) if not exports(scrape1, m)]
            reset = _reset(th, scrape0, scrape1, before, after)
            why = None
            if absent:
                why = f"{backend}'s /metrics exports no {' and no '.join(absent)}: the rule cannot be evaluated"
            elif reset:  # what the counters held before a restart is lost, so the increase is not the window's
                why = f"the counters were reset between the two scrapes ({reset}): the window cannot be judged"
            elif not moved and th.matchers:
                why = f"no requests on {th.selector} in the window (traffic elsewhere does not judge this rule)"
            values = instant_values(th, snaps, t1 - t0) if moved and why is None else {}
            notes = [f"one window of {t1 - t0:.1f} s between two scrapes: the rule's for "
                     f"({format_duration(threshold.for_s)}) cannot be applied"]  # fmt: skip
            if threshold.note:
                notes.append(threshold.note)
            checks.append(_judge(threshold, values, f"/metrics of {backend}", notes, why))
    return LatencyReport(tuple(checks), rules.not_evaluated)


def exposition_names(text: str) -> set[str]:
    """The metric names of a Prometheus text exposition: sample names (``name{labels} value``) and the names in
    ``# TYPE`` / ``# HELP`` lines (a labelled counter nothing has incremented yet has no sample). Names as written,
    so a suffix (``_bucket``) is a name only where a sample has it; no name is found inside another."""
    names = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("TYPE", "HELP"):
            names.add(parts[2])
        elif parts and not line.startswith("#"):
            names.add(line.split("{", 1)[0].split(" ", 1)[0])
    return names


def exports(families: list[Metric], metric: str) -> bool:
    """Whether an exposition (``parse_exposition``) declares ``metric`` by its exact name: a sample of it, or its
    family (a labelled counter that never counted has only its ``# TYPE`` line: zero, not absent)."""
    for family in families:
        if any(metric == family.name + suffix for suffix in ("", "_total", "_sum", "_count", "_bucket")):
            return True
        if any(sample.name == metric for sample in family.samples):
            return True
    return False


def _created(families: list[Metric], threshold: RuleThreshold) -> dict[tuple[str, Labels], float]:
    """The ``_created`` timestamps (OpenMetrics; prometheus_client exports them) of the counters a rule reads."""
    bases = {
        m.removesuffix("_total").removesuffix("_sum").removesuffix("_count")
        for m in (threshold.metrics[0], threshold.traffic_metric)
    }
    out: dict[tuple[str, Labels], float] = {}
    for family in families:
        for sample in family.samples:
            if sample.name.endswith("_created") and sample.name.removesuffix("_created") in bases:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return out


def _reset(
    threshold: RuleThreshold,
    scrape0: list[Metric],
    scrape1: list[Metric],
    before: dict[Labels, Counters],
    after: dict[Labels, Counters],
) -> str | None:
    """Why the counters a rule reads were reset between two scrapes (a counter went down, or a series was
    created anew: the service restarted), or None."""
    for key, b in before.items():
        a = after.get(key)
        if a is not None and (
            a.requests < b.requests or a.failures < b.failures or a.duration_sum_s < b.duration_sum_s
        ):
            return f"a counter of {describe_labels(key)} went down"
    created0, created1 = _created(scrape0, threshold), _created(scrape1, threshold)
    for series, t in created1.items():
        if series in created0 and created0[series] != t:
            return f"{series[0]} of {describe_labels(series[1]) or 'all'} was created anew"
    return None


def _judge(
    threshold: RuleThreshold, values: dict[Labels, float], source: str, notes: Iterable[str], why: str | None = None
) -> RuleCheck:
    if not values:
        return RuleCheck(threshold, NO_DATA, None, None, source, (*notes, why or "no requests in the window"))
    breaching = {k: v for k, v in values.items() if threshold.breaches(v)}
    pool = breaching or values
    worst = max(pool, key=lambda k: pool[k] if threshold.op in (">", ">=") else -pool[k])
    outcome = BREACH if breaching else PASS
    return RuleCheck(threshold, outcome, values[worst], describe_labels(worst), source, tuple(notes))


# --- Prometheus --------------------------------------------------------------------------------------------------


class PrometheusClient:
    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url.rstrip("/")
        self.client = client

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        where = redact(self.url)
        try:
            response = self.client.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                f"Prometheus at {where} did not answer ({type(exc).__name__}); check prometheus.url"
            ) from None
        try:
            body = response.json()
        except ValueError:
            raise TargetUnreachable(
                f"Prometheus at {where} answered {response.status_code} without JSON; check prometheus.url"
            ) from None
        if not isinstance(body, dict):
            raise self._not_prometheus()
        if body.get("status") != "success":
            raise HarnessError(f"Prometheus rejected the query {params.get('query')!r}: {body.get('error', body)}")
        return body.get("data")

    def _not_prometheus(self) -> TargetUnreachable:
        return TargetUnreachable(
            f"Prometheus at {redact(self.url)} answered JSON that is not a result of its query API; "
            "check prometheus.url"
        )

    def _result(self, data: Any, sample: str) -> list[dict[str, Any]]:
        """The result's series, each with its ``metric`` labels and ``value`` [t, "v"] (or ``values`` of them)."""

        def point(p: Any) -> bool:
            if not (isinstance(p, list) and len(p) == 2 and isinstance(p[1], str)):
                return False
            try:
                float(p[0]), float(p[1])
            except (TypeError, ValueError):
                return False
            return True

        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list):
            raise self._not_prometheus()
        for r in result:
            ok = isinstance(r, dict) and isinstance(r.get("metric"), dict)
            value = r.get(sample) if ok else None
            ok = ok and (point(value) if sample == "value" else isinstance(value, list) and all(map(point, value)))
            if not ok:
                raise self._not_prometheus()
        return result

    def declares(self, metric: str) -> bool | None:
        """Whether a scraped target declares ``metric`` (its ``# TYPE`` line, even with no series yet), from the
        metadata API; None when that API gives no answer (an older or a compatible server)."""
        try:
            data = self._get("/api/v1/metadata", {"metric": metric})
        except HarnessError:
            return None
        return bool(data) if isinstance(data, dict) else None

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        return self._result(self._get("/api/v1/query", {"query": expr, "time": f"{at:.3f}"}), "value")

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._result(self._get("/api/v1/query_range", params), "values")


def _labels(metric: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in metric.items() if k != "__name__"))


def _series_name(labels: Labels) -> str:
    d = dict(labels)
    head = f"{d.get('method', '')} {d.get('route', '')}".strip()
    rest = ",".join(f"{k}={v}" for k, v in labels if k not in ("method", "route"))
    return f"{head} {{{rest}}}".strip() if rest else head or "all"


def _literal_selects_nothing(prom: PrometheusClient, threshold: RuleThreshold, now: float) -> bool:
    """True when the rule as written returns no series while the form the harness evaluates does: the guide's
    avg_over_time over a histogram's base name."""
    if threshold.kind != AVG_LATENCY or not threshold.expr.startswith("avg_over_time"):
        return False
    expr = threshold.expr.split(threshold.op)[0]  # the value part, with the evaluated window
    literal = re.sub(r"\[[^\]]+\]", f"[{format_duration(threshold.window_s)}]", expr)
    return not prom.query(literal, now)


def _has_traffic(prom: PrometheusClient, threshold: RuleThreshold, now: float) -> bool:
    """Requests on the series the rule reads (its matchers: traffic on other routes judges nothing of it)."""
    return any(float(r["value"][1]) > 0 for r in prom.query(threshold.traffic_promql(), now))


def _empty_answer(prom: PrometheusClient, threshold: RuleThreshold, now: float) -> tuple[float | None, str]:
    """A rule's query returned no series: for an error rule (judged only where there was traffic, see
    ``check_prometheus``), zero errors when a target declares the error counter (a labelled counter that never
    counted has no series, only its ``# TYPE`` line); otherwise no value, and why (a counter no target exports
    would read as zero errors)."""
    if threshold.kind != ERROR_RATE:
        return None, "the query returned no series"
    metric = threshold.metrics[0]
    # the text format's TYPE line names a counter with _total, OpenMetrics without it
    known = {prom.declares(name) for name in (metric, metric.removesuffix("_total"))}
    if True in known:
        return 0.0, "no error series: no errors in the window"
    if None in known:
        return None, f"the query returned no series, and Prometheus's metadata API did not say whether {metric} exists"
    return None, f"the query returned no series: no scraped target exports {metric}"


def check_prometheus(target: Target, rules: RuleSet, *, now: float | None = None) -> LatencyReport:
    """Query each rule's value over its last ``for`` period; firing = breaching at every step of it."""
    assert target.prometheus is not None
    now = time.time() if now is None else now
    checks = []
    with new_client(timeout=target.timeouts.httpx(), headers=target.auth.headers()) as client:
        prom = PrometheusClient(target.prometheus.url, client)
        for th in rules.thresholds:
            expr = th.promql()
            notes: list[str] = [f"queried: {expr}"]
            if th.kind == ERROR_RATE and not _has_traffic(prom, th, now):
                # an error counter's series outlives its last error: a flat 0 on no requests judged nothing
                idle = f"no requests{' on ' + th.selector if th.selector else ''} in the window ({th.traffic_promql()})"
                checks.append(RuleCheck(th, NO_DATA, None, None, "prometheus", (*notes, idle)))
                continue
            if th.note and _literal_selects_nothing(prom, th, now):
                notes.append(
                    f"the rule as written ({th.expr}) selects no series on this Prometheus: production's "
                    f"{th.name} can never fire; fix the rule to rate(..._sum)/rate(..._count)"
                )
            if th.for_s <= 0:
                values = {_labels(r["metric"]): float(r["value"][1]) for r in prom.query(expr, now)}
                values = {k: v for k, v in values.items() if not math.isnan(v)}
                why = None
                if not values:
                    zero, why = _empty_answer(prom, th, now)
                    if zero is not None:  # a value after all: its note is a note, not why there is none
                        values = {(): zero}
                        notes.append(why)
                        why = None
                checks.append(_judge(th, values, "prometheus", notes, why))
                continue
            step = max(1.0, th.for_s / MAX_QUERY_POINTS)
            start = now - th.for_s
            expected = math.floor(th.for_s / step) + 1
            series = prom.query_range(expr, start, now, step)
            last: dict[Labels, float] = {}
            firing: dict[Labels, float] = {}
            pending: dict[Labels, float] = {}
            for r in series:
                key = _labels(r["metric"])
                points = [(float(t), float(v)) for t, v in r["values"] if not math.isnan(float(v))]
                if not points or points[-1][0] < now - step:  # no current value
                    continue
                last[key] = points[-1][1]
                held = [v for _, v in points if th.breaches(v)]
                if len(held) == len(points) >= expected:
                    firing[key] = points[-1][1]
                elif th.breaches(points[-1][1]):
                    pending[key] = points[-1][1]
            if firing:
                worst = max(firing, key=lambda k: firing[k])
                checks.append(RuleCheck(th, BREACH, firing[worst], _series_name(worst), "prometheus", tuple(notes)))
            elif pending:
                worst = max(pending, key=lambda k: pending[k])
                notes.append(f"breaching now but not for the whole {format_duration(th.for_s)}: not firing yet")
                checks.append(RuleCheck(th, PENDING, pending[worst], _series_name(worst), "prometheus", tuple(notes)))
            elif last:
                worst = max(last, key=lambda k: last[k])
                checks.append(RuleCheck(th, PASS, last[worst], _series_name(worst), "prometheus", tuple(notes)))
            else:
                zero, why = _empty_answer(prom, th, now)
                notes.append(why)
                outcome = NO_DATA if zero is None else PASS
                checks.append(RuleCheck(th, outcome, zero, None, "prometheus", tuple(notes)))
    return LatencyReport(tuple(checks), rules.not_evaluated)
