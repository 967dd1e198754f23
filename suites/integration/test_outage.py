"""Storage Service outage on the local target: the storage backend answers 503 fast, says degraded, recovers."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from harness.embedded import EmbeddedStack

pytestmark = [pytest.mark.local_only, pytest.mark.slow]  # a stack of its own
ANSWER_WITHIN_S = 2.0
RECOVER_WITHIN_S = 15.0


@pytest.fixture(scope="module")
def outage_stack() -> Iterator[EmbeddedStack]:
    """A private stack: stopping the shared one's Storage Service would fail tests running beside this one."""
    stack = EmbeddedStack(characters=10, seed=9)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def test_storage_outage_and_recovery(outage_stack: EmbeddedStack) -> None:
    info = outage_stack.info
    assert info is not None
    outage_stack.stop_storage_service()
    try:
        with httpx.Client(base_url=info.storage_url, timeout=10) as client:
            for path in ("/characters", "/campaigns"):
                started = time.monotonic()
                response = client.get(path)
                assert response.status_code == 503, f"{path}: {response.status_code}"
                assert time.monotonic() - started < ANSWER_WITHIN_S, f"{path} hung during the outage"
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["status"] == "degraded"
    finally:
        outage_stack.start_storage_service()
    deadline = time.monotonic() + RECOVER_WITHIN_S
    status = 0
    while time.monotonic() < deadline and status != 200:
        status = httpx.get(f"{info.storage_url}/characters?limit=1", timeout=5).status_code
        time.sleep(0.2)
    assert status == 200, f"no recovery within {RECOVER_WITHIN_S:.0f} s of the Storage Service returning"
    assert httpx.get(f"{info.storage_url}/health", timeout=5).json()["status"] == "ok"
