"""The ``[targets.X.compare]`` section (``Target.compare``): which collections, how records are mapped and compared.

Keys (all optional)::

    [targets.staging.compare]
    ignore = ["updated_at", "characters:background"]  # canonical fields never compared; "coll:" scopes one
    tolerance = { "inventory.weight" = 0.005 }  # absolute numeric tolerance per canonical field
    timestamp_precision = "ms"                 # s | ms | us: timestamps are truncated to this
    source_timezone = "UTC"                    # zone of source timestamps stored without one
    timestamp_fields = ["created_at", "updated_at"]  # canonical fields holding timestamps
    checksums = true                           # compare key-range checksums first where both sides can
    bisection_factor = 16                      # a differing key range is split into this many sub-ranges
    bisection_threshold = 2000                 # ... until it holds at most this many records: then it is read
    segment_size = 2000                        # records per key range of --sample and snapshots
    retries = 3                                # attempts per page read before the verdict is "incomplete"
    page_size = 2000                           # records per page read from either side

    [targets.staging.compare.collections.characters]   # the declared mapping (see harness.data.mapping)
    destination = "characters"
    key_type = "uuid"
    query = "SELECT id AS key, jsonb_build_object(...) AS document FROM characters"

Without ``collections`` tables the reference's layout is the mapping (``reference_mapping``); with them, only
the declared collections exist. ``collections = ["characters"]`` (a list) picks some of the default's. The older
``[renames.COLLECTION.source|destination]`` tables add renames to a collection of the mapping (and, because they
say the source's documents are not in the destination's form, turn its range checksums off).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, did_you_mean
from .mapping import CollectionMapping, parse_collections
from .reference_mapping import REFERENCE_MAPPING_TOML

SIDES = ("source", "destination")
PRECISIONS = {"s": 0, "ms": 3, "us": 6}
KEYS: dict[str, type | tuple[type, ...]] = {
    "collections": (list, dict),
    "ignore": list,
    "tolerance": dict,
    "timestamp_precision": str,
    "source_timezone": str,
    "timestamp_fields": list,
    "checksums": bool,
    "segment_size": int,
    "retries": int,
    "page_size": int,
    "bisection_factor": int,
    "bisection_threshold": int,
    "renames": dict,
}
DEFAULT_WHERE = "compare settings: "


def _reference_mapping() -> dict[str, CollectionMapping]:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"reference mapping: {key}: {message}")

    return parse_collections(tomllib.loads(REFERENCE_MAPPING_TOML)["collections"], fail)


REFERENCE_MAPPING: Mapping[str, CollectionMapping] = _reference_mapping()
COLLECTIONS = tuple(REFERENCE_MAPPING)  # the reference's collections, the default


@dataclass(frozen=True)
class CompareSettings:
    collections: tuple[str, ...] = COLLECTIONS  # compared by default (all of the mapping's unless chosen)
    ignore: frozenset[str] = frozenset()  # "field" or "collection:field"
    tolerance: Mapping[str, float] = field(default_factory=dict)  # same naming as ignore
    timestamp_precision: str = "ms"
    source_timezone: str = "UTC"
    timestamp_fields: tuple[str, ...] = ("created_at", "updated_at")
    checksums: bool = True
    segment_size: int = 2000
    retries: int = 3
    page_size: int = 2000
    bisection_factor: int = 16  # sub-ranges a differing key range is split into
    bisection_threshold: int = 2000  # a differing range with at most this many records is read
    mapping: Mapping[str, CollectionMapping] = field(default_factory=lambda: dict(REFERENCE_MAPPING))

    def collection(self, name: str) -> CollectionMapping:
        """The mapping of one collection; an unknown name is a one-line error naming the declared ones."""
        if name not in self.mapping:
            raise ConfigError(
                f"unknown collection {name!r}{did_you_mean(name, self.mapping)}"
                f" (collections: {', '.join(self.mapping)})"
            )
        return self.mapping[name]

    def for_collection(self, names: frozenset[str] | Mapping[str, float], collection: str) -> dict[str, Any]:
        """The entries of ``ignore`` or ``tolerance`` that apply to one collection, unscoped."""
        out: dict[str, Any] = {}
        for name in names:
            value = names[name] if isinstance(names, Mapping) else True
            scope, _, field_name = name.rpartition(":")
            if not scope or scope == collection:
                out[field_name] = value
        return out


def _strings(value: Any, key: str, fail: Callable[[str, str], ConfigError]) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v for v in value):
        raise fail(key, f"must be a list of non-empty strings, got {value!r}")
    return tuple(value)


def _with_renames(
    mapping: dict[str, CollectionMapping], renames: Mapping[str, Any], fail: Callable[[str, str], ConfigError]
) -> None:
    """The ``[renames.COLLECTION.SIDE]`` tables, added to the mapping's collections."""
    for collection, sides in renames.items():
        if collection not in mapping or not isinstance(sides, dict):
            raise fail(
                f"renames.{collection}",
                f"must be a table named after one of {', '.join(mapping)}{did_you_mean(collection, mapping)}",
            )
        added: dict[str, dict[str, str]] = {}
        for side, table in sides.items():
            if side not in SIDES or not isinstance(table, dict):
                raise fail(f"renames.{collection}.{side}", "must be a table named source or destination")
            if not all(isinstance(v, str) and v for v in table.values()):
                raise fail(f"renames.{collection}.{side}", "maps paths to canonical field names (strings)")
            added[side] = dict(table)
        m = mapping[collection]
        mapping[collection] = dataclasses.replace(
            m,
            source_renames={**m.source_renames, **added.get("source", {})},
            destination_renames={**m.destination_renames, **added.get("destination", {})},
            checksums=m.checksums if m.checksums is not None or not any(added.values()) else False,
        )


