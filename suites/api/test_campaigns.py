"""Campaigns: create, read, replace, patch, delete, listing and concurrency."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.contracts import violations
from harness.pytest_plugin.synthetic import SyntheticRecords, campaign_body

pytestmark = pytest.mark.writes


def test_campaign_crud(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.campaign(setting="Eberron")
    assert violations(created, "Campaign") == []
    assert client.get(f"/campaigns/{created['id']}").json() == created
    body = campaign_body(name=created["name"], status="active")
    del body["setting"]  # PUT replaces: an omitted optional field goes back to its default
    replaced = client.put(f"/campaigns/{created['id']}", json=body)
    assert replaced.status_code == 200 and replaced.json()["status"] == "active" and replaced.json()["setting"] == ""
    patched = client.patch(f"/campaigns/{created['id']}", json={"setting": "Ravenloft"}).json()
    assert (patched["setting"], patched["status"], patched["version"]) == ("Ravenloft", "active", 3)
    assert client.delete(f"/campaigns/{created['id']}").status_code == 204
    assert client.get(f"/campaigns/{created['id']}").status_code == 404


def test_campaign_concurrency(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.campaign()
    assert (
        client.patch(f"/campaigns/{created['id']}", json={"status": "active"}, headers={"If-Match": '"1"'}).status_code
        == 200
    )
    assert (
        client.patch(
            f"/campaigns/{created['id']}", json={"status": "archived"}, headers={"If-Match": '"1"'}
        ).status_code
        == 412
    )
    assert client.put(f"/campaigns/{created['id']}", json=campaign_body(version=1)).status_code == 409


@pytest.mark.parametrize("status", ["cancelled", ""])
def test_invalid_campaign_is_422(client: httpx.Client, status: str) -> None:
    assert client.post("/campaigns", json=campaign_body(status=status)).status_code == 422


def test_unknown_campaign_is_404(client: httpx.Client) -> None:
    assert client.get(f"/campaigns/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/campaigns/{uuid.uuid4()}/characters").status_code == 404


def test_campaign_listing_conforms(client: httpx.Client) -> None:
    page = client.get("/campaigns", params={"limit": 5}).json()
    assert violations(page, "CampaignPage") == []
    ids = [c["id"] for c in page["items"]]
    assert ids == sorted(ids)
