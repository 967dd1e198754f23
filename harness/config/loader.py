"""Read the targets file: TOML -> checked against the known keys -> ``${VAR}`` filled -> value objects.

Every problem is one ``ConfigError`` line naming the file, the key and the fix, with "did you mean" when a
close match exists.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict

from ..data.settings import CompareSettings, parse_compare_settings
from ..durations import parse_duration
from ..errors import ConfigError, did_you_mean
from .model import (
    BACKENDS,
    ENVIRONMENTS,
    GATE_PROFILES,
    GATE_SCRIPTS,
    LOCAL,
    RUN_LIMITS,
    Auth,
    Backend,
    Config,
    Destination,
    DifferentialSettings,
    GateSettings,
    LoadCompareSettings,
    LocalSettings,
    Prometheus,
    RunLimits,
    SecurityProbes,
    Source,
    Target,
    ThresholdSettings,
    Timeouts,
)
from .suites import REFERENCE, SuiteSettings, parse_suite_settings

DEFAULT_FILE = "harness.toml"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# The keys each section accepts and their types: the one definition of the targets file, which
# contracts/harness-targets.schema.json follows (a test holds the two together).
KeyTypes = dict[str, type | tuple[type, ...]]
NUMBER = (int, float)
TOP_KEYS: KeyTypes = {"default_target": str, "targets": dict, "local": dict}
LOCAL_KEYS: KeyTypes = {"characters": int, "seed": int, "pg_dsn": str, "faults": list}
# Sections the loader keeps as they are (Target.extra) for their own reader to check: data comparison
# (harness.data.settings).
EXTRA_SECTIONS = ("compare",)
TARGET_KEYS: KeyTypes = {
    "environment": str,
    "backends": dict,
    "source": dict,
    "destination": dict,
    "prometheus": dict,
    "auth": dict,
    "timeouts": dict,
    "gate": dict,
    "security": dict,
    "thresholds": dict,
    "load_compare": dict,
    "differential": dict,
    "suites": dict,
    **dict.fromkeys(EXTRA_SECTIONS, dict),
}
SECTION_KEYS: dict[str, KeyTypes] = {
    "backend": {"url": str},
    "source": {"dsn": str},
    "destination": {"url": str, "database": str, "token": str, "read_timeout": NUMBER},
    "prometheus": {"url": str},
    "auth": {"bearer_token": str, "header_name": str, "header_value": str},
    "timeouts": {"connect": NUMBER, "read": NUMBER},
    "security": {"other_database_token": str, "read_token": str, "collection": str},
    "suites": {
        "metrics": list,
        "storage_metrics": list,
        "error_field": str,
        "invalid_json_status": list,
        "problem_detail": dict,
        "location": str,
    },
    "gate": {
        "profile": str,
        "phases": list,
        "skip": list,
        "report_only": list,
        "deciding": list,
        "budgets": dict,
        "rehearse": bool,
        "scripts": dict,
    },
    "thresholds": {
        "rules": str,
        "requests_metric": str,
        "window": str,
        "for": str,
        **dict.fromkeys(RUN_LIMITS, NUMBER),
        "max_generator_cpu": NUMBER,
        "endpoints": dict,
    },
    "thresholds_endpoint": dict.fromkeys(RUN_LIMITS, NUMBER),  # [targets.X.thresholds.endpoints."METHOD name"]
    "load_compare": {
        "max_slowdown": NUMBER,
        "alpha": NUMBER,
        "max_error_ratio_increase": NUMBER,
        "users": int,
        "run_time": str,
        "rounds": int,
    },
    "differential": {"noise": list},
}
_TYPE_NAMES = {
    bool: "true or false",
    str: "a string",
    int: "an integer",
    float: "a number",
    dict: "a table",
    list: "a list",
}


class _Features(TypedDict):
    """The sections features read, as Target's keyword arguments."""

    gate: GateSettings
    security: SecurityProbes
    thresholds: ThresholdSettings
    load_compare: LoadCompareSettings
    differential: DifferentialSettings
    compare: CompareSettings
    suites: SuiteSettings


