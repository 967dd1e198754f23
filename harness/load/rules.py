"""Read a Prometheus alerting-rule file (``contracts/alert-rules.yaml`` or any file of that shape) into thresholds
a load test can judge.

Each alert whose expression has one of the shapes below becomes a ``RuleThreshold`` with the rule's own range
window and ``for`` duration; every other rule is returned as ``NotEvaluated`` with the reason, so nothing is
silently ignored.

    rate(ERRORS[W]) > X                          errors per second, per series      (kind ``error_rate``)
    sum(rate(ERRORS[W])) > X                     errors per second, all series      (kind ``error_rate``)
    rate(ERRORS[W]) / rate(REQUESTS[W]) > X      error ratio (``sum(...)`` on both sides: overall)
    rate(D_seconds_sum[W]) / rate(D_seconds_count[W]) > X     average latency in seconds
    avg_over_time(D_seconds[W]) > X              average latency in seconds (read as the line above: see below)

ERRORS is a counter whose name ends in ``errors_total`` or ``failures_total``, REQUESTS one ending in
``requests_total``. Label matchers are understood for ``method`` and ``route`` (equality only).

``avg_over_time(x_seconds[5m])`` is what the migration guide writes, but when ``x_seconds`` is a histogram (as
in the Character Service) that selector matches no series in Prometheus, so the production alert can never fire.
The harness evaluates the intent, ``rate(x_seconds_sum[W]) / rate(x_seconds_count[W])``, and says so in each
threshold's ``note``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from ..durations import parse_duration
from ..errors import ConfigError

ERROR_RATE = "error_rate"
ERROR_RATIO = "error_ratio"
AVG_LATENCY = "avg_latency"
UNITS = {ERROR_RATE: "errors/s", ERROR_RATIO: "ratio", AVG_LATENCY: "s"}
KNOWN_LABELS = ("method", "route")

_METRIC = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SELECTOR = (
    rf"(?P<metric{{n}}>{_METRIC})\s*(?:\{{(?P<matchers{{n}}>[^}}]*)\}})?\s*\[\s*(?P<window{{n}}>[0-9a-z.]+)\s*\]"
)
_CMP = r"\s*(?P<op>>=|<=|>|<|==|!=)\s*(?P<limit>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
OPS = {
    ">": lambda v, lim: v > lim,
    ">=": lambda v, lim: v >= lim,
    "<": lambda v, lim: v < lim,
    "<=": lambda v, lim: v <= lim,
    "==": lambda v, lim: v == lim,
    "!=": lambda v, lim: v != lim,
}


def _sel(n: int) -> str:
    return _SELECTOR.replace("{n}", str(n))


def _fn(name: str, n: int, summed: bool) -> str:
    inner = rf"{name}\s*\(\s*{_sel(n)}\s*\)"
    return rf"sum\s*\(\s*{inner}\s*\)" if summed else inner


# (pattern, aggregated over all series?) for the two arithmetic shapes; tried in order
_RATE = [(re.compile(rf"^\s*{_fn('rate', 1, s)}{_CMP}"), s) for s in (True, False)]
_RATIO = [(re.compile(rf"^\s*{_fn('rate', 1, s)}\s*/\s*{_fn('rate', 2, s)}{_CMP}"), s) for s in (True, False)]
_AVG_OVER_TIME = re.compile(rf"^\s*avg_over_time\s*\(\s*{_sel(1)}\s*\){_CMP}")
_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')


def format_duration(seconds: float) -> str:
    if seconds and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class RuleThreshold:
    """One alert rule the harness can judge a load run (or a running service) against."""

    name: str
    expr: str
    kind: str  # ERROR_RATE, ERROR_RATIO or AVG_LATENCY
    op: str
    limit: float
    window_s: float
    for_s: float
    per_series: bool  # True: like Prometheus, the alert fires per (method, route) series; False: summed
    matchers: tuple[tuple[str, str], ...] = ()
    metrics: tuple[str, ...] = ()  # the Prometheus metric names the expression reads
    severity: str | None = None
    note: str | None = None
    overridden: tuple[str, ...] = ()  # e.g. "window 5m -> 20s (--rule-window)"
    requests_metric: str | None = None  # declared counter of every request ([targets.X.thresholds])

    @property
    def unit(self) -> str:
        return UNITS[self.kind]

    def breaches(self, value: float) -> bool:
        return bool(OPS[self.op](value, self.limit))

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.matchers)

    def with_timing(
        self, window_s: float | None, for_s: float | None, window_origin: str = "", for_origin: str = ""
    ) -> RuleThreshold:
        changes: dict[str, Any] = {}
        notes = list(self.overridden)
        if window_s is not None and window_s != self.window_s:
            changes["window_s"] = window_s
            notes.append(f"window {format_duration(self.window_s)} -> {format_duration(window_s)} ({window_origin})")
        if for_s is not None and for_s != self.for_s:
            changes["for_s"] = for_s
            notes.append(f"for {format_duration(self.for_s)} -> {format_duration(for_s)} ({for_origin})")
        return replace(self, overridden=tuple(notes), **changes) if changes else self

    @property
    def traffic_metric(self) -> str:
        """The counter of all requests next to the one the rule reads: an error counter has no series until the
        first error, so "no errors" must be told apart from "no traffic" with this one."""
        if self.kind == ERROR_RATE:
            if self.requests_metric:
                return self.requests_metric
            return self.metrics[0].replace("errors_total", "requests_total").replace("failures_total", "requests_total")
        return self.metrics[1]

    @property
    def selector(self) -> str:
        """The rule's label matchers as a PromQL selector (``{route="/x"}``), or empty."""
        m = ",".join(f'{k}="{v}"' for k, v in self.matchers)
        return f"{{{m}}}" if m else ""

    def traffic_promql(self) -> str:
        """The requests per second of the series the rule reads (its matchers), summed: traffic it can judge."""
        return f"sum(rate({self.traffic_metric}{self.selector}[{format_duration(self.window_s)}]))"

    def promql(self) -> str:
        """The expression as the harness evaluates it, with this threshold's window (for a Prometheus server)."""
        w = format_duration(self.window_s)
        sel = self.selector

        def rate(metric: str) -> str:
            inner = f"rate({metric}{sel}[{w}])"
            return inner if self.per_series else f"sum({inner})"

        if self.kind == ERROR_RATE:
            return rate(self.metrics[0])
        if self.kind == ERROR_RATIO:
            return f"{rate(self.metrics[0])} / {rate(self.metrics[1])}"
        return f"{rate(self.metrics[0])} / {rate(self.metrics[1])}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expr": self.expr,
            "kind": self.kind,
            "condition": f"{self.op} {self.limit:g} {self.unit}",
            "op": self.op,
            "limit": self.limit,
            "unit": self.unit,
            "window_s": self.window_s,
            "for_s": self.for_s,
            "per_series": self.per_series,
            "matchers": dict(self.matchers),
            "severity": self.severity,
            "note": self.note,
            "overridden": list(self.overridden),
        }


