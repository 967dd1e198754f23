"""A failing case as one reproducible line: the curl command for the exact request, secrets masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..redaction import redact, redact_headers


def curl_line(case: Any, base_url: str, headers: Mapping[str, str] | None = None) -> str:
    """``case`` is a schemathesis ``Case``; ``headers`` are the extra headers the request was sent with (auth):
    their secret values are masked before they are rendered, and passwords in URLs after."""
    masked = redact_headers(dict(headers or {}))
    return redact(case.as_curl_command(headers=masked, base_url=base_url))
