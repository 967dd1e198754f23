"""Both sides of the migration, streamed in key order in bounded memory, page by page.

- ``SourceReader``: the legacy PostgreSQL through its DSN, each collection as its declared mapping says
  (``mapping.CollectionMapping``). Keyset pages (``key > last ORDER BY key LIMIT n``) over the declared query (its
  documents) or table (its rows; each child table's rows for the whole page in one query, attached as lists in
  ``order``).
- ``DestinationReader``: the Storage Service's id-ordered ``records`` listing with ``after``, of each
  collection's ``destination`` name.

Both read ``[start, end)`` key ranges, give per-range counts and checksums (``summary``; the source's computed
in PostgreSQL over the declared query, as the Storage Service computes its own), retry a failed page read
(``retries`` attempts with backoff, resuming after the last key read), and raise ``ReadFailure`` when it
persists. Key order is the same on both sides: the Storage Service orders ids with the "C" collation (bytes),
and the source orders keys by the bytes of their text form (``CollectionMapping.key_order``); a source key out
of that order stops the read with a one-line error instead of inventing missing and extra records. A
background thread fetches the next page while the caller works on the current one (one page ahead).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, overload
from urllib.parse import quote

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row
from psycopg.types.json import set_json_loads

from ..errors import ConfigError, HarnessError, TargetUnreachable
from ..http_client import new_client
from ..redaction import redact
from .mapping import DESTINATION_FORM, CollectionMapping
from .settings import REFERENCE_MAPPING


def _json_decoder() -> tuple[Callable[[str | bytes], Any], tuple[type[Exception], ...]]:
    """msgspec's decoder (about twice as fast as the standard library on the records' JSON, see
    bench/data_compare.py), or the standard library's where an older environment lacks it (same results)."""
    try:
        import msgspec
    except ImportError:
        return json.loads, (ValueError,)
    return msgspec.json.decode, (msgspec.DecodeError, ValueError)


decode_json, JSON_ERRORS = _json_decoder()
RawRecord = tuple[str, dict[str, Any]]
T = TypeVar("T")
P = TypeVar("P")
BACKOFF = (0.2, 0.5, 1.0, 2.0)  # seconds before retries 1, 2, 3, 4+
DIGEST_PAGE = 10_000  # record digests per source query (small rows)
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

    def checksum_form(self, collection: str) -> str:
        """What the checksums are over: readers whose forms are equal give comparable checksums."""
        ...

    def read(
        self, collection: str, start: str | None = None, end: str | None = None, expected: int | None = None
    ) -> Iterator[RawRecord]:
        """[start, end) in key order; ``expected``: how many records the range held when it was summarised (a
        hint for the size of the first page, never a limit)."""
        ...

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary: ...
    def fetch(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]: ...
    def close(self) -> None: ...


OWN_FIELD = "(document) {}"  # a document's own field named like the record's id or version
BIGINT = (-(2**63), 2**63 - 1)  # the range of the source's integer keys (compared as bigint)


def _is_key(text: str, key_type: str) -> bool:
    """Whether ``text`` can be a source key of this type (one that cannot is not there: no query is sent)."""
    if key_type == "integer":
        digits = text[1:] if text.startswith("-") else text
        return digits.isascii() and digits.isdigit() and BIGINT[0] <= int(text) <= BIGINT[1]
    if key_type == "uuid":
        try:
            uuid.UUID(text)
        except ValueError:
            return False
    return True


def identified(document: dict[str, Any], key: str, version: Any, versioned: bool) -> dict[str, Any]:
    """A record as both sides' readers give it: its document, completed in place with its key as ``id`` and,
    when the mapping declares versions, its version as ``version``. A document field of either name that holds
    something else is data of its own: kept, as ``(document) id`` / ``(document) version``, so it is compared
    rather than overwritten."""
    own = document.get("id", key)
    if own != key:
        document[OWN_FIELD.format("id")] = own
    document["id"] = key
    if versioned:
        if "version" in document and document["version"] != version:
            document[OWN_FIELD.format("version")] = document["version"]
        document["version"] = version
    return document


def digest_checksum(digests: Iterable[tuple[str, str]]) -> str:
    """md5 of "key:digest" joined by "," in key order (what ``SourceReader.versioned_summary`` computes in SQL)."""
    return hashlib.md5(",".join(f"{k}:{d}" for k, d in digests).encode()).hexdigest()


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


