"""Characters: create, read, replace, patch, delete, filters, pagination and optimistic concurrency.

Beyond the contract this assumes only that a write raises the version (the contract's concurrency rules need
versions to change); the first version, the form of ``Location`` and the words of ``detail`` are the
deployment's: ``[targets.X.suites] location`` and ``problem_detail``."""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Any

import httpx
import pytest

from harness.config import Target
from harness.config.suites import SuiteSettings
from harness.contracts import violations
from harness.pytest_plugin.synthetic import SYNTHETIC_OWNER, SyntheticRecords, character_body

from .pages import assert_pages_agree
from .problems import problem

pytestmark = pytest.mark.writes


def etag(version: int) -> str:
    return f'"{version}"'  # the contract: the version as a strong entity tag


def location_names(location: str, base_url: str, path: str, settings: SuiteSettings) -> bool:
    """``Location`` names the new resource: resolved against the backend's URL it is ``<base>/characters/<id>``
    (the contract says "the new resource's path"); ``location = "path"`` demands exactly ``/characters/<id>``."""
    if settings.location == "path":
        return location == path
    resolved = urllib.parse.urljoin(base_url.rstrip("/") + "/", location)
    return resolved.rstrip("/") == base_url.rstrip("/") + path


# nested lists of more than one item, a weight already at the contract's 0.01 (so nothing is rounded away)
INVENTORY = [
    {"name": "Rope", "quantity": 3, "weight": 0.25, "equipped": False},
    {"name": "Shortsword", "quantity": 1, "weight": 2.0, "equipped": True},
]
SPELLS = [{"name": "Light", "level": 0, "prepared": True}, {"name": "Sleep", "level": 1, "prepared": False}]


def not_as_sent(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The fields of a write's body that its answer does not hold as sent: ``{field: (sent, answered)}``."""
    return {k: (v, answer.get(k, "<absent>")) for k, v in body.items() if k != "version" and answer.get(k) != v}


def test_create_and_read(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    body = character_body(campaign_id=campaign["id"], inventory=INVENTORY, spells=SPELLS)
    created = synthetic.character(**body)
    assert violations(created, "Character") == []
    assert not_as_sent(body, created) == {}, "the created character is not the one sent"
    response = client.get(f"/characters/{created['id']}")
    assert response.status_code == 200
    assert response.headers["etag"] == etag(created["version"])
    assert response.json() == created


def test_create_answers_location_and_etag(client: httpx.Client, target: Target, synthetic: SyntheticRecords) -> None:
    response = client.post("/characters", json=character_body())
    assert response.status_code == 201
    created = response.json()
    synthetic.characters.append(created["id"])
    path = f"/characters/{created['id']}"
    assert location_names(response.headers["location"], str(client.base_url), path, target.suites), (
        f"Location {response.headers['location']!r} does not name {path} (location = {target.suites.location!r})"
    )
    assert response.headers["etag"] == etag(created["version"])


def test_replace(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    body = character_body(name=created["name"], level=9, hit_points=60, inventory=[], spells=SPELLS)
    response = client.put(f"/characters/{created['id']}", json=body)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert violations(replaced, "Character") == []
    assert not_as_sent(body, replaced) == {}, "the replaced character is not the one sent"
    assert client.get(f"/characters/{created['id']}").json() == replaced
    assert replaced["version"] > created["version"] and response.headers["etag"] == etag(replaced["version"])
    assert replaced["created_at"] == created["created_at"]


def test_patch_changes_only_what_it_names(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    changes = {"level": 4, "hit_points": 33, "spells": SPELLS}
    response = client.patch(
        f"/characters/{created['id']}", json=changes, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["version"] > created["version"]
    expected = {**created, **changes, "version": patched["version"], "updated_at": patched["updated_at"]}
    assert patched == expected
    assert client.get(f"/characters/{created['id']}").json() == patched


def test_delete(client: httpx.Client, target: Target, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    assert client.delete(f"/characters/{created['id']}").status_code == 204
    problem(client.get(f"/characters/{created['id']}"), 404, target.suites)
    problem(client.delete(f"/characters/{created['id']}"), 404, target.suites)


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_unknown_character_is_404(client: httpx.Client, target: Target, method: str) -> None:
    body = character_body() if method in ("PUT", "PATCH") else None
    problem(client.request(method, f"/characters/{uuid.uuid4()}", json=body), 404, target.suites)


def test_malformed_id_is_422(client: httpx.Client, target: Target) -> None:
    problem(client.get("/characters/not-a-uuid"), 422, target.suites)


def test_stale_if_match_is_412(client: httpx.Client, target: Target, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    first = etag(created["version"])
    path = f"/characters/{created['id']}"
    assert client.patch(path, json={"level": 5}, headers={"If-Match": first}).status_code == 200
    problem(client.patch(path, json={"level": 6}, headers={"If-Match": first}), 412, target.suites)
    problem(client.delete(path, headers={"If-Match": first}), 412, target.suites)
    assert client.get(path).json()["level"] == 5


def test_stale_version_in_body_is_409(client: httpx.Client, target: Target, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    path = f"/characters/{created['id']}"
    client.put(path, json=character_body(version=created["version"])).raise_for_status()
    problem(client.put(path, json=character_body(version=created["version"])), 409, target.suites)


def test_unknown_campaign_is_409(client: httpx.Client, target: Target) -> None:
    problem(client.post("/characters", json=character_body(campaign_id=str(uuid.uuid4()))), 409, target.suites)


def test_filter_by_owner_and_campaign(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    campaign = synthetic.campaign()
    mine = {synthetic.character(campaign_id=campaign["id"])["id"] for _ in range(3)}
    by_campaign = client.get("/characters", params={"campaign_id": campaign["id"]}).json()["items"]
    assert {c["id"] for c in by_campaign} == mine
    by_owner = client.get("/characters", params={"owner": SYNTHETIC_OWNER, "limit": 200}).json()["items"]
    assert mine <= {c["id"] for c in by_owner}
    assert all(c["owner"] == SYNTHETIC_OWNER for c in by_owner)


def test_pagination_skips_and_repeats_nothing(client: httpx.Client) -> None:
    seen = assert_pages_agree(client, "/characters", small=7, schema="CharacterPage", item_path="/characters/{}")
    assert seen, "no characters listed"
