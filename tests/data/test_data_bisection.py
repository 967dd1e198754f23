"""Recursive bisection: differing key ranges are split into ``bisection_factor`` sub-ranges, settled by count +
checksum on both sides (PostgreSQL over the declared query, the Storage Service's range summary) until at most
``bisection_threshold`` records are left, which are read. It finds what reading everything finds (missing,
extra, changed; one per range and many per range; at the first and the last key; a version alone) and reads
fewer records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from data_helpers import Storage, run_compare

from harness.data import held_range
from harness.data.compare import CompareOptions, compare, split_bounds
from harness.data.readers import DestinationReader, SourceReader, Summary
from harness.data.report import CompareReport
from harness.data.settings import parse_compare_settings
from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
CHARACTERS = 300
BEFORE_ALL = "00000000-0000-4000-8000-000000000001"
AFTER_ALL = "ffffffff-ffff-4fff-8fff-fffffffffff0"
SETTINGS = parse_compare_settings({"bisection_factor": 4, "bisection_threshold": 10, "page_size": 50})


@pytest.fixture(scope="module")
def damaged() -> Iterator[tuple[StackInfo, set[tuple[str, str]]]]:
    with EmbeddedStack(characters=CHARACTERS, seed=3) as info:
        storage = Storage(info)
        keys = sorted(r["id"] for r in storage.records())
        expected = {(keys[0], "missing"), (BEFORE_ALL, "extra"), (AFTER_ALL, "extra")}
        storage.delete(keys[0])
        template = storage.get(keys[1])["document"]
        storage.put(BEFORE_ALL, {**template, "name": "Before everyone"})
        storage.put(AFTER_ALL, {**template, "name": "After everyone"})
        for key in [keys[-1], keys[60], *keys[150:156]]:  # the last key, one alone, six in one range
            storage.edit(key, lambda d: d.update(name=d["name"] + " (changed)"))
            expected.add((key, "changed"))
        record = storage.get(keys[220])  # the same document under the next version: only the version differs
        storage.put(keys[220], record["document"], version=record["version"] + 1)
        expected.add((keys[220], "changed"))
        yield info, expected


def _found(report: CompareReport) -> set[tuple[str, str]]:
    return {(d.key, d.kind) for d in report.differences}


def test_bisection_finds_every_difference_and_reads_less(damaged: tuple[StackInfo, set[tuple[str, str]]]) -> None:
    info, expected = damaged
    bisected = run_compare(info, SETTINGS, checksums=True)
    everything = run_compare(info, SETTINGS, checksums=False)
    assert _found(bisected) == _found(everything) == expected, bisected.summary()
    assert not bisected.notes, bisected.notes  # the checksums cover versions (summary?versions=true)
    characters = next(c for c in bisected.collections if c.collection == "characters")
    read = characters.covered - characters.by_checksum
    assert characters.coverage == 1.0 and characters.segments > 4
    assert read < CHARACTERS / 2, f"read {read} of {characters.total}"
    campaigns = next(c for c in bisected.collections if c.collection == "campaigns")
    assert campaigns.verdict == "equal" and campaigns.by_checksum == campaigns.total


def test_equal_data_reads_nothing(stack: StackInfo) -> None:
    report = run_compare(stack, SETTINGS, checksums=True)
    assert report.verdict == "equal"
    assert all(c.by_checksum == c.covered == c.total for c in report.collections)


@pytest.mark.parametrize(
    ("start", "end"), [(None, None), (None, "80000000-0000-0000-0000-000000000000"), (BEFORE_ALL, AFTER_ALL)]
)
def test_sub_ranges_tile_the_range(start: str | None, end: str | None) -> None:
    parts = split_bounds(start, end, 8)
    assert len(parts) == 8 and parts[0][0] == start and parts[-1][1] == end
    assert all(parts[i][1] == parts[i + 1][0] for i in range(7))
    assert all(a is None or b is None or a < b for a, b in parts)


@pytest.fixture(scope="module")
def spread() -> Iterator[tuple[StackInfo, set[str]]]:
    """Eight changed records among 400, every 50th key: some in every range of the first split."""
    with EmbeddedStack(characters=400, seed=5) as info:
        storage = Storage(info)
        keys = sorted(r["id"] for r in storage.records())
        changed = set(keys[25::50])
        for key in changed:
            storage.edit(key, lambda d: d.update(name=d["name"] + " (changed)"))
        yield info, changed


def test_spread_differences_are_bisected_not_read_in_full(spread: tuple[StackInfo, set[str]]) -> None:
    """Every sub-range of the first split differs, yet further down most are equal: the bisection keeps
    splitting ranges larger than factor x threshold instead of reading everything, so it reads a fraction."""
    info, changed = spread
    first_split = split_bounds(None, None, SETTINGS.bisection_factor)
    assert all(any((a is None or a <= k) and (b is None or k < b) for k in changed) for a, b in first_split)
    report = run_compare(info, SETTINGS, checksums=True)
    assert {(d.key, d.kind) for d in report.differences} == {(k, "changed") for k in changed}
    characters = next(c for c in report.collections if c.collection == "characters")
    read = characters.covered - characters.by_checksum
    assert characters.coverage == 1.0
    assert read < characters.total / 4, f"read {read} of {characters.total}"


class CountingSource(SourceReader):
    """The real source reader, counting what the bisection asks of PostgreSQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_summaries = 0
        self.item_reads: list[tuple[str | None, str | None]] = []

    def summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        self.sql_summaries += 1
        return super().summary(collection, start, end)

    def versioned_summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        self.sql_summaries += 1
        return super().versioned_summary(collection, start, end)

    def summary_items(
        self, collection: str, start: str | None, end: str | None, *, versioned: bool, limit: int
    ) -> tuple[list[str], list[str]] | None:
        self.item_reads.append((start, end))
        return super().summary_items(collection, start, end, versioned=versioned, limit=limit)


