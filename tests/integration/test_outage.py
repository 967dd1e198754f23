"""A Storage Service outage: the storage backend answers 503 fast, says degraded, and recovers by itself."""

from __future__ import annotations

import time

import httpx

from harness.embedded import EmbeddedStack


def test_outage_is_fast_degraded_and_recovers(stack_handle: EmbeddedStack) -> None:
    info = stack_handle.info
    assert info is not None
    # read through the legacy backend, so the storage backend has not cached it
    some_id = httpx.get(f"{info.legacy_url}/characters?limit=1").json()["items"][0]["id"]
    stack_handle.stop_storage_service()
    try:
        with httpx.Client(base_url=info.storage_url, timeout=10) as client:
            for path in ("/characters?limit=5", f"/characters/{some_id}", "/campaigns"):
                started = time.monotonic()
                response = client.get(path)
                elapsed = time.monotonic() - started
                assert response.status_code == 503, (path, response.status_code)
                assert response.headers["content-type"] == "application/problem+json"
                assert elapsed < 2.0, f"{path} took {elapsed:.2f} s"
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "degraded"
            assert health.json()["storage_service"]["status"] == "unreachable"
            # the legacy backend does not depend on the Storage Service
            assert httpx.get(f"{info.legacy_url}/health").status_code == 200
    finally:
        stack_handle.start_storage_service()
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        status = httpx.get(f"{info.storage_url}/characters?limit=1").status_code
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200, "the storage backend did not recover after the Storage Service returned"
    assert httpx.get(f"{info.storage_url}/health").json()["status"] == "ok"
