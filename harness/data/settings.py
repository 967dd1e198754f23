"""The ``[targets.X.compare]`` section (``Target.extra["compare"]``): how records are mapped and compared.

Keys (all optional)::

    [targets.staging.compare]
    collections = ["campaigns", "characters"]  # what to compare (default: both)
    ignore = ["updated_at", "characters:background"]  # canonical fields never compared; "coll:" scopes one
    tolerance = { "inventory.weight" = 0.005 }  # absolute numeric tolerance per canonical field
    timestamp_precision = "ms"                 # s | ms | us: timestamps are truncated to this
    source_timezone = "UTC"                    # zone of source timestamps stored without one
    timestamp_fields = ["created_at", "updated_at"]  # canonical fields holding timestamps
    checksums = true                           # compare key-range checksums first where both sides can
    segment_size = 2000                        # records per checksummed key range
    retries = 3                                # attempts per page read before the verdict is "incomplete"
    page_size = 2000                           # records per page read from either side

    [targets.staging.compare.renames.characters.source]       # source path -> canonical field
    nick_name = "name"
    [targets.staging.compare.renames.characters.destination]  # destination path -> canonical field
    displayName = "name"

Renames add to (or replace) the built-in mapping of the Character Service's legacy tables and storage documents
(``canonical.BUILTIN_RENAMES``). A path names a column or a document field; nested objects and list items are
reached with dots (``inventory_items.item_name``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, did_you_mean

COLLECTIONS = ("campaigns", "characters")
SIDES = ("source", "destination")
PRECISIONS = {"s": 0, "ms": 3, "us": 6}
KEYS: dict[str, type | tuple[type, ...]] = {
    "collections": list,
    "ignore": list,
    "tolerance": dict,
    "timestamp_precision": str,
    "source_timezone": str,
    "timestamp_fields": list,
    "checksums": bool,
    "segment_size": int,
    "retries": int,
    "page_size": int,
    "renames": dict,
}


@dataclass(frozen=True)
class CompareSettings:
    collections: tuple[str, ...] = COLLECTIONS
    ignore: frozenset[str] = frozenset()  # "field" or "collection:field"
    tolerance: Mapping[str, float] = field(default_factory=dict)  # same naming as ignore
    timestamp_precision: str = "ms"
    source_timezone: str = "UTC"
    timestamp_fields: tuple[str, ...] = ("created_at", "updated_at")
    checksums: bool = True
    segment_size: int = 2000
    retries: int = 3
    page_size: int = 2000
    renames: Mapping[str, Mapping[str, Mapping[str, str]]] = field(default_factory=dict)  # coll -> side -> map

    @property
    def custom_renames(self) -> bool:
        return any(any(sides.values()) for sides in self.renames.values())

    def for_collection(self, names: frozenset[str] | Mapping[str, float], collection: str) -> dict[str, Any]:
        """The entries of ``ignore`` or ``tolerance`` that apply to one collection, unscoped."""
        out: dict[str, Any] = {}
        for name in names:
            value = names[name] if isinstance(names, Mapping) else True
            scope, _, field_name = name.rpartition(":")
            if not scope or scope == collection:
                out[field_name] = value
        return out


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"compare settings: {key}: {message}")


def _strings(value: Any, key: str) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v for v in value):
        raise _fail(key, f"must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def parse_compare_settings(data: Mapping[str, Any] | None) -> CompareSettings:
    """Check the section against the documented keys; every problem is one line naming the key."""
    data = data or {}
    for key, value in data.items():
        if key not in KEYS:
            raise _fail(key, f"unknown key{did_you_mean(key, KEYS)} (allowed: {', '.join(sorted(KEYS))})")
        expected = KEYS[key]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            raise _fail(key, f"must be {getattr(expected, '__name__', expected)}, got {value!r}")
    values: dict[str, Any] = {}
    if "collections" in data:
        values["collections"] = _strings(data["collections"], "collections")
        unknown = [c for c in values["collections"] if c not in COLLECTIONS]
        if unknown or not values["collections"]:
            raise _fail("collections", f"must name some of {', '.join(COLLECTIONS)}, got {data['collections']!r}")
    if "ignore" in data:
        values["ignore"] = frozenset(_strings(data["ignore"], "ignore"))
    if "tolerance" in data:
        tol = data["tolerance"]
        for name, amount in tol.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
                raise _fail(f"tolerance.{name}", f"must be a non-negative number, got {amount!r}")
        values["tolerance"] = {k: float(v) for k, v in tol.items()}
    if "timestamp_precision" in data:
        if data["timestamp_precision"] not in PRECISIONS:
            raise _fail("timestamp_precision", f"must be one of {', '.join(PRECISIONS)}")
        values["timestamp_precision"] = data["timestamp_precision"]
    if "source_timezone" in data:
        try:
            ZoneInfo(data["source_timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail("source_timezone", f"unknown time zone {data['source_timezone']!r}; use e.g. UTC") from None
        values["source_timezone"] = data["source_timezone"]
    if "timestamp_fields" in data:
        values["timestamp_fields"] = _strings(data["timestamp_fields"], "timestamp_fields")
    if "checksums" in data:
        values["checksums"] = data["checksums"]
    for key, low in (("segment_size", 10), ("retries", 1), ("page_size", 10)):
        if key in data:
            if data[key] < low:
                raise _fail(key, f"must be at least {low}")
            values[key] = data[key]
    if "renames" in data:
        renames: dict[str, dict[str, dict[str, str]]] = {}
        for collection, sides in data["renames"].items():
            if collection not in COLLECTIONS or not isinstance(sides, dict):
                raise _fail(f"renames.{collection}", f"must be a table named after one of {', '.join(COLLECTIONS)}")
            for side, mapping in sides.items():
                if side not in SIDES or not isinstance(mapping, dict):
                    raise _fail(f"renames.{collection}.{side}", "must be a table named source or destination")
                if not all(isinstance(v, str) and v for v in mapping.values()):
                    raise _fail(f"renames.{collection}.{side}", "maps paths to canonical field names (strings)")
                renames.setdefault(collection, {})[side] = dict(mapping)
        values["renames"] = renames
    return CompareSettings(**values)
