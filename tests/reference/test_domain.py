import datetime as dt
from decimal import Decimal
from typing import Any

from reference_system import domain

CHARACTER: dict[str, Any] = {
    "id": "0b8f8d9e-5c1a-4a57-9c55-1f6f3a3e2d10",
    "owner": "player_1",
    "name": "Lia Nailo",
    "race": "elf",
    "class": "wizard",
    "level": 5,
    "abilities": {a: 10 + i for i, a in enumerate(domain.ABILITIES)},
    "hit_points": 27,
    "alignment": "neutral-good",
    "background": "Sage.",
    "inventory": [{"name": "Spellbook", "quantity": 1, "weight": 3.0, "equipped": False}],
    "spells": [{"name": "Fireball", "level": 3, "prepared": True}],
    "campaign_id": None,
    "version": 4,
    "created_at": "2024-02-03T04:05:06.789Z",
    "updated_at": "2024-02-04T04:05:06.000Z",
}


def test_storage_document_round_trip() -> None:
    doc = domain.character_document(CHARACTER)
    assert "characterClass" in doc and "class" not in doc
    assert domain.character_from_document(CHARACTER["id"], 4, doc) == CHARACTER


def test_db_rows_convert_to_the_api_form() -> None:
    row = {
        "id": CHARACTER["id"],
        "owner_id": "player_1",
        "char_name": "Lia Nailo",
        "race": "elf",
        "char_class": "wizard",
        "level": 5,
        "hp": 27,
        "alignment": "neutral-good",
        "background": "Sage.",
        "campaign_id": None,
        "row_version": 4,
        "created_at": dt.datetime(2024, 2, 3, 4, 5, 6, 789_999, tzinfo=dt.UTC),
        "updated_at": dt.datetime(2024, 2, 4, 5, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    }
    row.update({col: CHARACTER["abilities"][a] for a, col in domain.ABILITY_COLUMNS.items()})
    items = [{"item_name": "Spellbook", "quantity": 1, "weight_lb": Decimal("3.00"), "equipped": False}]
    spells = [{"spell_name": "Fireball", "spell_level": 3, "prepared": True}]
    assert domain.character_from_rows(row, items, spells) == CHARACTER


def test_timestamps_are_utc_milliseconds() -> None:
    moment = dt.datetime(2024, 1, 1, 23, 59, 59, 999_999, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert domain.format_timestamp(moment) == "2024-01-02T01:59:59.999Z"


def test_input_normalisation_rounds_weights_and_fills_defaults() -> None:
    fields = {k: v for k, v in CHARACTER.items() if k in domain.CHARACTER_FIELDS and k not in ("background",)}
    fields["inventory"] = [{"name": "Coin", "quantity": 2.0, "weight": 0.125, "equipped": True}]
    fields["level"] = 5.0
    out = domain.normalize_character_fields(fields)
    assert out["background"] == ""
    assert out["inventory"][0] == {"name": "Coin", "quantity": 2, "weight": 0.12, "equipped": True}
    assert isinstance(out["level"], int)
