"""Replay: requests recorded against one backend are sent to another and the answers compared.

Recordings are read from a HAR file (schemathesis writes one per run under ``reports/schemathesis``) or from
the JSON Lines the harness records itself (``Recorder``: an httpx response hook, one exchange per line). Ids
the recorded backend made up are paired with the ones the replayed backend makes up for the same creation, so
later requests that use them are rewritten. Answers are compared with the noise excluded (learned on the
replayed backend, or declared); the summary counts matches and mismatches per operation and per field."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from ..errors import ConfigError
from ..field_diff import FieldDifference, field_differences
from ..redaction import redact_headers
from .ids import IdPairs
from .noise import Noise
from .normalize import body_of, normalize_response

REPLAYED_HEADERS = ("content-type", "if-match", "accept")  # what a request means; not transport or auth
RECORDED, REPLAYED = "recorded", "replayed"
SELF_DESCRIBING = frozenset({"/health", "/metrics"})  # answers that name the backend: different by design
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str  # without the query
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: str | None
    status: int
    response_headers: dict[str, str]
    response_body: str

    def recorded_response(self) -> httpx.Response:
        request = httpx.Request(self.method, f"http://recorded{self.path}")
        return httpx.Response(
            self.status, headers=self.response_headers, content=self.response_body.encode(), request=request
        )


class Recorder:
    """``httpx.Client(event_hooks={"response": [recorder.on_response]})`` writes every exchange as one JSON line
    (secret headers masked; only the headers a replay needs are kept)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        url = request.url
        line = {
            "method": request.method,
            "path": url.path,
            "query": [[k, v] for k, v in url.params.multi_items()],
            "headers": redact_headers({k: v for k, v in request.headers.items() if k.lower() in REPLAYED_HEADERS}),
            "body": request.content.decode("utf-8", "replace") if request.content else None,
            "status": response.status_code,
            "response_headers": dict(response.headers.items()),
            "response_body": response.text,
        }
        self.stream.write(json.dumps(line) + "\n")


def _headers(pairs: Iterable[dict[str, str]]) -> dict[str, str]:
    return {h["name"].lower(): h["value"] for h in pairs}


def read_har(path: Path) -> Iterator[Exchange]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["log"]["entries"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not a HAR file ({type(exc).__name__}: {exc}); pass a HAR or a .jsonl recording"
        ) from None
    for entry in entries:
        request, response = entry["request"], entry["response"]
        url = urlsplit(request["url"])
        yield Exchange(
            method=request["method"].upper(),
            path=url.path,
            query=parse_qsl(url.query, keep_blank_values=True),
            headers={k: v for k, v in _headers(request.get("headers", [])).items() if k in REPLAYED_HEADERS},
            body=(request.get("postData") or {}).get("text"),
            status=int(response["status"]),
            response_headers=_headers(response.get("headers", [])),
            response_body=(response.get("content") or {}).get("text") or "",
        )


def read_jsonl(path: Path) -> Iterator[Exchange]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the recording ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            yield Exchange(
                method=data["method"].upper(),
                path=data["path"],
                query=[(str(k), str(v)) for k, v in data.get("query", [])],
                headers={k.lower(): v for k, v in data.get("headers", {}).items() if k.lower() in REPLAYED_HEADERS},
                body=data.get("body"),
                status=int(data["status"]),
                response_headers={k.lower(): v for k, v in data.get("response_headers", {}).items()},
                response_body=data.get("response_body") or "",
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}:{number}: not a recorded exchange ({type(exc).__name__}: {exc})") from None


def read_recording(path: Path) -> list[Exchange]:
    if not path.is_file():
        raise ConfigError(f"recording {path} not found")
    return list(read_jsonl(path) if path.suffix in (".jsonl", ".ndjson") else read_har(path))


class OperationNames:
    """``GET /characters/0741...`` -> ``GET /characters/{character_id}``, from the contract's path templates."""

    def __init__(self, templates: Iterable[str]) -> None:
        self._patterns = [
            (re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(t)) + "$"), t)
            for t in sorted(templates, key=lambda t: t.count("{"))  # literal segments win over parameters
        ]

    def __call__(self, method: str, path: str) -> str:
        for pattern, template in self._patterns:
            if pattern.match(path):
                return f"{method} {template}"
        return f"{method} {path} (not in the contract)"


