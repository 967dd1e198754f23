"""Hypothesis strategies for the differential machine's requests: mostly valid bodies (so resources get created
and the interesting paths run), with invalid values mixed in (so error statuses and error bodies are compared).
``one_of`` lists the valid branch first, so shrinking heads for a valid, short example."""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
RACES = ("human", "elf", "dwarf", "halfling", "gnome", "half-elf", "half-orc", "tiefling", "dragonborn")
CLASSES = ("fighter", "wizard", "rogue", "cleric", "bard", "druid", "monk", "paladin", "ranger", "warlock")
ALIGNMENTS = ("neutral", "lawful-good", "chaotic-evil", "neutral-good", "chaotic-neutral")
STATUSES = ("planning", "active", "completed", "archived")
MISSING_ID = "00000000-0000-4000-8000-000000000000"  # a well-formed id no backend ever makes up
IF_MATCH = (None, "*", '"1"', '"2"', '"3"', "not-a-tag")
PATCH_TYPES = ("application/merge-patch+json", "application/json")

SAMPLE_CAMPAIGN: dict[str, Any] = {"name": "Noise probe", "dungeon_master": "harness", "status": "planning"}
SAMPLE_CHARACTER: dict[str, Any] = {
    "owner": "harness",
    "name": "Noise Probe",
    "race": "elf",
    "class": "wizard",
    "level": 3,
    "abilities": dict.fromkeys(ABILITIES, 10),
    "hit_points": 20,
    "alignment": "neutral",
    "inventory": [{"name": "Staff", "quantity": 1, "weight": 4.0, "equipped": True}],
    "spells": [{"name": "Light", "level": 0, "prepared": True}],
}


# Text the contract allows beyond ASCII letters, drawn as pieces: a letter with a combining accent (which NFC
# composes), precomposed letters (which NFD decomposes), other scripts, a character outside the BMP and spaces,
# with spaces at the edges now and then, so that a backend that normalises, trims or re-encodes what it stores
# answers otherwise than one that keeps it.
VARIED_PIECES = ("a", "X", "e\u0301", "\u00e9", "\u00c5", "\u00f1", "\u00df", "\u0416", "\u6f22", "\U0001f600", " ")
EDGE_SPACES = ("", " ", "  ")


def varied_text(max_size: int, *, min_size: int = 0, extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """Text of at most ``max_size`` code points from ``VARIED_PIECES`` (and ``extra``), spaces at its edges now
    and then; with ``min_size`` 1, at least one character that is not blank (the contract's ``Name``)."""
    core = st.lists(st.sampled_from(VARIED_PIECES + extra), max_size=max(0, max_size // 2 - 2)).map("".join)
    padded = st.tuples(st.sampled_from(EDGE_SPACES), core, st.sampled_from(EDGE_SPACES)).map("".join)
    return padded.filter(lambda t: min_size <= len(t) <= max_size and (min_size == 0 or bool(t.strip())))


def names(max_size: int) -> st.SearchStrategy[str]:
    # hypothesis draws short text; the second branch brings names near the contract's limit, where a backend
    # with a narrower column or field would cut them; the third leaves ASCII letters (listed last: shrinking
    # heads for the first branches, so a minimal example stays plain where plain text shows the divergence)
    return st.one_of(
        st.text(alphabet=string.ascii_letters, min_size=1, max_size=max_size),
        st.text(alphabet=string.ascii_letters, min_size=max(1, max_size * 2 // 3), max_size=max_size),
        varied_text(max_size, min_size=1),
    )


def character_fields(owners: list[str], max_name: int) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "owner": st.sampled_from(owners),
        "name": names(max_name),
        "race": st.sampled_from(RACES),
        "class": st.sampled_from(CLASSES),
        "level": st.integers(1, 20),
        "abilities": st.fixed_dictionaries({a: st.integers(1, 30) for a in ABILITIES}),
        "hit_points": st.integers(1, 999),
        "alignment": st.sampled_from(ALIGNMENTS),
    }


# one field made invalid: (field, bad value); None removes the field
INVALID_CHARACTER_VALUES: list[tuple[str, Any]] = [
    ("level", 25),
    ("level", 0),
    ("name", "   "),
    ("name", "a\x07b"),
    ("hit_points", 0),
    ("race", "orc"),
    ("owner", "no spaces allowed"),
    ("alignment", None),
]


def spoil(valid: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid bodies and, as often, the same bodies with one field made invalid (valid first: shrinking prefers
    an example that exercises the success path)."""

    def broken(pair: tuple[dict[str, Any], tuple[str, Any]]) -> dict[str, Any]:
        body, (name, bad) = pair
        return {k: v for k, v in body.items() if k != name} if bad is None else {**body, name: bad}

    return st.one_of(valid, st.tuples(valid, st.sampled_from(INVALID_CHARACTER_VALUES)).map(broken))


def optional_character_fields(max_name: int) -> dict[str, st.SearchStrategy[Any]]:
    item = st.fixed_dictionaries(
        {
            "name": names(max_name),
            "quantity": st.integers(1, 9999),
            "weight": st.floats(0, 9999, allow_nan=False),
            "equipped": st.booleans(),
        }
    )
    spell = st.fixed_dictionaries({"name": names(max_name), "level": st.integers(0, 9), "prepared": st.booleans()})
    return {
        "background": st.one_of(
            st.text(alphabet=string.ascii_letters + " .,", max_size=40), varied_text(40, extra=("\n",))
        ),
        "inventory": st.lists(item, max_size=2),
        "spells": st.lists(spell, max_size=2),
    }


def character_bodies(owners: list[str], max_name: int, invalid: bool) -> st.SearchStrategy[dict[str, Any]]:
    valid = st.fixed_dictionaries(character_fields(owners, max_name), optional=optional_character_fields(max_name))
    return spoil(valid) if invalid else valid


def character_patches(owners: list[str], max_name: int, invalid: bool) -> st.SearchStrategy[dict[str, Any]]:
    valid = st.fixed_dictionaries({}, optional=character_fields(owners, max_name))
    return spoil(valid) if invalid else valid


def campaign_bodies(max_name: int, invalid: bool) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "name": names(max_name),
            "dungeon_master": st.sampled_from(["dm_one", "dm.two"]),
            "status": st.sampled_from(STATUSES),
        },
        optional={"setting": st.one_of(st.text(alphabet=string.ascii_letters + " ", max_size=30), varied_text(30))},
    )
