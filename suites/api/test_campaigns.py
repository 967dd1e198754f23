"""Campaigns: create, read, replace, patch, delete, listing (its pages and a campaign's roster in pages) and
concurrency."""

from __future__ import annotations

import uuid

import httpx
import pytest

from harness.config import Target
from harness.contracts import violations
from harness.pytest_plugin.synthetic import SyntheticRecords, campaign_body

from .pages import assert_pages_agree
from .problems import problem

pytestmark = pytest.mark.writes


def test_campaign_crud(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    sent = campaign_body(setting="Eberron")
    created = synthetic.campaign(**sent)
    assert violations(created, "Campaign") == []
    assert {k: created.get(k) for k in sent} == sent, "the created campaign is not the one sent"
    assert client.get(f"/campaigns/{created['id']}").json() == created
    body = campaign_body(name=created["name"], status="active")
    del body["setting"]  # PUT replaces: an omitted optional field does not keep its old value
    replaced = client.put(f"/campaigns/{created['id']}", json=body)
    assert replaced.status_code == 200 and replaced.json()["status"] == "active"
    assert replaced.json()["setting"] != "Eberron", "PUT kept a field the body left out"
    patched = client.patch(f"/campaigns/{created['id']}", json={"setting": "Ravenloft"}).json()
    assert (patched["setting"], patched["status"]) == ("Ravenloft", "active")
    assert patched["version"] > replaced.json()["version"] > created["version"]
    assert client.delete(f"/campaigns/{created['id']}").status_code == 204
    assert client.get(f"/campaigns/{created['id']}").status_code == 404


def test_campaign_concurrency(client: httpx.Client, target: Target, synthetic: SyntheticRecords) -> None:
    created = synthetic.campaign()
    path, first = f"/campaigns/{created['id']}", f'"{created["version"]}"'
    assert client.patch(path, json={"status": "active"}, headers={"If-Match": first}).status_code == 200
    problem(client.patch(path, json={"status": "archived"}, headers={"If-Match": first}), 412, target.suites)
    problem(client.put(path, json=campaign_body(version=created["version"])), 409, target.suites)


@pytest.mark.parametrize("status", ["cancelled", ""])
def test_invalid_campaign_is_422(client: httpx.Client, target: Target, status: str) -> None:
    problem(client.post("/campaigns", json=campaign_body(status=status)), 422, target.suites)


def test_unknown_campaign_is_404(client: httpx.Client, target: Target) -> None:
    problem(client.get(f"/campaigns/{uuid.uuid4()}"), 404, target.suites)
    problem(client.get(f"/campaigns/{uuid.uuid4()}/characters"), 404, target.suites)


def test_campaign_listing_conforms(client: httpx.Client) -> None:
    page = client.get("/campaigns", params={"limit": 5}).json()
    assert violations(page, "CampaignPage") == []
    ids = [c["id"] for c in page["items"]]
    assert ids == sorted(ids)


def test_campaign_pagination_skips_and_repeats_nothing(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    made = {synthetic.campaign()["id"] for _ in range(5)}  # pages of 2 cross several page boundaries
    seen = assert_pages_agree(client, "/campaigns", small=2, schema="CampaignPage", item_path="/campaigns/{}")
    assert seen, "no campaigns listed"
    missing = {i for i in made if i <= seen[-1]} - set(seen)
    assert missing == set(), f"campaigns created for this test are not listed: {sorted(missing)}"


def test_roster_pages_skip_and_repeat_nothing(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    party = sorted(synthetic.character(campaign_id=campaign["id"])["id"] for _ in range(4))
    path = f"/campaigns/{campaign['id']}/characters"
    seen = assert_pages_agree(client, path, small=1, schema="CharacterPage", item_path="/characters/{}")
    assert seen == party, f"the roster in pages of 1 is {seen}, the campaign holds {party}"
