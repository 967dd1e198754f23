"""The embedded default serves the same seeded data on both backends, and each names its backend."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.embedded import StackInfo


def _all(url: str, path: str = "/characters") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(1000):
            params: dict[str, Any] = {"limit": 37}
            if cursor:
                params["cursor"] = cursor
            page = client.get(path, params=params).raise_for_status().json()
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items
    raise AssertionError("pagination did not end")


def test_both_backends_serve_the_same_seeded_characters(stack: StackInfo) -> None:
    legacy, storage = _all(stack.legacy_url), _all(stack.storage_url)
    assert len(legacy) == stack.characters
    assert legacy == storage
    assert [c["id"] for c in legacy] == sorted(c["id"] for c in legacy)
    assert _all(stack.legacy_url, "/campaigns") == _all(stack.storage_url, "/campaigns")


@pytest.mark.parametrize("backend", ["legacy", "storage"])
def test_health_names_the_backend(stack: StackInfo, backend: str) -> None:
    url = stack.legacy_url if backend == "legacy" else stack.storage_url
    health = httpx.get(f"{url}/health").json()
    assert health["backend"] == backend and health["status"] == "ok"
    if backend == "storage":
        assert health["storage_service"]["status"] == "ok"


@pytest.mark.parametrize("backend", ["legacy", "storage"])
def test_crud_round_trip_and_metrics(stack: StackInfo, backend: str) -> None:
    url = stack.legacy_url if backend == "legacy" else stack.storage_url
    with httpx.Client(base_url=url, timeout=10) as client:
        campaign = client.post("/campaigns", json={"name": "Test", "dungeon_master": "dm", "status": "active"}).json()
        body = {
            "owner": "tester",
            "name": "Round Trip",
            "race": "gnome",
            "class": "bard",
            "level": 3,
            "abilities": dict.fromkeys(
                ["strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"], 12
            ),
            "hit_points": 20,
            "alignment": "neutral",
            "campaign_id": campaign["id"],
            "inventory": [{"name": "Lute", "quantity": 1, "weight": 2.004, "equipped": True}],
        }
        created = client.post("/characters", json=body)
        assert created.status_code == 201, created.text
        character = created.json()
        assert character["inventory"][0]["weight"] == 2.0 and character["version"] == 1
        assert client.get(f"/characters/{character['id']}").json() == character
        patched = client.patch(
            f"/characters/{character['id']}",
            json={"level": 4},
            headers={"If-Match": '"1"', "Content-Type": "application/merge-patch+json"},
        )
        assert patched.status_code == 200 and patched.json()["level"] == 4 and patched.json()["version"] == 2
        stale = client.patch(f"/characters/{character['id']}", json={"level": 5}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
        in_use = client.delete(f"/campaigns/{campaign['id']}")
        assert in_use.status_code == 409
        assert client.delete(f"/characters/{character['id']}").status_code == 204
        assert client.get(f"/characters/{character['id']}").status_code == 404
        assert client.delete(f"/campaigns/{campaign['id']}").status_code == 204
        invalid = client.post("/characters", json={**body, "level": 21})
        assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "level"
        metrics = client.get("/metrics").text
    for name in (
        "character_service_requests_total",
        "character_service_errors_total",
        "character_service_request_duration_seconds_bucket",
        "character_service_cache_hits_total",
        "character_service_storage_retries_total",
        "character_service_storage_circuit_state",
    ):
        assert name in metrics
    assert f'character_service_backend_info{{backend="{backend}"}} 1.0' in metrics
