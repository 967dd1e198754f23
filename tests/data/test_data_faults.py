"""Each data fault, injected after migration into the destination (through the Storage Service's API) or into
the source (SQL), is named by the right check with its exact record and field; unaffected records stay equal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from data_helpers import Storage, find, hour_later, run_compare, source_sql

from harness.data.readers import DestinationReader, SourceReader
from harness.data.refs import check_refs
from harness.data.report import CompareReport
from harness.data.settings import CompareSettings, parse_compare_settings
from harness.data.verify import verify
from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
EXTRA_ID = "ffffffff-0000-4000-8000-000000000001"
DANGLING_DST = "00000000-0000-4000-8000-00000000dead"
DANGLING_SRC = "00000000-0000-4000-8000-0000000000aa"
ORPHAN_OWNER = "00000000-0000-4000-8000-0000000000bb"
SETTINGS = parse_compare_settings(
    {"tolerance": {"inventory.weight": 0.01}, "page_size": 10, "segment_size": 10, "bisection_threshold": 4}
)


@dataclass
class Faulted:
    info: StackInfo
    victims: dict[str, str] = field(default_factory=dict)  # fault -> record id
    originals: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def faulted() -> Iterator[Faulted]:
    with EmbeddedStack(characters=80, seed=11) as info:
        storage = Storage(info)
        records = {r["id"]: r["document"] for r in storage.records()}
        pool = iter(sorted(records))
        f = Faulted(info)

        def pick(fault: str, ok: Any = lambda d: True) -> str:
            key = next(k for k in pool if ok(records[k]))
            f.victims[fault] = key
            return str(key)

        storage.delete(pick("missing"))
        f.originals["name"] = storage.edit(pick("name"), lambda d: d.update(name=d["name"] + " (altered)"))["name"]
        f.originals["beyond"] = storage.edit(
            pick("beyond", lambda d: d["inventory"]),
            lambda d: d["inventory"][0].update(weight=d["inventory"][0]["weight"] + 0.5),
        )["inventory"][0]["weight"]
        storage.edit(
            pick("within", lambda d: d["inventory"]),
            lambda d: d["inventory"][0].update(weight=round(d["inventory"][0]["weight"] + 0.01, 2)),
        )
        f.originals["nested"] = storage.edit(
            pick("nested", lambda d: len(d["inventory"]) >= 2),
            lambda d: d["inventory"][1].update(name="Cursed " + d["inventory"][1]["name"]),
        )["inventory"][1]["name"]
        # the same instant written with another offset: time zone normalisation must make it equal
        storage.edit(pick("offset"), lambda d: d.update(createdAt=d["createdAt"][:-1].replace("T", " ") + "+00:00"))
        storage.edit(pick("dangling_dst", lambda d: d["campaignId"]), lambda d: d.update(campaignId=DANGLING_DST))
        storage.put(EXTRA_ID, {**records[f.victims["name"]], "name": "Nobody"})
        f.victims["extra"] = EXTRA_ID

        ts = pick("timestamp")
        f.originals["timestamp"] = records[ts]["updatedAt"]
        source_sql(info, "UPDATE characters SET updated_at = updated_at + interval '1 hour' WHERE id = %s", (ts,))
        source_sql(info, "UPDATE characters SET char_name = 'Renamed At Source' WHERE id = %s", (pick("src_name"),))
        source_sql(info, "UPDATE characters SET campaign_id = %s WHERE id = %s", (DANGLING_SRC, pick("dangling_src")))
        # a duplicate key needs the primary key gone (a restored dump without constraints looks like this)
        source_sql(info, "ALTER TABLE characters DROP CONSTRAINT characters_pkey CASCADE")
        source_sql(info, "INSERT INTO characters SELECT * FROM characters WHERE id = %s", (pick("duplicate"),))
        source_sql(info, "INSERT INTO inventory_items VALUES (%s, 0, 'Lost ring', 1, 0.10, false)", (ORPHAN_OWNER,))
        yield f


@pytest.fixture(scope="module", params=[True, False], ids=["checksums", "streaming"])
def report(request: pytest.FixtureRequest, faulted: Faulted) -> CompareReport:
    return run_compare(faulted.info, SETTINGS, checksums=request.param)


def only(report: CompareReport, key: str) -> Any:
    found = find(report, key)
    assert len(found) == 1, f"expected one difference for {key}, got {found}"
    return found[0]


def test_every_fault_and_nothing_else_is_reported(report: CompareReport, faulted: Faulted) -> None:
    characters = next(c for c in report.collections if c.collection == "characters")
    assert (characters.missing, characters.extra, characters.duplicates) == (1, 1, 1)
    assert characters.changed == 7, report.summary()
    assert report.verdict == "different" and report.exit_code == 1
    campaigns = next(c for c in report.collections if c.collection == "campaigns")
    assert campaigns.verdict == "equal" and campaigns.coverage == 1.0
    assert characters.coverage == 1.0


def test_missing_and_extra_records_are_named(report: CompareReport, faulted: Faulted) -> None:
    assert only(report, faulted.victims["missing"]).kind == "missing"
    assert only(report, EXTRA_ID).kind == "extra"


def test_changed_scalar_names_the_field_and_both_values(report: CompareReport, faulted: Faulted) -> None:
    diff = only(report, faulted.victims["name"])
    assert diff.kind == "changed"
    assert [(f.path, f.source, f.destination) for f in diff.fields] == [
        ("name", faulted.originals["name"], faulted.originals["name"] + " (altered)")
    ]


def test_number_beyond_tolerance_is_reported_and_within_passes(report: CompareReport, faulted: Faulted) -> None:
    diff = only(report, faulted.victims["beyond"])
    assert [(f.path, f.source) for f in diff.fields] == [("inventory[0].weight", faulted.originals["beyond"])]
    assert find(report, faulted.victims["within"]) == []


def test_timestamp_shifted_by_an_hour_at_the_source(report: CompareReport, faulted: Faulted) -> None:
    diff = only(report, faulted.victims["timestamp"])
    original = faulted.originals["timestamp"]
    assert [(f.path, f.source, f.destination) for f in diff.fields] == [("updated_at", hour_later(original), original)]


def test_same_instant_in_another_offset_is_equal(report: CompareReport, faulted: Faulted) -> None:
    assert find(report, faulted.victims["offset"]) == []


def test_nested_list_item_change_names_the_item(report: CompareReport, faulted: Faulted) -> None:
    diff = only(report, faulted.victims["nested"])
    original = faulted.originals["nested"]
    assert [(f.path, f.source, f.destination) for f in diff.fields] == [
        ("inventory[1].name", original, "Cursed " + original)
    ]


def test_source_side_changes_are_named(report: CompareReport, faulted: Faulted) -> None:
    assert [f.path for f in only(report, faulted.victims["src_name"]).fields] == ["name"]
    assert [(f.path, f.source) for f in only(report, faulted.victims["dangling_src"]).fields] == [
        ("campaign_id", DANGLING_SRC)
    ]
    dup = only(report, faulted.victims["duplicate"])
    assert (dup.kind, dup.side) == ("duplicate", "source")


def test_dangling_destination_reference_differs(report: CompareReport, faulted: Faulted) -> None:
    diff = only(report, faulted.victims["dangling_dst"])
    assert [(f.path, f.destination) for f in diff.fields] == [("campaign_id", DANGLING_DST)]


def test_checksums_settle_the_unaffected_ranges(faulted: Faulted) -> None:
    report = run_compare(faulted.info, SETTINGS, checksums=True)
    characters = next(c for c in report.collections if c.collection == "characters")
    assert characters.by_checksum > 0 and characters.segments_streamed < characters.segments


def test_check_refs_names_every_orphan_and_duplicate(faulted: Faulted) -> None:
    info = faulted.info
    source = SourceReader(info.source_dsn)
    destination = DestinationReader(info.storage_service_url, info.storage_database, headers=info.read_headers())
    try:
        report = check_refs(source, destination, CompareSettings())
    finally:
        source.close()
        destination.close()
    found = {(p.kind, p.where) for p in report.problems}
    v = faulted.victims
    assert found == {
        ("duplicate key", f"source characters/{v['duplicate']}"),
        ("dangling reference", f"source characters/{v['dangling_src']}"),
        ("orphan row", f"source inventory_items/{ORPHAN_OWNER}#0"),
        ("dangling reference", f"destination characters/{v['dangling_dst']}"),
    }
    assert report.verdict == "different" and report.exit_code == 1
    dangling = next(p for p in report.problems if p.where.endswith(v["dangling_dst"]))
    assert DANGLING_DST in dangling.detail


def test_verify_finds_the_collection_that_differs(faulted: Faulted) -> None:
    info = faulted.info
    source = SourceReader(info.source_dsn)
    destination = DestinationReader(info.storage_service_url, info.storage_database, headers=info.read_headers())
    try:
        report = verify(source, destination, ("campaigns", "characters"))
    finally:
        source.close()
        destination.close()
    assert [(p.kind, p.where) for p in report.problems] == [("count mismatch", "characters")]
    assert report.exit_code == 1


def test_max_diffs_stops_early(faulted: Faulted) -> None:
    report = run_compare(faulted.info, SETTINGS, checksums=False, max_diffs=2)
    assert len(report.differences) == 2 and report.stopped and "max-diffs" in report.stopped
    assert report.verdict == "different"


def test_time_limit_gives_incomplete_never_equal(faulted: Faulted) -> None:
    report = run_compare(faulted.info, SETTINGS, checksums=True, time_limit=1e-9, collections=("characters",))
    assert report.verdict in ("incomplete", "different")
    assert report.collections[0].coverage < 1.0 and report.stopped


def test_time_limit_during_a_sample_is_incomplete_too(faulted: Faulted) -> None:
    report = run_compare(faulted.info, SETTINGS, sample=0.5, time_limit=1e-9)
    assert report.verdict == "incomplete" and all(c.verdict == "incomplete" for c in report.collections)
