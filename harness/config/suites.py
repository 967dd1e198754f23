"""``[targets.X.suites]``: what the suites may assume about a deployment beyond the contract.

By default the suites assert only what ``contracts/character-service.openapi.yaml`` promises (statuses, media
types, the Problem schema, the offending field named somewhere in ``errors[].field``). A deployment that makes
further promises (its error texts, the form of its field names, its metric names) declares them here, and the
suites hold it to them. README.md, "What the suites assume beyond the contract", lists every key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, did_you_mean

# The guide's metrics ("Key Metrics", the alert rules' names): request rate, errors, latency on every backend;
# cache hit/miss rates belong to the storage backend's Storage Service client only.
GUIDE_METRICS = (
    "character_service_requests_total",
    "character_service_errors_total",
    "character_service_request_duration_seconds_bucket",
)
GUIDE_STORAGE_METRICS = ("character_service_cache_hits_total", "character_service_cache_misses_total")
ERROR_FIELD_FORMS = ("named", "dotted", "pointer")
LOCATION_FORMS = ("resolves", "path")
CONTRACT_INVALID_JSON = (415, 422)  # both are documented for a body that does not parse


@dataclass(frozen=True)
class SuiteSettings:
    metrics: tuple[str, ...] = GUIDE_METRICS  # smoke: every backend exports these
    storage_metrics: tuple[str, ...] = GUIDE_STORAGE_METRICS  # smoke: the storage backend also exports these
    error_field: str = (
        "named"  # api: named (any notation) | dotted (abilities.strength) | pointer (/…/abilities/strength)
    )
    invalid_json_status: tuple[int, ...] = CONTRACT_INVALID_JSON  # api: statuses accepted for a body that is not JSON
    problem_detail: tuple[tuple[int, str], ...] = ()  # api: (status, words its problem's detail must contain)
    location: str = "resolves"  # api: resolves (against the backend URL to the resource) | path (exactly /kind/id)

    def detail_for(self, status: int) -> str | None:
        return dict(self.problem_detail).get(status)


# What the embedded reference system promises beyond the contract, declared like any deployment's: the built-in
# ``local`` target holds it to its own wording and forms, so the suites stay as strict on it as they were.
REFERENCE = SuiteSettings(
    error_field="dotted",
    invalid_json_status=(422,),
    problem_detail=((412, "no longer current"),),
    location="path",
)


def parse_suite_settings(data: Mapping[str, Any], prefix: str) -> SuiteSettings:
    """Check and build the section; ``prefix`` is ``"<file>: targets.X.suites."`` for messages."""
    readers: dict[str, Callable[[Any, str], Any]] = {
        "metrics": _names,
        "storage_metrics": _names,
        "error_field": lambda v, k: _choice(v, k, ERROR_FIELD_FORMS),
        "invalid_json_status": _statuses,
        "problem_detail": _details,
        "location": lambda v, k: _choice(v, k, LOCATION_FORMS),
    }
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in readers:
            raise ConfigError(f"{prefix}{key}: unknown key{did_you_mean(key, readers)} (allowed: {', '.join(readers)})")
        values[key] = readers[key](value, prefix + key)
    return SuiteSettings(**values)


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{key}: must be a list of metric names, got {value!r}")
    return tuple(value)


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(
            f"{key}: must be one of {', '.join(choices)}, got {value!r}{did_you_mean(str(value), choices)}"
        )
    return str(value)


def _statuses(value: Any, key: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(v in CONTRACT_INVALID_JSON for v in value):
        raise ConfigError(
            f"{key}: must be a non-empty list of the contract's statuses for it (415, 422), got {value!r}"
        )
    return tuple(value)


def _details(value: Any, key: str) -> tuple[tuple[int, str], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f'{key}: must be a table of status = "words", e.g. {{ 412 = "no longer current" }}')
    out: list[tuple[int, str]] = []
    for status, words in value.items():
        if not (str(status).isdigit() and 400 <= int(status) <= 599) or not isinstance(words, str):
            raise ConfigError(f"{key}.{status}: must be an error status (400-599) with a string, got {words!r}")
        out.append((int(status), words))
    return tuple(out)
