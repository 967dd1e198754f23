"""``harness data show KEY``: one record everywhere (the guide's ``validate_record``).

The record as the source holds it, as the Storage Service holds it, and as each Character Service backend of
the target answers it (the collection's ``api`` path), each in canonical form, and the fields that differ
between every pair of views (DeepDiff). Read-only.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from ..config import Target
from ..redaction import redact
from .canonical import Canonical, Canonicalizer, same_data
from .compare import explain
from .readers import Reader
from .report import DIFFERENT, EQUAL, FieldDiff
from .settings import CompareSettings

NOT_FOUND = "not found"  # the verdict of a key that no view holds


@dataclass
class RecordViews:
    collection: str
    key: str
    views: dict[str, Canonical | None] = field(default_factory=dict)  # view -> canonical record (None: absent)
    errors: dict[str, str] = field(default_factory=dict)  # view -> why it could not be read
    pairs: list[tuple[str, str, tuple[FieldDiff, ...] | str]] = field(default_factory=list)  # what differs

    @property
    def verdict(self) -> str:
        if self.pairs or self.errors:
            return DIFFERENT
        # a key that no view holds proves nothing equal (a mistyped key must not look like success)
        return NOT_FOUND if all(record is None for record in self.views.values()) else EQUAL

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == EQUAL else 1

    @property
    def check(self) -> str:
        return "show"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": "show",
            "collection": self.collection,
            "key": self.key,
            "verdict": self.verdict,
            "views": self.views,
            "errors": self.errors,
            "differences": [
                {"between": [a, b], "fields": d if isinstance(d, str) else [f.__dict__ for f in d]}
                for a, b, d in self.pairs
            ],
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2, default=str))

    def summary(self) -> str:
        lines = [f"data show {self.collection}/{self.key}: {self.verdict.upper()}"]
        for view, record in self.views.items():
            text = "(not there)" if record is None else json.dumps(record, sort_keys=True, default=str)
            lines.append(f"  {view:<12} {text}")
        lines.extend(f"  {view:<12} could not be read: {why}" for view, why in self.errors.items())
        for a, b, diff in self.pairs:
            if isinstance(diff, str):
                lines.append(f"  {a} vs {b}: {diff}")
                continue
            parts = [
                f"{f.path}: {f.source!r} -> {f.destination!r}" if "changed" in f.change else f"{f.path}: {f.change}"
                for f in diff
            ]
            lines.append(f"  {a} vs {b}: " + "; ".join(parts))
        return redact("\n".join(lines))


def show_record(
    target: Target, settings: CompareSettings, source: Reader, destination: Reader, collection: str, key: str
) -> RecordViews:
    mapping = settings.collection(collection)
    out = RecordViews(collection, key)
    for reader in (source, destination):
        record = reader.fetch(collection, [key]).get(key)
        out.views[reader.side] = None if record is None else Canonicalizer(settings, collection, reader.side)(record)
    if mapping.api is not None:
        canonical = Canonicalizer(settings, collection, "api")
        for backend in target.backends:
            try:
                with target.client(backend) as client:
                    response = client.get(mapping.api.format(key=quote(key, safe="")))
            except httpx.HTTPError as exc:
                out.errors[backend] = f"{type(exc).__name__} from {target.backends[backend].url}"
                continue
            if response.status_code == 404:
                out.views[backend] = None
            elif response.status_code == 200 and isinstance(body := _json(response), dict):
                out.views[backend] = canonical(body)
            else:
                out.errors[backend] = f"HTTP {response.status_code} to {mapping.api.format(key=key)}"
    for a, b in itertools.combinations(out.views, 2):
        left, right = out.views[a], out.views[b]
        if left is None and right is None:
            continue
        if left is None or right is None:
            out.pairs.append((a, b, f"only in {b if left is None else a}"))
        elif not same_data(left, right):
            out.pairs.append((a, b, explain(left, right)))
    return out


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
