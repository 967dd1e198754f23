"""Synthetic records: the only data tests write, tagged so they can never be mistaken for real data, and always
removed, also when a test fails or the run is interrupted (a sweep at the end of the run catches leftovers)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from ..created_records import delete_listed

SYNTHETIC_OWNER = "harness-synthetic"
SYNTHETIC_PREFIX = "[harness-synthetic]"
ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")


def character_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "owner": SYNTHETIC_OWNER,
        "name": f"{SYNTHETIC_PREFIX} {uuid.uuid4().hex[:8]}",
        "race": "halfling",
        "class": "rogue",
        "level": 3,
        "abilities": dict.fromkeys(ABILITIES, 12),
        "hit_points": 21,
        "alignment": "chaotic-good",
        "background": "Created by the validation harness; safe to delete.",
        "inventory": [{"name": "Dagger", "quantity": 2, "weight": 1.0, "equipped": True}],
        "spells": [],
        "campaign_id": None,
    }
    body.update(overrides)
    return body


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"{SYNTHETIC_PREFIX} {uuid.uuid4().hex[:8]}",
        "dungeon_master": SYNTHETIC_OWNER,
        "setting": "Harness test",
        "status": "planning",
    }
    body.update(overrides)
    return body


class SyntheticRecords:
    """Creates tagged records through one backend and deletes them again (characters before campaigns)."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.characters: list[str] = []
        self.campaigns: list[str] = []

    def character(self, **overrides: Any) -> dict[str, Any]:
        response = self.client.post("/characters", json=character_body(**overrides))
        assert response.status_code == 201, f"creating a synthetic character: {response.status_code} {response.text}"
        created: dict[str, Any] = response.json()
        self.characters.append(created["id"])
        return created

    def campaign(self, **overrides: Any) -> dict[str, Any]:
        response = self.client.post("/campaigns", json=campaign_body(**overrides))
        assert response.status_code == 201, f"creating a synthetic campaign: {response.status_code} {response.text}"
        created: dict[str, Any] = response.json()
        self.campaigns.append(created["id"])
        return created

    def cleanup(self) -> None:
        for character_id in reversed(self.characters):
            with contextlib.suppress(httpx.HTTPError):
                self.client.delete(f"/characters/{character_id}")
        for campaign_id in reversed(self.campaigns):
            with contextlib.suppress(httpx.HTTPError):
                self.client.delete(f"/campaigns/{campaign_id}")
        self.characters.clear()
        self.campaigns.clear()


def sweep(client: httpx.Client, max_pages: int = 20) -> int:
    """Delete synthetic records left by an interrupted run; returns how many. Reads at most ``max_pages`` pages
    of each list, and deletes only records that carry both tags (owner and name prefix)."""
    removed = 0
    for path, params, owner_field in (
        ("/characters", {"owner": SYNTHETIC_OWNER}, "owner"),
        ("/campaigns", {}, "dungeon_master"),
    ):
        removed += delete_listed(client, path, {**params, "limit": 200}, _tagged(owner_field), max_pages)
    return removed


def _tagged(owner_field: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r[owner_field] == SYNTHETIC_OWNER and str(r["name"]).startswith(SYNTHETIC_PREFIX)
