"""The Character Service traffic mix of the load tests, independent of locust: request names (bounded: the
service's own route templates, so a locust series lines up with a Prometheus ``route`` label), task weights, and
the synthetic records the load creates. Every record the load writes has an owner starting with ``OWNER_PREFIX``
so it can be told apart from real data and cleaned up."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx

from ..created_records import delete_listed

OWNER_PREFIX = "loadtest-"
NAME_PREFIX = "Load test "
PAGE_LIMIT = 20

# request names: the route templates the Character Service labels its metrics with
CHARACTERS = "/characters"
CHARACTER = "/characters/{character_id}"
CAMPAIGNS = "/campaigns"
CAMPAIGN_CHARACTERS = "/campaigns/{campaign_id}/characters"

# relative weights: mostly reads, a steady trickle of writes on the load's own records
WEIGHTS = {
    "get_character": 10,
    "list_characters": 4,
    "list_campaigns": 2,
    "list_campaign_characters": 2,
    "write_cycle": 1,  # create, update, delete one synthetic character (three requests)
}

_RACES = ("human", "elf", "dwarf", "halfling", "gnome")
_CLASSES = ("fighter", "wizard", "rogue", "cleric", "bard")


def run_owner() -> str:
    """The owner tag of one load run's synthetic records (``loadtest-`` + 8 hex digits)."""
    return f"{OWNER_PREFIX}{uuid.uuid4().hex[:8]}"


def new_character(owner: str, rng: random.Random) -> dict[str, Any]:
    """A valid ``CharacterInput`` marked as synthetic by its owner and name."""
    return {
        "owner": owner,
        "name": f"{NAME_PREFIX}{rng.randrange(1_000_000)}",
        "race": rng.choice(_RACES),
        "class": rng.choice(_CLASSES),
        "level": rng.randint(1, 20),
        "abilities": {
            k: rng.randint(3, 18)
            for k in ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
        },
        "hit_points": rng.randint(5, 200),
        "alignment": "neutral",
    }


def character_update(rng: random.Random) -> dict[str, Any]:
    return {"level": rng.randint(1, 20), "hit_points": rng.randint(5, 200)}


def ids_of(page: Any) -> list[str]:
    """The ids of a page body (``{"items": [...]}``) except synthetic records (another user may delete those any
    moment); an unexpected body gives no ids rather than an error."""
    if not (isinstance(page, dict) and isinstance(page.get("items"), list)):
        return []
    return [
        str(item["id"])
        for item in page["items"]
        if isinstance(item, dict) and "id" in item and not str(item.get("owner", "")).startswith(OWNER_PREFIX)
    ]


def sweep(client: httpx.Client, owner: str, max_pages: int = 20) -> int:
    """Delete what a run with the owner tag ``owner`` left (a write cycle stopped while its create was under way
    never learnt the record's id); returns how many. Reads at most ``max_pages`` pages, and deletes only
    characters that carry both tags: this run's owner (``loadtest-...``) and the load's name prefix."""
    if not owner.startswith(OWNER_PREFIX):
        return 0

    def ours(record: dict[str, Any]) -> bool:
        return record.get("owner") == owner and str(record.get("name", "")).startswith(NAME_PREFIX)

    return delete_listed(client, "/characters", {"owner": owner, "limit": 100}, ours, max_pages)
