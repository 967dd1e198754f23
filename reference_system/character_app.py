"""The reference Character Service: an ASGI app (Starlette) serving ``contracts/character-service.openapi.yaml``
on top of either repository."""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import domain
from .contract import load_contract, validation_errors
from .errors import CampaignHasMembers, CampaignNotFound, NotFound, Unavailable, VersionMismatch
from .faults import FaultSet
from .metrics import ServiceMetrics

PROBLEM = "application/problem+json"
JSON_TYPES = ("application/json",)
PATCH_TYPES = ("application/json", "application/merge-patch+json")


class Repository(Protocol):
    backend: str

    def health(self) -> dict[str, Any]: ...
    def close(self) -> None: ...
    def list_characters(
        self, *, limit: int, cursor: str | None, campaign_id: str | None = None, owner: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]: ...
    def get_character(self, character_id: str) -> dict[str, Any]: ...
    def create_character(self, fields: dict[str, Any]) -> dict[str, Any]: ...
    def replace_character(
        self, character_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]: ...
    def delete_character(self, character_id: str, expected_version: int | None) -> None: ...
    def list_campaigns(self, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], bool]: ...
    def get_campaign(self, campaign_id: str) -> dict[str, Any]: ...
    def create_campaign(self, fields: dict[str, Any]) -> dict[str, Any]: ...
    def replace_campaign(
        self, campaign_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]: ...
    def delete_campaign(self, campaign_id: str, expected_version: int | None) -> None: ...


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.errors, self.headers = status, title, detail, errors, headers


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://character-service/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _uuid_param(value: str, name: str) -> str:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ApiError(
            422, "Validation failed", f"{name} must be a UUID", [{"field": name, "message": "not a UUID"}]
        ) from None
    return str(parsed)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ApiError(
            422,
            "Validation failed",
            'If-Match must be an entity tag like "3"',
            [{"field": "If-Match", "message": "not an entity tag"}],
        )
    return int(text)


