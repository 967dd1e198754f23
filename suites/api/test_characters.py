"""Characters: create, read, replace, patch, delete, filters, pagination and optimistic concurrency."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from harness.contracts import violations
from harness.pytest_plugin.synthetic import SYNTHETIC_OWNER, SyntheticRecords, character_body

pytestmark = pytest.mark.writes
MAX_PAGES = 60  # bounded walk: enough for the local target, a sample of a big one


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert violations(body, "Problem") == []
    return body


def test_create_and_read(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    created = synthetic.character(campaign_id=campaign["id"], spells=[{"name": "Light", "level": 0, "prepared": True}])
    assert violations(created, "Character") == []
    assert created["version"] == 1 and created["campaign_id"] == campaign["id"]
    response = client.get(f"/characters/{created['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    assert response.json() == created


def test_create_answers_location_and_etag(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    response = client.post("/characters", json=character_body())
    assert response.status_code == 201
    synthetic.characters.append(response.json()["id"])
    assert response.headers["location"] == f"/characters/{response.json()['id']}"
    assert response.headers["etag"] == '"1"'


def test_replace(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    body = character_body(name=created["name"], level=9, hit_points=60, inventory=[])
    response = client.put(f"/characters/{created['id']}", json=body)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert violations(replaced, "Character") == []
    assert (replaced["level"], replaced["inventory"], replaced["version"]) == (9, [], 2)
    assert replaced["created_at"] == created["created_at"]


def test_patch_changes_only_what_it_names(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    response = client.patch(
        f"/characters/{created['id']}", json={"level": 4}, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    expected = {**created, "level": 4, "version": 2, "updated_at": patched["updated_at"]}
    assert patched == expected


def test_delete(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    assert client.delete(f"/characters/{created['id']}").status_code == 204
    _problem(client.get(f"/characters/{created['id']}"), 404)
    _problem(client.delete(f"/characters/{created['id']}"), 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_unknown_character_is_404(client: httpx.Client, method: str) -> None:
    body = character_body() if method in ("PUT", "PATCH") else None
    _problem(client.request(method, f"/characters/{uuid.uuid4()}", json=body), 404)


def test_malformed_id_is_422(client: httpx.Client) -> None:
    _problem(client.get("/characters/not-a-uuid"), 422)


def test_stale_if_match_is_412(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    assert (
        client.patch(f"/characters/{created['id']}", json={"level": 5}, headers={"If-Match": '"1"'}).status_code == 200
    )
    stale = _problem(client.patch(f"/characters/{created['id']}", json={"level": 6}, headers={"If-Match": '"1"'}), 412)
    assert "no longer current" in stale["detail"]
    _problem(client.delete(f"/characters/{created['id']}", headers={"If-Match": '"1"'}), 412)
    assert client.get(f"/characters/{created['id']}").json()["level"] == 5


def test_stale_version_in_body_is_409(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    client.put(f"/characters/{created['id']}", json=character_body(version=1)).raise_for_status()
    _problem(client.put(f"/characters/{created['id']}", json=character_body(version=1)), 409)


def test_unknown_campaign_is_409(client: httpx.Client) -> None:
    _problem(client.post("/characters", json=character_body(campaign_id=str(uuid.uuid4()))), 409)


def test_filter_by_owner_and_campaign(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    mine = {synthetic.character(campaign_id=campaign["id"])["id"] for _ in range(3)}
    by_campaign = client.get("/characters", params={"campaign_id": campaign["id"]}).json()["items"]
    assert {c["id"] for c in by_campaign} == mine
    by_owner = client.get("/characters", params={"owner": SYNTHETIC_OWNER, "limit": 200}).json()["items"]
    assert mine <= {c["id"] for c in by_owner}
    assert all(c["owner"] == SYNTHETIC_OWNER for c in by_owner)


def test_pagination_skips_and_repeats_nothing(client: httpx.Client) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        page = client.get("/characters", params=params).raise_for_status().json()
        assert violations(page, "CharacterPage") == []
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a record appeared on two pages"
    assert seen == sorted(seen), "pages are not in id order"
    # the same range in large pages must hold exactly the same records
    reference: list[str] = []
    cursor = None
    while len(reference) < len(seen):
        page = client.get("/characters", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        reference += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert reference[: len(seen)] == seen, "small pages skipped records that large pages show"
