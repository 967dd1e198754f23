"""One canonical form for a record read from either side, so that "equal" means equal data, not equal storage.

The source (the legacy tables: ``char_name``, ``str_score``, ``inventory_items`` rows, microsecond
``timestamptz``) and the destination (storage documents: ``name``, ``abilityScores.strength``, embedded
``inventory``, millisecond ISO strings) both become flat dicts keyed by canonical field names (the Character
Service API's names): nested objects are flattened to dotted names (``abilities.strength``), lists of objects
stay lists of flat dicts (``inventory`` items with ``name``, ``quantity``, ``weight``, ``equipped``).

Values are normalised on the way: UUIDs become strings, decimals become floats, timestamps (datetimes, and the
strings in ``timestamp_fields``) become UTC ISO strings truncated to ``timestamp_precision``. Ignored fields are
dropped here; numeric tolerance is applied only to records that differ (see ``within_tolerance``), so equal
records cost one ``==``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .settings import PRECISIONS, CompareSettings

Canonical = dict[str, Any]

_ABILITIES = {
    "str_score": "strength",
    "dex_score": "dexterity",
    "con_score": "constitution",
    "int_score": "intelligence",
    "wis_score": "wisdom",
    "cha_score": "charisma",
}
# The conversion between the legacy DB model and the storage model (the guide's "convert database models to
# storage models"), as renames into the canonical names. Paths not named keep their name.
BUILTIN_RENAMES: dict[str, dict[str, dict[str, str]]] = {
    "campaigns": {
        "source": {"title": "name", "dm_name": "dungeon_master", "row_version": "version"},
        "destination": {"dungeonMaster": "dungeon_master", "createdAt": "created_at", "updatedAt": "updated_at"},
    },
    "characters": {
        "source": {
            "owner_id": "owner",
            "char_name": "name",
            "char_class": "class",
            "hp": "hit_points",
            "row_version": "version",
            **{column: f"abilities.{ability}" for column, ability in _ABILITIES.items()},
            "inventory_items": "inventory",
            "inventory_items.item_name": "inventory.name",
            "inventory_items.weight_lb": "inventory.weight",
            "character_spells": "spells",
            "character_spells.spell_name": "spells.name",
            "character_spells.spell_level": "spells.level",
        },
        "destination": {
            "ownerId": "owner",
            "characterClass": "class",
            "abilityScores": "abilities",
            "hitPoints": "hit_points",
            "campaignId": "campaign_id",
            "createdAt": "created_at",
            "updatedAt": "updated_at",
        },
    },
}


def format_timestamp(value: dt.datetime, digits: int) -> str:
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{value.microsecond:06d}"[:digits]  # truncation, as the storage form does
    return text + "Z"


class Canonicalizer:
    """Maps raw records of one collection from one side into the canonical form."""

    def __init__(self, settings: CompareSettings, collection: str, side: str) -> None:
        self.renames = {
            **BUILTIN_RENAMES.get(collection, {}).get(side, {}),
            **settings.renames.get(collection, {}).get(side, {}),
        }
        self.ignore = frozenset(settings.for_collection(settings.ignore, collection))
        self.digits = PRECISIONS[settings.timestamp_precision]
        self.naive_zone = ZoneInfo(settings.source_timezone) if side == "source" else dt.UTC
        self.timestamp_fields = frozenset(settings.timestamp_fields)

    def __call__(self, raw: Mapping[str, Any]) -> Canonical:
        out: Canonical = {}
        self._walk(raw, "", "", 0, out)
        return out

    def _walk(self, obj: Mapping[str, Any], sprefix: str, cprefix: str, strip: int, out: Canonical) -> None:
        """``sprefix``/``cprefix``: the raw and canonical paths of ``obj``; ``strip``: how much of the canonical
        path a list item's own keys leave out (items are keyed relative to their list)."""
        renames = self.renames
        for key, value in obj.items():
            spath = sprefix + key
            cpath = renames.get(spath) or cprefix + key
            if cpath in self.ignore:
                continue
            if isinstance(value, Mapping):
                self._walk(value, spath + ".", cpath + ".", strip, out)
            elif isinstance(value, list):
                out[cpath[strip:]] = [self._item(v, spath + ".", cpath + ".") for v in value]
            else:
                out[cpath[strip:]] = self._value(value, cpath)

    def _item(self, value: Any, sprefix: str, cprefix: str) -> Any:
        if isinstance(value, Mapping):
            item: Canonical = {}
            self._walk(value, sprefix, cprefix, len(cprefix), item)
            return item
        return self._value(value, cprefix[:-1])

    def _value(self, value: Any, cpath: str) -> Any:
        if isinstance(value, (str, int, float, bool)) or value is None:  # the common case first
            if isinstance(value, str) and cpath in self.timestamp_fields:
                return self._timestamp_text(value)
            return value
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dt.datetime):
            return self._timestamp(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        return value

    def _timestamp(self, value: dt.datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.naive_zone)
        return format_timestamp(value, self.digits)

    def _timestamp_text(self, text: str) -> str:
        try:
            return self._timestamp(dt.datetime.fromisoformat(text))
        except ValueError:
            return text  # not a timestamp: compared as it is, so the difference shows


def within_tolerance(source: Canonical, destination: Canonical, tolerance: Mapping[str, float]) -> Canonical:
    """A copy of ``destination`` where each numeric field within its tolerance of the source takes the source's
    value, so a plain ``==`` afterwards settles the record. Field names: ``hit_points``, ``inventory.weight``."""
    patched = dict(destination)
    for name, amount in tolerance.items():
        if name in source and name in patched:
            if _close(source[name], patched[name], amount):
                patched[name] = source[name]
            continue
        head, _, tail = name.partition(".")
        src_items, dst_items = source.get(head), patched.get(head)
        if tail and isinstance(src_items, list) and isinstance(dst_items, list):
            items = []
            for s, d in zip(src_items, dst_items, strict=False):
                if (
                    isinstance(s, dict)
                    and isinstance(d, dict)
                    and tail in s
                    and tail in d
                    and _close(s[tail], d[tail], amount)
                ):
                    d = {**d, tail: s[tail]}
                items.append(d)
            patched[head] = items + dst_items[len(items) :]
    return patched


def _close(a: Any, b: Any, amount: float) -> bool:
    numbers = (int, float, Decimal)
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, numbers) or not isinstance(b, numbers):
        return False
    return abs(float(a) - float(b)) <= amount + 1e-12  # floats: 0.01 apart must count as within 0.01


CanonicalMap = Callable[[Mapping[str, Any]], Canonical]
