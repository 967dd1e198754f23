"""The configuration's value objects. Immutable, compared by value, with reprs that never show secrets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..data.settings import CompareSettings
from ..durations import parse_duration
from ..redaction import redact
from .suites import SuiteSettings

if TYPE_CHECKING:  # httpx costs every command's start about 0.4 s of CPU; only a client needs it
    import httpx

ENVIRONMENTS = ("dev", "staging", "production")
BACKENDS = ("legacy", "storage")
LOCAL = "local"
# The gate's phases in the order of the migration guide (harness.gate runs them; the loader checks names).
GATE_PHASES = (
    "preflight",
    "snapshot",
    "migration",
    "data",
    "endpoints",
    "integration",
    "performance",
    "staging",
    "smoke",
    "rollback",
)
GATE_PROFILES = ("quick", "full")
# The guide's data scripts a rehearsal target declares as commands ([targets.X.gate.scripts]): placeholder
# {export_dir}, {export_file} or {backup_dir} in each, filled by the gate.
GATE_SCRIPTS = ("export", "import", "stop", "resume", "backup", "restore", "cleanup")
# Run-level load limits, for all requests or one endpoint ([targets.X.thresholds] and its endpoints tables).
RUN_LIMITS = ("p95_ms", "p99_ms", "avg_ms", "min_rps", "max_error_ratio")


@dataclass(frozen=True)
class Timeouts:
    connect: float = 3.0
    read: float = 10.0

    def httpx(self) -> httpx.Timeout:
        import httpx

        return httpx.Timeout(self.read, connect=self.connect)


@dataclass(frozen=True)
class Auth:
    """Either a bearer token or one header; the value usually comes from ``${VAR}``."""

    bearer_token: str | None = field(default=None, repr=False)
    header_name: str | None = None
    header_value: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token}"}
        if self.header_name and self.header_value is not None:
            return {self.header_name: self.header_value}
        return {}


@dataclass(frozen=True)
class Backend:
    name: str
    url: str


@dataclass(frozen=True)
class Source:
    """The legacy PostgreSQL."""

    dsn: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Source(dsn={redact(self.dsn)!r})"


@dataclass(frozen=True)
class Destination:
    """The Storage Service and the database the Character Service uses there; ``token``: the harness's own
    bearer token there (a read token: the harness never writes to the destination); ``read_timeout``: how long
    one data read there may take (a range summary reads many records, so it is the data checks' own, not the
    API's ``timeouts.read``)."""

    url: str
    database: str = "character_db"
    token: str | None = field(default=None, repr=False)
    read_timeout: float = 30.0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass(frozen=True)
class SecurityProbes:
    """``[targets.X.security]``: credentials the security checks probe with. A check whose input is missing is
    skipped, naming the key to set."""

    other_database_token: str | None = field(default=None, repr=False)  # a token of another database
    read_token: str | None = field(default=None, repr=False)  # a read-only token of the target's database
    collection: str = "characters"  # where the probes aim (a collection of the destination database)


@dataclass(frozen=True)
class Prometheus:
    url: str


@dataclass(frozen=True)
class GateSettings:
    """``[targets.X.gate]``: how ``harness gate`` runs on this target. Empty tuples mean "the default"."""

    profile: str | None = None  # quick | full; the option wins
    phases: tuple[str, ...] = ()  # run only these phases
    skip: tuple[str, ...] = ()  # never these phases or checks
    report_only: tuple[str, ...] = ()  # checks (or phases) reported but never deciding (Argo's dryRun)
    deciding: tuple[str, ...] = ()  # checks that are report-only by default and decide here (performance.compare)
    budgets: tuple[tuple[str, float], ...] = ()  # (check or phase, seconds): a check over budget is inconclusive
    rehearse: bool = False  # migration and rollback may be rehearsed on this target (they write and restore)
    scripts: tuple[tuple[str, str], ...] = ()  # (GATE_SCRIPTS name, command): the deployment's data scripts

    def budget(self, *names: str) -> float | None:
        table = dict(self.budgets)
        for name in names:
            if name in table:
                return table[name]
        return None


@dataclass(frozen=True)
class RunLimits:
    """Run-level limits of a load run; ``None``: not judged. Keys as in ``RUN_LIMITS``."""

    p95_ms: float | None = None  # 95th percentile response time over the run, ms
    p99_ms: float | None = None
    avg_ms: float | None = None
    min_rps: float | None = None  # achieved requests per second (closed model: catches a slow system)
    max_error_ratio: float | None = None  # failed / all requests

    def items(self) -> tuple[tuple[str, float], ...]:
        """The limits that are set, in ``RUN_LIMITS`` order."""
        return tuple((key, value) for key in RUN_LIMITS if (value := getattr(self, key)) is not None)


@dataclass(frozen=True)
class ThresholdSettings:
    """``[targets.X.thresholds]``: what a load run is judged against besides the alert rules (harness.load)."""

    rules: str | None = None  # the Prometheus rule file; None: the shipped one
    # the counter of every request, read beside an error-rate rule's error counter (which has no series before
    # the first error) to tell "no errors" from "no traffic"; None: the error counter's name with
    # ``requests_total`` for ``errors_total``/``failures_total`` (the guide's naming)
    requests_metric: str | None = None
    window: str | None = None  # a duration ("30s"): every rule's range window instead of its own
    for_: str | None = None  # the key ``for``: every rule's ``for`` instead of its own
    max_generator_cpu: float | None = None  # a load generator above this CPU % makes the run invalid
    run: RunLimits = field(default_factory=RunLimits)
    endpoints: tuple[tuple[str, RunLimits], ...] = ()  # ("METHOD name", limits) as locust names requests


@dataclass(frozen=True)
class LoadCompareSettings:
    """``[targets.X.load_compare]`` merged with options: ``harness load compare``'s test of storage vs legacy."""

    max_slowdown: float = 0.10  # X: the tolerated slowdown of storage vs legacy (0.10 = 10%)
    alpha: float = 0.05  # significance level of the one-sided Mann-Whitney U test
    max_error_ratio_increase: float = 0.001  # storage's error ratio may exceed legacy's by at most this
    users: int = 10  # locust users of each run
    run_time: str = "15s"  # length of each run
    rounds: int = 2  # alternating legacy/storage rounds

    def problems(self) -> list[tuple[str, str]]:
        """(key, what is wrong) for every value out of range; the loader and the options report them."""
        found = []
        if not 0 < self.alpha < 1:
            found.append(("alpha", f"must be between 0 and 1, got {self.alpha!r}"))
        if self.rounds < 1:
            found.append(("rounds", f"must be at least 1, got {self.rounds!r}"))
        if self.users < 1:
            found.append(("users", f"must be at least 1, got {self.users!r}"))
        if parse_duration(self.run_time, "run_time") <= 0:
            found.append(("run_time", f"must be above zero, got {self.run_time!r}"))
        for key in ("max_slowdown", "max_error_ratio_increase"):
            if not 0 <= getattr(self, key) < math.inf:  # nan: never exceeded, so never a failure
                found.append((key, f"must be a finite number, not negative, got {getattr(self, key)!r}"))
        return found


@dataclass(frozen=True)
class DifferentialSettings:
    """``[targets.X.differential]``: fields the differential comparison treats as noise, besides those it learns."""

    noise: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    name: str
    environment: str
    backends: dict[str, Backend]
    source: Source | None = None
    destination: Destination | None = None
    prometheus: Prometheus | None = None
    auth: Auth = field(default_factory=Auth)
    timeouts: Timeouts = field(default_factory=Timeouts)
    extra: dict[str, Any] = field(default_factory=dict)  # the [compare] section, checked by harness.data.settings
    gate: GateSettings = field(default_factory=GateSettings)
    security: SecurityProbes = field(default_factory=SecurityProbes)
    thresholds: ThresholdSettings = field(default_factory=ThresholdSettings)
    load_compare: LoadCompareSettings = field(default_factory=LoadCompareSettings)
    differential: DifferentialSettings = field(default_factory=DifferentialSettings)
    compare: CompareSettings = field(default_factory=CompareSettings)  # [targets.X.compare], checked on reading
    suites: SuiteSettings = field(default_factory=SuiteSettings)  # what the suites may assume beyond the contract

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def client(self, backend: str, **kwargs: Any) -> httpx.Client:
        """An httpx client for one backend: base URL, the target's timeouts and auth headers."""
        from ..http_client import new_client

        return new_client(
            base_url=self.backends[backend].url, timeout=self.timeouts.httpx(), headers=self.auth.headers(), **kwargs
        )


@dataclass(frozen=True)
class LocalSettings:
    """How the built-in ``local`` target (the embedded default) is started."""

    characters: int = 200
    seed: int = 42
    pg_dsn: str | None = field(default=None, repr=False)
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    path: str | None  # the file read, or None when there was none
    targets: dict[str, Target]
    default_target: str = LOCAL
    local: LocalSettings = field(default_factory=LocalSettings)
