"""What a load run is judged against: the alert rule file (with optional window/for overrides) plus the extra
thresholds of the target's ``[targets.NAME.thresholds]`` section, merged with command-line options
(option > targets file > default).

Keys of ``[targets.NAME.thresholds]`` (all optional; the loader checks them and gives a ``ThresholdSettings``):

    rules = "contracts/alert-rules.yaml"  # the Prometheus rule file the thresholds come from
    requests_metric = "http_requests_total"  # the counter of every request (default: the error counter's name
                                # with requests_total): tells "no errors" from "no traffic" in check-latency
    window = "30s"              # evaluate every rule over this range window instead of its own ([5m])
    for = "15s"                 # ... and with this `for` instead of its own
    p95_ms = 300                # 95th percentile response time over the whole run, milliseconds
    p99_ms = 800                # 99th percentile
    avg_ms = 200                # mean response time
    min_rps = 20                # achieved requests per second over the run (closed model: catches a slow SUT)
    max_error_ratio = 0.01      # failed / all requests over the run
    max_generator_cpu = 90      # a load generator above this CPU % makes the run invalid (locust warns at 90)

    [targets.NAME.thresholds.endpoints."GET /characters/{character_id}"]
    p95_ms = 200                # the same run-level keys, for one endpoint ("METHOD name" as locust names it)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import resources
from ..config.model import ThresholdSettings
from ..durations import parse_duration
from ..errors import ConfigError
from .rules import RuleSet, load_rules

# the shipped contracts/alert-rules.yaml, wherever the harness is installed
DEFAULT_RULES = str(resources.alert_rules())
DEFAULT_MAX_GENERATOR_CPU = 90.0


@dataclass(frozen=True)
class EndpointSummary:
    """One endpoint's (or all requests') figures over a whole run; ``response_times`` is locust's histogram
    (rounded milliseconds -> count)."""

    method: str
    name: str
    requests: int
    failures: int
    total_response_time_ms: float
    response_times: dict[int, int]

    @property
    def key(self) -> str:
        return f"{self.method} {self.name}".strip()

    def percentile(self, fraction: float) -> float | None:
        """Locust's own percentile algorithm, so figures match its report."""
        if not self.requests:
            return None
        keep = int(self.requests * fraction)
        processed = 0
        for value in sorted(self.response_times, reverse=True):
            processed += self.response_times[value]
            if self.requests - processed <= keep:
                return float(value)
        return 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "name": self.name,
            "requests": self.requests,
            "failures": self.failures,
            "avg_ms": self.total_response_time_ms / self.requests if self.requests else None,
            "p50_ms": self.percentile(0.5),
            "p95_ms": self.percentile(0.95),
            "p99_ms": self.percentile(0.99),
            "response_times_ms": {str(k): v for k, v in sorted(self.response_times.items())},
        }


@dataclass(frozen=True)
class RunSummary:
    duration_s: float
    total: EndpointSummary
    endpoints: tuple[EndpointSummary, ...]
    max_generator_cpu: float | None = None  # the highest CPU % any load generator process reported
    workers: int = 0
    evaluation_error: str | None = None  # why the once-a-second evaluation stopped before the run did


@dataclass(frozen=True)
class RunThreshold:
    """A limit on a whole-run figure (from the targets file or an option), not from an alert rule."""

    key: str  # one of RUN_LIMITS
    limit: float
    endpoint: str | None = None  # "GET /characters/{character_id}"; None: all requests

    @property
    def name(self) -> str:
        return f"{self.key} {self.endpoint}" if self.endpoint else self.key

    @property
    def condition(self) -> str:
        if self.key == "min_rps":
            return f">= {self.limit:g} req/s"
        unit = "" if self.key == "max_error_ratio" else " ms"
        return f"<= {self.limit:g}{unit}"

    def measure(self, summary: RunSummary) -> float | None:
        entry = summary.total
        if self.endpoint is not None:
            found = [e for e in summary.endpoints if e.key == self.endpoint]
            if not found:
                return None
            entry = found[0]
        if not entry.requests:
            return None
        if self.key == "p95_ms":
            return entry.percentile(0.95)
        if self.key == "p99_ms":
            return entry.percentile(0.99)
        if self.key == "avg_ms":
            return entry.total_response_time_ms / entry.requests
        if self.key == "max_error_ratio":
            return entry.failures / entry.requests
        return entry.requests / summary.duration_s if summary.duration_s > 0 else None

    def breached(self, value: float) -> bool:
        return value < self.limit if self.key == "min_rps" else value > self.limit