class _Reader:
    def __init__(self, path: str, env: Mapping[str, str]) -> None:
        self.path = path
        self.env = env

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {key}: {message}")

    def check(self, data: Mapping[str, Any], allowed: Mapping[str, type | tuple[type, ...]], prefix: str) -> None:
        for key, value in data.items():
            full = f"{prefix}{key}"
            if key not in allowed:
                raise self.error(
                    full, f"unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(sorted(allowed))})"
                )
            expected = allowed[key]
            types = expected if isinstance(expected, tuple) else (expected,)
            if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
                want = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
                raise self.error(full, f"must be {want}, got {type(value).__name__} {value!r}")

    def fill(self, value: str, key: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.env:
                raise self.error(key, f"uses ${{{name}}}, which is not set; export {name} or remove the reference")
            return self.env[name]

        return _VAR.sub(replace, value)

    def section(self, data: Mapping[str, Any], kind: str, prefix: str) -> dict[str, Any]:
        self.check(data, SECTION_KEYS[kind], prefix)
        return {k: self.fill(v, prefix + k) if isinstance(v, str) else v for k, v in data.items()}

    def require(self, data: Mapping[str, Any], key: str, prefix: str) -> Any:
        if key not in data:
            raise self.error(f"{prefix}{key}", "is required")
        return data[key]

    def target(self, name: str, data: Mapping[str, Any]) -> Target:
        p = f"targets.{name}."
        if name == LOCAL:
            raise self.error(
                f"targets.{LOCAL}",
                "'local' is the built-in embedded default; configure it under [local] or give your target another name",
            )
        if not isinstance(data, dict):
            raise self.error(f"targets.{name}", "must be a table")
        self.check(data, TARGET_KEYS, p)
        environment = self.require(data, "environment", p)
        if environment not in ENVIRONMENTS:
            raise self.error(
                f"{p}environment",
                f"must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}"
                + did_you_mean(environment, ENVIRONMENTS),
            )
        source = destination = prometheus = None
        if "source" in data:
            values = self.section(data["source"], "source", p + "source.")
            source = Source(self.require(values, "dsn", p + "source."))
        if "destination" in data:
            values = self.section(data["destination"], "destination", p + "destination.")
            destination = Destination(
                _url(self, self.require(values, "url", p + "destination."), p + "destination.url"),
                values.get("database", "character_db"),
                values.get("token") or None,
                self.seconds(values.get("read_timeout", Destination.read_timeout), p + "destination.read_timeout"),
            )
        if "prometheus" in data:
            values = self.section(data["prometheus"], "prometheus", p + "prometheus.")
            prometheus = Prometheus(_url(self, self.require(values, "url", p + "prometheus."), p + "prometheus.url"))
        auth = Auth(**self.section(data["auth"], "auth", p + "auth.")) if "auth" in data else Auth()
        timeouts = Timeouts()
        if "timeouts" in data:
            values = self.section(data["timeouts"], "timeouts", p + "timeouts.")
            timeouts = Timeouts(**{k: self.seconds(v, f"{p}timeouts.{k}") for k, v in values.items()})
        return Target(
            name=name,
            environment=environment,
            backends=self.backends(data.get("backends", {}), p),
            source=source,
            destination=destination,
            prometheus=prometheus,
            auth=auth,
            timeouts=timeouts,
            extra={k: data[k] for k in EXTRA_SECTIONS if k in data},
            **self.features(data, p),
        )

    def backends(self, data: Mapping[str, Any], p: str) -> dict[str, Backend]:
        backends: dict[str, Backend] = {}
        for backend_name, section in data.items():
            bp = f"{p}backends.{backend_name}"
            if backend_name not in BACKENDS:
                raise self.error(
                    bp, f"unknown backend{did_you_mean(backend_name, BACKENDS)} (backends are {', '.join(BACKENDS)})"
                )
            if not isinstance(section, dict):
                raise self.error(bp, 'must be a table with url = "..."')
            values = self.section(section, "backend", bp + ".")
            backends[backend_name] = Backend(
                backend_name,
                _url(self, self.require(values, "url", bp + "."), bp + ".url"),
            )
        return backends

    def features(self, data: Mapping[str, Any], p: str) -> _Features:
        """The sections features read (Target's keyword arguments), each a checked value object."""
        differential = self.section(data.get("differential", {}), "differential", p + "differential.")
        suites = SuiteSettings()
        if "suites" in data:
            self.check(data["suites"], SECTION_KEYS["suites"], p + "suites.")
            suites = parse_suite_settings(data["suites"], f"{self.path}: {p}suites.")
        return {
            "gate": self.gate(data["gate"], p + "gate.") if "gate" in data else GateSettings(),
            "security": self.security(data.get("security", {}), p + "security."),
            "thresholds": (
                self.thresholds(data["thresholds"], p + "thresholds.") if "thresholds" in data else ThresholdSettings()
            ),
            "load_compare": (
                self.load_compare(data["load_compare"], p + "load_compare.")
                if "load_compare" in data
                else LoadCompareSettings()
            ),
            "differential": DifferentialSettings(
                noise=self.strings(differential, "noise", p + "differential.", 'e.g. ["updated_at"]')
            ),
            "compare": parse_compare_settings(data.get("compare"), where=f"{self.path}: {p}compare."),
            "suites": suites,
        }

    def security(self, data: Mapping[str, Any], prefix: str) -> SecurityProbes:
        values = self.section(data, "security", prefix)
        return SecurityProbes(
            other_database_token=values.get("other_database_token") or None,
            read_token=values.get("read_token") or None,
            collection=values.get("collection") or "characters",
        )

    def strings(self, data: Mapping[str, Any], key: str, prefix: str, example: str = "") -> tuple[str, ...]:
        values = data.get(key, [])
        if not all(isinstance(v, str) for v in values):
            raise self.error(prefix + key, "must be a list of strings" + (f", {example}" if example else ""))
        return tuple(values)

    def seconds(self, value: Any, key: str) -> float:
        """A time span in seconds: a finite number above zero (a zero timeout would fail every request; TOML's
        nan and inf are numbers too)."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise self.error(key, f"must be a positive number of seconds, got {value!r}")
        return float(value)

    def duration(self, value: str, key: str) -> str:
        try:
            parse_duration(value, key)
        except ConfigError:
            raise self.error(key, f"{value!r} is not a duration; write it like 30s, 5m or 1h30m") from None
        return value

    def limits(self, data: Mapping[str, Any], prefix: str) -> RunLimits:
        for key in RUN_LIMITS:  # TOML's nan would never be exceeded (every comparison with it is false)
            if key in data and not 0 <= data[key] < math.inf:
                raise self.error(prefix + key, f"must be a finite number, not negative, got {data[key]!r}")
        return RunLimits(**{key: float(data[key]) for key in RUN_LIMITS if key in data})

    def thresholds(self, data: Mapping[str, Any], prefix: str) -> ThresholdSettings:
        values = self.section(data, "thresholds", prefix)
        window = self.duration(values["window"], prefix + "window") if "window" in values else None
        for_ = self.duration(values["for"], prefix + "for") if "for" in values else None
        cpu = values.get("max_generator_cpu")
        if cpu is not None and not 0 <= cpu < math.inf:
            raise self.error(prefix + "max_generator_cpu", f"must be a finite number, not negative, got {cpu!r}")
        endpoints = []
        for endpoint, limits in values.get("endpoints", {}).items():
            where = f'{prefix}endpoints."{endpoint}"'
            if not isinstance(limits, dict):
                raise self.error(where, "must be a table such as { p95_ms = 200 }")
            if len(endpoint.split(" ", 1)) != 2:
                raise self.error(where, 'name endpoints "METHOD name", e.g. "GET /characters/{character_id}"')
            self.check(limits, SECTION_KEYS["thresholds_endpoint"], where + ".")
            endpoints.append((endpoint, self.limits(limits, where + ".")))
        return ThresholdSettings(
            rules=values.get("rules"),
            requests_metric=values.get("requests_metric"),
            window=window,
            for_=for_,
            max_generator_cpu=None if cpu is None else float(cpu),
            run=self.limits(values, prefix),
            endpoints=tuple(endpoints),
        )

    def load_compare(self, data: Mapping[str, Any], prefix: str) -> LoadCompareSettings:
        values = self.section(data, "load_compare", prefix)
        if "run_time" in values:
            self.duration(values["run_time"], prefix + "run_time")
        floats = ("max_slowdown", "alpha", "max_error_ratio_increase")
        typed: dict[str, Any] = {k: float(v) if k in floats else v for k, v in values.items()}
        settings = LoadCompareSettings(**typed)
        for key, problem in settings.problems():
            raise self.error(prefix + key, problem)
        return settings

    def gate(self, data: Mapping[str, Any], prefix: str) -> GateSettings:
        self.check(data, SECTION_KEYS["gate"], prefix)
        profile = data.get("profile")
        if profile is not None and profile not in GATE_PROFILES:
            raise self.error(
                prefix + "profile",
                f"must be one of {', '.join(GATE_PROFILES)}, got {profile!r}{did_you_mean(profile, GATE_PROFILES)}",
            )
        names = {key: self.strings(data, key, prefix) for key in ("phases", "skip", "report_only", "deciding")}
        # the gate's names are the runbook's: the same function checks ``--only`` and ``--skip`` (imported here,
        # lazily, because the runbook lives with the gate, which imports this package)
        from ..gate.plan import unknown_name

        for key, values in names.items():
            for value in values:
                problem = unknown_name(value)
                if problem:
                    raise self.error(prefix + key, f"{value!r}: {problem}")
        budgets: list[tuple[str, float]] = []
        for name, seconds in data.get("budgets", {}).items():
            problem = unknown_name(name)
            if problem:
                raise self.error(f"{prefix}budgets.{name}", problem)
            budgets.append((name, self.seconds(seconds, f"{prefix}budgets.{name}")))
        scripts: list[tuple[str, str]] = []
        for name, command in data.get("scripts", {}).items():
            key = f"{prefix}scripts.{name}"
            if name not in GATE_SCRIPTS:
                known = ", ".join(GATE_SCRIPTS)
                raise self.error(key, f"unknown script{did_you_mean(name, GATE_SCRIPTS)} (scripts: {known})")
            if not isinstance(command, str) or not command.strip():
                raise self.error(key, f"must be a command line (a string), got {command!r}")
            # not filled from the environment here: the shell the gate runs it in expands $VAR, so a secret never
            # reaches the gate's logs or command lines
            scripts.append((name, command))
        return GateSettings(
            profile=profile,
            phases=names["phases"],
            skip=names["skip"],
            report_only=names["report_only"],
            deciding=names["deciding"],
            budgets=tuple(budgets),
            rehearse=bool(data.get("rehearse", False)),
            scripts=tuple(scripts),
        )


def _url(reader: _Reader, value: str, key: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise reader.error(key, f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def config_path(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """``$HARNESS_CONFIG`` (which must exist) or ``./harness.toml`` (if it exists)."""
    env = os.environ if env is None else env
    if env.get("HARNESS_CONFIG"):
        path = Path(env["HARNESS_CONFIG"])
        if not path.is_file():
            raise ConfigError(f"HARNESS_CONFIG names {path}, which is not a file; fix the path or unset it")
        return path
    candidate = (cwd or Path.cwd()) / DEFAULT_FILE
    return candidate if candidate.is_file() else None


def parse_config(text: str, path: str = DEFAULT_FILE, env: Mapping[str, str] | None = None) -> Config:
    reader = _Reader(path, os.environ if env is None else env)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax") from None
    reader.check(data, TOP_KEYS, "")
    targets = {name: reader.target(name, section) for name, section in data.get("targets", {}).items()}
    local = LocalSettings()
    if "local" in data:
        reader.check(data["local"], LOCAL_KEYS, "local.")
        values = dict(data["local"])
        if "pg_dsn" in values:
            values["pg_dsn"] = reader.fill(values["pg_dsn"], "local.pg_dsn")
        if "faults" in values:
            values["faults"] = tuple(str(f) for f in values["faults"])
        local = LocalSettings(**values)
    default = data.get("default_target", LOCAL)
    if default != LOCAL and default not in targets:
        raise reader.error(
            "default_target",
            f"names no target{did_you_mean(default, [LOCAL, *targets])} (targets: {', '.join([LOCAL, *targets])})",
        )
    return Config(path=path, targets=targets, default_target=default, local=local)


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    path = path if path is not None else config_path(env)
    if path is None:
        return Config(path=None, targets={})
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the targets file ({exc.__class__.__name__}); check the path") from None
    return parse_config(text, str(path), env)


def resolve_target(config: Config, name: str) -> Target | None:
    """The named target; ``None`` for the built-in ``local`` (its URLs exist only once the stack is up)."""
    if name == LOCAL:
        return None
    if name not in config.targets:
        where = config.path or f"no {DEFAULT_FILE} found"
        known = ", ".join([LOCAL, *config.targets])
        raise ConfigError(
            f"unknown target {name!r}{did_you_mean(name, [LOCAL, *config.targets])} ({where}; targets: {known})"
        )
    return config.targets[name]


def local_target(
    urls: Mapping[str, str],
    source_dsn: str,
    destination_url: str,
    database: str,
    *,
    token: str | None = None,
    security: SecurityProbes | None = None,
) -> Target:
    """The built-in target, once the embedded default is up (``harness.targets.local_target_of`` gives it the
    stack's read-only role as ``source_dsn``, its read token as ``token`` and its probe tokens as ``security``)."""
    return Target(
        name=LOCAL,
        environment="dev",
        backends={"legacy": Backend("legacy", urls["legacy"]), "storage": Backend("storage", urls["storage"])},
        source=Source(source_dsn),
        destination=Destination(destination_url, database, token),
        security=security or SecurityProbes(),
        suites=REFERENCE,
    )
