"""Fault injection for the harness's own tests: every check of the harness must be shown to fail on a fault.

A fault is ``NAME[=VALUE]``, optionally scoped to one Character Service by a ``legacy:`` or ``storage:``
prefix (``storage:latency=0.6`` slows the storage backend only). Faults are off unless named, either by
``harness up --fault`` (repeatable) or by the ``HARNESS_FAULTS`` environment variable (comma-separated).

This module is the reference system's public API for faults: the launcher (``harness.embedded``) and
``harness up --list-faults`` use only the names in ``__all__``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "SCOPES",
    "SERVICE_FAULTS",
    "STACK_FAULTS",
    "Fault",
    "FaultError",
    "FaultSet",
    "describe",
    "parse_fault",
    "parse_faults",
]

# name -> (what it does, default value or None when a value is required, value parser)
SERVICE_FAULTS: dict[str, tuple[str, str | None]] = {
    "latency": ("add this many seconds to every API request (health and metrics excluded)", None),
    "error_rate": ("answer this fraction of API requests with 500, deterministically spread", None),
    "stale_cache": ("storage backend: writes do not invalidate the read cache", "1"),
    "missing_field": ("drop this field from every character in responses (contract violation)", "name"),
    "undocumented_status": ("GET /characters/{id} answers this undocumented status code", "418"),
    "wrong_content_type": ("character responses are sent as text/html instead of JSON", "1"),
    "accept_invalid": ("no range checks on this character field: level 25 accepted (wrong types still 422)", "level"),
    "soft_delete": ("DELETE answers 204 but the resource stays readable", "1"),
    "truncate_names": ("store character names cut to this many characters", "20"),
    "reverse_order": ("list endpoints return each page in descending id order", "1"),
    "error_status": ("validation errors are answered with this status instead of 422", "400"),
    "contract_drift": ("GET /openapi.json serves a drifted contract (no DELETE /campaigns/{id}, names max 20)", "1"),
}
STACK_FAULTS: dict[str, tuple[str, str | None]] = {
    "storage_outage": ("the Storage Service is stopped once the stack has started", "1"),
    "missing_records": ("after migration, delete this many characters from the Storage Service", "1"),
    "extra_records": ("after migration, add this many characters that the source does not have", "1"),
    "altered_records": ("after migration, change the name of this many characters in the Storage Service", "1"),
    "dangling_refs": ("after migration, point this many characters at a campaign that does not exist", "1"),
    "open_storage": ("the Storage Service serves every request, with or without a token", "1"),
    "cross_database": ("the Storage Service accepts a token of one database for another", "1"),
    "reader_can_write": (
        "the read token can write (storage), the harness_reader PostgreSQL role can write (postgres), or both",
        "both",
    ),
}
# The stack faults that damage the migrated data (the others switch access control off)
DATA_FAULTS = ("missing_records", "extra_records", "altered_records", "dangling_refs")
ACCESS_FAULTS = ("open_storage", "cross_database", "reader_can_write")
READER_CAN_WRITE_SIDES = ("storage", "postgres", "both")
SCOPES = ("legacy", "storage")
_NUMERIC = {
    "latency",
    "error_rate",
    "truncate_names",
    "undocumented_status",
    "error_status",
    "missing_records",
    "extra_records",
    "altered_records",
    "dangling_refs",
}


class FaultError(ValueError):
    """A fault specification that cannot be used; the message says how to fix it."""


@dataclass(frozen=True)
class Fault:
    name: str
    value: str
    scope: str | None = None  # None: both Character Services (or the stack)

    @property
    def number(self) -> float:
        return float(self.value)

    def spec(self) -> str:
        prefix = f"{self.scope}:" if self.scope else ""
        return f"{prefix}{self.name}={self.value}"


def parse_fault(text: str) -> Fault:
    """Parse ``[scope:]NAME[=VALUE]``."""
    raw = text.strip()
    scope: str | None = None
    if ":" in raw.split("=", 1)[0]:
        scope, raw = raw.split(":", 1)
        if scope not in SCOPES:
            raise FaultError(f"fault {text!r}: unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    name, _, value = raw.partition("=")
    name = name.strip().replace("-", "_")
    known = {**SERVICE_FAULTS, **STACK_FAULTS}
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known faults: {', '.join(sorted(known))}"
        raise FaultError(f"unknown fault {name!r}{hint}")
    if scope and name in STACK_FAULTS:
        raise FaultError(f"fault {name!r} acts on the whole stack and takes no {scope!r} scope")
    default = known[name][1]
    if not value:
        if default is None:
            raise FaultError(f"fault {name!r} needs a value: {name}=VALUE ({known[name][0]})")
        value = default
    if name in _NUMERIC:
        try:
            number = float(value)
        except ValueError:
            raise FaultError(f"fault {name!r} needs a number, got {value!r}") from None
        if number < 0 or (name == "error_rate" and number > 1):
            raise FaultError(f"fault {name!r}: {value} is out of range")
    if name == "reader_can_write" and value.strip() not in READER_CAN_WRITE_SIDES:
        raise FaultError(f"fault {name!r}: use one of {', '.join(READER_CAN_WRITE_SIDES)}, got {value!r}")
    return Fault(name=name, value=value.strip(), scope=scope)


def parse_faults(specs: Iterable[str]) -> list[Fault]:
    faults: list[Fault] = []
    for spec in specs:
        for part in spec.split(","):
            if part.strip():
                faults.append(parse_fault(part))
    return faults


@dataclass
class FaultSet:
    """The faults active in one Character Service process."""

    faults: dict[str, Fault] = field(default_factory=dict)

    @classmethod
    def for_backend(cls, faults: Iterable[Fault], backend: str) -> FaultSet:
        return cls({f.name: f for f in faults if f.name in SERVICE_FAULTS and f.scope in (None, backend)})

    def __contains__(self, name: str) -> bool:
        return name in self.faults

    def value(self, name: str) -> str:
        return self.faults[name].value

    def number(self, name: str) -> float:
        return self.faults[name].number


def describe() -> str:
    """The fault catalogue, for ``harness up --list-faults`` and the README."""
    lines = ["Character Service faults (scope with legacy: or storage:):"]
    lines += [f"  {n}[={d or 'VALUE'}]  {what}" for n, (what, d) in SERVICE_FAULTS.items()]
    lines.append("Stack faults:")
    lines += [f"  {n}[={d or 'VALUE'}]  {what}" for n, (what, d) in STACK_FAULTS.items()]
    return "\n".join(lines)
