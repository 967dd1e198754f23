"""Fail a run early and once when its target does not answer: every backend's ``/health`` is asked in parallel,
and the whole probe is bounded well under 15 s."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from ..config import Target
from ..errors import TargetUnreachable
from ..http_client import new_client
from ..redaction import redact

PROBE_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def _probe(target: Target, backend: str) -> str | None:
    url = f"{target.backends[backend].url}/health"
    try:
        with new_client(timeout=PROBE_TIMEOUT, headers=target.auth.headers()) as http:
            http.get(url)  # any HTTP answer (even 503 degraded) means the service is there
    except httpx.HTTPError as exc:
        return (
            f"target {target.name!r}: {redact(url)} did not answer ({type(exc).__name__}); check "
            f"targets.{target.name}.backends.{backend}.url or that the service runs"
        )
    return None


def probe_target(target: Target, backends: tuple[str, ...]) -> None:
    if not backends:
        raise TargetUnreachable(
            f"target {target.name!r} defines none of the selected backends; "
            f"add [targets.{target.name}.backends.legacy] or .storage with a url"
        )
    with ThreadPoolExecutor(max_workers=len(backends)) as pool:
        problems = [p for p in pool.map(lambda b: _probe(target, b), backends) if p]
    if problems:
        raise TargetUnreachable(problems[0])