@dataclass(frozen=True)
class NotEvaluated:
    name: str
    expr: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "expr": self.expr, "reason": self.reason}


@dataclass(frozen=True)
class RuleSet:
    path: str
    thresholds: tuple[RuleThreshold, ...]
    not_evaluated: tuple[NotEvaluated, ...] = field(default=())

    def with_timing(
        self, window_s: float | None, for_s: float | None, window_origin: str = "", for_origin: str = ""
    ) -> RuleSet:
        timed = tuple(t.with_timing(window_s, for_s, window_origin, for_origin) for t in self.thresholds)
        return replace(self, thresholds=timed)

    def with_requests_metric(self, name: str | None) -> RuleSet:
        """Every error-rate rule reads ``name`` as its counter of all requests (None: the derived name)."""
        if not name:
            return self
        counted = tuple(replace(t, requests_metric=name) if t.kind == ERROR_RATE else t for t in self.thresholds)
        return replace(self, thresholds=counted)

    def metric_names(self) -> tuple[str, ...]:
        """The metrics the rules read (an error rate's counter of all requests too), as a service exports them
        (a histogram's ``_sum``/``_count`` as its base name), each once, in the rules' order."""
        names: dict[str, None] = {}
        for threshold in self.thresholds:
            for metric in (*threshold.metrics, threshold.traffic_metric):
                names[metric.removesuffix("_sum").removesuffix("_count")] = None
        return tuple(names)


def _is_error_counter(metric: str) -> bool:
    return metric.endswith(("errors_total", "failures_total"))


def _matchers(raw: str | None) -> tuple[tuple[str, str], ...] | str:
    """Equality matchers on known labels, or the reason they cannot be evaluated."""
    if not raw or not raw.strip():
        return ()
    out = []
    for part in raw.split(","):
        if not part.strip():
            continue
        m = _MATCHER.match(part)
        if not m:
            return f"cannot read label matcher {part.strip()!r}"
        label, op, value = m.groups()
        if op != "=":
            return f"label matcher {part.strip()!r}: only = is supported"
        if label not in KNOWN_LABELS:
            return f"label {label!r}: a load test only knows {' and '.join(KNOWN_LABELS)}"
        out.append((label, value))
    return tuple(out)