class ErrorCounter:
    """Spreads a fraction of failures evenly: request n fails when floor(n * rate) steps up."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._n = 0
        self._lock = threading.Lock()

    def should_fail(self) -> bool:
        with self._lock:
            self._n += 1
            return int(self._n * self.rate) > int((self._n - 1) * self.rate)


class CharacterService:
    """Request handling; one instance per process, bound to one repository."""

    def __init__(self, repository: Repository, faults: FaultSet, metrics: ServiceMetrics) -> None:
        self.repo = repository
        self.faults = faults
        self.metrics = metrics
        self.error_counter = ErrorCounter(faults.number("error_rate")) if "error_rate" in faults else None
        self.skip_fields = frozenset([faults.value("accept_invalid")]) if "accept_invalid" in faults else frozenset()
        self.validation_status = int(faults.number("error_status")) if "error_status" in faults else 422

    # --- plumbing ---------------------------------------------------------------------------

    def route(
        self, path: str, handlers: dict[str, Callable[[Request], Awaitable[Response]]], *, api: bool = True
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            handler = handlers.get(request.method) or handlers["GET"]  # HEAD is served as GET
            started = time.perf_counter()
            try:
                if api and "latency" in self.faults:
                    await run_in_threadpool(time.sleep, self.faults.number("latency"))
                if api and self.error_counter and self.error_counter.should_fail():
                    raise ApiError(500, "Injected fault", "error_rate fault")
                response = await handler(request)
            except ApiError as exc:
                status = exc.status if exc.status != 422 else self.validation_status
                response = problem(status, exc.title, exc.detail, exc.errors, exc.headers)
            except NotFound:
                response = problem(404, "Not found", "no such resource")
            except Unavailable as exc:
                response = problem(503, "Service unavailable", str(exc), headers={"Retry-After": "1"})
            except Exception as exc:  # a bug in the reference: still answer with problem+json, and count it
                response = problem(500, "Internal error", type(exc).__name__)
            self.metrics.observe(request.method, path, response.status_code, time.perf_counter() - started)
            return response

        return Route(path, endpoint, methods=list(handlers))

    async def body(self, request: Request, schema: str, media_types: tuple[str, ...]) -> dict[str, Any]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in media_types:
            raise ApiError(415, "Unsupported media type", f"send one of: {', '.join(media_types)}")
        raw = await request.body()
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(
                422,
                "Validation failed",
                "the body is not valid JSON",
                [{"field": "(body)", "message": "not valid JSON"}],
            ) from None
        errors = validation_errors(schema, data, skip_fields=self.skip_fields)
        if errors:
            raise ApiError(422, "Validation failed", f"{len(errors)} invalid field(s)", errors)
        return data  # type: ignore[no-any-return]

    def query_limit(self, request: Request) -> int:
        raw = request.query_params.get("limit", "50")
        if not raw.isdigit() or not 1 <= int(raw) <= 200:
            raise ApiError(
                422,
                "Validation failed",
                "limit must be an integer from 1 to 200",
                [{"field": "limit", "message": "must be an integer from 1 to 200"}],
            )
        return int(raw)

    def query_uuid(self, request: Request, name: str) -> str | None:
        raw = request.query_params.get(name)
        return None if raw is None else _uuid_param(raw, name)

    def character_out(self, character: dict[str, Any]) -> dict[str, Any]:
        if "missing_field" in self.faults:
            character = {k: v for k, v in character.items() if k != self.faults.value("missing_field")}
        return character

    def json(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None, character: bool = False
    ) -> Response:
        media_type = "text/html" if character and "wrong_content_type" in self.faults else "application/json"
        return Response(json.dumps(data), status_code=status, media_type=media_type, headers=headers)

    def page(self, items: list[dict[str, Any]], more: bool, character: bool) -> Response:
        next_cursor = items[-1]["id"] if more and items else None
        if "reverse_order" in self.faults:
            items = list(reversed(items))
        if character:
            items = [self.character_out(c) for c in items]
        return self.json({"items": items, "next_cursor": next_cursor}, character=character)

    def expected_version(self, request: Request, body: dict[str, Any]) -> tuple[int | None, bool]:
        """The version the client expects and whether it came from If-Match (412) rather than the body (409)."""
        header = _if_match(request)
        in_body = body.get("version")
        if header is not None and in_body is not None and header != in_body:
            raise ApiError(409, "Version conflict", "the version in the body contradicts If-Match")
        if header is not None:
            return header, True
        return (int(in_body) if in_body is not None else None), False

    @staticmethod
    def conflict(exc: VersionMismatch, from_header: bool) -> ApiError:
        if from_header:
            return ApiError(
                412,
                "Precondition failed",
                "If-Match names a version that is no longer current",
                headers=_etag(exc.current),
            )
        return ApiError(
            409, "Version conflict", "the version in the body is no longer current", headers=_etag(exc.current)
        )

    def character_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        fields = domain.normalize_character_fields(data)
        if "truncate_names" in self.faults:
            fields["name"] = fields["name"][: int(self.faults.number("truncate_names"))]
        return fields

    # --- operations -------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        report = await run_in_threadpool(self.repo.health)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    async def openapi(self, request: Request) -> Response:
        """The contract this service implements, as a deployment would serve it; ``contract_drift`` serves one
        that no longer matches the file (an operation dropped, a field's limit changed)."""
        document = copy.deepcopy(load_contract())
        if "contract_drift" in self.faults:
            del document["paths"]["/campaigns/{campaign_id}"]["delete"]
            document["components"]["schemas"]["Name"]["maxLength"] = 20
        return JSONResponse(document)

    async def metrics_endpoint(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=self.metrics.content_type)

    async def list_characters(self, request: Request) -> Response:
        limit = self.query_limit(request)
        cursor = self.query_uuid(request, "cursor")
        campaign_id = self.query_uuid(request, "campaign_id")
        owner = request.query_params.get("owner")
        if owner is not None:
            errors = validation_errors("Owner", owner)
            if errors:
                raise ApiError(
                    422, "Validation failed", "invalid owner", [{"field": "owner", "message": errors[0]["message"]}]
                )
        items, more = await run_in_threadpool(
            lambda: self.repo.list_characters(limit=limit, cursor=cursor, campaign_id=campaign_id, owner=owner)
        )
        return self.page(items, more, character=True)

    async def create_character(self, request: Request) -> Response:
        fields = self.character_fields(await self.body(request, "CharacterInput", JSON_TYPES))
        try:
            created = await run_in_threadpool(self.repo.create_character, fields)
        except CampaignNotFound:
            raise ApiError(409, "Campaign not found", "campaign_id names no campaign") from None
        headers = {"Location": f"/characters/{created['id']}", **_etag(created["version"])}
        return self.json(self.character_out(created), 201, headers, character=True)

    async def get_character(self, request: Request) -> Response:
        character_id = _uuid_param(request.path_params["character_id"], "character_id")
        if "undocumented_status" in self.faults:
            code = int(self.faults.number("undocumented_status"))
            return problem(code, "Injected status", "undocumented_status fault")
        character = await run_in_threadpool(self.repo.get_character, character_id)
        return self.json(self.character_out(character), headers=_etag(character["version"]), character=True)

    async def _write_character(
        self, request: Request, character_id: str, data: dict[str, Any], merge: bool
    ) -> Response:
        expected, from_header = self.expected_version(request, data)

        def write() -> dict[str, Any]:
            base: dict[str, Any] = {}
            if merge:
                base = self.repo.get_character(character_id)
            fields = self.character_fields({**base, **{k: v for k, v in data.items() if k != "version"}})
            return self.repo.replace_character(character_id, fields, expected)

        try:
            updated = await run_in_threadpool(write)
        except VersionMismatch as exc:
            raise self.conflict(exc, from_header) from None
        except CampaignNotFound:
            raise ApiError(409, "Campaign not found", "campaign_id names no campaign") from None
        return self.json(self.character_out(updated), headers=_etag(updated["version"]), character=True)

    async def replace_character(self, request: Request) -> Response:
        character_id = _uuid_param(request.path_params["character_id"], "character_id")
        data = await self.body(request, "CharacterReplace", JSON_TYPES)
        return await self._write_character(request, character_id, data, merge=False)

    async def patch_character(self, request: Request) -> Response:
        character_id = _uuid_param(request.path_params["character_id"], "character_id")
        data = await self.body(request, "CharacterPatch", PATCH_TYPES)
        return await self._write_character(request, character_id, data, merge=True)

    async def delete_character(self, request: Request) -> Response:
        character_id = _uuid_param(request.path_params["character_id"], "character_id")
        expected = _if_match(request)
        if "soft_delete" in self.faults:
            await run_in_threadpool(self.repo.get_character, character_id)
            return Response(status_code=204)
        try:
            await run_in_threadpool(self.repo.delete_character, character_id, expected)
        except VersionMismatch as exc:
            raise self.conflict(exc, True) from None
        return Response(status_code=204)

    async def list_campaigns(self, request: Request) -> Response:
        limit = self.query_limit(request)
        cursor = self.query_uuid(request, "cursor")
        items, more = await run_in_threadpool(lambda: self.repo.list_campaigns(limit=limit, cursor=cursor))
        return self.page(items, more, character=False)

    async def create_campaign(self, request: Request) -> Response:
        fields = domain.normalize_campaign_fields(await self.body(request, "CampaignInput", JSON_TYPES))
        created = await run_in_threadpool(self.repo.create_campaign, fields)
        headers = {"Location": f"/campaigns/{created['id']}", **_etag(created["version"])}
        return self.json(created, 201, headers)

    async def get_campaign(self, request: Request) -> Response:
        campaign_id = _uuid_param(request.path_params["campaign_id"], "campaign_id")
        campaign = await run_in_threadpool(self.repo.get_campaign, campaign_id)
        return self.json(campaign, headers=_etag(campaign["version"]))

    async def _write_campaign(self, request: Request, campaign_id: str, data: dict[str, Any], merge: bool) -> Response:
        expected, from_header = self.expected_version(request, data)

        def write() -> dict[str, Any]:
            base: dict[str, Any] = self.repo.get_campaign(campaign_id) if merge else {}
            fields = domain.normalize_campaign_fields({**base, **{k: v for k, v in data.items() if k != "version"}})
            return self.repo.replace_campaign(campaign_id, fields, expected)

        try:
            updated = await run_in_threadpool(write)
        except VersionMismatch as exc:
            raise self.conflict(exc, from_header) from None
        return self.json(updated, headers=_etag(updated["version"]))

    async def replace_campaign(self, request: Request) -> Response:
        campaign_id = _uuid_param(request.path_params["campaign_id"], "campaign_id")
        return await self._write_campaign(
            request, campaign_id, await self.body(request, "CampaignReplace", JSON_TYPES), False
        )

    async def patch_campaign(self, request: Request) -> Response:
        campaign_id = _uuid_param(request.path_params["campaign_id"], "campaign_id")
        return await self._write_campaign(
            request, campaign_id, await self.body(request, "CampaignPatch", PATCH_TYPES), True
        )

    async def delete_campaign(self, request: Request) -> Response:
        campaign_id = _uuid_param(request.path_params["campaign_id"], "campaign_id")
        expected = _if_match(request)
        if "soft_delete" in self.faults:
            await run_in_threadpool(self.repo.get_campaign, campaign_id)
            return Response(status_code=204)
        try:
            await run_in_threadpool(self.repo.delete_campaign, campaign_id, expected)
        except VersionMismatch as exc:
            raise self.conflict(exc, True) from None
        except CampaignHasMembers:
            raise ApiError(
                409, "Campaign has characters", "move or delete the campaign's characters before deleting it"
            ) from None
        return Response(status_code=204)

    async def list_campaign_characters(self, request: Request) -> Response:
        campaign_id = _uuid_param(request.path_params["campaign_id"], "campaign_id")
        limit = self.query_limit(request)
        cursor = self.query_uuid(request, "cursor")

        def load() -> tuple[list[dict[str, Any]], bool]:
            self.repo.get_campaign(campaign_id)
            return self.repo.list_characters(limit=limit, cursor=cursor, campaign_id=campaign_id)

        items, more = await run_in_threadpool(load)
        return self.page(items, more, character=True)


def _closing(close: Callable[[], None]) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        close()

    return lifespan


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    return problem(exc.status_code, titles.get(exc.status_code, "HTTP error"), str(exc.detail), headers=exc.headers)


def create_app(repository: Repository, faults: FaultSet | None = None) -> Starlette:
    faults = faults or FaultSet()
    metrics = ServiceMetrics(repository.backend)
    svc = CharacterService(repository, faults, metrics)
    client = getattr(repository, "client", None)
    hooks = getattr(client, "hooks", None)
    if hooks is not None:
        hooks.on_retry = metrics.storage_retries.inc
        hooks.on_cache_hit = metrics.cache_hits.inc
        hooks.on_cache_miss = metrics.cache_misses.inc
        hooks.on_breaker_change = metrics.set_breaker
    metrics.set_breaker("closed")
    H = dict[str, Callable[[Request], Awaitable[Response]]]
    routes = [
        svc.route("/health", H(GET=svc.health), api=False),
        svc.route("/metrics", H(GET=svc.metrics_endpoint), api=False),
        svc.route("/openapi.json", H(GET=svc.openapi), api=False),
        svc.route("/characters", H(GET=svc.list_characters, POST=svc.create_character)),
        svc.route(
            "/characters/{character_id}",
            H(GET=svc.get_character, PUT=svc.replace_character, PATCH=svc.patch_character, DELETE=svc.delete_character),
        ),
        svc.route("/campaigns", H(GET=svc.list_campaigns, POST=svc.create_campaign)),
        svc.route(
            "/campaigns/{campaign_id}",
            H(GET=svc.get_campaign, PUT=svc.replace_campaign, PATCH=svc.patch_campaign, DELETE=svc.delete_campaign),
        ),
        svc.route("/campaigns/{campaign_id}/characters", H(GET=svc.list_campaign_characters)),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=_closing(repository.close))
    app.state.service = svc
    return app
