"""No stale reads: a read after a write sees the write (the storage backend caches reads)."""

from __future__ import annotations

import httpx
import pytest

from harness.pytest_plugin.synthetic import SyntheticRecords

pytestmark = pytest.mark.writes


def test_read_after_write_is_fresh(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    path = f"/characters/{created['id']}"
    for level in range(4, 9):
        client.get(path).raise_for_status()  # warm any cache
        written = client.patch(path, json={"level": level})
        assert written.status_code == 200, written.text
        read = client.get(path).json()
        assert (read["level"], read["version"]) == (level, written.json()["version"]), (
            f"stale read after update: wrote level {level} (version {written.json()['version']}), "
            f"read level {read['level']} (version {read['version']})"
        )


def test_deleted_record_is_not_served_from_cache(client: httpx.Client, synthetic: SyntheticRecords) -> None:
    created = synthetic.character()
    path = f"/characters/{created['id']}"
    client.get(path).raise_for_status()
    assert client.delete(path).status_code == 204
    assert client.get(path).status_code == 404, "a deleted character is still served"
