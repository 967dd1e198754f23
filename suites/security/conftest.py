from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.config import Target
from harness.http_client import new_client
from harness.pytest_plugin import EXCHANGES
from harness.pytest_plugin.exchanges import ExchangeLog
from harness.security import StorageProbe


@pytest.fixture
def storage_probe(request: pytest.FixtureRequest, target: Target) -> Iterator[StorageProbe]:
    """Requests to the target's destination database, with no credential of their own; exchanges recorded for
    the report (Authorization masked)."""
    if target.destination is None:
        pytest.skip(f"target {target.name!r} has no [targets.{target.name}.destination] url to probe")
    log = ExchangeLog()
    request.node.stash[EXCHANGES] = log
    with new_client(timeout=target.timeouts.httpx(), event_hooks={"response": [log.on_response]}) as http:
        yield StorageProbe(http, target.destination.url, target.destination.database, target.security.collection)


@pytest.fixture
def record_id(storage_probe: StorageProbe, target: Target) -> str:
    """A record the conditional writes aim at (they never apply): read with the harness's own tokens."""
    assert target.destination is not None
    return storage_probe.some_record_id([target.destination.token, target.security.read_token])
