"""The reference's export and import: manifest counts and checksums, idempotence, resumption."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import httpx
import pytest

from harness.embedded import EmbeddedStack, StackInfo
from reference_system.migration import export_data, import_bulk, import_to_storage


def test_export_manifest_matches_the_source(stack: StackInfo, tmp_path: Path) -> None:
    manifest = export_data(stack.source_dsn, tmp_path)
    lines = (tmp_path / "export.jsonl").read_text().splitlines()
    assert manifest["collections"]["characters"]["count"] >= stack.characters
    assert sum(c["count"] for c in manifest["collections"].values()) == len(lines)
    first = json.loads(lines[0])
    assert set(first) == {"collection", "id", "version", "document"}
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest


def test_import_is_idempotent_and_resumable(stack_handle: EmbeddedStack, tmp_path: Path) -> None:
    info = stack_handle.info
    assert info is not None
    export_data(info.source_dsn, tmp_path)
    export = tmp_path / "export.jsonl"
    database = "resume_test_db"
    url = info.storage_service_url
    operator = info.storage_operator_token  # a scratch database of the test's own: the operator's token
    auth = {"Authorization": f"Bearer {operator}"}
    try:
        # a run that dies after its first batches: simulate by importing a truncated copy first
        lines = export.read_text().splitlines(keepends=True)
        partial = tmp_path / "partial" / "export.jsonl"
        partial.parent.mkdir()
        partial.write_text("".join(lines[: len(lines) // 2]))
        checkpoint = tmp_path / "checkpoint.json"
        first = import_to_storage(partial, url, database, batch_size=10, checkpoint=checkpoint, token=operator)
        assert first.imported == len(lines) // 2
        # the checkpoint names the file it belongs to, so point it at the full export and resume
        state = json.loads(checkpoint.read_text())
        checkpoint.write_text(json.dumps({**state, "file": str(export.resolve())}))
        resumed = import_to_storage(export, url, database, batch_size=10, checkpoint=checkpoint, token=operator)
        assert resumed.skipped == len(lines) // 2
        assert resumed.imported == len(lines) - len(lines) // 2
        again = import_to_storage(
            export, url, database, batch_size=10, checkpoint=tmp_path / "fresh.json", token=operator
        )
        assert again.imported == len(lines)
        summary = httpx.get(f"{url}/databases/{database}/collections/characters/summary", headers=auth).json()
        reference = httpx.get(f"{url}/databases/character_db/collections/characters/summary", headers=auth).json()
        assert summary["count"] == reference["count"], _not_exported(info, export)
        assert summary == reference, "a resumed, repeated import must equal the original migration"
    finally:
        httpx.delete(f"{url}/databases/{database}", headers=auth)


def _not_exported(info: StackInfo, export: Path | None = None) -> list[tuple[str, str, str]]:
    """The storage backend's characters that are not in the source (id, owner, name): what another test of this
    worker's shared stack left there, so a failure names who wrote it."""
    if export is None:
        export = Path(tempfile.mkdtemp()) / "export.jsonl"
        export_data(info.source_dsn, export.parent)
    exported = {json.loads(line)["id"] for line in export.read_text().splitlines()}
    listed, cursor = [], None
    for _ in range(50):
        page = httpx.get(
            f"{info.storage_url}/characters", params={"limit": 200, **({"cursor": cursor} if cursor else {})}
        ).json()
        listed += page["items"]
        if (cursor := page["next_cursor"]) is None:
            break
    return [(c["id"], c["owner"], c["name"]) for c in listed if c["id"] not in exported]


@pytest.mark.slow  # a stack per fault
@pytest.mark.parametrize("fault", ["missing_records=2", "altered_records=1", "dangling_refs=1", "extra_records=1"])
def test_data_faults_touch_the_destination_only(fault: str) -> None:
    with EmbeddedStack(characters=15, seed=2, faults=[fault]) as info:
        name, count = fault.split("=")
        touched = info.data_faults[name]
        assert len(touched) == int(count)
        legacy = httpx.get(f"{info.legacy_url}/characters?limit=100").json()["items"]
        storage = httpx.get(f"{info.storage_url}/characters?limit=100").json()["items"]
        assert len(legacy) == 15
        assert legacy != storage
        differing = {c["id"] for c in legacy} ^ {c["id"] for c in storage}
        differing |= {a["id"] for a, b in zip(legacy, storage, strict=False) if a != b and a["id"] == b["id"]}
        assert set(touched) <= differing | {c["id"] for c in storage if c["id"] in touched}


def test_bulk_import_equals_the_migration(stack_handle: EmbeddedStack) -> None:
    """import_bulk (documents built in SQL, copied into the Storage Service's tables) gives the records the
    guide's export and HTTP import gave: same ids, versions and documents, in every collection."""
    info, service = stack_handle.info, stack_handle.storage_service
    assert info is not None and service is not None
    url, database = info.storage_service_url, "bulk_test_db"
    auth = {"Authorization": f"Bearer {info.storage_operator_token}"}
    try:
        imported = import_bulk(info.source_dsn, service.env["DATABASE_URL"], database)
        assert imported["characters"] == info.characters
        for collection in ("campaigns", "characters"):
            got, want = (
                httpx.get(f"{url}/databases/{db}/collections/{collection}/summary?versions=true", headers=auth).json()
                for db in (database, "character_db")
            )
            assert got == want, (collection, _not_exported(info))
    finally:
        httpx.delete(f"{url}/databases/{database}", headers=auth)


@pytest.mark.slow  # a stack of its own
def test_a_bulk_stack_holds_equal_data_of_the_seeded_kinds() -> None:
    """EmbeddedStack(bulk=True): set-based seeding, deterministic, loaded into the destination in bulk; the
    harness's compare finds both sides equal, and the data has the seeded kinds (campaigns, items, spells)."""
    from harness.data.compare import CompareOptions, compare
    from harness.data.readers import DestinationReader, SourceReader
    from harness.data.settings import parse_compare_settings

    with EmbeddedStack(characters=400, seed=3, bulk=True) as info:
        auth = {"Authorization": f"Bearer {info.storage_read_token}"}
        source = SourceReader(info.reader_dsn)
        destination = DestinationReader(info.storage_service_url, info.storage_database, headers=auth)
        try:
            report = compare(source, destination, parse_compare_settings({}), CompareOptions(checksums=False))
        finally:
            source.close()
            destination.close()
        assert report.verdict == "equal", report
        assert {c.collection: c.covered for c in report.collections} == {"campaigns": 16, "characters": 400}
        characters = httpx.get(f"{info.legacy_url}/characters?limit=100").json()["items"]
        assert any(c["spells"] for c in characters) and all(c["inventory"] for c in characters)
        assert sum(c["campaign_id"] is not None for c in characters) > 70
        first = characters[0]
    with EmbeddedStack(characters=400, seed=3, bulk=True) as again:
        assert httpx.get(f"{again.legacy_url}/characters/{first['id']}").json() == first
