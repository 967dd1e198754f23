"""One canonical form for a record read from either side, so that "equal" means equal data, not equal storage.

The source (a declared query's documents, or a table's rows with their child rows as lists, typed values such
as microsecond ``timestamptz`` included) and the destination (storage documents: ``abilityScores.strength``,
embedded ``inventory``, millisecond ISO strings) both become flat dicts keyed by canonical field names, through
each side's renames of the collection's declared mapping (``mapping.CollectionMapping.renames``; for the
reference, the Character Service API's names): nested objects are flattened to dotted names
(``abilities.strength``), lists of objects stay lists of flat dicts (``inventory`` items with ``name``, ...).

A key that holds a dot itself is escaped (``meta\\.diff``), so it never reads as the nested ``meta.diff``; an
empty object stays a field (``{}``), so it differs from an absent one.

Values are normalised on the way: UUIDs become strings, decimals become floats, timestamps (datetimes, and the
strings in ``timestamp_fields``) become UTC ISO strings truncated to ``timestamp_precision``; dates, times,
bytes and other typed columns of a table become the text PostgreSQL's ``to_jsonb`` gives them. Ignored fields
are dropped here; numeric tolerance is applied only to records that differ (see ``within_tolerance``), so equal
records cost one ``==`` (``same_data``: with booleans told apart from numbers).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from .settings import PRECISIONS, CompareSettings

Canonical = dict[str, Any]

TIMESPECS = {0: "seconds", 3: "milliseconds", 6: "microseconds"}
PLAIN = frozenset({str, int, float, bool, type(None)})  # values the canonical form keeps as they are
IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network)
MAX_PLANS = 8  # record shapes compiled per canonicalizer; beyond that the generic walk serves


def _json_encoder() -> tuple[Callable[[Any], bytes] | None, tuple[type[Exception], ...]]:
    try:
        import msgspec
    except ImportError:
        return None, ()
    return msgspec.json.Encoder().encode, (msgspec.EncodeError, TypeError, ValueError, OverflowError)


_encode, _ENCODE_ERRORS = _json_encoder()


def same_data(a: Any, b: Any) -> bool:
    """``a == b`` as JSON data: Python's ``==`` holds ``True == 1 == 1.0``, and a boolean that became a number
    (or the reverse) in a migration is a difference. Numbers of different types stay equal by value (a
    ``numeric`` column's ``10.0`` is the stored ``10``)."""
    if a != b:
        return False
    # Two equal records usually encode to the same JSON (both sides' documents come out of jsonb, keys in its
    # order): then no boolean faces a number, at a quarter of the cost of walking them (bench/README.md).
    if _encode is not None:
        try:
            if _encode(a) == _encode(b):
                return True
        except _ENCODE_ERRORS:
            pass  # a value JSON has no form for: the walk decides
    return not _bool_against_number(a, b)


def _bool_against_number(a: Any, b: Any) -> bool:
    """Whether two values that are ``==`` hold a boolean on one side where the other holds a number. Called
    once per equal record, so the leaves are checked inline rather than by a call each."""
    if type(a) is dict:
        for key, value in a.items():
            other = b[key]
            kind = type(value)
            if kind is dict or kind is list:
                if _bool_against_number(value, other):
                    return True
            elif (kind is bool) is not (type(other) is bool):
                return True
        return False
    if type(a) is list:
        return any(_bool_against_number(x, y) for x, y in zip(a, b, strict=True))
    return (type(a) is bool) is not (type(b) is bool)


def format_timestamp(value: dt.datetime, digits: int) -> str:
    """UTC, ``digits`` fractional digits (truncated, as the storage form does), ``Z`` suffix."""
    return value.astimezone(dt.UTC).isoformat(timespec=TIMESPECS[digits])[:-6] + "Z"


class Canonicalizer:
    """Maps raw records of one collection from one side into the canonical form.

    The mapping rules are applied by ``_walk``, generically. Because every record of a collection has the same
    shape, the shape of the first record is also compiled into one function building the canonical dict in a
    single expression (``_compile``): the same rules, decided once instead of per field. It first checks that a
    record has that shape (keys of the record, its nested objects and list items; lists are lists) and hands any
    record that does not to the generic rules. This keeps canonicalisation well below the cost of reading the
    records (see ``bench/data_compare.py``).
    """

    def __init__(self, settings: CompareSettings, collection: str, side: str) -> None:
        mapping = settings.collection(collection)
        self.renames = mapping.renames(side)
        ignore = set(settings.for_collection(settings.ignore, collection))
        if mapping.version is None and side == "api":
            # the source has no record version: the version an API answer carries is not compared (the readers
            # of both sides leave it out, so a document field named "version" is compared as data)
            ignore.add("version")
        self.ignore = frozenset(ignore)
        self.digits = PRECISIONS[settings.timestamp_precision]
        self.naive_zone = ZoneInfo(settings.source_timezone) if side == "source" else dt.UTC
        self.timestamp_fields = frozenset(settings.timestamp_fields)
        self._canonical_length = 20 + (self.digits + 1 if self.digits else 0)  # len("2024-01-01T10:00:00.123Z")
        self._plan: Callable[[Mapping[str, Any]], Canonical | None] | None = None
        self._compiled = 0

    def agrees_with(self, other: Canonicalizer) -> bool:
        """Whether this and ``other`` map every raw record alike (the same renames, ignored fields, precision,
        zone for naive times): then two records equal as read are equal in canonical form, so ``==`` on the raw
        records settles them without mapping either (the compare's fast path; a mismatch is mapped as usual)."""
        return (
            self.renames == other.renames
            and self.ignore == other.ignore
            and self.digits == other.digits
            and self.timestamp_fields == other.timestamp_fields
            and _zone_name(self.naive_zone) == _zone_name(other.naive_zone)
        )

    def __call__(self, raw: Mapping[str, Any]) -> Canonical:
        if self._plan is not None:
            out = self._plan(raw)
            if out is not None:
                return out
        if self._compiled < MAX_PLANS and type(raw) is dict:  # a new shape: compile it
            self._compiled += 1
            self._plan = self._compile(raw)
            out = self._plan(raw)
            if out is not None:
                return out
        out = {}
        self._walk(raw, "", "", 0, out)
        return out

    # --- the rules ----------------------------------------------------------------------------------

    def _paths(self, key: str, sprefix: str, cprefix: str) -> tuple[str, str]:
        if "." in key:  # a dot of the key's own, not a level of nesting
            key = key.replace(".", "\\.")
        spath = sprefix + key
        return spath, self.renames.get(spath) or cprefix + key

    def _walk(self, obj: Mapping[str, Any], sprefix: str, cprefix: str, strip: int, out: Canonical) -> None:
        """``sprefix``/``cprefix``: the raw and canonical paths of ``obj``; ``strip``: how much of the canonical
        path a list item's own keys leave out (items are keyed relative to their list)."""
        for key, value in obj.items():
            spath, cpath = self._paths(key, sprefix, cprefix)
            if cpath in self.ignore:
                continue
            if isinstance(value, Mapping) and value:
                self._walk(value, spath + ".", cpath + ".", strip, out)  # nested objects are flattened
            elif isinstance(value, Mapping):
                out[cpath[strip:]] = {}  # an empty object is a value: it differs from no field at all
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
        if type(value) in PLAIN:  # the common case first
            if isinstance(value, str) and cpath in self.timestamp_fields:
                return self._timestamp_text(value)
            return value
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dt.datetime):
            return self._timestamp(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        # a table's other typed columns, as to_jsonb writes them (the form an export of the rows has)
        if isinstance(value, dt.date | dt.time):
            text = value.isoformat()
            return self._timestamp_text(text) if cpath in self.timestamp_fields else text
        if isinstance(value, bytes | bytearray | memoryview):
            return "\\x" + bytes(value).hex()
        if isinstance(value, IP_TYPES):
            return str(value)
        return value

    def _timestamp(self, value: dt.datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.naive_zone)
        return format_timestamp(value, self.digits)

    def _timestamp_text(self, text: str) -> str:
        if len(text) == self._canonical_length and text[-1] == "Z" and text[10] == "T" and text[-5:-4] in ".:":
            return text  # already UTC at this precision: the storage form's usual shape
        try:
            return self._timestamp(dt.datetime.fromisoformat(text))
        except ValueError:
            return text  # not a timestamp: compared as it is, so the difference shows

    # --- the compiled shape -------------------------------------------------------------------------

    def _compile(
        self, sample: Mapping[str, Any], sprefix: str = "", cprefix: str = ""
    ) -> Callable[[Mapping[str, Any]], Canonical | None]:
        """Python source equivalent to ``_walk`` for objects shaped like ``sample`` (a record, or a list item
        when ``cprefix`` names its list). Keys are embedded with ``repr``, so any key is a safe literal."""
        namespace: dict[str, Any] = {"PLAIN": PLAIN, "value": self._value}
        guards: list[str] = []
        entries: list[str] = []

        def const(value: Any) -> str:
            name = f"K{len(namespace)}"
            namespace[name] = value
            return name

        def shape(obj: Mapping[str, Any], src: str, sprefix: str, cprefix: str) -> None:
            guards.append(f"{src}.keys() == {const(frozenset(obj))}")
            for key, value in obj.items():
                spath, cpath = self._paths(key, sprefix, cprefix)
                if cpath in self.ignore:
                    continue
                acc, out_key = f"{src}[{key!r}]", repr(cpath[strip:])
                if type(value) is dict and value:
                    guards.append(f"type({acc}) is dict")
                    shape(value, acc, spath + ".", cpath + ".")
                elif type(value) is dict:
                    guards.append(f"type({acc}) is dict and not {acc}")
                    entries.append(f"{out_key}: {{}}")
                elif type(value) is list:
                    guards.append(f"type({acc}) is list")
                    entries.append(f"{out_key}: {const(_ListPlan(self, spath + '.', cpath + '.'))}({acc})")
                elif cpath in self.timestamp_fields:
                    entries.append(f"{out_key}: value({acc}, {cpath!r})")
                else:
                    entries.append(f"{out_key}: (v if type(v := {acc}) in PLAIN else value(v, {cpath!r}))")

        strip = len(cprefix)
        shape(sample, "r", sprefix, cprefix)
        source = (
            "def plan(r):\n"
            f"    if type(r) is not dict or not ({' and '.join(guards)}):\n        return None\n"
            f"    return {{{', '.join(entries)}}}\n"
        )
        exec(compile(source, "<canonical plan>", "exec"), namespace)
        plan: Callable[[Mapping[str, Any]], Canonical | None] = namespace["plan"]
        return plan


def _zone_name(zone: dt.tzinfo) -> str:
    return "UTC" if zone is dt.UTC else str(getattr(zone, "key", zone))


class _ListPlan:
    """The items of one list field: compiled from the first object item seen, generic rules for the rest."""

    def __init__(self, canonicalizer: Canonicalizer, sprefix: str, cprefix: str) -> None:
        self.canonicalizer, self.sprefix, self.cprefix = canonicalizer, sprefix, cprefix
        self.plan: Callable[[Mapping[str, Any]], Canonical | None] | None = None

    def __call__(self, values: list[Any]) -> list[Any]:
        plan = self.plan
        if plan is None:
            first = next((v for v in values if type(v) is dict), None)
            if first is None:
                return [self.canonicalizer._item(v, self.sprefix, self.cprefix) for v in values]
            plan = self.plan = self.canonicalizer._compile(first, self.sprefix, self.cprefix)
        out = []
        for v in values:
            item = plan(v)
            out.append(item if item is not None else self.canonicalizer._item(v, self.sprefix, self.cprefix))
        return out


def records_agree(source: Canonical, destination: Canonical, tolerance: Mapping[str, float]) -> bool:
    """Whether two canonical records are the same data, each numeric field of ``tolerance`` within its amount."""
    if same_data(source, destination):
        return True
    return bool(tolerance) and same_data(source, within_tolerance(source, destination, tolerance))


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
