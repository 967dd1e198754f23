"""The harness's httpx clients share one verifying TLS context (httpx would parse the CA bundle for each)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from harness.config.model import Backend, Target
from harness.http_client import new_client, tls_context


def _context_of(client: httpx.Client) -> Any:
    return client._transport._pool._ssl_context  # type: ignore[attr-defined]


def test_clients_share_one_verifying_context() -> None:
    with new_client(timeout=1) as first, new_client(base_url="https://example.test") as second:
        assert _context_of(first) is _context_of(second) is tls_context()
    assert tls_context().verify_mode == ssl.CERT_REQUIRED and tls_context().check_hostname


def test_a_caller_that_asks_for_other_verification_gets_it() -> None:
    with new_client(verify=False) as client:
        assert _context_of(client) is not tls_context()
        assert _context_of(client).verify_mode == ssl.CERT_NONE
    assert tls_context().verify_mode == ssl.CERT_REQUIRED  # the shared one is untouched


def test_a_targets_client_uses_the_shared_context() -> None:
    target = Target(name="t", environment="dev", backends={"legacy": Backend(name="legacy", url="http://127.0.0.1:9")})
    with target.client("legacy") as client:
        assert _context_of(client) is tls_context()
