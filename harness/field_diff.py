"""The field diff both the differential (two backends' answers) and the contract drift check (a served document
against the file) use, in a module of its own so that ``differential`` and ``fuzz`` do not import each other.

Compare two normalised exchanges field by field: equal documents cost one ``==``; only a mismatch is handed
to deepdiff, whose tree view names each differing field (``body.items[2].name``) with both values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

ABSENT = "<absent>"


@dataclass(frozen=True)
class FieldDifference:
    field: str  # "status", "headers.content-type", "body.name", "body.items[0].name", "order"
    left: Any
    right: Any

    def describe(self, sides: Sequence[str] = ("legacy", "storage")) -> str:
        return f"{self.field}: {sides[0]} {_short(self.left)} != {sides[1]} {_short(self.right)}"


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def field_path(parts: Sequence[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def field_differences(left: Any, right: Any) -> list[FieldDifference]:
    if left == right:
        return []
    tree = DeepDiff(left, right, view="tree", ignore_numeric_type_changes=True)
    found: list[FieldDifference] = []
    for levels in tree.values():
        for level in levels:
            t1 = ABSENT if type(level.t1).__name__ == "NotPresent" else level.t1
            t2 = ABSENT if type(level.t2).__name__ == "NotPresent" else level.t2
            found.append(FieldDifference(field_path(level.path(output_format="list")), t1, t2))
    return sorted(found, key=lambda d: d.field)
