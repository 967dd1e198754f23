"""Post-deploy smoke: health, key read paths, error rate and the guide's metrics; read-only."""

from __future__ import annotations

from typing import Any

import httpx

from harness.contracts import violations

GUIDE_METRICS = (
    "character_service_requests_total",
    "character_service_errors_total",
    "character_service_request_duration_seconds_bucket",
    "character_service_cache_hits_total",
    "character_service_cache_misses_total",
)
ERROR_RATE_LIMIT = 0.01  # contracts/alert-rules.yaml, HighErrorRate
ERROR_RATE_SAMPLE = 100


def test_health(client: httpx.Client, backend: str) -> None:
    response = client.get("/health")
    assert response.status_code == 200, f"/health answered {response.status_code}: {response.text[:300]}"
    health = response.json()
    assert health["status"] == "ok"
    assert health["backend"] == backend, f"the {backend} deployment reports backend {health['backend']!r}"
    if backend == "storage":
        assert health["storage_service"]["status"] == "ok", f"Storage Service: {health['storage_service']}"


def test_list_characters(client: httpx.Client) -> None:
    response = client.get("/characters", params={"limit": 10})
    assert response.status_code == 200, response.text[:300]
    page = response.json()
    assert violations(page, "CharacterPage") == []
    assert page["items"], "no characters listed"


def test_read_seeded_characters(client: httpx.Client, seeded: dict[str, Any]) -> None:
    for known in seeded["characters"][:5]:
        response = client.get(f"/characters/{known['id']}")
        assert response.status_code == 200, f"{known['id']}: {response.status_code}"
        assert violations(response.json(), "Character") == []


def test_campaign_roster(client: httpx.Client, seeded: dict[str, Any]) -> None:
    campaign_id = seeded["campaign_with_members"]
    assert client.get(f"/campaigns/{campaign_id}").status_code == 200
    roster = client.get(f"/campaigns/{campaign_id}/characters", params={"limit": 50})
    assert roster.status_code == 200
    members = roster.json()["items"]
    assert members and all(m["campaign_id"] == campaign_id for m in members)


def test_error_rate_within_alert_threshold(client: httpx.Client) -> None:
    """A short burst of reads must stay under the HighErrorRate threshold (1%)."""
    statuses = [client.get("/characters", params={"limit": 1}).status_code for _ in range(ERROR_RATE_SAMPLE)]
    errors = sum(1 for s in statuses if s >= 500)
    assert errors / ERROR_RATE_SAMPLE <= ERROR_RATE_LIMIT, (
        f"{errors} of {ERROR_RATE_SAMPLE} reads failed ({errors / ERROR_RATE_SAMPLE:.0%} > {ERROR_RATE_LIMIT:.0%})"
    )


def test_guide_metrics_exported(client: httpx.Client) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    missing = [name for name in GUIDE_METRICS if name not in response.text]
    assert missing == [], f"metrics not exported: {missing}"
