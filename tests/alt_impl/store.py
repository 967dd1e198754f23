"""The alternative implementation's record store: in memory, one per process, ids ordered as text."""

from __future__ import annotations

import bisect
import datetime as dt
import os
import random
import threading
import time
import uuid
from typing import Any


def uuid7(rng: random.Random | None = None, millis: int | None = None) -> str:
    """A version-7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits; text order = time order."""
    ms = int(time.time() * 1000) if millis is None else millis
    rand = rng.getrandbits(74) if rng is not None else int.from_bytes(os.urandom(10), "big") >> 6
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62 | (rand & (2**62 - 1))
    return str(uuid.UUID(int=value))


def now() -> str:
    """Microseconds and an explicit offset: a valid RFC 3339 date-time, unlike the reference's ``...123Z``."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class NotFound(Exception):
    pass


class StaleVersion(Exception):
    def __init__(self, current: int) -> None:
        super().__init__(current)
        self.current = current


class Collection:
    """Records by id plus a sorted id index for keyset pages."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def put(self, record: dict[str, Any]) -> None:
        if record["id"] not in self.records:
            bisect.insort(self.order, record["id"])
        self.records[record["id"]] = record

    def remove(self, record_id: str) -> None:
        del self.records[record_id]
        self.order.pop(bisect.bisect_left(self.order, record_id))

    def page(self, limit: int, cursor: str | None, keep: Any = None) -> tuple[list[dict[str, Any]], bool]:
        start = bisect.bisect_right(self.order, cursor) if cursor else 0
        items: list[dict[str, Any]] = []
        for record_id in self.order[start:]:
            record = self.records[record_id]
            if keep is None or keep(record):
                if len(items) == limit:
                    return items, True
                items.append(record)
        return items, False


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.characters = Collection()
        self.campaigns = Collection()

    def seed(self, characters: int, campaigns: int, seed: int) -> None:
        """The same records in every instance started with the same seed (as a migration copies them)."""
        rng = random.Random(seed)
        base = 1_700_000_000_000
        stamp = "2024-01-15T10:00:00.000000+00:00"
        campaign_ids = [uuid7(rng, base + i) for i in range(campaigns)]
        for i, cid in enumerate(campaign_ids):
            self.campaigns.put(
                {
                    "id": cid, "name": f"Campaign {i}", "dungeon_master": f"dm{i}", "setting": "Greyhawk",
                    "status": "active", "version": 1, "created_at": stamp, "updated_at": stamp,
                }
            )  # fmt: skip
        races, classes = ("elf", "dwarf", "human", "gnome"), ("wizard", "fighter", "bard", "monk")
        for i in range(characters):
            self.characters.put(
                {
                    "id": uuid7(rng, base + 10_000 + i), "owner": f"player{i % 7}", "name": f"Hero {i}",
                    "race": races[i % 4], "class": classes[i % 4], "level": 1 + i % 20,
                    "abilities": {a: 8 + (i + n) % 10 for n, a in enumerate(ABILITIES)},
                    "hit_points": 10 + i, "alignment": "neutral", "background": "",
                    "inventory": [{"name": "Rope", "quantity": 1, "weight": 10.0, "equipped": False}],
                    "spells": [], "campaign_id": campaign_ids[i % len(campaign_ids)] if i % 3 else None,
                    "version": 1, "created_at": stamp, "updated_at": stamp,
                }
            )  # fmt: skip


ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
