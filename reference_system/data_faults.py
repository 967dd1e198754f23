"""Data faults applied to the Storage Service after migration, so that parity and reference checks have
something real to find. Each picks its victims deterministically (by id order) and returns their ids."""

from __future__ import annotations

import uuid
from typing import Any

from .storage_client import HttpStorageClient, Record

CHARACTERS = "characters"


def _first(client: HttpStorageClient, n: int, skip: int = 0) -> list[Record]:
    records, _ = client.list_records(CHARACTERS, after=None, limit=max(1, n + skip))
    return records[skip : skip + n]


def apply_data_faults(
    storage_url: str, database: str, faults: dict[str, int], *, token: str | None = None
) -> dict[str, list[str]]:
    """``faults`` maps fault name to count; different faults hit different records (``token``: write role)."""
    client = HttpStorageClient(storage_url, database, token=token, read_timeout=10.0, deadline=30.0)
    touched: dict[str, list[str]] = {}
    offset = 0
    try:
        for name, count in faults.items():
            victims = _first(client, count, skip=offset)
            offset += count
            ids = [r.id for r in victims]
            if name == "missing_records":
                for r in victims:
                    client.delete(CHARACTERS, r.id)
            elif name == "altered_records":
                for r in victims:
                    client.put(
                        CHARACTERS, r.id, {**r.document, "name": r.document["name"] + " (altered)"}, if_match=r.version
                    )
            elif name == "dangling_refs":
                for r in victims:
                    client.put(
                        CHARACTERS,
                        r.id,
                        {**r.document, "campaignId": str(uuid.UUID(int=r.version, version=4))},
                        if_match=r.version,
                    )
            elif name == "extra_records":
                template: dict[str, Any] = victims[0].document if victims else {}
                ids = []
                for i in range(count):
                    new_id = str(uuid.UUID(int=0xFFFF_0000 + i, version=4))
                    client.put(CHARACTERS, new_id, {**template, "name": f"Extra {i}"}, create_only=True)
                    ids.append(new_id)
                offset -= count
            touched[name] = ids
    finally:
        client.close()
    return touched
