"""A loopback HTTP server that answers every GET 200 with one settable body: a deployment's part reduced to
the answer a test wants the harness to read (a catch-all page, a namespaced /metrics, a bare JSON document)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class FixedAnswer:
    url: str
    body: str = ""
    content_type: str = "application/json"


@contextmanager
def fixed_answer_server(content_type: str = "application/json") -> Iterator[FixedAnswer]:
    """Yields the server's answer (``url``; set ``body`` and ``content_type`` before each request); stopped at
    the end."""
    answer = FixedAnswer(url="", content_type=content_type)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = answer.body.encode()
            self.send_response(200)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    answer.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield answer
    finally:
        server.shutdown()
        server.server_close()