@overload
def prefetched(pages: Iterator[list[T]]) -> Iterator[T]: ...


@overload
def prefetched(pages: Iterator[P], finish: Callable[[P], list[T]]) -> Iterator[T]: ...


def prefetched(pages: Iterator[Any], finish: Callable[[Any], list[T]] | None = None) -> Iterator[T]:
    """Yield the items of ``pages`` while a thread fetches the next page; exceptions arrive in order.
    ``finish``: applied to each page in the consuming thread (decoding there lets the fetching thread send the
    next query at once, so the server builds the next page meanwhile)."""
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
            yield from (value if finish is None else finish(value))
    finally:
        stop.set()
        while worker.is_alive():  # drain so a blocked put returns, then let the thread end
            with contextlib.suppress(queue.Empty):
                box.get(timeout=0.1)
        worker.join()


# --- the source: the legacy PostgreSQL ----------------------------------------------------------------


def embedded(query: str) -> sql.Composable:
    """A declared query inside a statement that also takes parameters: a literal ``%`` must be doubled, and it
    ends with a line break, so a comment on its last line does not swallow what the statement adds after it."""
    return sql.SQL(query.replace("%", "%%") + "\n")


class SourceReader:
    """The declared source of each collection (``mapping``; default: the reference's layout) in key order."""

    side = "source"

    def __init__(
        self,
        dsn: str,
        *,
        mapping: Mapping[str, CollectionMapping] | None = None,
        page_size: int = 2000,
        retries: int = 3,
        connect_timeout: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.mapping = mapping if mapping is not None else REFERENCE_MAPPING
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
                set_json_loads(decode_json, self._conn)  # the declared queries' documents
            except psycopg.OperationalError as exc:
                raise TargetUnreachable(
                    f"cannot connect to the source PostgreSQL at {redact(self.dsn)} ({_first_line(exc)}); "
                    "check [targets.X.source] dsn"
                ) from None
        return self._conn

    def sibling(self) -> SourceReader:
        """A reader of the same source and mapping on a connection of its own, for a thread that reads beside
        this one (a connection serves one query at a time); the caller closes it."""
        other = copy.copy(self)
        other._conn = None
        return other

    def _reset(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None

    def query(
        self,
        collection: str,
        after: str | None,
        query: sql.Composed | sql.SQL,
        params: list[Any],
        *,
        tuples: bool = False,
    ) -> list[Any]:
        """The rows of ``query``, retried on connection failures; ``tuples``: rows as tuples, not dicts."""

        def fetch() -> list[Any]:
            try:
                conn = self._connect()
            except TargetUnreachable as exc:  # mid-stream: a read failure like any other
                raise psycopg.OperationalError(str(exc)) from None
            with conn.cursor(row_factory=tuple_row) if tuples else conn.cursor() as cursor:
                return list(cursor.execute(query, params).fetchall())

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
        except psycopg.errors.UndefinedTable as exc:
            raise ConfigError(
                f"the source database has no table for {collection!r} ({_first_line(exc)}); is [targets.X.source]"
                f" dsn the legacy database, and compare.collections.{collection} its layout?"
            ) from None
        except (psycopg.errors.UndefinedColumn, psycopg.errors.UndefinedFunction, psycopg.errors.SyntaxError) as exc:
            raise ConfigError(
                f"compare.collections.{collection}: the source query failed ({_first_line(exc)}); a query must"
                " return the columns key and document, and key_type must match the key's SQL type"
            ) from None
        except psycopg.Error as exc:  # permissions, a different schema: what to fix, in one line
            raise HarnessError(f"reading {collection} from the source failed: {_first_line(exc)}") from None

    def close(self) -> None:
        self._reset()

    def _mapping(self, collection: str) -> CollectionMapping:
        if collection not in self.mapping:
            raise ConfigError(f"unknown collection {collection!r}; collections are {', '.join(self.mapping)}")
        return self.mapping[collection]

    def relation(self, collection: str) -> tuple[CollectionMapping, sql.Composable, sql.Composable]:
        """The collection's records as a relation with ``key``, ``document`` (and ``version``), and its key."""
        m = self._mapping(collection)
        return m, sql.SQL("({}) AS q").format(embedded(m.source_query())), sql.SQL("q.key")

    def pages(
        self, collection: str, start: str | None = None, end: str | None = None, keys: Sequence[str] | None = None
    ) -> Iterator[list[RawRecord]]:
        """Pages of [start, end) in key order; ``keys``: only the records with these keys."""
        finish = self._finisher(collection)
        for rows in self._row_pages(collection, start, end, keys):
            yield finish(rows)

    def _row_pages(
        self, collection: str, start: str | None, end: str | None, keys: Sequence[str] | None = None
    ) -> Iterator[list[Any]]:
        """The rows of ``pages`` (``_finisher`` makes records of them): a table's as dicts; a declared query's as
        ``(key, document[, version])`` tuples of text, which PostgreSQL converts (the key) and psycopg hands over
        without a Python call per value, so the documents are decoded once, in the consuming thread."""
        m = self._mapping(collection)
        if m.table is not None:
            relation: sql.Composable = sql.SQL("{} AS t").format(sql.Identifier(m.table))
            key: sql.Composable = sql.SQL("t.{}").format(sql.Identifier(m.key))
            columns: sql.Composable = sql.SQL("*")
        else:
            _, relation, key = self.relation(collection)
            version = sql.SQL(", q.{}").format(sql.Identifier(m.version)) if m.version else sql.SQL("")
            columns = sql.SQL("q.key::text, q.document::text{}").format(version)
        after: str | None = None
        while True:
            where, params = m.range_clause(key, start, end, after)
            if keys is not None:
                array = {"uuid": "uuid[]", "text": "text[]", "integer": "bigint[]"}[m.key_type]
                where = sql.SQL("{} AND {} = ANY(%s::{})").format(where, key, sql.SQL(array))
                params.append(list(keys))
            query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT %s").format(
                columns, relation, where, m.key_order(key)
            )
            rows = self.query(collection, after, query, [*params, self.page_size], tuples=m.table is None)
            if not rows:
                return
            if m.table is not None and m.children:
                ids = [row[m.key] for row in rows]
                for child in m.children:
                    order = sql.SQL(", {}").format(sql.Identifier(child.order)) if child.order else sql.SQL("")
                    child_query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s) ORDER BY {}{}").format(
                        sql.Identifier(child.table), sql.Identifier(child.join), sql.Identifier(child.join), order
                    )
                    grouped: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
                    for item in self.query(collection, after, child_query, [ids]):
                        owner = item.pop(child.join)
                        if child.order:
                            del item[child.order]  # the list order carries it
                        grouped.setdefault(owner, []).append(item)
                    for row in rows:
                        row[child.field] = grouped[row[m.key]]
            yield rows
            if len(rows) < self.page_size:
                return
            after = rows[-1][0] if m.table is None else str(rows[-1][m.key])

    def _finisher(self, collection: str) -> Callable[[list[Any]], list[RawRecord]]:
        """Makes the records of one stream's row pages, in order: decodes a declared query's documents and checks
        that the keys rise across pages."""
        m = self._mapping(collection)
        last: str | None = None
        versioned = m.version is not None

        def in_order(record_key: str | None) -> str:
            nonlocal last
            if record_key is None:
                raise ConfigError(f"compare.collections.{collection}: the source returned a record with a null key")
            if last is not None and record_key < last:
                raise ConfigError(
                    f"compare.collections.{collection}: the source's keys are not in byte order ({record_key!r}"
                    f" after {last!r}); declare key_type as the key's SQL type (uuid, text or integer)"
                )
            last = record_key
            return record_key

        def finish_rows(rows: list[dict[str, Any]]) -> list[RawRecord]:
            page: list[RawRecord] = []
            for row in rows:
                value = row.pop(m.key)
                record_key = in_order(None if value is None else str(value))
                version = row.pop(m.version, None) if m.version is not None else None
                page.append((record_key, identified(row, record_key, version, versioned)))
            return page

        def finish_documents(rows: list[tuple[Any, ...]]) -> list[RawRecord]:
            page: list[RawRecord] = []
            for row in rows:
                record_key = in_order(row[0])
                try:
                    document = decode_json(row[1]) if row[1] is not None else None
                except JSON_ERRORS:
                    document = None
                if not isinstance(document, dict):
                    raise ConfigError(
                        f"compare.collections.{collection}: the query's document for key {record_key!r} is not"
                        " a JSON object"
                    )
                # the decoded document is this record's own: completed in place rather than copied
                page.append((record_key, identified(document, record_key, row[2] if versioned else None, versioned)))
            return page

        return finish_rows if m.table is not None else finish_documents

    def read(
        self, collection: str, start: str | None = None, end: str | None = None, expected: int | None = None
    ) -> Iterator[RawRecord]:
        # its queries end at ``end``: no hint needed; the records are made in the consuming thread
        return prefetched(self._row_pages(collection, start, end), self._finisher(collection))

    def fetch(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records with these keys, as ``read`` gives them (a key not found is left out)."""
        key_type = self._mapping(collection).key_type
        possible = [k for k in keys if _is_key(k, key_type)]  # a key of the wrong form cannot be there
        if not possible:
            return {}
        return {key: raw for page in self.pages(collection, keys=possible) for key, raw in page}

    def checksum_form(self, collection: str) -> str:
        return self._mapping(collection).source_checksum_form

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        """Count and checksum of [start, end) as the Storage Service computes its own ("key:md5(document)"
        joined by "," in key order)."""
        return self._summary(collection, start, end, versioned=False)

    def versioned_summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        """Count and checksum over the record digests (``digests``: version included), in PostgreSQL."""
        return self._summary(collection, start, end, versioned=True)

    def versions_in_checksums(self, collection: str) -> bool:
        return True  # computed here, in SQL

    def _summarised(
        self, collection: str, start: str | None, end: str | None, versioned: bool
    ) -> tuple[CollectionMapping, sql.Composable, sql.Composable, sql.Composable, list[Any]]:
        """What a summary of [start, end) is over: the mapping, "relation WHERE range", the key, the item each
        record adds (md5 of "version:document" when ``versioned``, else of the document), the range's parameters."""
        m, relation, key = self.relation(collection)
        where, params = m.range_clause(key, start, end, None)
        item = self._digest(m) if versioned else sql.SQL("md5(q.document::jsonb::text)")
        return m, sql.SQL("{} WHERE {}").format(relation, where), key, item, params

    def _summary(self, collection: str, start: str | None, end: str | None, *, versioned: bool) -> Summary:
        m, source, key, item, params = self._summarised(collection, start, end, versioned)
        query = sql.SQL(
            "SELECT count(*) AS count, md5(coalesce(string_agg({}::text || ':' || {}, ',' ORDER BY {}), ''))"
            " AS checksum FROM {}"
        ).format(key, item, m.key_order(key), source)
        row = self.query(collection, start, query, params)[0]
        return Summary(int(row["count"]), row["checksum"])

    @staticmethod
    def _digest(m: CollectionMapping) -> sql.Composable:
        """md5 of "version:document" in SQL (the version empty when the mapping declares none)."""
        version = sql.SQL("q.{}::text").format(sql.Identifier(m.version_column)) if m.version else sql.SQL("''")
        return sql.SQL("md5(coalesce({}, '') || ':' || q.document::jsonb::text)").format(version)

    def digests(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[tuple[str, str]]:
        """``(key, md5 of "version:document")`` in key order, computed in PostgreSQL, page by page."""
        m, relation, key = self.relation(collection)

        def pages() -> Iterator[list[tuple[str, str]]]:
            after: str | None = None
            while True:
                where, params = m.range_clause(key, start, end, after)
                query = sql.SQL("SELECT {}::text AS key, {} AS digest FROM {} WHERE {} ORDER BY {} LIMIT %s").format(
                    key, self._digest(m), relation, where, m.key_order(key)
                )
                rows = self.query(collection, after, query, [*params, DIGEST_PAGE])
                yield [(row["key"], row["digest"]) for row in rows]
                if len(rows) < DIGEST_PAGE:
                    return
                after = rows[-1]["key"]

        return prefetched(pages())

    def summary_items(
        self, collection: str, start: str | None, end: str | None, *, versioned: bool, limit: int
    ) -> tuple[list[str], list[str]] | None:
        """The keys and items, in key order, that ``summary`` (``versioned_summary`` when ``versioned``) hashes
        as "key:item" joined by ",", in one query (two arrays: no per-row cost), so the summaries of every
        sub-range can be computed from one read (``held_range``); None when [start, end) holds more than
        ``limit`` records."""
        m, source, key, item, params = self._summarised(collection, start, end, versioned)
        # aggregated in the order the sorted sub-query gives them (an ordered aggregate would sort them again);
        # the caller checks the order
        query = sql.SQL(
            "SELECT coalesce(array_agg(k), '{{}}') AS keys, coalesce(array_agg(i), '{{}}') AS items"
            " FROM (SELECT {}::text AS k, {} AS i FROM {} ORDER BY {} LIMIT %s) AS held"
        ).format(key, item, source, m.key_order(key))
        row = self.query(collection, start, query, [*params, limit + 1])[0]
        keys, items = list(row["keys"]), list(row["items"])
        return None if len(keys) > limit else (keys, items)

    def cut_points(self, collection: str, start: str | None, end: str | None, parts: int) -> list[str]:
        """Keys that cut the source's records in [start, end) into ``parts`` runs of about equal size."""
        m, relation, key = self.relation(collection)
        where, params = m.range_clause(key, start, end, None)
        query = sql.SQL(
            "SELECT k FROM (SELECT {}::text AS k, row_number() OVER (ORDER BY {}) AS rn, count(*) OVER () AS n"
            " FROM {} WHERE {}) AS ranked WHERE rn > 1 AND mod(rn - 1, greatest(1, ceil(n::numeric / %s)::int)) = 0"
            " ORDER BY rn"
        ).format(key, m.key_order(key), relation, where)
        return [row["k"] for row in self.query(collection, start, query, [*params, parts])]

    def count(self, collection: str) -> int:
        m = self._mapping(collection)
        if m.table is not None:
            relation: sql.Composable = sql.Identifier(m.table)
        else:
            relation = self.relation(collection)[1]
        query = sql.SQL("SELECT count(*) AS count FROM {}").format(relation)
        return int(self.query(collection, None, query, [])[0]["count"])


# --- the destination: the Storage Service -----------------------------------------------------------


class _Transient(Exception):
    """A 5xx or 429 answer: worth another attempt."""


class DestinationReader:
    """The Storage Service's collections of the mapping (default: the reference's), by their destination names.

    ``headers`` go with every request (e.g. ``Authorization`` when the Storage Service requires a token)."""

    side = "destination"

    def __init__(
        self,
        url: str,
        database: str,
        *,
        mapping: Mapping[str, CollectionMapping] | None = None,
        page_size: int = 2000,
        retries: int = 3,
        client: httpx.Client | None = None,
        timeout: float = 30.0,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.mapping = mapping if mapping is not None else REFERENCE_MAPPING
        self.page_size = min(page_size, 5000)  # the contract's maximum
        self.retries = retries
        self.headers = dict(headers or {})
        self._versioned: dict[str, bool] = {}
        self._own_client = client is None
        self.client = client or new_client(timeout=httpx.Timeout(timeout, connect=5.0))
        try:
            self.client.get(f"{self.url}/health", headers=self.headers)
        except httpx.TransportError as exc:
            self.close()
            raise TargetUnreachable(
                f"cannot reach the Storage Service at {redact(self.url)} ({_first_line(exc)}); "
                "check [targets.X.destination] url"
            ) from None

    def collection_name(self, collection: str) -> str:
        """The destination's name for a collection of the mapping (a name not in the mapping: itself)."""
        m = self.mapping.get(collection)
        return m.destination if m is not None else collection

    def checksum_form(self, collection: str) -> str:
        return DESTINATION_FORM

    def _versioned_ids(self, collection: str) -> bool:
        """Whether records carry their version: where the mapping declares one (else the source has none to
        hold it against, and a document field named ``version`` is plain data)."""
        m = self.mapping.get(collection)
        return m is None or m.version is not None

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def _get(self, collection: str, after: str | None, path: str, params: dict[str, Any]) -> Any:
        name = self.collection_name(collection)
        url = f"{self.url}/databases/{self.database}/collections/{name}/{path}"

        def fetch() -> Any:
            query = {k: v for k, v in params.items() if v is not None}
            with self.client.stream("GET", url, params=query, headers=self.headers) as response:
                # The body is joined here instead of kept by the response (``.content``): an httpx Response
                # sits in a reference cycle, so it and every 2 MB page it held stayed until a full GC pass
                # (the compare's memory grew by ~80 MB per 100,000 records).
                content = b"".join(response.iter_bytes())
                status = response.status_code
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status} from {path}")
            if status == 404:
                raise ConfigError(
                    f"the Storage Service has no collection {self.database}/{name}; check [targets.X.destination]"
                    f" database and compare.collections.{collection}.destination"
                )
            if status != 200:
                text = content[:400].decode("utf-8", errors="replace")[:200]
                raise HarnessError(f"the Storage Service answered {status} to {path}: {text}")
            try:
                body = decode_json(content)
            except JSON_ERRORS:
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

    def items(
        self, collection: str, start: str | None = None, end: str | None = None, expected: int | None = None
    ) -> Iterator[list[Any]]:
        """Pages of the listing's items (``id``, ``version``, ``document``) with ids in [start, end).
        The listing has no end bound, so a page runs past ``end``: with ``expected`` (the range's count from its
        summary) the first page asks for that many and one more (past the end: the range is complete), instead of
        a whole page of records beyond the range (5 times the range, for a bisected range of 400)."""
        # ``after`` is exclusive: start just before ``start`` and drop the few ids below it
        after = start[:-1] if start else None
        limit = self.page_size if expected is None else max(1, min(self.page_size, expected + 1))
        while True:
            body = self._get(collection, after, "records", {"after": after, "limit": limit})
            limit = self.page_size
            last = body["items"][-1]["id"] if body["items"] else None
            following = body.get("next_after")
            # keyset pagination moves forward: a page that does not (the first page again, a next_after at or
            # before the key asked after) would be read forever, its records as duplicates
            if after is not None and (
                (last is not None and last <= after) or (following is not None and following <= after)
            ):
                raise ReadFailure(
                    self.side, collection, after, f"the listing did not move past {after!r} (next_after {following!r})"
                )
            page: list[Any] = []
            for item in body["items"]:
                key = item["id"]
                if start is not None and key < start:
                    continue
                if end is not None and key >= end:
                    yield page
                    return
                page.append(item)
            yield page
            if following is None:
                return
            after = following

    def fetch(self, collection: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The records with these keys, as ``read`` gives them, one request each (404: not there)."""
        found: dict[str, dict[str, Any]] = {}
        base = f"{self.url}/databases/{self.database}/collections/{self.collection_name(collection)}/records"
        for key in keys:

            def get(key: str = key) -> httpx.Response:
                # a key is one path segment whatever it holds ("a/../b", "a?x" must not name another record)
                response = self.client.get(f"{base}/{quote(key, safe='')}", headers=self.headers)
                if response.status_code >= 500 or response.status_code == 429:
                    raise _Transient(f"HTTP {response.status_code} from records/{key}")
                return response

            response = _retrying(
                self.side, collection, key, self.retries, (httpx.TransportError, _Transient), get, lambda: None
            )
            if response.status_code == 200:
                item = response.json()
                found[key] = identified(item["document"], item["id"], item["version"], self._versioned_ids(collection))
            elif response.status_code != 404:
                raise HarnessError(f"the Storage Service answered {response.status_code} to records/{key}")
        return found

    def pages(
        self, collection: str, start: str | None = None, end: str | None = None, expected: int | None = None
    ) -> Iterator[list[RawRecord]]:
        versioned = self._versioned_ids(collection)
        for items in self.items(collection, start, end, expected):
            page: list[RawRecord] = []
            for item in items:
                # decoded for this page alone: completed in place, not copied
                page.append((item["id"], identified(item["document"], item["id"], item["version"], versioned)))
            yield page

    def digests(self, collection: str, start: str | None = None, end: str | None = None) -> Iterator[tuple[str, str]]:
        """``(key, md5 of "version:document")`` in key order (the document as sorted, compact JSON)."""
        for i in prefetched(self.items(collection, start, end)):
            text = json.dumps(i["document"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            yield i["id"], hashlib.md5(f"{i['version']}:{text}".encode()).hexdigest()

    def read(
        self, collection: str, start: str | None = None, end: str | None = None, expected: int | None = None
    ) -> Iterator[RawRecord]:
        return prefetched(self.pages(collection, start, end, expected))

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        body = self._get(collection, start, "summary", {"start": start, "end": end})
        return Summary(int(body["count"]), str(body["checksum"]))

    def versioned_summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        """Over the record digests (version included): the Storage Service's ``summary?versions=true`` where it
        has it (its answer says so), else the records are streamed and digested here."""
        if self.versions_in_checksums(collection):
            body = self._get(collection, start, "summary", {"start": start, "end": end, "versions": "true"})
            return Summary(int(body["count"]), str(body["checksum"]))
        digests = list(self.digests(collection, start, end))
        return Summary(len(digests), digest_checksum(digests))

    def versions_in_checksums(self, collection: str) -> bool:
        """Whether the service's range summary covers versions: asked once per collection, over an empty range."""
        if collection not in self._versioned:
            body = self._get(collection, None, "summary", {"start": "~", "end": "~~", "versions": "true"})
            self._versioned[collection] = body.get("versions") is True
        return self._versioned[collection]
