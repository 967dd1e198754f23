"""Noise, the way Diffy defines it: a field that differs between two equivalent calls on the SAME backend
(timestamps, anything random) tells nothing about the migration, so it is excluded before the backends are
compared. Noise is either declared (``DECLARED``, or the target's ``[compare] noise`` list) or learned by
``learn_noise`` from pairs of equivalent calls on the baseline backend. Server-generated ids are not noise:
they are paired (``ids.IdPairs``) and must then match like any other value.

A noise entry is a field path relative to a resource (``created_at``, ``inventory[].weight``); it matches that
path in a single resource's body and in every item of a page."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..field_diff import field_differences
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
            f"{f} ({_where(self.learned[f])})" if f in self.learned else f"{f} (declared)" for f in sorted(self.fields)
        ]
        return "noise excluded: " + "; ".join(parts)


def _where(seen: list[str], shown: int = 3) -> str:
    more = f", and {len(seen) - shown} more" if len(seen) > shown else ""
    return ", ".join(seen[:shown]) + more


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


MISSING_ID = "00000000-0000-4000-8000-000000000000"  # a well-formed id no backend makes up
STALE_TAG = '"999999999"'  # a version no probe's resource reaches: If-Match answers 412


@dataclass(frozen=True)
class Probe:
    """One call made twice, equivalently: on the two twins ``{id}`` (created alike), or the same call twice.
    Together the probes reach every status class of the operations the machine sends: 2xx, and the errors
    (404, 412, 415/422, 422) whose bodies may carry per-call values such as a ``request_id``."""

    operation: str
    method: str
    path: str  # "{collection}" and "{id}" are filled in per sample and twin
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] | None = None


PROBES = (
    Probe("get", "GET", "{collection}/{id}"),
    Probe("get unknown", "GET", "{collection}/" + MISSING_ID),
    Probe("get malformed id", "GET", "{collection}/not-a-uuid"),
    Probe("create not JSON", "POST", "{collection}", body="{"),
    Probe("create invalid", "POST", "{collection}", body={"name": ""}),
    Probe("patch stale If-Match", "PATCH", "{collection}/{id}", body={}, headers={"If-Match": STALE_TAG}),
    Probe("replace invalid", "PUT", "{collection}/{id}", body={"name": ""}),
    Probe("delete", "DELETE", "{collection}/{id}"),
    Probe("get deleted", "GET", "{collection}/{id}"),
)


def _call(client: httpx.Client, probe: Probe, collection: str, record_id: str) -> httpx.Response:
    path = probe.path.format(collection=collection, id=record_id)
    content = None
    headers = dict(probe.headers or {})
    if probe.body is not None:
        content = probe.body if isinstance(probe.body, str) else json.dumps(probe.body)
        headers["content-type"] = probe.content_type
    return client.request(probe.method, path, content=content, headers=headers)


def learn_noise(
    client: httpx.Client, samples: Iterable[tuple[str, str, dict[str, Any]]], *, rounds: int = 3, pause: float = 0.005
) -> Noise:
    """Create each sample twice on one backend (``(kind, collection path, body)``), then make every probe twice
    (once per twin, or the same call twice) and return the resource fields that differ between the two answers
    of one operation and status class: those are noise, errors included (a per-call ``request_id`` in problem
    bodies). The twins' ids are paired with each other, so ids never become noise. What was created is deleted
    again (the probes end with a delete)."""
    from .normalize import body_of, normalize_response  # normalisation depends on noise; learning on both

    learned: dict[str, set[str]] = {}
    created: list[str] = []

    def compare(what: str, kind: str, a: httpx.Response, b: httpx.Response, pairs: IdPairs) -> None:
        if a.status_code != b.status_code:  # not equivalent answers: nothing to learn from this pair
            return
        left = normalize_response(a, side="a", pairs=pairs)
        right = normalize_response(b, side="b", pairs=pairs)
        for diff in field_differences(left, right):
            rel = _relative(diff.field)
            if rel is not None:
                learned.setdefault(rel, set()).add(f"{what} {kind} {a.status_code // 100}xx")

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
                compare("create", kind, first, second, pairs)
                for probe in PROBES:
                    answers = [_call(client, probe, collection, ids[s]) for s in ("a", "b")]
                    for answer in answers:  # a lax backend may create from an invalid probe: remove that too
                        if answer.status_code == 201 and isinstance(body_of(answer), dict) and "id" in answer.json():
                            created.append(f"{collection}/{answer.json()['id']}")
                    compare(probe.operation, kind, answers[0], answers[1], pairs)
    finally:
        for path in reversed(created):  # characters were created after campaigns in samples: delete in reverse
            client.delete(path)  # mostly 404 already: the probes deleted them
    return Noise(frozenset(learned), {k: sorted(v) for k, v in learned.items()})


class LearningFailed(AssertionError):
    """The baseline backend did not accept the learning samples: noise cannot be learned."""
