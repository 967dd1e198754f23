"""Post-deploy smoke: health, key read paths, error rate and the guide's metrics; read-only.

Metrics: every backend exports request, error and latency metrics; the cache hit/miss counters belong to the
storage backend's Storage Service client (the legacy backend has no cache). Names a deployment uses differently
are declared in ``[targets.X.suites] metrics`` and ``storage_metrics``."""

from __future__ import annotations

from typing import Any

import httpx

from harness.config import Target
from harness.contracts import violations
from harness.load.latency import exposition_names

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


def test_guide_metrics_exported(client: httpx.Client, target: Target, backend: str) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    wanted = [*target.suites.metrics, *(target.suites.storage_metrics if backend == "storage" else ())]
    names = exposition_names(response.text)
    missing = [name for name in wanted if name not in names]
    assert missing == [], f"{backend} does not export {missing} ([targets.X.suites] metrics / storage_metrics)"