@dataclass
class ReplaySummary:
    exchanges: int = 0
    matches: Counter[str] = field(default_factory=Counter)  # operation -> exchanges that matched
    mismatches: Counter[str] = field(default_factory=Counter)  # operation -> exchanges that did not
    fields: Counter[tuple[str, str]] = field(default_factory=Counter)  # (operation, field) -> mismatches
    examples: dict[tuple[str, str], FieldDifference] = field(default_factory=dict)  # first of each
    skipped: int = 0  # requests the replay could not send (transport errors)
    not_replayed: Counter[str] = field(default_factory=Counter)  # operation -> left out (writes, self-description)

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.skipped

    def to_dict(self) -> dict[str, Any]:
        operations = sorted(set(self.matches) | set(self.mismatches))
        return {
            "exchanges": self.exchanges,
            "skipped": self.skipped,
            "not_replayed": dict(self.not_replayed),
            "operations": {op: {"match": self.matches[op], "mismatch": self.mismatches[op]} for op in operations},
            "fields": [
                {"operation": op, "field": f, "mismatches": n, "example": repr(self.examples[(op, f)])}
                for (op, f), n in self.fields.most_common()
            ],
        }

    def table(self, sides: tuple[str, str] = (RECORDED, REPLAYED)) -> str:
        lines = [
            f"replayed {self.exchanges} exchange(s): {sum(self.matches.values())} matched, "
            f"{sum(self.mismatches.values())} did not" + (f", {self.skipped} not sent" if self.skipped else "")
        ]
        for op in sorted(set(self.matches) | set(self.mismatches)):
            lines.append(f"  {op}: {self.matches[op]} match, {self.mismatches[op]} mismatch")
        for (op, f), n in self.fields.most_common(30):
            example = self.examples[(op, f)]
            lines.append(f"  {op} {f}: {n} mismatch(es), e.g. {example.describe(sides)}")
        return "\n".join(lines)


_ID_IN_PATH = re.compile(r"\[\d+\]|\.[0-9a-fA-F-]{36}|\.<[a-z]+#\d+>")


def _general(field_name: str) -> str:
    """``body.items.<resource#3>.name`` -> ``body.items[*].name``: count a field once per kind, not per item."""
    return _ID_IN_PATH.sub("[*]", field_name)


def _items_by_id(document: dict[str, Any]) -> dict[str, Any]:
    """A page's items keyed by id. A replay does not see the same data as the recording did (resources created
    along the way have different ids, so they sort into different pages): comparing by position would blame every
    item after the first shifted one; by id, a field differs only where the same item differs, and an item on one
    side only shows as such."""
    body = document.get("body")
    if not isinstance(body, dict):
        return document
    items = body.get("items")
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
        return document
    return {**document, "body": {**body, "items": {str(i["id"]): i for i in items}}}


def replay(
    exchanges: Iterable[Exchange],
    client: httpx.Client,
    *,
    noise: Noise | None = None,
    operations: OperationNames | None = None,
    max_exchanges: int = 100_000,
    allow_writes: bool = True,
) -> ReplaySummary:
    """Send each recorded request to ``client`` (in order) and compare its answer with the recorded one.
    ``/health`` and ``/metrics`` describe the backend itself and are not replayed; nor are writes unless
    ``allow_writes``."""
    noise = noise or Noise()
    pairs = IdPairs()
    summary = ReplaySummary()
    for count, exchange in enumerate(exchanges):
        if count >= max_exchanges:
            break
        operation = operations(exchange.method, exchange.path) if operations else f"{exchange.method} {exchange.path}"
        if exchange.path in SELF_DESCRIBING or (not allow_writes and exchange.method not in SAFE_METHODS):
            summary.not_replayed[operation] += 1
            continue
        summary.exchanges += 1
        # rewrite ids the recorded backend made up into the replayed backend's
        path = pairs.realize(REPLAYED, pairs.symbolize(RECORDED, exchange.path))
        query = pairs.realize(REPLAYED, pairs.symbolize(RECORDED, [list(q) for q in exchange.query]))
        body = pairs.realize(REPLAYED, pairs.symbolize(RECORDED, exchange.body)) if exchange.body is not None else None
        try:
            answer = client.request(
                exchange.method,
                path,
                params=[(k, v) for k, v in query],
                headers=exchange.headers,
                content=body.encode() if body is not None else None,
            )
        except httpx.HTTPError:
            summary.skipped += 1
            continue
        recorded = exchange.recorded_response()
        if exchange.status == 201 and answer.status_code == 201:
            ids = {RECORDED: body_of(recorded), REPLAYED: body_of(answer)}
            if all(isinstance(v, dict) and isinstance(v.get("id"), str) for v in ids.values()):
                pairs.pair("resource", {side: value["id"] for side, value in ids.items()})
        left = _items_by_id(noise.mask(normalize_response(recorded, side=RECORDED, pairs=pairs)))
        right = _items_by_id(noise.mask(normalize_response(answer, side=REPLAYED, pairs=pairs)))
        differences = field_differences(left, right)
        if differences:
            summary.mismatches[operation] += 1
            for difference in differences:
                key = (operation, _general(difference.field))
                summary.fields[key] += 1
                summary.examples.setdefault(key, difference)
        else:
            summary.matches[operation] += 1
    return summary
