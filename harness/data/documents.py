"""The Character Service's storage documents, read from the one place they are written down:
``contracts/character-storage-documents.schema.json`` (a JSON Schema per collection under ``$defs``, the
collections listed in ``x-collections``, and on each field the Character Service API name it holds as
``x-api-name`` where the two differ).

The export validator checks documents against ``collection_schemas()``; the default data mapping
(``reference_mapping``) takes its destination renames from ``api_names()``, so that a difference is reported
under the API's field name. Nothing else in the harness spells the storage form out.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from .. import resources

SCHEMA_FILE = "character-storage-documents.schema.json"


@functools.cache
def document_schema() -> dict[str, Any]:
    """The whole schema file, read once."""
    schema: dict[str, Any] = json.loads(resources.contract(SCHEMA_FILE).read_text(encoding="utf-8"))
    return schema


def collection_schemas() -> dict[str, dict[str, Any]]:
    """A self-contained JSON Schema per collection (its ``$ref`` resolves within the file's ``$defs``)."""
    root = document_schema()
    return {name: {"$ref": f"#/$defs/{name}", "$defs": root["$defs"]} for name in root["x-collections"]}


def api_names(collection: str) -> dict[str, str]:
    """Storage field -> Character Service API field, for the top-level fields whose names differ."""
    properties: dict[str, Any] = document_schema()["$defs"][collection]["properties"]
    return {field: spec["x-api-name"] for field, spec in properties.items() if "x-api-name" in spec}
