"""The storage client's resilience against a real loopback HTTP server that misbehaves on purpose."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from reference_system.storage_client import CircuitBreaker, HttpStorageClient, StorageUnavailable

RECORD = {"id": "a", "version": 1, "document": {"name": "x"}}


class FlakyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), FlakyHandler)
        self.failures_left = 0
        self.requests: list[str] = []


class FlakyHandler(BaseHTTPRequestHandler):
    server: FlakyServer

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.server.requests.append(self.command)
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        body: dict[str, object]
        if self.server.failures_left > 0:
            self.server.failures_left -= 1
            status, body = 503, {"title": "down"}
        else:
            status, body = 200, RECORD
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_DELETE = _answer


@pytest.fixture
def server() -> Iterator[FlakyServer]:
    srv = FlakyServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(url: str, **kwargs: object) -> HttpStorageClient:
    return HttpStorageClient(url, backoff=0.001, **kwargs)  # type: ignore[arg-type]


def test_reads_are_retried(server: FlakyServer) -> None:
    server.failures_left = 2
    retries = []
    client = _client(f"http://127.0.0.1:{server.server_port}")
    client.hooks.on_retry = lambda: retries.append(1)
    assert client.get("characters", "a") is not None
    assert server.requests == ["GET", "GET", "GET"] and len(retries) == 2


def test_writes_are_not_retried(server: FlakyServer) -> None:
    server.failures_left = 1
    client = _client(f"http://127.0.0.1:{server.server_port}")
    with pytest.raises(StorageUnavailable):
        client.put("characters", "a", {"name": "x"})
    assert server.requests == ["PUT"]


def test_cache_hits_and_invalidation_on_write(server: FlakyServer) -> None:
    client = _client(f"http://127.0.0.1:{server.server_port}")
    client.get("characters", "a")
    client.get("characters", "a")
    assert server.requests == ["GET"] and client.cache.stats()["hits"] == 1
    client.put("characters", "a", {"name": "y"})
    client.get("characters", "a")
    assert server.requests == ["GET", "PUT", "GET"]


def test_stale_cache_fault_keeps_old_reads(server: FlakyServer) -> None:
    client = _client(f"http://127.0.0.1:{server.server_port}", invalidate_on_write=False)
    client.get("characters", "a")
    client.put("characters", "a", {"name": "y"})
    client.get("characters", "a")
    assert server.requests == ["GET", "PUT"]


def test_breaker_opens_fails_fast_and_recovers(server: FlakyServer) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=0.2)
    client = _client(f"http://127.0.0.1:{server.server_port}", breaker=breaker, max_attempts=1)
    server.failures_left = 2
    for _ in range(2):
        with pytest.raises(StorageUnavailable):
            client.get("characters", "a")
    assert breaker.state == "open"
    with pytest.raises(StorageUnavailable, match="circuit open"):
        client.get("characters", "b")
    assert len(server.requests) == 2  # the open circuit sent nothing
    time.sleep(0.25)
    assert breaker.state == "half-open"
    assert client.get("characters", "c") is not None
    assert breaker.state == "closed"


def test_unreachable_service_fails_within_the_deadline() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = HttpStorageClient(f"http://127.0.0.1:{port}", deadline=1.0)
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        client.get("characters", "a")
    assert time.monotonic() - started < 1.5
    assert client.health()["status"] == "unreachable"
