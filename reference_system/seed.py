"""Realistic, reproducible D&D data for the legacy database: the same ``--characters N --seed S`` always gives
the same campaigns, characters, inventories and spells, ids and timestamps included."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

from .legacy_schema import CAMPAIGN_COLUMNS, CHARACTER_COLUMNS, DDL, ITEM_COLUMNS, SPELL_COLUMNS

RACES = ["human", "elf", "dwarf", "halfling", "gnome", "half-elf", "half-orc", "tiefling", "dragonborn"]
CLASSES = [
    "barbarian",
    "bard",
    "cleric",
    "druid",
    "fighter",
    "monk",
    "paladin",
    "ranger",
    "rogue",
    "sorcerer",
    "warlock",
    "wizard",
]
CASTERS = {"bard", "cleric", "druid", "paladin", "ranger", "sorcerer", "warlock", "wizard"}
ALIGNMENTS = [
    "lawful-good",
    "neutral-good",
    "chaotic-good",
    "lawful-neutral",
    "neutral",
    "chaotic-neutral",
    "lawful-evil",
    "neutral-evil",
    "chaotic-evil",
]
FIRST = [
    "Aelar",
    "Bruenor",
    "Cattie",
    "Drizzt",
    "Elminster",
    "Fargrim",
    "Gimble",
    "Hadarai",
    "Ilvara",
    "Jelenneth",
    "Kethra",
    "Lia",
    "Mialee",
    "Nackle",
    "Orsik",
    "Perrin",
    "Quelenna",
    "Roscoe",
    "Sariel",
    "Thokk",
    "Umbra",
    "Valanthe",
    "Wellby",
    "Xanaphia",
    "Yevelda",
    "Zook",
]
LAST = [
    "Amakiir",
    "Battlehammer",
    "Brushgather",
    "Do'Urden",
    "Evenwood",
    "Frostbeard",
    "Garrick",
    "Holderhek",
    "Ironfist",
    "Liadon",
    "Meliamne",
    "Nailo",
    "Siannodel",
    "Tealeaf",
    "Thunderfoot",
    "Underbough",
    "Xiloscient",
]
SETTINGS = ["Forgotten Realms", "Eberron", "Ravenloft", "Greyhawk", "Dragonlance", "Spelljammer", "Homebrew"]
CAMPAIGN_WORDS = ["Curse", "Tomb", "Storm", "Lost Mine", "Dragon", "Shadow", "Crown", "Frozen", "Sunless", "Abyss"]
CAMPAIGN_PLACES = [
    "of Strahd",
    "of Annihilation",
    "King's Thunder",
    "of Phandelver",
    "Heist",
    "over Waterdeep",
    "of the Deep",
    "Citadel",
    "Sea",
    "Gate",
]
ITEMS = [
    ("Longsword", "3.00"),
    ("Shortbow", "2.00"),
    ("Arrows (20)", "1.00"),
    ("Rope, hempen (50 ft)", "10.00"),
    ("Torch", "1.00"),
    ("Rations (1 day)", "2.00"),
    ("Potion of Healing", "0.50"),
    ("Chain mail", "55.00"),
    ("Shield", "6.00"),
    ("Dagger", "1.00"),
    ("Spellbook", "3.00"),
    ("Holy symbol", "1.00"),
    ("Thieves' tools", "1.00"),
    ("Bedroll", "7.00"),
    ("Waterskin", "5.00"),
    ("Component pouch", "2.00"),
    ("Lute", "2.00"),
    ("Caltrops (bag of 20)", "2.00"),
    ("Ball bearings (bag of 1,000)", "2.00"),
    ("Healer's kit", "3.00"),
    ("Tinderbox", "1.00"),
    ("Crowbar", "5.00"),
    ("Lantern, hooded", "2.00"),
    ("Oil (flask)", "1.00"),
    ("Greataxe", "7.00"),
    ("Quarterstaff", "4.00"),
    ("Gold pieces", "0.02"),
]
SPELLS = [
    ("Fire Bolt", 0),
    ("Mage Hand", 0),
    ("Guidance", 0),
    ("Eldritch Blast", 0),
    ("Magic Missile", 1),
    ("Cure Wounds", 1),
    ("Shield", 1),
    ("Healing Word", 1),
    ("Misty Step", 2),
    ("Hold Person", 2),
    ("Fireball", 3),
    ("Counterspell", 3),
    ("Revivify", 3),
    ("Polymorph", 4),
    ("Banishment", 4),
    ("Cone of Cold", 5),
    ("Raise Dead", 5),
    ("Disintegrate", 6),
    ("Teleport", 7),
    ("Power Word Stun", 8),
    ("Wish", 9),
]
BACKGROUNDS = [
    "Acolyte raised in the temple of {}.",
    "Folk hero of {}.",
    "Sage who studied in {}.",
    "Soldier who served in {}.",
    "Criminal with contacts in {}.",
    "Noble of a minor house of {}.",
]
TOWNS = ["Waterdeep", "Neverwinter", "Baldur's Gate", "Phandalin", "Sharn", "Barovia", "Candlekeep"]
EPOCH = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class SeedSummary:
    campaigns: int
    characters: int
    inventory_items: int
    spells: int


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _moment(rng: random.Random, after: dt.datetime | None = None) -> dt.datetime:
    """A timestamp with microsecond precision (the legacy store keeps it; the storage form keeps milliseconds)."""
    start = after or EPOCH
    return start + dt.timedelta(seconds=rng.randrange(0, 60 * 86400), microseconds=rng.randrange(1_000_000))


def generate(
    characters: int, seed: int
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows for campaigns, characters, inventory_items and character_spells, in column order."""
    rng = random.Random(seed)
    campaign_rows = []
    for _ in range(max(1, characters // 25)):
        created = _moment(rng)
        campaign_rows.append(
            (
                _uuid(rng),
                f"{rng.choice(CAMPAIGN_WORDS)} {rng.choice(CAMPAIGN_PLACES)}",
                f"dm_{rng.randrange(1000):03d}",
                rng.choice(SETTINGS),
                rng.choice(["planning", "active", "active", "completed", "archived"]),
                rng.randint(1, 4),
                created,
                _moment(rng, created),
            )
        )
    campaign_ids = [c[0] for c in campaign_rows]
    owners = [f"player_{i:05d}" for i in range(max(1, characters // 4))]
    char_rows, item_rows, spell_rows = [], [], []
    for _ in range(characters):
        cid = _uuid(rng)
        klass = rng.choice(CLASSES)
        level = rng.randint(1, 20)
        scores = [rng.randint(3, 20) for _ in range(6)]  # str, dex, con, int, wis, cha: the column order
        con = scores[2]
        created = _moment(rng)
        char_rows.append(
            (
                cid,
                rng.choice(owners),
                f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                rng.choice(RACES),
                klass,
                level,
                *scores,
                max(1, level * rng.randint(4, 10) + (con - 10) // 2 * level),
                rng.choice(ALIGNMENTS),
                rng.choice(BACKGROUNDS).format(rng.choice(TOWNS)),
                rng.choice(campaign_ids) if rng.random() < 0.9 else None,
                rng.randint(1, 5),
                created,
                _moment(rng, created),
            )
        )
        for position, (name, weight) in enumerate(rng.sample(ITEMS, rng.randint(1, 6))):
            item_rows.append((cid, position, name, rng.randint(1, 20), Decimal(weight), rng.random() < 0.4))
        if klass in CASTERS:
            known = [s for s in SPELLS if s[1] <= (level + 1) // 2]
            for position, (name, spell_level) in enumerate(rng.sample(known, min(len(known), rng.randint(1, 6)))):
                spell_rows.append((cid, position, name, spell_level, rng.random() < 0.6))
    return campaign_rows, char_rows, item_rows, spell_rows


def seed_legacy(dsn: str, *, characters: int, seed: int) -> SeedSummary:
    """Create the legacy schema and load the generated data with COPY. Refuses a database that has characters:
    seeding never touches existing data."""
    campaigns, chars, items, spells = generate(characters, seed)
    with psycopg.connect(dsn) as conn:
        conn.execute(DDL)
        row = conn.execute("SELECT count(*) FROM characters").fetchone()
        if row and row[0]:
            raise RuntimeError("the legacy database already holds characters; seed an empty database")
        with conn.cursor() as cur:
            for table, columns, rows in (
                ("campaigns", CAMPAIGN_COLUMNS, campaigns),
                ("characters", CHARACTER_COLUMNS, chars),
                ("inventory_items", ITEM_COLUMNS, items),
                ("character_spells", SPELL_COLUMNS, spells),
            ):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r)
        conn.execute("ANALYZE")
    return SeedSummary(len(campaigns), len(chars), len(items), len(spells))
