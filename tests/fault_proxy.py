"""A fault the reference does not have, put in front of one of its services: a small loopback HTTP proxy that
forwards every request to the service and lets a fault function change the request or the answer on the way.

The harness then sees a deployment whose backend (or Storage Service) misbehaves in a way of the test's choosing,
described to it by a targets file that names the proxy's URL instead of the service's."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"})
OWN_HEADERS = frozenset({"date", "server"})  # the proxy's answer has its own (two Date headers would be one bad one)


@dataclass
class Exchange:
    """One request on its way through the proxy; a fault may change any of it (the answer's fields are filled
    after the request was forwarded)."""

    method: str
    path: str  # without the query
    query: str
    body: bytes
    headers: dict[str, str]
    status: int = 0
    answer_headers: dict[str, str] = field(default_factory=dict)
    answer: bytes = b""

    def json_body(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def json_answer(self) -> Any:
        try:
            return json.loads(self.answer)
        except ValueError:
            return None


@dataclass(frozen=True)
class Fault:
    """``before`` changes the request before it is forwarded, ``after`` the answer before it is returned."""

    before: Callable[[Exchange], None] = lambda exchange: None
    after: Callable[[Exchange], None] = lambda exchange: None


@contextmanager
def fault_proxy(upstream: str, fault: Fault) -> Iterator[str]:
    """A proxy on a free loopback port in front of ``upstream`` (a base URL), yielding the proxy's base URL with
    the upstream's path prefix. Stopped at the end."""
    base = httpx.URL(upstream)
    client = httpx.Client(base_url=f"{base.scheme}://{base.host}:{base.port}", timeout=30)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # the headers and the body go out as two writes: with Nagle's algorithm the body waited for the client's
        # delayed ACK, ~40 ms an answer on loopback
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            path, _, query = self.path.partition("?")
            exchange = Exchange(
                method=self.command,
                path=path,
                query=query,
                body=self.rfile.read(length) if length else b"",
                headers={k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            fault.before(exchange)
            target = exchange.path + (f"?{exchange.query}" if exchange.query else "")
            try:
                response = client.request(exchange.method, target, content=exchange.body, headers=exchange.headers)
                exchange.status, exchange.answer = response.status_code, response.content
                exchange.answer_headers = {
                    k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP | OWN_HEADERS
                }
            except httpx.HTTPError as exc:
                exchange.status, exchange.answer, exchange.answer_headers = 502, str(exc).encode(), {}
            fault.after(exchange)
            self.send_response(exchange.status)
            for name, value in exchange.answer_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(exchange.answer)))
            self.end_headers()
            self.wfile.write(exchange.answer)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):  # every method, TRACE and the like too: the service answers them
                return self._forward
            raise AttributeError(name)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{base.path.rstrip('/')}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        client.close()


def rewrite_json_body(exchange: Exchange, change: Callable[[Any], Any]) -> None:
    """Replace the request's JSON body by ``change(body)`` (a body that is not JSON is left as it is)."""
    body = exchange.json_body()
    if body is not None:
        exchange.body = json.dumps(change(body)).encode()


def rewrite_json_answer(exchange: Exchange, change: Callable[[Any], Any]) -> None:
    body = exchange.json_answer()
    if body is not None:
        exchange.answer = json.dumps(change(body)).encode()
