"""The declared mapping of a deployment's collections: where each one's records come from on the source, what
the destination calls it, how its keys are typed and ordered, and which fields refer to other collections.

One collection, ``[targets.X.compare.collections.NAME]``, has its source either as

- ``query``: SQL returning one row per record with the columns ``key`` and ``document`` (json, jsonb or JSON
  text; usually built with ``jsonb_build_object`` as the migration builds the storage document), or
- ``table`` (with ``key``, the key column, default ``id``): the table's rows, with the rows of ``children``
  tables attached as lists (each child: ``table``, ``join`` = its column holding the parent's key, ``order``).

``version`` names the column holding the record version (of the table, or of the query's result); without it,
versions are not compared. ``key_type`` (``uuid`` | ``text`` | ``integer``) says how the key is typed in SQL.
Keys are always ordered by the bytes of their text form, the order of the Storage Service's listing, so that
the merge-join of both sides never invents missing or extra records: ``uuid`` in its own order (the same),
``text`` with ``COLLATE "C"``, ``integer`` by its decimal text (``key::text COLLATE "C"``; an expression index
on it keeps pages fast on a large table).

The reference's own layout is declared the same way (``reference_mapping.REFERENCE_MAPPING_TOML``) and is the
default. Range checksums are computed inside PostgreSQL over the declared source (``source_query``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from psycopg import sql
else:

    class _Sql:
        """``psycopg.sql``, imported on first use: every command reads the targets file, which builds the
        mappings, and importing psycopg costs a command's start about 0.4 s of CPU; only a query needs it."""

        def __getattr__(self, name: str) -> Any:
            from psycopg import sql as module

            return getattr(module, name)

    sql = _Sql()

KEY_TYPES = ("uuid", "text", "integer")
SIDES = ("source", "destination", "api")  # renames.api: the Character Service's answers (harness data show)
DESTINATION_FORM = "destination"  # checksum form: documents exactly as the destination stores them
COLLECTION_KEYS: dict[str, type] = {
    "destination": str,
    "key_type": str,
    "query": str,
    "table": str,
    "key": str,
    "version": str,
    "children": dict,
    "renames": dict,
    "references": dict,
    "checksums": bool,
    "api": str,
}
CHILD_KEYS: dict[str, type] = {"table": str, "join": str, "order": str}

Fail = Callable[[str, str], ConfigError]


@dataclass(frozen=True)
class ChildTable:
    """Rows of ``table`` whose ``join`` column holds the parent's key, attached to it as the list ``field``."""

    field: str
    table: str
    join: str
    order: str | None = None


@dataclass(frozen=True)
class Reference:
    """The canonical ``field`` of a record holds a key of ``collection`` (or is null)."""

    field: str
    collection: str


