"""A small control API on loopback for a running stack, so that other processes (pytest-xdist workers, an
operator rehearsing an outage) can stop and restart the Storage Service of a stack they do not own.

GET  /stack                  the stack's description (JSON), without its tokens and passwords
POST /storage-service/stop   stop the Storage Service (an outage)
POST /storage-service/start  start it again on the same port and wait until it is healthy
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from ..errors import HarnessError

if TYPE_CHECKING:
    from .stack import EmbeddedStack


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stack: EmbeddedStack) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stack = stack
        self._thread = threading.Thread(target=self.serve_forever, name="stack-control", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: ControlServer

    def log_message(self, *args: object) -> None:  # keep the launcher's output clean
        pass

    def _reply(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/stack":
            info = self.server.stack.info
            self._reply(200, info.public() if info is not None else {"error": "the stack is not running"})
        else:
            self._reply(404, {"error": "unknown path; use /stack"})

    def do_POST(self) -> None:
        actions = {
            "/storage-service/stop": self.server.stack.stop_storage_service,
            "/storage-service/start": self.server.stack.start_storage_service,
        }
        action = actions.get(self.path)
        if action is None:
            self._reply(404, {"error": f"unknown action; use one of {', '.join(actions)}"})
            return
        try:
            action()
        except HarnessError as exc:
            self._reply(409, {"error": str(exc)})
            return
        self._reply(200, {"ok": True})
