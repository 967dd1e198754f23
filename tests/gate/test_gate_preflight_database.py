"""``preflight.character_db``: the Storage Service answers ``GET /databases/character_db`` with that database. Any
200 passed: a destination URL of some other server answering every path (a catch-all page) "provisioned"
character_db. A loopback stub answers; no stack."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config.loader import load_config
from harness.gate import preflight
from harness.gate.context import QUICK, GateContext, GateOptions
from harness.verdict import CheckResult, Outcome


class _Server:
    """Answers every GET with 200 and ``self.body`` (``self.content_type``)."""

    def __init__(self) -> None:
        self.body = ""
        self.content_type = "application/json"
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = owner.body.encode()
                self.send_response(200)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[_Server]:
    s = _Server()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.server.server_close()


def _check(tmp_path: Path, server: _Server, body: str, content_type: str = "application/json") -> CheckResult:
    server.body, server.content_type = body, content_type
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{server.url}"\n'
        f'[targets.t.destination]\nurl = "{server.url}"\ndatabase = "character_db"\n',
        encoding="utf-8",
    )
    target = load_config(config).targets["t"]
    ctx = GateContext(GateOptions(), QUICK, target, False, config, "t", tmp_path, tmp_path)
    return preflight.database_provisioned(ctx)


def test_the_database_named_passes(tmp_path: Path, server: _Server) -> None:
    result = _check(tmp_path, server, '{"name": "character_db", "collections": ["campaigns", "characters"]}')
    assert result.outcome is Outcome.PASS, result.summary


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        ("<html><body>Welcome</body></html>", "text/html", "not a JSON object"),
        ('{"status": "ok"}', "application/json", "is a required property"),
        ('{"name": "other_db", "collections": []}', "application/json", "name 'other_db'"),
    ],
)
def test_a_200_that_is_not_the_database_cannot_decide(
    tmp_path: Path, server: _Server, body: str, content_type: str, why: str
) -> None:
    result = _check(tmp_path, server, body, content_type)
    assert result.outcome is Outcome.INCONCLUSIVE, result.summary
    assert why in result.summary and "is [targets.t.destination] url the Storage Service?" in result.summary
