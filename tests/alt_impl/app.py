"""The alternative Character Service: a plain Starlette app over ``store.Store``. Written from the contract
alone (it imports nothing of the reference), validating requests with the contract's own schemas."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.resources import character_service_contract

from .store import NotFound, Store, now, uuid7

CONTRACT = character_service_contract()
PROBLEM = "application/problem+json"
IF_MATCH = re.compile(r'^(\*|(W/)?"?[0-9]{1,9}"?)$')
OWNER = re.compile(r"^[A-Za-z0-9_.@-]+$")
TITLES = {
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 412: "Precondition Failed",
    415: "Unsupported Media Type", 422: "Unprocessable Content", 500: "Internal Server Error",
}  # fmt: skip
CHARACTER_DEFAULTS: dict[str, Any] = {"background": "", "inventory": [], "spells": [], "campaign_id": None}
CAMPAIGN_DEFAULTS: dict[str, Any] = {"setting": ""}
PAGE = ("limit", "cursor")  # the query parameters of every listing
BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0)


@cache
def contract() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    return loaded


@cache
def validator(schema: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource("urn:alt", DRAFT202012.create_resource(contract()))
    return Draft202012Validator(
        {"$ref": f"urn:alt#/components/schemas/{schema}"}, registry=registry, format_checker=FormatChecker()
    )


class Problem(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict[str, str]] | None = None, **headers: str) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


def pointer(where: str, path: list[str | int]) -> str:
    """RFC 6901: ``/body/abilities/strength``, ``/query/limit``."""
    parts = [where, *(str(p).replace("~", "~0").replace("/", "~1") for p in path)]
    return "/" + "/".join(parts)


def schema_errors(schema: str, instance: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    error: ValidationError
    for error in validator(schema).iter_errors(instance):
        path: list[str | int] = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            required: list[str] = error.validator_value  # type: ignore[assignment]
            for name in required:
                if name not in error.instance:
                    found.append({"field": pointer("body", [*path, name]), "message": "this property is mandatory"})
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            for name in error.instance:
                if name not in allowed:
                    found.append({"field": pointer("body", [*path, name]), "message": "no such property"})
        else:
            found.append({"field": pointer("body", path), "message": f"violates '{error.validator}'"})
    return found


def uuid_param(value: str, where: str, name: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise Problem(
            422, "Malformed identifier.", [{"field": pointer(where, [name]), "message": "expected a UUID"}]
        ) from None
    if len(value) != 36:  # the contract's format: the hyphenated form only
        raise Problem(422, "Malformed identifier.", [{"field": pointer(where, [name]), "message": "expected a UUID"}])
    return str(parsed)


class Metrics:
    """Hand-written Prometheus text under this deployment's own names; the cache lines only on storage."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.buckets: Counter[tuple[str, float]] = Counter()
        self.seconds: dict[str, float] = {}
        self.cache: Counter[str] = Counter()

    def observe(self, method: str, status: int, seconds: float) -> None:
        self.requests[(method, self.backend, status)] += 1
        self.seconds[method] = self.seconds.get(method, 0.0) + seconds
        for bound in (*BUCKETS, float("inf")):
            if seconds <= bound:
                self.buckets[(method, bound)] += 1

    def render(self) -> str:
        lines = ["# TYPE charsvc_http_requests_total counter"]
        lines += [
            f'charsvc_http_requests_total{{method="{m}",code="{s}"}} {n}' for (m, _, s), n in self.requests.items()
        ]
        lines.append("# TYPE charsvc_http_server_errors_total counter")
        lines += [
            f'charsvc_http_server_errors_total{{method="{m}",code="{s}"}} {n}'
            for (m, _, s), n in self.requests.items()
            if s >= 500
        ]
        lines.append("# TYPE charsvc_http_request_seconds histogram")
        for (method, bound), n in sorted(self.buckets.items()):
            le = "+Inf" if bound == float("inf") else str(bound)
            lines.append(f'charsvc_http_request_seconds_bucket{{method="{method}",le="{le}"}} {n}')
        for method, total in self.seconds.items():
            count = self.buckets[(method, float("inf"))]
            lines.append(f'charsvc_http_request_seconds_sum{{method="{method}"}} {total}')
            lines.append(f'charsvc_http_request_seconds_count{{method="{method}"}} {count}')
        if self.backend == "storage":
            lines.append("# TYPE charsvc_storage_cache_lookups_total counter")
            lines += [f'charsvc_storage_cache_lookups_total{{result="{r}"}} {self.cache[r]}' for r in ("hit", "miss")]
        return "\n".join(lines) + "\n"


