"""The Character Service's client of the Storage Service (the guide's "Phase 1: Storage Client Implementation").

``StoragePort`` is the interface the storage repository depends on. ``HttpStorageClient`` implements it with:

- timeouts on every call and an overall deadline, so an outage answers fast instead of hanging;
- retries with exponential backoff and jitter on idempotent reads only (a retried write could apply twice);
- a circuit breaker: after ``failure_threshold`` consecutive failures calls fail at once for ``reset_timeout``
  seconds, then one trial call decides whether to close it again;
- a read cache of single records with hit/miss counters, invalidated explicitly on every write.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Record:
    id: str
    version: int
    document: dict[str, Any]


class StorageError(Exception):
    pass


class StorageUnavailable(StorageError):
    """The Storage Service did not answer, answered 5xx, or the circuit is open."""


class StorageConflict(StorageError):
    """A version precondition failed (412)."""


class StoragePort(Protocol):
    def health(self) -> dict[str, Any]: ...
    def get(self, collection: str, record_id: str) -> Record | None: ...
    def put(
        self,
        collection: str,
        record_id: str,
        document: dict[str, Any],
        *,
        if_match: int | None = None,
        create_only: bool = False,
    ) -> Record: ...
    def delete(self, collection: str, record_id: str, *, if_match: int | None = None) -> bool: ...
    def list_records(
        self, collection: str, *, after: str | None, limit: int, match: dict[str, Any] | None = None
    ) -> tuple[list[Record], str | None]: ...
    def batch_upsert(self, collection: str, records: list[Record]) -> int: ...
    def ensure_collections(self, *collections: str) -> None: ...


class CircuitBreaker:
    CLOSED, HALF_OPEN, OPEN = "closed", "half-open", "open"

    def __init__(
        self, failure_threshold: int = 5, reset_timeout: float = 2.0, on_change: Callable[[str], None] | None = None
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._failures = 0
        self._opened_at = 0.0
        self._state = self.CLOSED
        self._trial_running = False
        self._lock = threading.Lock()
        self._on_change = on_change

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == self.OPEN and time.monotonic() - self._opened_at >= self.reset_timeout:
                return self.HALF_OPEN
            return self._state

    def _set(self, state: str) -> None:
        if state != self._state:
            self._state = state
            if self._on_change:
                self._on_change(state)

    def allow(self) -> bool:
        with self._lock:
            if self._state == self.CLOSED:
                return True
            if time.monotonic() - self._opened_at >= self.reset_timeout and not self._trial_running:
                self._trial_running = True
                self._set(self.HALF_OPEN)
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._failures = 0
            self._trial_running = False
            self._set(self.CLOSED)

    def failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._trial_running or self._failures >= self.failure_threshold:
                self._opened_at = time.monotonic()
                self._trial_running = False
                self._set(self.OPEN)

    def reset(self) -> None:
        self.success()


class ReadCache:
    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: OrderedDict[tuple[str, str], Record] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, str]) -> Record | None:
        with self._lock:
            record = self._entries.get(key)
            if record is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return record

    def put(self, key: tuple[str, str], record: Record) -> None:
        with self._lock:
            self._entries[key] = record
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def invalidate(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._entries), "hits": self.hits, "misses": self.misses}


@dataclass
class ClientHooks:
    """Callbacks for metrics; the client itself knows nothing of Prometheus."""

    on_retry: Callable[[], None] = lambda: None
    on_cache_hit: Callable[[], None] = lambda: None
    on_cache_miss: Callable[[], None] = lambda: None
    on_breaker_change: Callable[[str], None] = lambda state: None


class HttpStorageClient:
    def __init__(
        self,
        base_url: str,
        database: str = "character_db",
        *,
        token: str | None = None,
        connect_timeout: float = 0.5,
        read_timeout: float = 1.0,
        deadline: float = 1.5,
        max_attempts: int = 3,
        backoff: float = 0.05,
        breaker: CircuitBreaker | None = None,
        cache: ReadCache | None = None,
        invalidate_on_write: bool = True,
        hooks: ClientHooks | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database = database
        self._timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._deadline = deadline
        self._max_attempts = max_attempts
        self._backoff = backoff
        self.hooks = hooks or ClientHooks()
        self.breaker = breaker or CircuitBreaker(on_change=lambda state: self.hooks.on_breaker_change(state))
        self.cache = cache or ReadCache()
        self._invalidate_on_write = invalidate_on_write
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=self._timeout,
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"Authorization": f"Bearer {token}"} if token else None,
        )

    def close(self) -> None:
        self._http.close()

    def _path(self, collection: str, *rest: str) -> str:
        return "/".join([f"/databases/{self.database}/collections/{collection}", *rest])

    def _send(self, method: str, path: str, *, idempotent: bool, **kwargs: Any) -> httpx.Response:
        if not self.breaker.allow():
            raise StorageUnavailable("circuit open")
        give_up_at = time.monotonic() + self._deadline
        attempts = self._max_attempts if idempotent else 1
        last: Exception | None = None
        for attempt in range(attempts):
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                break
            if attempt:
                self.hooks.on_retry()
            try:
                timeout = httpx.Timeout(
                    min(self._timeout.read or remaining, remaining),
                    connect=min(self._timeout.connect or remaining, remaining),
                )
                response = self._http.request(method, path, timeout=timeout, **kwargs)
                if response.status_code < 500:
                    self.breaker.success()
                    return response
                last = StorageUnavailable(f"Storage Service answered {response.status_code}")
            except httpx.TransportError as exc:
                last = StorageUnavailable(f"Storage Service unreachable: {type(exc).__name__}")
            if attempt + 1 < attempts:
                pause = self._backoff * (2**attempt) * (0.5 + random.random())
                time.sleep(max(0.0, min(pause, give_up_at - time.monotonic())))
        self.breaker.failure()
        raise last or StorageUnavailable("Storage Service deadline exceeded")

    @staticmethod
    def _record(data: dict[str, Any]) -> Record:
        return Record(id=data["id"], version=data["version"], document=data["document"])

    @staticmethod
    def _raise_for(response: httpx.Response) -> None:
        if response.status_code == 412:
            raise StorageConflict(response.text)
        if response.status_code >= 400:
            raise StorageError(f"Storage Service answered {response.status_code}: {response.text[:200]}")

    # --- StoragePort ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Probe the Storage Service directly (not through the breaker) so that recovery is seen at once."""
        try:
            response = self._http.get("/health", timeout=httpx.Timeout(0.5))
        except httpx.TransportError as exc:
            return {"status": "unreachable", "detail": type(exc).__name__}
        status = "ok" if response.status_code == 200 else "degraded"
        return {"status": status, "detail": f"HTTP {response.status_code}"}

    def get(self, collection: str, record_id: str) -> Record | None:
        key = (collection, record_id)
        cached = self.cache.get(key)
        if cached is not None:
            self.hooks.on_cache_hit()
            return cached
        self.hooks.on_cache_miss()
        response = self._send("GET", self._path(collection, "records", record_id), idempotent=True)
        if response.status_code == 404:
            return None
        self._raise_for(response)
        record = self._record(response.json())
        self.cache.put(key, record)
        return record

    def _invalidate(self, collection: str, record_id: str) -> None:
        if self._invalidate_on_write:
            self.cache.invalidate((collection, record_id))

    def put(
        self,
        collection: str,
        record_id: str,
        document: dict[str, Any],
        *,
        if_match: int | None = None,
        create_only: bool = False,
    ) -> Record:
        headers = {}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if create_only:
            headers["If-None-Match"] = "*"
        self._invalidate(collection, record_id)
        response = self._send(
            "PUT", self._path(collection, "records", record_id), idempotent=False, json=document, headers=headers
        )
        self._raise_for(response)
        return self._record(response.json())

    def delete(self, collection: str, record_id: str, *, if_match: int | None = None) -> bool:
        headers = {"If-Match": f'"{if_match}"'} if if_match is not None else {}
        self._invalidate(collection, record_id)
        response = self._send("DELETE", self._path(collection, "records", record_id), idempotent=False, headers=headers)
        if response.status_code == 404:
            return False
        self._raise_for(response)
        return True

    def list_records(
        self, collection: str, *, after: str | None, limit: int, match: dict[str, Any] | None = None
    ) -> tuple[list[Record], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        if match:
            params["match"] = json.dumps(match, separators=(",", ":"))
        response = self._send("GET", self._path(collection, "records"), idempotent=True, params=params)
        self._raise_for(response)
        data = response.json()
        return [self._record(r) for r in data["items"]], data["next_after"]

    def batch_upsert(self, collection: str, records: list[Record]) -> int:
        for r in records:
            self._invalidate(collection, r.id)
        body = {"records": [{"id": r.id, "version": r.version, "document": r.document} for r in records]}
        response = self._send("POST", self._path(collection, "batch"), idempotent=False, json=body)
        self._raise_for(response)
        return int(response.json()["upserted"])

    def ensure_collections(self, *collections: str) -> None:
        response = self._send("PUT", f"/databases/{self.database}", idempotent=False)
        self._raise_for(response)
        for collection in collections:
            self._raise_for(self._send("PUT", self._path(collection), idempotent=False))