def parse_compare_settings(data: Mapping[str, Any] | None, where: str = DEFAULT_WHERE) -> CompareSettings:
    """Check the section against the documented keys; every problem is one line naming the key.

    ``where`` starts each message: ``harness.toml: targets.staging.compare.`` when the targets file is read."""

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}{key}: {message}")

    data = data or {}
    for key, value in data.items():
        if key not in KEYS:
            raise fail(key, f"unknown key{did_you_mean(key, KEYS)} (allowed: {', '.join(sorted(KEYS))})")
        expected = KEYS[key]
        types = expected if isinstance(expected, tuple) else (expected,)
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            names = " or ".join("table" if t is dict else t.__name__ for t in types)
            raise fail(key, f"must be {names}, got {value!r}")
    values: dict[str, Any] = {}
    mapping = dict(REFERENCE_MAPPING)
    chosen = data.get("collections")
    if isinstance(chosen, dict):
        mapping = parse_collections(chosen, fail)
        values["collections"] = tuple(mapping)
    elif chosen is not None:
        values["collections"] = _strings(chosen, "collections", fail)
        unknown = [c for c in values["collections"] if c not in mapping]
        if unknown or not values["collections"]:
            raise fail(
                "collections",
                f"must name some of {', '.join(mapping)}, got {chosen!r}"
                + did_you_mean(unknown[0] if unknown else "", mapping),
            )
    if "renames" in data:
        _with_renames(mapping, data["renames"], fail)
    values["mapping"] = mapping
    if "ignore" in data:
        values["ignore"] = frozenset(_strings(data["ignore"], "ignore", fail))
    if "tolerance" in data:
        tol = data["tolerance"]
        for name, amount in tol.items():
            if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
                raise fail(f"tolerance.{name}", f"must be a non-negative number, got {amount!r}")
        values["tolerance"] = {k: float(v) for k, v in tol.items()}
    if "timestamp_precision" in data:
        if data["timestamp_precision"] not in PRECISIONS:
            raise fail("timestamp_precision", f"must be one of {', '.join(PRECISIONS)}")
        values["timestamp_precision"] = data["timestamp_precision"]
    if "source_timezone" in data:
        try:
            ZoneInfo(data["source_timezone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise fail("source_timezone", f"unknown time zone {data['source_timezone']!r}; use e.g. UTC") from None
        values["source_timezone"] = data["source_timezone"]
    if "timestamp_fields" in data:
        values["timestamp_fields"] = _strings(data["timestamp_fields"], "timestamp_fields", fail)
    if "checksums" in data:
        values["checksums"] = data["checksums"]
    limits = (
        ("segment_size", 10),
        ("retries", 1),
        ("page_size", 10),
        ("bisection_factor", 2),
        ("bisection_threshold", 1),
    )
    for key, low in limits:
        if key in data:
            if data[key] < low:
                raise fail(key, f"must be at least {low}")
            values[key] = data[key]
    return CompareSettings(**values)