@dataclass(frozen=True)
class ThresholdConfig:
    rules_path: str = DEFAULT_RULES
    window_s: float | None = None
    for_s: float | None = None
    window_origin: str = ""
    for_origin: str = ""
    run_thresholds: tuple[RunThreshold, ...] = ()
    max_generator_cpu: float = DEFAULT_MAX_GENERATOR_CPU
    sources: dict[str, str] = field(default_factory=dict)

    def apply_timing(self, rules: RuleSet) -> RuleSet:
        if self.window_s is None and self.for_s is None:
            return rules
        return rules.with_timing(self.window_s, self.for_s, self.window_origin, self.for_origin)


def target_rules(section: ThresholdSettings, path: str | None = None) -> RuleSet:
    """The alert rules a target's service is judged against (``check-latency``, the gate): ``path`` (an option)
    > the section's ``rules`` > the shipped file, its error-rate rules reading the section's ``requests_metric``
    as their counter of every request."""
    return load_rules(path or section.rules or DEFAULT_RULES).with_requests_metric(section.requests_metric)


def _number(value: Any, where: str) -> float:
    """An option's value (the targets file's are checked by the loader)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: must be a number, got {value!r}")
    if not 0 <= value < math.inf:  # nan would never be exceeded: every comparison with it is false
        raise ConfigError(f"{where}: must be a finite number, not negative, got {value!r}")
    return float(value)


def threshold_config(
    section: ThresholdSettings | None = None,
    *,
    target: str = "local",
    rules: str | None = None,
    window: str | None = None,
    for_: str | None = None,
    max_generator_cpu: float | None = None,
    run_options: dict[str, float] | None = None,
) -> ThresholdConfig:
    """Merge the target's ``[thresholds]`` (checked when the file was read) with options (options win)."""
    section = section or ThresholdSettings()
    where = f"targets.{target}.thresholds"
    sources: dict[str, str] = {}
    run: dict[tuple[str, str | None], RunThreshold] = {}
    for key, limit in section.run.items():
        run[(key, None)] = RunThreshold(key, limit)
        sources[key] = "targets file"
    for endpoint, limits in section.endpoints:
        for key, limit in limits.items():
            run[(key, endpoint)] = RunThreshold(key, limit, endpoint)
    for key, value in (run_options or {}).items():
        run[(key, None)] = RunThreshold(key, _number(value, f"--{key.replace('_', '-')}"))
        sources[key] = "option"

    def pick(option: str | None, value: str | None, key: str, flag: str) -> tuple[str | None, str]:
        if option is not None:
            return option, f"option {flag}"
        if value is not None:
            return value, f"{where}.{key}"
        return None, ""

    window_raw, window_origin = pick(window, section.window, "window", "--rule-window")
    for_raw, for_origin = pick(for_, section.for_, "for", "--rule-for")
    rules_raw, rules_origin = pick(rules, section.rules, "rules", "--rules")
    if max_generator_cpu is not None:
        max_generator_cpu = _number(max_generator_cpu, "--max-generator-cpu")
    cpu = section.max_generator_cpu if max_generator_cpu is None else max_generator_cpu
    rules_path = rules_raw or DEFAULT_RULES
    if not Path(rules_path).is_file():
        origin = rules_origin or "the default"
        raise ConfigError(f"alert rule file {rules_path} (from {origin}) does not exist; give --rules PATH")
    return ThresholdConfig(
        rules_path=rules_path,
        window_s=parse_duration(window_raw, window_origin) if window_raw is not None else None,
        for_s=parse_duration(for_raw, for_origin) if for_raw is not None else None,
        window_origin=window_origin,
        for_origin=for_origin,
        run_thresholds=tuple(run.values()),
        max_generator_cpu=DEFAULT_MAX_GENERATOR_CPU if cpu is None else cpu,
        sources=sources,
    )
