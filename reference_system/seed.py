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


_CHILDREN = ("inventory_items", "character_spells")
_DROP_KEYS = (
    "".join(f"ALTER TABLE {t} DROP CONSTRAINT {t}_character_id_fkey, DROP CONSTRAINT {t}_pkey;" for t in _CHILDREN)
    + "ALTER TABLE characters DROP CONSTRAINT characters_pkey; ALTER TABLE campaigns DROP CONSTRAINT campaigns_pkey;"
    + "DROP INDEX characters_campaign_idx, characters_owner_idx;"
)
_ADD_KEYS = "ALTER TABLE characters ADD PRIMARY KEY (id); ALTER TABLE campaigns ADD PRIMARY KEY (id);" + "".join(
    f"ALTER TABLE {t} ADD PRIMARY KEY (character_id, position),"
    " ADD FOREIGN KEY (character_id) REFERENCES characters (id) ON DELETE CASCADE;"
    for t in _CHILDREN
)


class _Rand:
    """SQL expressions of deterministic pseudo-random numbers: one per generated row ``g`` (a character or a
    campaign), child position ``p`` and ``salt``, from PostgreSQL's seeded 64-bit hash. ``%%``: the statements
    are run with parameters."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def num(self, salt: int, modulo: int | str, position: str = "0") -> str:
        return f"(abs(hashint8extended(g * 1024 + {position} * 64 + {salt}, {self.seed})) %% {modulo})"

    def pick(self, array: str, salt: int, position: str = "0") -> str:
        return f"(%({array})s::text[])[1 + {self.num(salt, f'cardinality(%({array})s::text[])', position)}]"

    def moment(self, base: str, salt: int) -> str:
        """A microsecond timestamp up to 60 days after ``base``."""
        return f"({base} + make_interval(secs => {self.num(salt, 5_184_000_000_000)} / 1e6))"


def seed_legacy_bulk(dsn: str, *, characters: int, seed: int) -> SeedSummary:
    """Data of the same kinds as ``seed_legacy`` (its vocabularies; 1-6 items; casters with 1-6 spells of their
    level; 90 % of characters in a campaign; microsecond timestamps), generated set-based inside PostgreSQL, for
    sizes where making rows in Python takes minutes. Deterministic for a ``seed``, though not the same rows as
    ``seed_legacy``. Refuses a database that has characters."""
    r = _Rand(seed)
    params: dict[str, Any] = {
        "n": characters,
        "campaigns": max(1, characters // 25),
        "owners": max(1, characters // 4),
        "words": CAMPAIGN_WORDS,
        "places": CAMPAIGN_PLACES,
        "settings": SETTINGS,
        "statuses": ["planning", "active", "active", "completed", "archived"],
        "first": FIRST,
        "last": LAST,
        "races": RACES,
        "classes": CLASSES,
        "casters": sorted(CASTERS),
        "alignments": ALIGNMENTS,
        "backgrounds": [b.replace("{}", "%s") for b in BACKGROUNDS],
        "towns": TOWNS,
        "item_names": [i[0] for i in ITEMS],
        "item_weights": [Decimal(i[1]) for i in ITEMS],
        "spell_names": [s[0] for s in SPELLS],
        "spell_levels": [s[1] for s in SPELLS],
        # SPELLS is ordered by level: the first known[level + 1] are the ones a character of that level knows
        "known": [sum(1 for s in SPELLS if s[1] <= (level + 1) // 2) for level in range(21)],
    }
    epoch = "timestamptz '2023-01-01 00:00:00+00'"
    character_id = f"md5('{r.seed}:character:' || g)::uuid"
    campaign_id = f"md5('{r.seed}:campaign:' || {{}})::uuid"
    level, klass = f"(1 + {r.num(4, 20)})", r.pick("classes", 3)

    def score(salt: int) -> str:
        return f"(3 + {r.num(salt, 18)})"

    campaigns = f"""
        INSERT INTO campaigns ({", ".join(CAMPAIGN_COLUMNS)})
        SELECT {campaign_id.format("g")}, {r.pick("words", 1)} || ' ' || {r.pick("places", 2)},
               'dm_' || lpad({r.num(3, 1000)}::text, 3, '0'), {r.pick("settings", 4)}, {r.pick("statuses", 5)},
               1 + {r.num(6, 4)}, created, {r.moment("created", 7)}
        FROM generate_series(1, %(campaigns)s) g, LATERAL (SELECT {r.moment(epoch, 8)} AS created) t"""
    chars = f"""
        INSERT INTO characters ({", ".join(CHARACTER_COLUMNS)})
        SELECT {character_id}, 'player_' || lpad({r.num(0, "%(owners)s")}::text, 5, '0'),
               {r.pick("first", 1)} || ' ' || {r.pick("last", 2)}, {r.pick("races", 5)}, {klass}, {level},
               {score(10)}, {score(11)}, con, {score(13)}, {score(14)}, {score(15)},
               greatest(1, {level} * (4 + {r.num(16, 7)}) + (con - 10) / 2 * {level}), {r.pick("alignments", 17)},
               format({r.pick("backgrounds", 18)}, {r.pick("towns", 19)}),
               CASE WHEN {r.num(20, 10)} < 9 THEN {campaign_id.format("1 + " + r.num(21, "%(campaigns)s"))} END,
               1 + {r.num(22, 5)}, created, {r.moment("created", 23)}
        FROM generate_series(1, %(n)s) g,
             LATERAL (SELECT {score(12)} AS con, {r.moment(epoch, 24)} AS created) t"""
    items = f"""
        INSERT INTO inventory_items ({", ".join(ITEM_COLUMNS)})
        SELECT {character_id}, p, (%(item_names)s::text[])[1 + (first + p) %% {len(ITEMS)}],
               1 + {r.num(1, 20, "p")}, (%(item_weights)s::numeric[])[1 + (first + p) %% {len(ITEMS)}],
               {r.num(2, 10, "p")} < 4
        FROM generate_series(1, %(n)s) g,
             LATERAL (SELECT {r.num(25, len(ITEMS))} AS first, {r.num(26, 6)} AS last) s,
             LATERAL generate_series(0, last) p"""
    spells = f"""
        INSERT INTO character_spells ({", ".join(SPELL_COLUMNS)})
        SELECT {character_id}, p, (%(spell_names)s::text[])[1 + (first + p) %% known],
               (%(spell_levels)s::int[])[1 + (first + p) %% known], {r.num(1, 10, "p")} < 6
        FROM generate_series(1, %(n)s) g,
             LATERAL (SELECT {klass} AS klass, (%(known)s::int[])[{level} + 1] AS known,
                             {r.num(27, 1000)} AS first, {r.num(28, 6)} AS extra) s,
             LATERAL generate_series(0, least(known - 1, extra)) p
        WHERE klass = ANY(%(casters)s::text[])"""
    with psycopg.connect(dsn) as conn:
        conn.execute(DDL)
        row = conn.execute("SELECT count(*) FROM characters").fetchone()
        if row and row[0]:
            raise RuntimeError("the legacy database already holds characters; seed an empty database")
        # as PostgreSQL's "populating a database" advises: load without indexes and foreign keys, then build them
        # once (a row-by-row foreign-key check cost more than generating the rows); DDL recreates the indexes
        conn.execute(_DROP_KEYS)
        conn.execute("SET maintenance_work_mem = '256MB'")
        counts = [conn.execute(statement, params).rowcount for statement in (campaigns, chars, items, spells)]
        conn.execute(_ADD_KEYS)
        conn.execute(DDL)
        conn.commit()
        conn.execute("ANALYZE")
    return SeedSummary(*counts)
