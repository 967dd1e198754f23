"""Both sides of the migration, streamed in key order in bounded memory, page by page.

- ``SourceReader``: the legacy PostgreSQL through its DSN. Keyset pages (``id > last ORDER BY id LIMIT n``) over a
  collection's table; a character's ``inventory_items`` and ``character_spells`` are fetched for the whole page
  in one query each and attached as lists, in ``position`` order.
- ``DestinationReader``: the Storage Service's id-ordered ``records`` listing with ``after``.

Both read ``[start, end)`` key ranges, give per-range counts and checksums (``summary``), retry a failed page
read (``retries`` attempts with backoff, resuming after the last key read), and raise ``ReadFailure`` when it
persists. Key order is the same on both sides: PostgreSQL orders ``uuid`` bytewise, which is the order of their
lower-case text, and the Storage Service orders ids with the "C" collation. A background thread fetches the next
page while the caller works on the current one (one page ahead, so memory stays bounded).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ..errors import ConfigError, HarnessError, TargetUnreachable
from ..redaction import redact

RawRecord = tuple[str, dict[str, Any]]
T = TypeVar("T")
BACKOFF = (0.2, 0.5, 1.0, 2.0)  # seconds before retries 1, 2, 3, 4+
STATEMENT_TIMEOUT_S = 600  # the longest source query: a whole-collection checksum at a million records


class ReadFailure(Exception):
    """A side could not be read even after retries; ``after`` is the last key read before the failure."""

    def __init__(self, side: str, collection: str, after: str | None, reason: str) -> None:
        super().__init__(f"{side} {collection}: read failed after key {after!r}: {reason}")
        self.side, self.collection, self.after, self.reason = side, collection, after, reason


@dataclass(frozen=True)
class Summary:
    count: int
    checksum: str | None  # None: this side cannot compute a checksum comparable with the other


class Reader(Protocol):
    side: str

    def read(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[RawRecord]: ...
    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary: ...
    def close(self) -> None: ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact(text.splitlines()[0] if text else type(exc).__name__)


def _retrying(
    side: str,
    collection: str,
    after: str | None,
    retries: int,
    retry_on: tuple[type[BaseException], ...],
    fetch: Callable[[], T],
    reset: Callable[[], None],
) -> T:
    for attempt in range(retries):
        try:
            return fetch()
        except retry_on as exc:
            reset()
            if attempt + 1 == retries:
                raise ReadFailure(side, collection, after, _first_line(exc)) from None
            time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
    raise AssertionError("unreachable")  # retries >= 1


def prefetched(pages: Iterator[list[T]]) -> Iterator[T]:
    """Yield the items of ``pages`` while a thread fetches the next page; exceptions arrive in order."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for page in pages:
                while not stop.is_set():
                    try:
                        box.put(("page", page), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            box.put(("error", exc))

    worker = threading.Thread(target=produce, name="harness-data-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield from value
    finally:
        stop.set()
        while worker.is_alive():  # drain so a blocked put returns, then let the thread end
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        worker.join()


# --- the source: the legacy PostgreSQL ----------------------------------------------------------------

# collection -> (table, child lists: (table, key column, order column) attached under the child table's name)
SOURCE_TABLES: dict[str, tuple[str, tuple[tuple[str, str, str], ...]]] = {
    "campaigns": ("campaigns", ()),
    "characters": (
        "characters",
        (("inventory_items", "character_id", "position"), ("character_spells", "character_id", "position")),
    ),
}

_TS = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
_WEIGHT = "CASE WHEN scale(trim_scale(i.weight_lb)) = 0 THEN round(i.weight_lb, 1) ELSE trim_scale(i.weight_lb) END"
# The storage document each source record becomes in the reference migration, built inside PostgreSQL, so that
# "id:md5(document)" checksums can be computed on the source exactly as the Storage Service computes them.
STORAGE_FORM_SQL = {
    "campaigns": "SELECT c.id, jsonb_build_object('name', c.title, 'dungeonMaster', c.dm_name, 'setting', c.setting,"
    f" 'status', c.status, 'createdAt', {_TS.format('c.created_at')}, 'updatedAt', {_TS.format('c.updated_at')})"
    " AS doc FROM campaigns c",
    "characters": "SELECT c.id, jsonb_build_object('ownerId', c.owner_id, 'name', c.char_name, 'race', c.race,"
    " 'characterClass', c.char_class, 'level', c.level, 'abilityScores', jsonb_build_object('strength', c.str_score,"
    " 'dexterity', c.dex_score, 'constitution', c.con_score, 'intelligence', c.int_score, 'wisdom', c.wis_score,"
    " 'charisma', c.cha_score), 'hitPoints', c.hp, 'alignment', c.alignment, 'background', c.background,"
    " 'campaignId', c.campaign_id::text,"
    " 'inventory', coalesce((SELECT jsonb_agg(jsonb_build_object('name', i.item_name, 'quantity', i.quantity,"
    f" 'weight', {_WEIGHT}, 'equipped', i.equipped) ORDER BY i.position) FROM inventory_items i"
    " WHERE i.character_id = c.id), '[]'::jsonb),"
    " 'spells', coalesce((SELECT jsonb_agg(jsonb_build_object('name', s.spell_name, 'level', s.spell_level,"
    " 'prepared', s.prepared) ORDER BY s.position) FROM character_spells s WHERE s.character_id = c.id), '[]'::jsonb),"
    f" 'createdAt', {_TS.format('c.created_at')}, 'updatedAt', {_TS.format('c.updated_at')}) AS doc FROM characters c",
}


def _range(column: str, start: str | None, end: str | None, after: str | None) -> tuple[sql.Composable, list[Any]]:
    """A WHERE clause for [start, end) and "after the last key read", written out so indexes are used."""
    clauses: list[sql.Composable] = []
    params: list[Any] = []
    ident = sql.SQL(column)
    for op, value in ((">=", start), ("<", end), (">", after)):
        if value is not None:
            clauses.append(sql.SQL("{} {} %s::uuid").format(ident, sql.SQL(op)))
            params.append(value)
    if not clauses:
        return sql.SQL("TRUE"), params
    return sql.SQL(" AND ").join(clauses), params


class SourceReader:
    side = "source"

    def __init__(self, dsn: str, *, page_size: int = 2000, retries: int = 3, connect_timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.page_size = page_size
        self.retries = retries
        self.connect_timeout = connect_timeout
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._connect()

    def _connect(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self.dsn, autocommit=True, row_factory=dict_row, connect_timeout=max(1, int(self.connect_timeout))
                )
                # a query that hangs becomes a read failure instead of a hung check
                self._conn.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_S * 1000)}")
            except psycopg.OperationalError as exc:
                raise TargetUnreachable(
                    f"cannot connect to the source PostgreSQL at {redact(self.dsn)} ({_first_line(exc)}); "
                    "check [targets.X.source] dsn"
                ) from None
        return self._conn

    def _reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def query(self, collection: str, after: str | None, query: sql.Composed, params: list[Any]) -> list[Any]:
        def fetch() -> list[Any]:
            try:
                conn = self._connect()
            except TargetUnreachable as exc:  # mid-stream: a read failure like any other
                raise psycopg.OperationalError(str(exc)) from None
            return list(conn.execute(query, params).fetchall())

        try:
            return _retrying(
                self.side,
                collection,
                after,
                self.retries,
                (psycopg.OperationalError, psycopg.InterfaceError),
                fetch,
                self._reset,
            )
        except psycopg.errors.UndefinedTable:
            raise ConfigError(
                f"the source database has no table for {collection!r}; is [targets.X.source] dsn the legacy database?"
            ) from None
        except psycopg.Error as exc:  # permissions, a different schema: what to fix, in one line
            raise HarnessError(f"reading {collection} from the source failed: {_first_line(exc)}") from None

    def close(self) -> None:
        self._reset()

    def _table(self, collection: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
        if collection not in SOURCE_TABLES:
            raise ConfigError(f"unknown collection {collection!r}; collections are {', '.join(SOURCE_TABLES)}")
        return SOURCE_TABLES[collection]

    def pages(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[list[RawRecord]]:
        table, children = self._table(collection)
        after: str | None = None
        while True:
            where, params = _range("id", start, end, after)
            query = sql.SQL("SELECT * FROM {} WHERE {} ORDER BY id LIMIT %s").format(sql.Identifier(table), where)
            rows = self.query(collection, after, query, [*params, self.page_size])
            if not rows:
                return
            ids = [row["id"] for row in rows]
            for child, key, order in children:
                grouped: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
                child_query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s) ORDER BY {}, {}").format(
                    sql.Identifier(child), sql.Identifier(key), sql.Identifier(key), sql.Identifier(order)
                )
                for item in self.query(collection, after, child_query, [ids]):
                    owner = item.pop(key)
                    del item[order]  # the list order carries it
                    grouped[owner].append(item)
                for row in rows:
                    row[child] = grouped[row["id"]]
            yield [(str(row["id"]), row) for row in rows]
            if len(rows) < self.page_size:
                return
            after = str(ids[-1])

    def read(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[RawRecord]:
        return prefetched(self.pages(collection, start, end))

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        self._table(collection)
        where, params = _range("id", start, end, None)
        query = sql.SQL(
            "SELECT count(*) AS count, md5(coalesce(string_agg(id::text || ':' || md5(doc::text), ',' ORDER BY id),"
            " '')) AS checksum FROM ({}) AS d WHERE {}"
        ).format(sql.SQL(STORAGE_FORM_SQL[collection]), where)
        row = self.query(collection, start, query, params)[0]
        return Summary(int(row["count"]), row["checksum"])

    def count(self, collection: str) -> int:
        table, _ = self._table(collection)
        query = sql.SQL("SELECT count(*) AS count FROM {}").format(sql.Identifier(table))
        return int(self.query(collection, None, query, [])[0]["count"])


# --- the destination: the Storage Service -----------------------------------------------------------


class _Transient(Exception):
    """A 5xx or 429 answer: worth another attempt."""


class DestinationReader:
    side = "destination"

    def __init__(
        self,
        url: str,
        database: str,
        *,
        page_size: int = 2000,
        retries: int = 3,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        token: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.page_size = min(page_size, 5000)  # the contract's maximum
        self.retries = retries
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0))
        if token:  # the harness's read token ([targets.X.destination] token)
            self.client.headers["Authorization"] = f"Bearer {token}"
        try:
            self.client.get(f"{self.url}/health")
        except httpx.TransportError as exc:
            self.close()
            raise TargetUnreachable(
                f"cannot reach the Storage Service at {redact(self.url)} ({_first_line(exc)}); "
                "check [targets.X.destination] url"
            ) from None

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _get(self, collection: str, after: str | None, path: str, params: dict[str, Any]) -> Any:
        url = f"{self.url}/databases/{self.database}/collections/{collection}/{path}"

        def fetch() -> Any:
            response = self.client.get(url, params={k: v for k, v in params.items() if v is not None})
            if response.status_code >= 500 or response.status_code == 429:
                raise _Transient(f"HTTP {response.status_code} from {path}")
            if response.status_code == 404:
                raise ConfigError(
                    f"the Storage Service has no collection {self.database}/{collection}; "
                    "check [targets.X.destination] database"
                )
            if response.status_code != 200:
                raise HarnessError(
                    f"the Storage Service answered {response.status_code} to {path}: {response.text[:200]}"
                )
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise HarnessError(
                    f"{redact(self.url)} did not answer {path} with a JSON object; "
                    "is [targets.X.destination] url the Storage Service?"
                )
            return body

        return _retrying(
            self.side, collection, after, self.retries, (httpx.TransportError, _Transient), fetch, lambda: None
        )

    def pages(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[list[RawRecord]]:
        # ``after`` is exclusive: start just before ``start`` and drop the few ids below it
        after = start[:-1] if start else None
        while True:
            body = self._get(collection, after, "records", {"after": after, "limit": self.page_size})
            page: list[RawRecord] = []
            for item in body["items"]:
                key = item["id"]
                if start is not None and key < start:
                    continue
                if end is not None and key >= end:
                    yield page
                    return
                page.append((key, {**item["document"], "id": key, "version": item["version"]}))
            yield page
            after = body.get("next_after")
            if after is None:
                return

    def read(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[RawRecord]:
        return prefetched(self.pages(collection, start, end))

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        body = self._get(collection, start, "summary", {"start": start, "end": end})
        return Summary(int(body["count"]), str(body["checksum"]))
