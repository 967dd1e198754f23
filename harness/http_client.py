"""The harness's httpx clients. httpx builds a new TLS context for every ``Client`` (certifi's CA bundle parsed:
about 30 ms of CPU, 400 times the rest of the client) even when every URL is plain http; the harness makes
clients per test, per probe and per cleanup, so they share one context, made on first use (honouring
``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` as httpx does). A caller that needs other verification passes ``verify``."""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process's one verifying TLS context (never given a client certificate, so it can be shared)."""
    return httpx.create_ssl_context()


def new_client(**kwargs: Any) -> httpx.Client:
    """``httpx.Client(**kwargs)``, with the shared TLS context unless ``verify`` is given."""
    kwargs.setdefault("verify", tls_context())
    return httpx.Client(**kwargs)
