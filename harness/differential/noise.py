"""Noise, the way Diffy defines it: a field that differs between two equivalent calls on the SAME backend
(timestamps, anything random) tells nothing about the migration, so it is excluded before the backends are
compared. Noise is either declared (``DECLARED``, or the target's ``[compare] noise`` list) or learned by
``learn_noise`` from pairs of equivalent calls on the baseline backend. Server-generated ids are not noise:
they are paired (``ids.IdPairs``) and must then match like any other value.

A noise entry is a field path relative to a resource (``created_at``, ``inventory[].weight``); it matches that
path in a single resource's body and in every item of a page."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .compare import field_differences
from .ids import IdPairs

MASK = "<noise>"
DECLARED: frozenset[str] = frozenset()  # nothing is declared by default: the timestamps are learned
_RESOURCE_PATHS = ("body.", "body.items[].")


@dataclass(frozen=True)
class Noise:
    fields: frozenset[str] = frozenset()
    learned: dict[str, list[str]] = field(default_factory=dict, compare=False)  # field -> where it was seen

    def __or__(self, other: Noise) -> Noise:
        return Noise(self.fields | other.fields, {**self.learned, **other.learned})

    @classmethod
    def declare(cls, fields: Iterable[str]) -> Noise:
        return cls(frozenset(f.strip() for f in fields if f.strip()))

    def mask(self, exchange: dict[str, Any]) -> dict[str, Any]:
        """A copy of a normalised exchange with the noise fields' values replaced by ``<noise>`` (a field
        missing on one side stays missing, so a dropped timestamp is still reported)."""
        if not self.fields:
            return exchange
        masked: dict[str, Any] = _mask(exchange, "", self.fields)
        return masked

    def describe(self) -> str:
        if not self.fields:
            return "noise: none"
        parts = [
            f"{f} ({', '.join(self.learned[f])})" if f in self.learned else f"{f} (declared)"
            for f in sorted(self.fields)
        ]
        return "noise excluded: " + "; ".join(parts)


def _generalise(path: str) -> str:
    out, depth = [], 0
    for ch in path:
        if ch == "[":
            depth += 1
            out.append("[")
        elif ch == "]":
            depth -= 1
            out.append("]")
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _relative(path: str) -> str | None:
    general = _generalise(path)
    for prefix in sorted(_RESOURCE_PATHS, key=len, reverse=True):
        if general.startswith(prefix):
            return general[len(prefix) :]
    return None


def _mask(value: Any, path: str, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            out[key] = MASK if _relative(child) in fields else _mask(item, child, fields)
        return out
    if isinstance(value, list):
        return [_mask(item, f"{path}[{i}]", fields) for i, item in enumerate(value)]
    return value


def learn_noise(
    client: httpx.Client, samples: Iterable[tuple[str, str, dict[str, Any]]], *, rounds: int = 3, pause: float = 0.005
) -> Noise:
    """Create each sample twice on one backend (``(kind, collection path, body)``), read both back, and return
    the resource fields that differ: those are noise. Pairs of creations are ids paired with each other, so ids
    themselves never become noise. What was created is deleted again."""
    from .normalize import normalize_response  # normalisation depends on noise; learning depends on both

    learned: dict[str, set[str]] = {}
    created: list[str] = []
    try:
        for _ in range(rounds):
            for kind, collection, body in samples:
                pairs = IdPairs()
                first = client.post(collection, json=body)
                time.sleep(pause)  # two calls in the same millisecond would hide a timestamp
                second = client.post(collection, json=body)
                if first.status_code != 201 or second.status_code != 201:
                    raise LearningFailed(
                        f"learning noise: POST {collection} answered {first.status_code}/{second.status_code}, not 201"
                    )
                ids = {"a": first.json()["id"], "b": second.json()["id"]}
                created += [f"{collection}/{ids['a']}", f"{collection}/{ids['b']}"]
                pairs.pair(kind, ids)
                reads = [client.get(f"{collection}/{ids[s]}") for s in ("a", "b")]
                for what, a, b in (("create", first, second), ("get", reads[0], reads[1])):
                    left = normalize_response(a, side="a", pairs=pairs)
                    right = normalize_response(b, side="b", pairs=pairs)
                    for diff in field_differences(left, right):
                        rel = _relative(diff.field)
                        if rel is not None:
                            learned.setdefault(rel, set()).add(f"{what} {kind}")
    finally:
        for path in reversed(created):  # characters were created after campaigns in samples: delete in reverse
            client.delete(path)
    return Noise(frozenset(learned), {k: sorted(v) for k, v in learned.items()})


class LearningFailed(AssertionError):
    """The baseline backend did not accept the learning samples: noise cannot be learned."""
