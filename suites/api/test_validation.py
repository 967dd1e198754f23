"""Invalid input is refused with 422 problem+json naming the field; the record store is not touched.

The contract's promise: 422 (415 or 422 for a body that is not JSON), ``application/problem+json``, the Problem
schema, the offending field named in some ``errors[].field``. In which notation, and which status a non-JSON
body gets, is the deployment's choice: ``[targets.X.suites] error_field`` and ``invalid_json_status``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.config import Target
from harness.pytest_plugin.synthetic import SyntheticRecords, character_body

from .problems import assert_field_named, names_field, problem

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
def test_invalid_character_is_422(client: httpx.Client, target: Target, change: dict[str, Any], field: str) -> None:
    body = problem(client.post("/characters", json=character_body(**change)), 422, target.suites)
    assert_field_named(body, field, target.suites)


def _names_missing(body: dict[str, Any], name: str, form: str) -> bool:
    """A missing property is named by a field pointing at it, or (JSON Schema reports ``required`` on the
    parent object) by an error whose message names it."""
    errors = body.get("errors", [])
    return any(names_field(str(e["field"]), name, form) for e in errors) or any(
        f"'{name}'" in str(e.get("message", "")) or f'"{name}"' in str(e.get("message", "")) for e in errors
    )


def test_missing_required_field_is_422(client: httpx.Client, target: Target) -> None:
    sent = character_body()
    del sent["race"]
    body = problem(client.post("/characters", json=sent), 422, target.suites)
    assert _names_missing(body, "race", target.suites.error_field), body.get("errors")


def test_unknown_field_is_422(client: httpx.Client, target: Target) -> None:
    problem(client.post("/characters", json=character_body(mana=5)), 422, target.suites)


def test_body_that_is_not_json_is_refused(client: httpx.Client, target: Target) -> None:
    response = client.post("/characters", content=b"{not json", headers={"Content-Type": "application/json"})
    problem(response, target.suites.invalid_json_status, target.suites)


def test_wrong_media_type_is_415(client: httpx.Client, target: Target) -> None:
    response = client.post("/characters", content=b"name=x", headers={"Content-Type": "text/plain"})
    problem(response, 415, target.suites)


def test_invalid_patch_leaves_the_record_unchanged(
    client: httpx.Client, target: Target, synthetic: SyntheticRecords
) -> None:
    created = synthetic.character()
    body = problem(client.patch(f"/characters/{created['id']}", json={"level": 25}), 422, target.suites)
    assert_field_named(body, "level", target.suites)
    assert client.get(f"/characters/{created['id']}").json() == created


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_invalid_page_size_is_422(client: httpx.Client, target: Target, limit: str) -> None:
    body = problem(client.get("/characters", params={"limit": limit}), 422, target.suites)
    assert_field_named(body, "limit", target.suites)