@dataclass(frozen=True)
class CollectionMapping:
    name: str  # in reports and --collection
    destination: str  # the Storage Service collection
    key_type: str = "uuid"
    query: str | None = None
    table: str | None = None
    key: str = "id"  # table mode: the key column (query mode: always the result's "key")
    version: str | None = None
    children: tuple[ChildTable, ...] = ()
    source_renames: Mapping[str, str] = field(default_factory=dict)  # as declared in renames.source
    destination_renames: Mapping[str, str] = field(default_factory=dict)
    references: tuple[Reference, ...] = ()
    checksums: bool | None = None  # None: derived (see checksum_form)
    api: str | None = None  # the Character Service path of one record, e.g. "/characters/{key}" (data show)
    api_renames: Mapping[str, str] = field(default_factory=dict)

    def renames(self, side: str) -> dict[str, str]:
        """Paths of one side's records -> canonical names. A query builds the destination's document form, so
        the destination's renames apply to its documents too; ``renames.source`` adds to or overrides them."""
        if side == "destination":
            return dict(self.destination_renames)
        if side == "api":
            return dict(self.api_renames)
        inherited = self.destination_renames if self.query is not None else {}
        return {**inherited, **self.source_renames}

    @property
    def source_checksum_form(self) -> str:
        """Which documents the source's checksums are over: the destination's form (comparable with the
        Storage Service's checksums) or this mapping's own (comparable only with the same source mapping)."""
        storage_form = self.query is not None and not self.source_renames
        if self.checksums if self.checksums is not None else storage_form:
            return DESTINATION_FORM
        return "source " + hashlib.sha256(self.source_query().encode()).hexdigest()[:16]

    # --- SQL -------------------------------------------------------------------------------------------

    @property
    def version_column(self) -> str:
        """The version's column in ``source_query``'s result (a table's is compiled as ``version``)."""
        return "version" if self.table is not None else (self.version or "version")

    def source_query(self) -> str:
        """SQL with the columns ``key``, ``document`` (and ``version``) for every record: the declared query,
        or the table's rows and children built into a document (``to_jsonb``) for checksums."""
        if self.query is not None:
            return self.query
        assert self.table is not None
        q = sql.Identifier
        drop = [self.key, *([self.version] if self.version else [])]
        document: sql.Composable = sql.SQL("to_jsonb(t)")
        for column in drop:
            document = sql.SQL("{} - {}").format(document, sql.Literal(column))
        if self.children:
            parts = []
            for child in self.children:
                order = sql.SQL(" ORDER BY c.{}").format(q(child.order)) if child.order else sql.SQL("")
                row = sql.SQL("to_jsonb(c) - {}").format(sql.Literal(child.join))
                if child.order:
                    row = sql.SQL("{} - {}").format(row, sql.Literal(child.order))
                parts.append(
                    sql.SQL("{}, coalesce((SELECT jsonb_agg({}{}) FROM {} c WHERE c.{} = t.{}), '[]'::jsonb)").format(
                        sql.Literal(child.field), row, order, q(child.table), q(child.join), q(self.key)
                    )
                )
            document = sql.SQL("({}) || jsonb_build_object({})").format(document, sql.SQL(", ").join(parts))
        version = sql.SQL(", t.{} AS version").format(q(self.version)) if self.version else sql.SQL("")
        query = sql.SQL("SELECT t.{} AS key{}, {} AS document FROM {} t").format(
            q(self.key), version, document, q(self.table)
        )
        return query.as_string(None)

    def key_order(self, key: sql.Composable) -> sql.Composable:
        """``key`` as an expression ordered like the Storage Service orders ids (bytes of the text form)."""
        if self.key_type == "uuid":
            return key  # uuid order is the order of its lower-case text
        if self.key_type == "text":
            return sql.SQL('{} COLLATE "C"').format(key)
        return sql.SQL('({})::text COLLATE "C"').format(key)

    def key_bound(self) -> sql.Composable:
        """The placeholder a range bound (a string) is compared through."""
        return sql.SQL("%s::uuid") if self.key_type == "uuid" else sql.SQL("%s")

    def range_clause(
        self, key: sql.Composable, start: str | None, end: str | None, after: str | None
    ) -> tuple[sql.Composable, list[Any]]:
        """A WHERE clause for [start, end) and "after the last key read", written so that indexes are used."""
        clauses: list[sql.Composable] = []
        params: list[Any] = []
        ordered = self.key_order(key)
        for op, value in ((">=", start), ("<", end), (">", after)):
            if value is not None:
                clauses.append(sql.SQL("{} {} {}").format(ordered, sql.SQL(op), self.key_bound()))
                params.append(value)
        if not clauses:
            return sql.SQL("TRUE"), params
        return sql.SQL(" AND ").join(clauses), params

    def source_path(self, canonical: str) -> str:
        """The source path whose canonical name is ``canonical`` (the inverse of the source renames)."""
        renames = self.renames("source")
        return next((path for path, name in renames.items() if name == canonical), canonical)


# --- parsing ---------------------------------------------------------------------------------------------


def _check_keys(data: Mapping[str, Any], allowed: Mapping[str, type], prefix: str, fail: Fail) -> None:
    for key, value in data.items():
        if key not in allowed:
            raise fail(prefix + key, f"unknown key{did_you_mean(key, allowed)} (allowed: {', '.join(sorted(allowed))})")
        expected = allowed[key]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            raise fail(prefix + key, f"must be {expected.__name__}, got {value!r}")