class Service:
    def __init__(self, backend: str, store: Store) -> None:
        self.backend = backend
        self.store = store
        self.metrics = Metrics(backend)
        self.cache: dict[str, dict[str, Any]] = {}  # the storage backend's read cache (invalidated on write)

    # --- plumbing ----------------------------------------------------------------------------------------

    def route(
        self, path: str, query: tuple[str, ...] = (), **handlers: Callable[[Request], Awaitable[Response]]
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            handler = handlers.get(request.method, handlers.get("GET"))
            assert handler is not None
            try:
                unknown = [name for name in request.query_params if name not in query or request.method != "GET"]
                if unknown:
                    message = "not a parameter of this operation"
                    errors = [{"field": pointer("query", [n]), "message": message} for n in unknown]
                    raise Problem(422, "Unexpected query parameter.", errors)
                response = await handler(request)
            except Problem as exc:
                response = problem(exc.status, exc.detail, exc.errors, exc.headers)
            except NotFound:
                response = problem(404, "Nothing is stored under this identifier.")
            self.metrics.observe(request.method, response.status_code, time.perf_counter() - started)
            return response

        return Route(path, endpoint, methods=list(handlers))

    async def body(self, request: Request, schema: str, *, patch: bool = False) -> dict[str, Any]:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        accepted = ("application/json", "application/merge-patch+json") if patch else ("application/json",)
        if media not in accepted:
            raise Problem(415, f"Expected a body of type {' or '.join(accepted)}.")
        try:
            data = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Problem(415, "The body could not be parsed as JSON.") from None
        errors = schema_errors(schema, data)
        if errors:
            raise Problem(422, "The body does not match the schema.", errors)
        assert isinstance(data, dict)
        return data

    @staticmethod
    def limit(request: Request) -> int:
        raw = request.query_params.get("limit", "50")
        if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= 200:
            raise Problem(422, "Query parameter out of range.", [{"field": "/query/limit", "message": "1..200"}])
        return int(raw)

    @staticmethod
    def query_id(request: Request, name: str) -> str | None:
        raw = request.query_params.get(name)
        return None if raw is None else uuid_param(raw, "query", name)

    @staticmethod
    def if_match(request: Request) -> int | None:
        raw = request.headers.get("if-match")
        if raw is None:
            return None
        if not IF_MATCH.match(raw):
            raise Problem(422, "Unparseable entity tag.", [{"field": "/header/If-Match", "message": "bad entity tag"}])
        if raw == "*":
            return None
        return int(raw.removeprefix("W/").strip('"'))

    @staticmethod
    def json(data: Any, status: int = 200, **headers: str) -> Response:
        return Response(json.dumps(data), status, headers=headers, media_type="application/json")

    def location(self, request: Request, kind: str, record_id: str) -> str:
        prefix = request.scope.get("root_path", "")
        return f"{prefix}/{kind}/{record_id}"

    @staticmethod
    def check_version(current: int, expected: int | None, from_header: bool) -> None:
        if expected is not None and expected != current:
            if from_header:
                raise Problem(412, "The entity tag does not match the stored revision.", ETag=f'"{current}"')
            raise Problem(409, "The body's version is not the stored revision.", ETag=f'"{current}"')

    # --- operations --------------------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        extra = {"storage_service": {"status": "ok", "circuit": "closed"}} if self.backend == "storage" else {}
        if self.backend == "legacy":
            extra = {"database": {"status": "ok"}}
        return self.json({"status": "ok", "backend": self.backend, "implementation": "alt", **extra})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")

    async def openapi(self, request: Request) -> Response:
        served = {**contract(), "info": {**contract()["info"], "version": "1.0.0-alt"}, "servers": [{"url": "/"}]}
        return Response(yaml.safe_dump(served, sort_keys=False), media_type="application/yaml")

    def character(self, character_id: str) -> dict[str, Any]:
        if self.backend == "storage":
            cached = self.cache.get(character_id)
            self.metrics.cache["hit" if cached else "miss"] += 1
            if cached:
                return cached
        record = self.store.characters.records.get(character_id)
        if record is None:
            raise NotFound
        if self.backend == "storage":
            self.cache[character_id] = record
        return record

    async def list_characters(self, request: Request) -> Response:
        limit, cursor = self.limit(request), self.query_id(request, "cursor")
        campaign, owner = self.query_id(request, "campaign_id"), request.query_params.get("owner")
        if owner is not None and not (OWNER.match(owner) and len(owner) <= 64):
            raise Problem(422, "Query parameter malformed.", [{"field": "/query/owner", "message": "bad owner"}])

        def keep(c: dict[str, Any]) -> bool:
            return (campaign is None or c["campaign_id"] == campaign) and (owner is None or c["owner"] == owner)

        with self.store.lock:
            items, more = self.store.characters.page(limit, cursor, keep)
        return self.json({"items": items, "next_cursor": items[-1]["id"] if more else None})

    def character_fields(self, data: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
        fields = {**CHARACTER_DEFAULTS, **base, **{k: v for k, v in data.items() if k != "version"}}
        campaign = fields["campaign_id"]
        if campaign is not None:
            campaign = str(uuid.UUID(campaign))
            if campaign not in self.store.campaigns.records:
                raise Problem(409, "The referenced campaign does not exist.")
        fields["campaign_id"] = campaign
        fields["inventory"] = [{**i, "weight": round(float(i["weight"]), 2)} for i in fields["inventory"]]
        for key in ("level", "hit_points"):
            fields[key] = int(fields[key])
        fields["abilities"] = {k: int(v) for k, v in fields["abilities"].items()}
        fields["inventory"] = [{**i, "quantity": int(i["quantity"])} for i in fields["inventory"]]
        fields["spells"] = [{**s, "level": int(s["level"])} for s in fields["spells"]]
        return fields

    async def create_character(self, request: Request) -> Response:
        data = await self.body(request, "CharacterInput")
        with self.store.lock:
            stamp = now()
            record = {"id": uuid7(), **self.character_fields(data, {}), "version": 1}
            record.update(created_at=stamp, updated_at=stamp)
            self.store.characters.put(record)
        location = self.location(request, "characters", record["id"])
        return self.json(record, 201, Location=location, ETag='"1"')

    async def get_character(self, request: Request) -> Response:
        character_id = uuid_param(request.path_params["character_id"], "path", "character_id")
        with self.store.lock:
            record = self.character(character_id)
        return self.json(record, ETag=f'"{record["version"]}"')

    async def write_character(self, request: Request, *, patch: bool) -> Response:
        character_id = uuid_param(request.path_params["character_id"], "path", "character_id")
        expected = self.if_match(request)
        data = await self.body(request, "CharacterPatch" if patch else "CharacterReplace", patch=patch)
        with self.store.lock:
            current = self.store.characters.records.get(character_id)
            if current is None:
                raise NotFound
            self.check_version(current["version"], expected, True)
            self.check_version(current["version"], data.get("version"), False)
            base = {k: v for k, v in current.items() if k not in ("id", "version", "created_at", "updated_at")}
            fields = self.character_fields(data, base if patch else {})
            record = {**current, **fields, "version": current["version"] + 1, "updated_at": now()}
            self.store.characters.put(record)
            self.cache.pop(character_id, None)
        return self.json(record, ETag=f'"{record["version"]}"')

    async def replace_character(self, request: Request) -> Response:
        return await self.write_character(request, patch=False)

    async def patch_character(self, request: Request) -> Response:
        return await self.write_character(request, patch=True)

    async def delete_character(self, request: Request) -> Response:
        character_id = uuid_param(request.path_params["character_id"], "path", "character_id")
        expected = self.if_match(request)
        with self.store.lock:
            current = self.store.characters.records.get(character_id)
            if current is None:
                raise NotFound
            self.check_version(current["version"], expected, True)
            self.store.characters.remove(character_id)
            self.cache.pop(character_id, None)
        return Response(status_code=204)

    async def list_campaigns(self, request: Request) -> Response:
        limit, cursor = self.limit(request), self.query_id(request, "cursor")
        with self.store.lock:
            items, more = self.store.campaigns.page(limit, cursor)
        return self.json({"items": items, "next_cursor": items[-1]["id"] if more else None})

    async def create_campaign(self, request: Request) -> Response:
        data = await self.body(request, "CampaignInput")
        with self.store.lock:
            stamp = now()
            record = {
                "id": uuid7(),
                **CAMPAIGN_DEFAULTS,
                **data,
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.store.campaigns.put(record)
        return self.json(record, 201, Location=self.location(request, "campaigns", record["id"]), ETag='"1"')

    def campaign(self, request: Request) -> dict[str, Any]:
        campaign_id = uuid_param(request.path_params["campaign_id"], "path", "campaign_id")
        record = self.store.campaigns.records.get(campaign_id)
        if record is None:
            raise NotFound
        return record

    async def get_campaign(self, request: Request) -> Response:
        with self.store.lock:
            record = self.campaign(request)
        return self.json(record, ETag=f'"{record["version"]}"')

    async def write_campaign(self, request: Request, *, patch: bool) -> Response:
        uuid_param(request.path_params["campaign_id"], "path", "campaign_id")
        expected = self.if_match(request)
        data = await self.body(request, "CampaignPatch" if patch else "CampaignReplace", patch=patch)
        with self.store.lock:
            current = self.campaign(request)
            self.check_version(current["version"], expected, True)
            self.check_version(current["version"], data.get("version"), False)
            fields = {k: v for k, v in data.items() if k != "version"}
            base = current if patch else {**current, **CAMPAIGN_DEFAULTS}
            record = {**base, **fields, "version": current["version"] + 1, "updated_at": now()}
            self.store.campaigns.put(record)
        return self.json(record, ETag=f'"{record["version"]}"')

    async def replace_campaign(self, request: Request) -> Response:
        return await self.write_campaign(request, patch=False)

    async def patch_campaign(self, request: Request) -> Response:
        return await self.write_campaign(request, patch=True)

    async def delete_campaign(self, request: Request) -> Response:
        uuid_param(request.path_params["campaign_id"], "path", "campaign_id")
        expected = self.if_match(request)
        with self.store.lock:
            current = self.campaign(request)
            self.check_version(current["version"], expected, True)
            if any(c["campaign_id"] == current["id"] for c in self.store.characters.records.values()):
                raise Problem(409, "Characters still play in this campaign.")
            self.store.campaigns.remove(current["id"])
        return Response(status_code=204)

    async def campaign_characters(self, request: Request) -> Response:
        with self.store.lock:
            campaign = self.campaign(request)
        limit, cursor = self.limit(request), self.query_id(request, "cursor")
        with self.store.lock:
            items, more = self.store.characters.page(limit, cursor, lambda c: c["campaign_id"] == campaign["id"])
        return self.json({"items": items, "next_cursor": items[-1]["id"] if more else None})


def problem(status: int, detail: str, errors: list[dict[str, str]] | None = None, headers: Any = None) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "request_id": uuid.uuid4().hex,  # differs on every call, as real deployments' correlation ids do
    }
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body), status, headers=dict(headers or {}), media_type=PROBLEM)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return problem(exc.status_code, f"No operation {request.method} {request.url.path}.", headers=exc.headers)


def create_app(backend: str, store: Store) -> Starlette:
    svc = Service(backend, store)
    routes = [
        svc.route("/health", GET=svc.health),
        svc.route("/metrics", GET=svc.metrics_text),
        svc.route("/openapi.yaml", GET=svc.openapi),
        svc.route("/characters", (*PAGE, "campaign_id", "owner"), GET=svc.list_characters, POST=svc.create_character),
        svc.route(
            "/characters/{character_id}",
            GET=svc.get_character,
            PUT=svc.replace_character,
            PATCH=svc.patch_character,
            DELETE=svc.delete_character,
        ),
        svc.route("/campaigns", PAGE, GET=svc.list_campaigns, POST=svc.create_campaign),
        svc.route(
            "/campaigns/{campaign_id}",
            GET=svc.get_campaign,
            PUT=svc.replace_campaign,
            PATCH=svc.patch_campaign,
            DELETE=svc.delete_campaign,
        ),
        svc.route("/campaigns/{campaign_id}/characters", PAGE, GET=svc.campaign_characters),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
