"""Record the HTTP exchanges of a test, so a failure can show exactly what was sent and received, with secrets
masked."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..redaction import redact, redact_headers

MAX_BODY = 4000


def _body(content: bytes) -> Any:
    text = content[:MAX_BODY].decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return redact(text) + ("…" if len(content) > MAX_BODY else "")


@dataclass
class ExchangeLog:
    exchanges: list[dict[str, Any]] = field(default_factory=list)

    def on_response(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        self.exchanges.append(
            {
                "request": {
                    "method": request.method,
                    "url": redact(str(request.url)),
                    "headers": redact_headers(dict(request.headers)),
                    "body": _body(request.content),
                },
                "response": {
                    "status": response.status_code,
                    "headers": redact_headers(dict(response.headers)),
                    "body": _body(response.content),
                    "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 1),
                },
            }
        )

    def to_json(self) -> str:
        return json.dumps(self.exchanges[-20:], indent=2, ensure_ascii=False)