def interpret(name: str, expr: str, for_s: float, severity: str | None = None) -> RuleThreshold | NotEvaluated:
    """Turn one alert expression into a threshold, or say why it cannot be one."""
    flat = " ".join(expr.split())

    def build(m: re.Match[str], kind: str, per_series: bool, metrics: tuple[str, ...], note: str | None = None) -> Any:
        windows = {m.group(g) for g in m.groupdict() if g.startswith("window") and m.group(g)}
        if len(windows) != 1:
            return NotEvaluated(name, flat, f"the two range windows differ ({', '.join(sorted(windows))})")
        matcher_sets = {m.group(g) or "" for g in m.groupdict() if g.startswith("matchers")}
        if len({" ".join(s.split()) for s in matcher_sets}) > 1:
            return NotEvaluated(name, flat, "the two selectors have different label matchers")
        matchers = _matchers(m.group("matchers1"))
        if isinstance(matchers, str):
            return NotEvaluated(name, flat, matchers)
        raw = windows.pop()
        window = parse_duration(raw, f"rule {name} range window")
        if window <= 0:  # Prometheus refuses the rule file ("duration must be greater than 0"): so does the harness
            raise ConfigError(f"rule {name}: the range window [{raw}] must be greater than 0; fix the rule file")
        return RuleThreshold(
            name=name,
            expr=flat,
            kind=kind,
            op=m.group("op"),
            limit=float(m.group("limit")),
            window_s=window,
            for_s=for_s,
            per_series=per_series,
            matchers=matchers,
            metrics=metrics,
            severity=severity,
            note=note,
        )

    for pattern, summed in _RATIO:
        m = pattern.match(flat)
        if not m:
            continue
        a, b = m.group("metric1"), m.group("metric2")
        if _is_error_counter(a) and b.endswith("requests_total"):
            return build(m, ERROR_RATIO, not summed, (a, b))  # type: ignore[no-any-return]
        if a.endswith("_seconds_sum") and b == a[: -len("_sum")] + "_count":
            return build(m, AVG_LATENCY, not summed, (a, b))  # type: ignore[no-any-return]
        return NotEvaluated(name, flat, f"rate({a}) / rate({b}) is neither an error ratio nor an average latency")
    for pattern, summed in _RATE:
        m = pattern.match(flat)
        if not m:
            continue
        metric = m.group("metric1")
        if _is_error_counter(metric):
            return build(m, ERROR_RATE, not summed, (metric,))  # type: ignore[no-any-return]
        return NotEvaluated(name, flat, f"{metric} is not an error counter (a name ending in errors_total)")
    m = _AVG_OVER_TIME.match(flat)
    if m:
        metric = m.group("metric1")
        if not metric.endswith("_seconds"):
            return NotEvaluated(name, flat, f"{metric} is not a duration in seconds (a name ending in _seconds)")
        note = (
            f"as written, avg_over_time({metric}[...]) selects no series when {metric} is a histogram or summary, "
            f"so Prometheus never fires it; evaluated as rate({metric}_sum) / rate({metric}_count)"
        )
        return build(m, AVG_LATENCY, True, (f"{metric}_sum", f"{metric}_count"), note)  # type: ignore[no-any-return]
    return NotEvaluated(name, flat, "expression shape not understood (see harness/load/rules.py for the shapes)")


def parse_rules(text: str, path: str = "<rules>") -> RuleSet:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({' '.join(str(exc).split())[:160]}); fix the syntax") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ConfigError(f"{path}: not a Prometheus rule file (expected a top-level 'groups:' list)")
    thresholds: list[RuleThreshold] = []
    skipped: list[NotEvaluated] = []
    for gi, group in enumerate(data["groups"]):
        if not isinstance(group, dict) or not isinstance(group.get("rules", []), list):
            raise ConfigError(f"{path}: groups[{gi}] must be a mapping with a 'rules:' list")
        for ri, rule in enumerate(group.get("rules") or []):
            where = f"{path}: groups[{gi}].rules[{ri}]"
            if not isinstance(rule, dict) or not isinstance(rule.get("expr"), str | int | float):
                raise ConfigError(f"{where}: each rule needs an 'expr:'")
            expr = str(rule["expr"])
            if "alert" not in rule:
                skipped.append(NotEvaluated(str(rule.get("record", f"rules[{ri}]")), expr, "a recording rule"))
                continue
            name = str(rule["alert"])
            for_s = parse_duration(str(rule.get("for", "0")), f"{where} ({name}) for")
            labels = rule.get("labels") or {}
            severity = str(labels["severity"]) if isinstance(labels, dict) and "severity" in labels else None
            result = interpret(name, expr, for_s, severity)
            (thresholds if isinstance(result, RuleThreshold) else skipped).append(result)  # type: ignore[arg-type]
    return RuleSet(path=path, thresholds=tuple(thresholds), not_evaluated=tuple(skipped))


def load_rules(path: str | Path) -> RuleSet:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read the alert rule file ({exc.__class__.__name__}); check the path") from None
    return parse_rules(text, str(p))