def _counted_compare(info: StackInfo) -> tuple[CompareReport, CountingSource]:
    source = CountingSource(info.source_dsn, mapping=SETTINGS.mapping, page_size=SETTINGS.page_size)
    destination = DestinationReader(
        info.storage_service_url, info.storage_database, mapping=SETTINGS.mapping, headers=info.read_headers()
    )
    try:
        return compare(source, destination, SETTINGS, CompareOptions(checksums=True)), source
    finally:
        source.close()
        destination.close()


def test_the_source_builds_each_document_once(spread: tuple[StackInfo, set[str]]) -> None:
    """Every range of the first split differs and is bisected three levels deep, yet the source is read once
    per range of the first split (its summary items, held in memory) and never summarised in SQL."""
    info, changed = spread
    report, source = _counted_compare(info)
    assert {(d.key, d.kind) for d in report.differences} == {(k, "changed") for k in changed}
    first_split = split_bounds(None, None, SETTINGS.bisection_factor)
    assert Counter(source.item_reads) == Counter(first_split * 2)  # campaigns and characters, read ahead
    assert source.sql_summaries == 0


def test_a_range_too_large_to_hold_is_summarised_in_sql(
    spread: tuple[StackInfo, set[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    info, changed = spread
    monkeypatch.setattr(held_range, "HOLD_MAX", 20)  # the ranges of the first split hold about 100 characters
    report, source = _counted_compare(info)
    assert {(d.key, d.kind) for d in report.differences} == {(k, "changed") for k in changed}
    assert source.sql_summaries > len(split_bounds(None, None, SETTINGS.bisection_factor))


def test_a_source_that_cannot_hold_its_ranges_is_bisected_by_summaries(spread: tuple[StackInfo, set[str]]) -> None:
    """The Reader protocol promises no summary items: with the Storage Service on the source side (a reader
    without them) every range is summarised as it comes, and the same changes are found, reading a fraction."""
    info, changed = spread
    storage = DestinationReader(
        info.storage_service_url, info.storage_database, mapping=SETTINGS.mapping, headers=info.read_headers()
    )
    legacy = SourceReader(info.source_dsn, mapping=SETTINGS.mapping, page_size=SETTINGS.page_size)
    try:
        report = compare(storage, legacy, SETTINGS, CompareOptions(checksums=True))
    finally:
        storage.close()
        legacy.close()
    assert {(d.key, d.kind) for d in report.differences} == {(k, "changed") for k in changed}
    characters = next(c for c in report.collections if c.collection == "characters")
    assert characters.by_checksum > characters.total / 2 and characters.coverage == 1.0
