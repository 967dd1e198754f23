"""The three shapes of a record and the conversions between them.

- API form: what the contract (``contracts/character-service.openapi.yaml``) describes.
- DB form (legacy backend): normalised rows, ``characters`` with ``char_name``, ``char_class``, ``str_score``...,
  ``inventory_items`` and ``character_spells`` in their own tables, ``numeric(8,2)`` weights and microsecond
  ``timestamptz`` values.
- Storage form (storage backend): one JSON document per character, camelCase, nested ``abilityScores``,
  inventory and spells embedded, timestamps as millisecond ISO strings.

They differ on purpose, as the migration guide's "convert database models to storage models" step says, so
that the harness's parity checks compare something real.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
# API ability name -> legacy column
ABILITY_COLUMNS = {
    "strength": "str_score",
    "dexterity": "dex_score",
    "constitution": "con_score",
    "intelligence": "int_score",
    "wisdom": "wis_score",
    "charisma": "cha_score",
}
CHARACTER_FIELDS = (
    "owner",
    "name",
    "race",
    "class",
    "level",
    "abilities",
    "hit_points",
    "alignment",
    "background",
    "inventory",
    "spells",
    "campaign_id",
)
CAMPAIGN_FIELDS = ("name", "dungeon_master", "setting", "status")
CHARACTER_DEFAULTS: dict[str, Any] = {"background": "", "inventory": [], "spells": [], "campaign_id": None}
CAMPAIGN_DEFAULTS: dict[str, Any] = {"setting": ""}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_timestamp(value: dt.datetime) -> str:
    """The API's timestamp form: UTC, millisecond precision, ``Z`` suffix."""
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def round_weight(value: float | int | Decimal) -> float:
    return float(round(Decimal(str(value)), 2))


def normalize_character_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validated input -> canonical API field values (defaults filled, integral floats as ints, weights rounded)."""
    out = {**CHARACTER_DEFAULTS, **{k: v for k, v in fields.items() if k in CHARACTER_FIELDS}}
    for key in ("level", "hit_points"):
        out[key] = int(out[key])
    out["abilities"] = {a: int(out["abilities"][a]) for a in ABILITIES}
    out["inventory"] = [
        {
            "name": i["name"],
            "quantity": int(i["quantity"]),
            "weight": round_weight(i["weight"]),
            "equipped": bool(i["equipped"]),
        }
        for i in out["inventory"]
    ]
    out["spells"] = [
        {"name": s["name"], "level": int(s["level"]), "prepared": bool(s["prepared"])} for s in out["spells"]
    ]
    if out["campaign_id"] is not None:
        out["campaign_id"] = str(out["campaign_id"]).lower()
    return out


def normalize_campaign_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {**CAMPAIGN_DEFAULTS, **{k: v for k, v in fields.items() if k in CAMPAIGN_FIELDS}}


# --- legacy DB form ---------------------------------------------------------------------------


def character_from_rows(
    row: dict[str, Any], items: list[dict[str, Any]], spells: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "owner": row["owner_id"],
        "name": row["char_name"],
        "race": row["race"],
        "class": row["char_class"],
        "level": row["level"],
        "abilities": {a: row[c] for a, c in ABILITY_COLUMNS.items()},
        "hit_points": row["hp"],
        "alignment": row["alignment"],
        "background": row["background"],
        "inventory": [
            {
                "name": i["item_name"],
                "quantity": i["quantity"],
                "weight": float(i["weight_lb"]),
                "equipped": i["equipped"],
            }
            for i in items
        ],
        "spells": [{"name": s["spell_name"], "level": s["spell_level"], "prepared": s["prepared"]} for s in spells],
        "campaign_id": str(row["campaign_id"]) if row["campaign_id"] else None,
        "version": row["row_version"],
        "created_at": format_timestamp(row["created_at"]),
        "updated_at": format_timestamp(row["updated_at"]),
    }


def character_row_params(fields: dict[str, Any]) -> dict[str, Any]:
    params = {
        "owner_id": fields["owner"],
        "char_name": fields["name"],
        "race": fields["race"],
        "char_class": fields["class"],
        "level": fields["level"],
        "hp": fields["hit_points"],
        "alignment": fields["alignment"],
        "background": fields["background"],
        "campaign_id": fields["campaign_id"],
    }
    params.update({c: fields["abilities"][a] for a, c in ABILITY_COLUMNS.items()})
    return params


def campaign_from_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["title"],
        "dungeon_master": row["dm_name"],
        "setting": row["setting"],
        "status": row["status"],
        "version": row["row_version"],
        "created_at": format_timestamp(row["created_at"]),
        "updated_at": format_timestamp(row["updated_at"]),
    }


# --- storage form -----------------------------------------------------------------------------


def character_document(character: dict[str, Any]) -> dict[str, Any]:
    """API form (with id, version and timestamps) -> storage document (id and version live on the record)."""
    return {
        "ownerId": character["owner"],
        "name": character["name"],
        "race": character["race"],
        "characterClass": character["class"],
        "level": character["level"],
        "abilityScores": dict(character["abilities"]),
        "hitPoints": character["hit_points"],
        "alignment": character["alignment"],
        "background": character["background"],
        "campaignId": character["campaign_id"],
        "inventory": [dict(i) for i in character["inventory"]],
        "spells": [dict(s) for s in character["spells"]],
        "createdAt": character["created_at"],
        "updatedAt": character["updated_at"],
    }


def character_from_document(record_id: str, version: int, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record_id,
        "owner": doc["ownerId"],
        "name": doc["name"],
        "race": doc["race"],
        "class": doc["characterClass"],
        "level": doc["level"],
        "abilities": {a: doc["abilityScores"][a] for a in ABILITIES},
        "hit_points": doc["hitPoints"],
        "alignment": doc["alignment"],
        "background": doc["background"],
        "inventory": [dict(i) for i in doc["inventory"]],
        "spells": [dict(s) for s in doc["spells"]],
        "campaign_id": doc["campaignId"],
        "version": version,
        "created_at": doc["createdAt"],
        "updated_at": doc["updatedAt"],
    }


def campaign_document(campaign: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": campaign["name"],
        "dungeonMaster": campaign["dungeon_master"],
        "setting": campaign["setting"],
        "status": campaign["status"],
        "createdAt": campaign["created_at"],
        "updatedAt": campaign["updated_at"],
    }


def campaign_from_document(record_id: str, version: int, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record_id,
        "name": doc["name"],
        "dungeon_master": doc["dungeonMaster"],
        "setting": doc["setting"],
        "status": doc["status"],
        "version": version,
        "created_at": doc["createdAt"],
        "updated_at": doc["updatedAt"],
    }
