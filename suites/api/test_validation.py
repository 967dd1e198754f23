"""Invalid input is refused with 422 problem+json naming the field; the record store is not touched."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.contracts import violations
from harness.pytest_plugin.synthetic import SyntheticRecords, character_body

pytestmark = pytest.mark.writes
ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")

INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("level 0", {"level": 0}, "level"),
    ("level 21", {"level": 21}, "level"),
    ("ability 0", {"abilities": {**dict.fromkeys(ABILITIES, 10), "strength": 0}}, "abilities.strength"),
    ("ability 31", {"abilities": {**dict.fromkeys(ABILITIES, 10), "wisdom": 31}}, "abilities.wisdom"),
    ("empty name", {"name": ""}, "name"),
    ("blank name", {"name": "   "}, "name"),
    ("over-long name", {"name": "x" * 101}, "name"),
    ("unknown class", {"class": "necromancer"}, "class"),
    ("unknown race", {"race": "orc"}, "race"),
    ("level as text", {"level": "5"}, "level"),
    ("hit points as float", {"hit_points": 10.5}, "hit_points"),
    ("abilities as a list", {"abilities": [10, 10, 10, 10, 10, 10]}, "abilities"),
    (
        "inventory item without quantity",
        {"inventory": [{"name": "Rope", "weight": 1, "equipped": False}]},
        "inventory.0",
    ),
    ("spell level 10", {"spells": [{"name": "Wish+", "level": 10, "prepared": True}]}, "spells.0.level"),
    ("campaign id not a uuid", {"campaign_id": "nope"}, "campaign_id"),
]


@pytest.mark.parametrize(("change", "field"), [(c, f) for _, c, f in INVALID], ids=[i for i, _, _ in INVALID])
def test_invalid_character_is_422(client: httpx.Client, change: dict[str, Any], field: str) -> None:
    response = client.post("/characters", json=character_body(**change))
    assert response.status_code == 422, f"accepted: {response.status_code} {response.text[:300]}"
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert violations(problem, "Problem") == []
    fields = [e["field"] for e in problem.get("errors", [])]
    assert any(f == field or f.startswith(field + ".") or field.startswith(f) for f in fields), fields


def test_missing_required_field_is_422(client: httpx.Client) -> None:
    body = character_body()
    del body["race"]
    response = client.post("/characters", json=body)
    assert response.status_code == 422 and "race" in response.text


def test_unknown_field_is_422(client: httpx.Client) -> None:
    assert client.post("/characters", json=character_body(mana=5)).status_code == 422


def test_body_that_is_not_json_is_422(client: httpx.Client) -> None:
    response = client.post("/characters", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422


def test_wrong_media_type_is_415(client: httpx.Client) -> None:
    response = client.post("/characters", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


def test_invalid_patch_leaves_the_record_unchanged(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    assert client.patch(f"/characters/{created['id']}", json={"level": 25}).status_code == 422
    assert client.get(f"/characters/{created['id']}").json() == created


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_invalid_page_size_is_422(client: httpx.Client, limit: str) -> None:
    assert client.get("/characters", params={"limit": limit}).status_code == 422
