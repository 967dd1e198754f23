"""The reference Storage Service: ``contracts/storage-service.openapi.yaml`` over PostgreSQL (its own database)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .access import AccessControl, Denied

PROBLEM = "application/problem+json"
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
RECORD_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
ETAG = re.compile(r'^(W/)?"?([0-9]{1,9})"?$')  # lenient: some clients drop the quotes
MAX_KEY = 200

DDL = """
CREATE TABLE IF NOT EXISTS ss_databases (
    name text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ss_collections (
    database text NOT NULL REFERENCES ss_databases (name) ON DELETE CASCADE,
    name text NOT NULL,
    PRIMARY KEY (database, name)
);
CREATE TABLE IF NOT EXISTS ss_records (
    database text NOT NULL,
    collection text NOT NULL,
    id text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    document jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (database, collection, id),
    FOREIGN KEY (database, collection) REFERENCES ss_collections (database, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS ss_records_document ON ss_records USING gin (document jsonb_path_ops);
"""


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str = "") -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail


def _problem(status: int, title: str, detail: str = "", headers: Mapping[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise Problem(422, "Invalid name", f"{what} must match {NAME.pattern}")
    return value


def _etag_version(raw: str | None) -> int | None:
    if raw is None:
        return None
    m = ETAG.match(raw.strip())
    if not m:
        raise Problem(422, "Invalid header", 'If-Match must be an entity tag like "3"')
    return int(m.group(2))


def _has_nul(value: Any) -> bool:
    """jsonb cannot hold U+0000, and PostgreSQL cannot encode lone surrogates: the contract answers 422."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return "\\u0000" in json.dumps(value)


def _key(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    if value is not None and len(value) > MAX_KEY:
        raise Problem(422, "Invalid key", f"{name} must be at most {MAX_KEY} characters")
    return value


def _integral(value: Any) -> bool:
    """JSON Schema's integer: 3 and 3.0 both count."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


class StorageService:
    def __init__(self, dsn: str, *, access: AccessControl | None = None, pool_size: int = 8) -> None:
        self.access = access
        self.pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, kwargs={"row_factory": dict_row}, timeout=5.0, open=True
        )
        with self.pool.connection() as conn:
            conn.execute(DDL)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise Problem(503, "Database unavailable", type(exc).__name__) from exc

    def _collection_exists(self, conn: psycopg.Connection[Any], database: str, collection: str) -> None:
        if not conn.execute(
            "SELECT 1 FROM ss_collections WHERE database = %s AND name = %s", (database, collection)
        ).fetchone():
            raise Problem(404, "Not found", f"no collection {database}/{collection}")

    def route(
        self,
        path: str,
        handlers: dict[str, Callable[[Request], Awaitable[Response]]],
        needs: dict[str, str] | None = None,
    ) -> Route:
        """``needs``: the role each method requires on the path's database (None: an open path, /health)."""

        async def endpoint(request: Request) -> Response:
            handler = handlers.get(request.method) or handlers["GET"]
            if needs is not None and self.access is not None:
                try:  # before anything else, so that a refused caller learns nothing about the data
                    self.access.check(
                        request.headers.get("authorization"),
                        request.path_params.get("database", ""),
                        needs.get(request.method, "read"),
                    )
                except Denied as exc:
                    headers = {"WWW-Authenticate": 'Bearer realm="storage"'} if exc.status == 401 else None
                    return _problem(exc.status, exc.title, exc.detail, headers=headers)
            try:
                return await handler(request)
            except Problem as exc:
                return _problem(exc.status, exc.title, exc.detail)

        return Route(path, endpoint, methods=list(handlers))

    async def json_body(self, request: Request) -> Any:
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise Problem(415, "Unsupported media type", "send application/json")
        try:
            return json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            raise Problem(422, "Invalid JSON", "the body is not valid JSON") from None

    # --- handlers ---------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        def probe() -> bool:
            try:
                with self.pool.connection(timeout=1.0) as conn:
                    conn.execute("SELECT 1")
                return True
            except (psycopg.Error, TimeoutError):
                return False

        ok = await run_in_threadpool(probe)
        body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"}
        return JSONResponse(body, status_code=200 if ok else 503)

    def _database_body(self, conn: psycopg.Connection[Any], database: str) -> dict[str, Any]:
        names = [
            r["name"]
            for r in conn.execute("SELECT name FROM ss_collections WHERE database = %s ORDER BY name", (database,))
        ]
        return {"name": database, "collections": names}

    async def database(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")

        def run() -> Response:
            with self.conn() as conn:
                exists = conn.execute("SELECT 1 FROM ss_databases WHERE name = %s", (database,)).fetchone()
                if request.method == "PUT":
                    if not exists:
                        conn.execute("INSERT INTO ss_databases (name) VALUES (%s) ON CONFLICT DO NOTHING", (database,))
                    return JSONResponse(self._database_body(conn, database), status_code=200 if exists else 201)
                if not exists:
                    raise Problem(404, "Not found", f"no database {database}")
                if request.method == "DELETE":
                    conn.execute("DELETE FROM ss_records WHERE database = %s", (database,))
                    conn.execute("DELETE FROM ss_databases WHERE name = %s", (database,))
                    return Response(status_code=204)
                return JSONResponse(self._database_body(conn, database))

        return await run_in_threadpool(run)

    async def collection(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")
        collection = _name(request.path_params["collection"], "collection")

        def run() -> Response:
            with self.conn() as conn:
                if not conn.execute("SELECT 1 FROM ss_databases WHERE name = %s", (database,)).fetchone():
                    raise Problem(404, "Not found", f"no database {database}")
                exists = conn.execute(
                    "SELECT 1 FROM ss_collections WHERE database = %s AND name = %s", (database, collection)
                ).fetchone()
                if request.method == "PUT":
                    if not exists:
                        conn.execute(
                            "INSERT INTO ss_collections VALUES (%s, %s) ON CONFLICT DO NOTHING", (database, collection)
                        )
                    return JSONResponse({"database": database, "name": collection}, status_code=200 if exists else 201)
                if not exists:
                    raise Problem(404, "Not found", f"no collection {database}/{collection}")
                conn.execute("DELETE FROM ss_records WHERE database = %s AND collection = %s", (database, collection))
                conn.execute("DELETE FROM ss_collections WHERE database = %s AND name = %s", (database, collection))
                return Response(status_code=204)

        return await run_in_threadpool(run)

    async def records(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")
        collection = _name(request.path_params["collection"], "collection")
        after = _key(request, "after")
        raw_limit = request.query_params.get("limit", "100")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 5000:
            raise Problem(422, "Invalid limit", "limit must be an integer from 1 to 5000")
        limit = int(raw_limit)
        match = None
        if "match" in request.query_params:
            try:
                match = json.loads(request.query_params["match"])
            except ValueError:
                match = None
            if not isinstance(match, dict) or len(match) > 20 or _has_nul(match):
                raise Problem(422, "Invalid match", "match must be a JSON object")

        def run() -> Response:
            with self.conn() as conn:
                self._collection_exists(conn, database, collection)
                sql = "SELECT id, version, document FROM ss_records WHERE database = %s AND collection = %s"
                params: list[Any] = [database, collection]
                if after is not None:
                    sql += " AND id > %s"
                    params.append(after)
                if match:
                    sql += " AND document @> %s"
                    params.append(Jsonb(match))
                rows = conn.execute(sql + " ORDER BY id LIMIT %s", (*params, limit + 1)).fetchall()
            items = rows[:limit]
            next_after = items[-1]["id"] if len(rows) > limit else None
            return JSONResponse({"items": items, "next_after": next_after})

        return await run_in_threadpool(run)

    async def record(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")
        collection = _name(request.path_params["collection"], "collection")
        record_id = request.path_params["id"]
        if not RECORD_ID.match(record_id):
            raise Problem(422, "Invalid id", f"id must match {RECORD_ID.pattern}")
        if_match = _etag_version(request.headers.get("if-match"))
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and if_none_match.strip() != "*":
            raise Problem(422, "Invalid header", "If-None-Match accepts only *")
        create_only = if_none_match is not None
        document = None
        if request.method == "PUT":
            document = await self.json_body(request)
            if not isinstance(document, dict) or len(document) > 200 or _has_nul(document):
                raise Problem(422, "Invalid document", "the document must be a JSON object without NUL characters")

        def run() -> Response:
            with self.conn() as conn, conn.transaction():
                self._collection_exists(conn, database, collection)
                current = conn.execute(
                    "SELECT version FROM ss_records WHERE database = %s AND collection = %s AND id = %s FOR UPDATE",
                    (database, collection, record_id),
                ).fetchone()
                if request.method == "GET":
                    if current is None:
                        raise Problem(404, "Not found", f"no record {record_id}")
                    row = conn.execute(
                        "SELECT id, version, document FROM ss_records WHERE database = %s"
                        " AND collection = %s AND id = %s",
                        (database, collection, record_id),
                    ).fetchone()
                    return JSONResponse(row, headers={"ETag": f'"{current["version"]}"'})
                if if_match is not None and (current is None or current["version"] != if_match):
                    if current is None:
                        raise Problem(404, "Not found", f"no record {record_id}")
                    raise Problem(412, "Precondition failed", f"current version is {current['version']}")
                if request.method == "DELETE":
                    if current is None:
                        raise Problem(404, "Not found", f"no record {record_id}")
                    conn.execute(
                        "DELETE FROM ss_records WHERE database = %s AND collection = %s AND id = %s",
                        (database, collection, record_id),
                    )
                    return Response(status_code=204)
                if create_only and current is not None:
                    raise Problem(412, "Precondition failed", "the record exists")
                version = 1 if current is None else current["version"] + 1
                conn.execute(
                    "INSERT INTO ss_records (database, collection, id, version, document) VALUES (%s, %s, %s, %s, %s)"
                    " ON CONFLICT (database, collection, id) DO UPDATE"
                    " SET version = excluded.version, document = excluded.document, updated_at = now()",
                    (database, collection, record_id, version, Jsonb(document)),
                )
                return JSONResponse(
                    {"id": record_id, "version": version, "document": document},
                    status_code=201 if current is None else 200,
                    headers={"ETag": f'"{version}"'},
                )

        return await run_in_threadpool(run)

    async def batch(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")
        collection = _name(request.path_params["collection"], "collection")
        body = await self.json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or len(records) > 5000 or set(body) != {"records"}:
            raise Problem(422, "Invalid batch", 'send {"records": [{"id", "version", "document"}, ...]}')
        rows = []
        for r in records:
            if (
                not isinstance(r, dict)
                or set(r) != {"id", "version", "document"}
                or not isinstance(r["id"], str)
                or not RECORD_ID.match(r["id"])
                or not _integral(r["version"])
                or not 1 <= r["version"] <= 999_999_999
                or not isinstance(r["document"], dict)
                or _has_nul(r["document"])
            ):
                raise Problem(422, "Invalid record", "each record needs id, version (1..999999999) and a document")
            rows.append((database, collection, r["id"], int(r["version"]), Jsonb(r["document"])))

        def run() -> Response:
            with self.conn() as conn, conn.transaction():
                self._collection_exists(conn, database, collection)
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO ss_records (database, collection, id, version, document)"
                        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (database, collection, id) DO UPDATE"
                        " SET version = excluded.version, document = excluded.document, updated_at = now()",
                        rows,
                    )
            return JSONResponse({"upserted": len(rows)})

        return await run_in_threadpool(run)

    async def summary(self, request: Request) -> Response:
        database = _name(request.path_params["database"], "database")
        collection = _name(request.path_params["collection"], "collection")
        start, end = _key(request, "start"), _key(request, "end")
        values = request.query_params.getlist("versions")
        if len(values) > 1 or any(v not in ("true", "false") for v in values):
            raise Problem(422, "Invalid versions", "versions must be true or false, given once")
        versions = values == ["true"]
        item = "md5(version::text || ':' || document::text)" if versions else "md5(document::text)"

        def run() -> Response:
            with self.conn() as conn:
                self._collection_exists(conn, database, collection)
                # the items in id order from the primary key's index, aggregated as they come (an ordered
                # aggregate would sort them all again: twice the time of a whole collection's checksum)
                row = conn.execute(
                    f"SELECT count(*) AS count, md5(coalesce(string_agg(item, ','), '')) AS checksum"
                    f" FROM (SELECT id || ':' || {item} AS item FROM ss_records WHERE database = %s"
                    " AND collection = %s AND (%s::text IS NULL OR id >= %s) AND (%s::text IS NULL OR id < %s)"
                    " ORDER BY id) AS ordered",
                    (database, collection, start, start, end, end),
                ).fetchone()
            assert row is not None  # an aggregate always answers one row
            return JSONResponse({**row, "versions": True} if versions else row)

        return await run_in_threadpool(run)


def _closing(close: Callable[[], None]) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        close()

    return lifespan


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _problem(exc.status_code, "HTTP error", str(exc.detail), headers=exc.headers)


# the role each method needs on the path's database
READ = {"GET": "read"}
WRITE = {"GET": "read", "PUT": "write", "DELETE": "write"}
ADMIN = {"PUT": "admin", "DELETE": "admin"}


def create_app(dsn: str, access: AccessControl | None = None) -> Starlette:
    """``access`` None: no access control (a service behind its own gateway); the launcher always gives one."""
    svc = StorageService(dsn, access=access)
    base = "/databases/{database}/collections/{collection}"
    routes = [
        svc.route("/health", {"GET": svc.health}),
        svc.route(
            "/databases/{database}",
            {"GET": svc.database, "PUT": svc.database, "DELETE": svc.database},
            {"GET": "read", "PUT": "admin", "DELETE": "admin"},
        ),
        svc.route(base, {"PUT": svc.collection, "DELETE": svc.collection}, ADMIN),
        svc.route(base + "/records", {"GET": svc.records}, READ),
        svc.route(base + "/records/{id}", {"GET": svc.record, "PUT": svc.record, "DELETE": svc.record}, WRITE),
        svc.route(base + "/batch", {"POST": svc.batch}, {"POST": "write"}),
        svc.route(base + "/summary", {"GET": svc.summary}, READ),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error}, lifespan=_closing(svc.close))
    app.state.started = time.time()
    return app
