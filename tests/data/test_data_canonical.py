"""The canonical form, tolerance, field paths, key ranges and the compare settings: pure logic, no servers."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest
from data_helpers import table_settings

from harness.data.canonical import Canonicalizer, within_tolerance
from harness.data.compare import explain, field_path, segment_bounds
from harness.data.settings import parse_compare_settings
from harness.errors import ConfigError

ID = uuid.UUID("0b9b83d1-e84b-42bd-87e3-532312e558b2")
SOURCE_ROW = {  # a row of the reference's characters table as the table form reads it
    "id": str(ID),
    "owner_id": "player_1",
    "char_name": "Lia",
    "race": "elf",
    "char_class": "wizard",
    "level": 3,
    "str_score": 8,
    "dex_score": 14,
    "con_score": 12,
    "int_score": 17,
    "wis_score": 10,
    "cha_score": 11,
    "hp": 14,
    "alignment": "neutral",
    "background": "",
    "campaign_id": None,
    "version": 2,
    "created_at": dt.datetime(2024, 1, 1, 10, 0, 0, 123999, tzinfo=dt.UTC),
    "updated_at": dt.datetime(2024, 1, 1, 12, 0, 0, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "inventory": [{"item_name": "Dagger", "quantity": 1, "weight_lb": Decimal("1.00"), "equipped": True}],
    "spells": [{"spell_name": "Shield", "spell_level": 1, "prepared": False}],
}
DOCUMENT: dict[str, Any] = {
    "id": str(ID),
    "version": 2,
    "ownerId": "player_1",
    "name": "Lia",
    "race": "elf",
    "characterClass": "wizard",
    "level": 3,
    "abilityScores": {
        "strength": 8,
        "dexterity": 14,
        "constitution": 12,
        "intelligence": 17,
        "wisdom": 10,
        "charisma": 11,
    },
    "hitPoints": 14,
    "alignment": "neutral",
    "background": "",
    "campaignId": None,
    "inventory": [{"name": "Dagger", "quantity": 1, "weight": 1.0, "equipped": True}],
    "spells": [{"name": "Shield", "level": 1, "prepared": False}],
    "createdAt": "2024-01-01T10:00:00.123Z",
    "updatedAt": "2024-01-01T10:00:00.500Z",
}


def canon(settings: dict[str, object] | None = None) -> tuple[Canonicalizer, Canonicalizer]:
    s = table_settings(**(settings or {}))
    return Canonicalizer(s, "characters", "source"), Canonicalizer(s, "characters", "destination")


def test_legacy_row_and_storage_document_meet_in_one_form() -> None:
    src, dst = canon()
    a, b = src(SOURCE_ROW), dst(DOCUMENT)
    assert a == b
    assert a["abilities.intelligence"] == 17 and a["inventory"] == [
        {"name": "Dagger", "quantity": 1, "weight": 1.0, "equipped": True}
    ]
    assert a["created_at"] == "2024-01-01T10:00:00.123Z"  # microseconds truncated, as the storage form does


def test_precision_and_time_zones() -> None:
    src, dst = canon({"timestamp_precision": "s", "source_timezone": "Europe/Paris"})
    naive = {**SOURCE_ROW, "created_at": dt.datetime(2024, 1, 1, 11, 0, 0, 999999)}  # Paris = UTC+1 in January
    assert src(naive)["created_at"] == "2024-01-01T10:00:00Z"
    assert dst({**DOCUMENT, "createdAt": "2024-01-01T11:00:00.123+01:00"})["created_at"] == "2024-01-01T10:00:00Z"
    shifted = dst({**DOCUMENT, "updatedAt": "2024-01-01T11:00:00.500Z"})
    assert explain(src(SOURCE_ROW), shifted)[0].path == "updated_at"


def test_ignore_and_renames_from_settings() -> None:
    src, dst = canon(
        {
            "ignore": ["characters:updated_at", "inventory.equipped"],
            "renames": {"characters": {"destination": {"displayName": "name"}}},
        }
    )
    doc = {k: v for k, v in DOCUMENT.items() if k != "name"} | {"displayName": "Lia", "updatedAt": "garbage"}
    doc["inventory"] = [{**DOCUMENT["inventory"][0], "equipped": False}]
    assert src(SOURCE_ROW) == dst(doc)
    assert "updated_at" not in src(SOURCE_ROW)


def test_tolerance_is_inclusive_and_per_field() -> None:
    src, dst = canon()
    a = src(SOURCE_ROW)
    near = dst({**DOCUMENT, "hitPoints": 15, "inventory": [{**DOCUMENT["inventory"][0], "weight": 1.01}]})
    assert a == within_tolerance(a, near, {"hit_points": 1, "inventory.weight": 0.01})
    assert a != within_tolerance(a, near, {"hit_points": 0.5, "inventory.weight": 0.01})
    assert a != within_tolerance(a, near, {"hit_points": 1, "inventory.weight": 0.005})


def test_field_paths_and_explanations() -> None:
    assert field_path("root['inventory'][2]['weight']") == "inventory[2].weight"
    assert field_path("root['abilities.strength']") == "abilities.strength"
    fields = explain({"a": 1, "l": [1, 2]}, {"a": "1", "l": [1], "b": None})
    assert [(f.path, f.change) for f in fields] == [
        ("a", "type changed"),
        ("b", "only in destination"),
        ("l[1]", "only in source"),
    ]


@pytest.mark.parametrize("parts", [1, 2, 7, 16])
def test_segments_cover_every_key_once(parts: int) -> None:
    bounds = segment_bounds(parts)
    assert len(bounds) == parts and bounds[0][0] is None and bounds[-1][1] is None
    assert all(bounds[i][1] == bounds[i + 1][0] for i in range(parts - 1))
    for key in ("", "0", str(uuid.uuid4()), "ffffffff-ffff-ffff-ffff-ffffffffffff", "zzz"):
        assert sum((s is None or key >= s) and (e is None or key < e) for s, e in bounds) == 1


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"tolerence": {}}, "did you mean 'tolerance'"),
        ({"tolerance": {"hp": -1}}, "tolerance.hp: must be a non-negative number"),
        ({"timestamp_precision": "ns"}, "must be one of s, ms, us"),
        ({"source_timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"collections": ["spells"]}, "must name some of campaigns, characters"),
        ({"renames": {"characters": {"sideways": {}}}}, "renames.characters.sideways"),
        ({"segment_size": 1}, "segment_size: must be at least 10"),
        ({"checksums": "yes"}, "checksums: must be bool"),
    ],
)
def test_bad_settings_are_one_line(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="compare settings") as err:
        parse_compare_settings(section)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_raw_equality_settles_only_where_both_sides_map_alike() -> None:
    """The compare's fast path (records equal as read are equal) holds only for canonicalizers with the same
    rules: the declared query builds the destination's form, so its two sides agree; a table's renames do not."""
    query = parse_compare_settings({})
    assert Canonicalizer(query, "characters", "source").agrees_with(Canonicalizer(query, "characters", "destination"))
    tables = table_settings()
    assert not Canonicalizer(tables, "characters", "source").agrees_with(
        Canonicalizer(tables, "characters", "destination")
    )
    zoned = parse_compare_settings({"source_timezone": "Europe/Berlin"})
    assert not Canonicalizer(zoned, "characters", "source").agrees_with(
        Canonicalizer(zoned, "characters", "destination")
    )


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ({"active": True}, {"active": True}, True),
        ({"active": True}, {"active": 1}, False),  # Python's == holds True == 1
        ({"active": False}, {"active": 0.0}, False),
        ({"x": [{"on": True}, 2]}, {"x": [{"on": 1}, 2]}, False),  # inside list items
        ({"a": {"b": [True]}}, {"a": {"b": [1]}}, False),
        ({"b": 1, "a": True}, {"a": True, "b": 1}, True),  # another key order: the walk decides
        ({"reward": 10.0}, {"reward": 10}, True),  # numbers of different types are equal by value
        ({"a": True, "b": 1}, {"a": 1, "b": True}, False),  # swapped: == holds, the types do not
    ],
)
def test_same_data_tells_booleans_from_numbers(a: dict[str, Any], b: dict[str, Any], same: bool) -> None:
    from harness.data.canonical import same_data

    assert same_data(a, b) is same


def test_a_dotted_key_and_an_empty_object_keep_their_shape() -> None:
    """A key with a dot of its own is not the nested field of that name; an empty object is not an absent
    field. Both on the compiled path (the second record of a shape) and the generic one."""
    settings = parse_compare_settings({})
    for _ in range(2):
        canon = Canonicalizer(settings, "campaigns", "source")
        nested = {"id": "1", "meta": {"diff": 1}, "extra": {}}
        dotted = {"id": "1", "meta.diff": 1, "extra": {}}
        for record in (nested, dotted, nested, dotted):  # each shape compiled, then served by its plan
            canon(record)
        assert canon(nested) != canon(dotted)
        assert canon(nested)["extra"] == {} and "extra" not in canon({"id": "1", "meta": {"diff": 1}})
        assert canon(dotted) == {"id": "1", "meta\\.diff": 1, "extra": {}}


def test_table_columns_take_their_exported_text() -> None:
    """A table's date, time and bytea columns as to_jsonb writes them (what an export of the rows holds)."""
    canon = Canonicalizer(parse_compare_settings({}), "campaigns", "source")
    row = {"due": dt.date(2024, 1, 2), "starts": dt.time(6, 30), "seal": b"\x00\x0a", "tags": ["a"]}
    assert canon(row) == {"due": "2024-01-02", "starts": "06:30:00", "seal": "\\x000a", "tags": ["a"]}


def test_a_documents_own_id_or_version_is_compared_not_overwritten() -> None:
    from harness.data.readers import identified

    assert identified({"name": "a"}, "8", 2, True) == {"name": "a", "id": "8", "version": 2}
    assert identified({"id": "8", "version": 2}, "8", 2, True) == {"id": "8", "version": 2}
    assert identified({"id": "999"}, "8", 2, True) == {"id": "8", "(document) id": "999", "version": 2}
    assert identified({"version": "s7"}, "8", 2, True) == {"version": 2, "(document) version": "s7", "id": "8"}
    # no version declared: a document field named version is data, not the record's version
    assert identified({"version": "s7"}, "8", 2, False) == {"version": "s7", "id": "8"}


def test_integer_keys_out_of_the_bigint_range_are_not_keys() -> None:
    from harness.data.readers import _is_key

    assert _is_key("-9223372036854775808", "integer") and _is_key("42", "integer")
    for text in ("9223372036854775808", "99999999999999999999", "--5", "-", "", "٣", "1.0", "3/../2"):
        assert not _is_key(text, "integer"), text
