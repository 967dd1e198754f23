"""Server-generated ids, paired across the backends compared.

Each backend makes up its own id for a resource created through it, so the "same" character has two ids. When
both backends create a resource for one request, their ids are paired under one symbol (``<character#3>``);
responses are compared with ids replaced by symbols, and requests are written with symbols and realised per
backend. Ids that are not paired (seeded data, migrated with the same id on both sides) stay as they are."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SYMBOL = re.compile(r"<[a-z]+#\d+>")


class IdPairs:
    def __init__(self) -> None:
        self._symbol_of: dict[str, dict[str, str]] = {}  # side -> server id -> symbol
        self._id_of: dict[str, dict[str, str]] = {}  # side -> symbol -> server id
        self._count: dict[str, int] = {}

    def pair(self, kind: str, ids: Mapping[str, str], symbol: str | None = None) -> str:
        """Record that ``ids`` (side -> server id) name one resource; returns its symbol (a new one unless
        ``symbol`` is given: a replayed sequence gives its resources the symbols they had)."""
        if symbol is None:
            self._count[kind] = self._count.get(kind, 0) + 1
            symbol = f"<{kind}#{self._count[kind]}>"
        for side, server_id in ids.items():
            self._symbol_of.setdefault(side, {})[server_id.lower()] = symbol
            self._id_of.setdefault(side, {})[symbol] = server_id
        return symbol

    def server_id(self, side: str, symbol: str) -> str:
        return self._id_of[side][symbol]

    def symbolize(self, side: str, value: Any) -> Any:
        """``value`` (JSON) with every paired id of ``side`` replaced by its symbol, inside strings too."""
        known = self._symbol_of.get(side, {})
        if not known:
            return value

        def text(s: str) -> str:
            return UUID.sub(lambda m: known.get(m[0].lower(), m[0]), s)

        return _map_strings(value, text)

    def realize(self, side: str, value: Any) -> Any:
        """``value`` with every symbol replaced by ``side``'s server id (the inverse of ``symbolize``)."""
        ids = self._id_of.get(side, {})
        return _map_strings(value, lambda s: SYMBOL.sub(lambda m: ids.get(m[0], m[0]), s))


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value
