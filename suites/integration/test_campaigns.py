"""Campaign life cycles: create campaigns, add characters, list them, move one, delete a campaign with members."""

from __future__ import annotations

import httpx
import pytest

from harness.pytest_plugin.synthetic import SyntheticRecords, character_body

pytestmark = pytest.mark.writes


def _roster(client: httpx.Client, campaign_id: str) -> set[str]:
    response = client.get(f"/campaigns/{campaign_id}/characters", params={"limit": 200})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


def test_campaign_life_cycle(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    keep = synthetic.campaign(name="[harness-synthetic] Curse of Strahd")
    other = synthetic.campaign(name="[harness-synthetic] Tomb of Annihilation")
    party = [synthetic.character(campaign_id=keep["id"])["id"] for _ in range(3)]
    assert _roster(client, keep["id"]) == set(party)
    assert _roster(client, other["id"]) == set()

    # move one character to the other campaign
    moved = client.patch(f"/characters/{party[0]}", json={"campaign_id": other["id"]})
    assert moved.status_code == 200 and moved.json()["campaign_id"] == other["id"]
    assert _roster(client, keep["id"]) == set(party[1:])
    assert _roster(client, other["id"]) == {party[0]}

    # a campaign with members is not deleted, and nothing is lost trying
    refused = client.delete(f"/campaigns/{keep['id']}")
    assert refused.status_code == 409 and refused.headers["content-type"].startswith("application/problem+json")
    assert _roster(client, keep["id"]) == set(party[1:])

    # leaving the campaign empties it; then it can go, and it is gone
    for character_id in party[1:]:
        assert client.patch(f"/characters/{character_id}", json={"campaign_id": None}).status_code == 200
    assert client.delete(f"/campaigns/{keep['id']}").status_code == 204
    assert client.get(f"/campaigns/{keep['id']}").status_code == 404
    assert client.get(f"/campaigns/{keep['id']}/characters").status_code == 404
    # and no character can join a campaign that is gone
    assert client.post("/characters", json=character_body(campaign_id=keep["id"])).status_code == 409
    assert client.get(f"/characters/{party[1]}").json()["campaign_id"] is None


def test_roster_agrees_with_the_campaign_filter(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    ids = {synthetic.character(campaign_id=campaign["id"])["id"] for _ in range(2)}
    filtered = client.get("/characters", params={"campaign_id": campaign["id"]}).json()["items"]
    assert {c["id"] for c in filtered} == ids == _roster(client, campaign["id"])