def _name_table(value: Mapping[str, Any], key: str, fail: Fail) -> dict[str, str]:
    if not all(isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()):
        raise fail(key, "maps names to names (non-empty strings)")
    return dict(value)


_LEADING_COMMENTS = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)


def _query_text(text: str, key: str, fail: Fail) -> str:
    query = text.strip().rstrip(";").strip()
    statement = _LEADING_COMMENTS.sub("", query, count=1)  # comments before the statement are fine SQL
    if not statement.lower().startswith(("select", "with", "(", "table", "values")):
        raise fail(key, "must be a SELECT returning the columns key and document (and version, if declared)")
    return query


def parse_collection(name: str, data: Mapping[str, Any], prefix: str, fail: Fail) -> CollectionMapping:
    """One ``collections.NAME`` table; ``prefix`` is ``collections.NAME.`` for the messages."""
    if not isinstance(data, dict):
        raise fail(prefix.rstrip("."), "must be a table (destination, key_type, query or table, ...)")
    _check_keys(data, COLLECTION_KEYS, prefix, fail)
    has_query, has_table = "query" in data, "table" in data
    if has_query == has_table:
        raise fail(prefix + "query", "give either query (SQL returning key and document) or table, not both or none")
    key_type = data.get("key_type", "uuid")
    if key_type not in KEY_TYPES:
        raise fail(prefix + "key_type", f"must be one of {', '.join(KEY_TYPES)}, got {key_type!r}")
    if has_query and "key" in data:
        raise fail(prefix + "key", "only with table; a query returns its key as the column key")
    children: list[ChildTable] = []
    for child_name, child in data.get("children", {}).items():
        cp = f"{prefix}children.{child_name}."
        if not isinstance(child, dict):
            raise fail(cp.rstrip("."), "must be a table with table, join and order")
        _check_keys(child, CHILD_KEYS, cp, fail)
        for required in ("table", "join"):
            if required not in child:
                raise fail(cp + required, "is required")
        children.append(ChildTable(child_name, child["table"], child["join"], child.get("order")))
    renames: dict[str, dict[str, str]] = {}
    for side, table in data.get("renames", {}).items():
        if side not in SIDES or not isinstance(table, dict):
            raise fail(
                f"{prefix}renames.{side}",
                f"must be a table named source, destination or api{did_you_mean(side, SIDES)}",
            )
        renames[side] = _name_table(table, f"{prefix}renames.{side}", fail)
    references = tuple(
        Reference(f, c) for f, c in _name_table(data.get("references", {}), prefix + "references", fail).items()
    )
    if "api" in data and (not data["api"].startswith("/") or "{key}" not in data["api"]):
        raise fail(prefix + "api", 'must be a path with {key}, e.g. "/characters/{key}"')
    return CollectionMapping(
        name=name,
        destination=data.get("destination", name),
        key_type=key_type,
        query=_query_text(data["query"], prefix + "query", fail) if has_query else None,
        table=data.get("table"),
        key=data.get("key", "id"),
        version=data.get("version"),
        children=tuple(children),
        source_renames=renames.get("source", {}),
        destination_renames=renames.get("destination", {}),
        references=references,
        checksums=data.get("checksums"),
        api=data.get("api"),
        api_renames=renames.get("api", {}),
    )


def parse_collections(data: Mapping[str, Any], fail: Fail) -> dict[str, CollectionMapping]:
    if not data:
        raise fail("collections", "declares no collection; add [....compare.collections.NAME] tables")
    mapping = {name: parse_collection(name, value, f"collections.{name}.", fail) for name, value in data.items()}
    destinations: dict[str, str] = {}
    for m in mapping.values():
        if m.destination in destinations:
            raise fail(
                f"collections.{m.name}.destination",
                f"{m.destination!r} is already the destination of {destinations[m.destination]!r}",
            )
        destinations[m.destination] = m.name
        for ref in m.references:
            if ref.collection not in mapping:
                raise fail(
                    f"collections.{m.name}.references.{ref.field}",
                    f"names no declared collection{did_you_mean(ref.collection, mapping)}"
                    f" (collections: {', '.join(mapping)})",
                )
    return mapping
