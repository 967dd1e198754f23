"""``harness data merge``'s logic on partition reports as ``harness data compare --partitions N --partition I``
writes them: the same collections in every partition, key ranges that tile each collection's key space, and
differences listed in key order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.data.merge import merge_reports, read_report
from harness.data.report import INCOMPLETE, CollectionResult, CompareReport, Difference
from harness.errors import ConfigError

Bounds = dict[str, tuple[str | None, str | None] | None]


def partition(index: int, of: int, bounds: Bounds, *differences: Difference) -> dict[str, Any]:
    report = CompareReport("compare", partition=(index, of), partition_bounds=bounds)
    for name in bounds:
        result = CollectionResult(name, source_count=10, destination_count=10, covered=10, equal=10)
        result.changed = sum(1 for d in differences if d.collection == name)
        report.collections.append(result)
    report.differences.extend(differences)
    data: dict[str, Any] = json.loads(report.to_json())
    return data


def tiled(**cuts: str) -> list[dict[str, Any]]:
    """Two partitions of each collection, cut at ``cuts[collection]``."""
    return [
        partition(0, 2, {c: (None, cut) for c, cut in cuts.items()}),
        partition(1, 2, {c: (cut, None) for c, cut in cuts.items()}),
    ]


def test_partitions_that_tile_the_key_space_merge_equal() -> None:
    merged = merge_reports(tiled(heroes="m", guilds="17"))
    assert merged.verdict == "equal", merged.summary()
    three = [partition(0, 3, {"heroes": (None, "f")}), partition(1, 3, {"heroes": ("f", None)})]
    three.append(partition(2, 3, {"heroes": None}))  # fewer keys than partitions: the last one holds none
    assert merge_reports(three).verdict == "equal"


@pytest.mark.parametrize(
    ("bounds", "reason"),
    [
        ([("m", None)], "heroes: partition 0 ends at 'k' but partition 1 starts at 'm'"),  # a gap
        ([("c", None)], "heroes: partition 0 ends at 'k' but partition 1 starts at 'c'"),  # an overlap
        ([("k", "x")], "heroes: the keys from 'x' on are in no partition (partition 1 ends there)"),
        ([(None, None)], "heroes: partition 0 ends at 'k' but partition 1 starts at the open end"),
    ],
)
def test_partitions_that_leave_a_gap_or_overlap_are_incomplete(
    bounds: list[tuple[str | None, str | None]], reason: str
) -> None:
    """The cut points are the source's key quantiles when each partition runs: a live source moves them."""
    reports = [partition(0, 2, {"heroes": (None, "k"), "guilds": (None, "5")})]
    reports.append(partition(1, 2, {"heroes": bounds[0], "guilds": ("5", None)}))
    merged = merge_reports(reports)
    assert merged.verdict == INCOMPLETE and merged.exit_code == 1
    heroes, guilds = merged.collections
    assert heroes.incomplete is not None and reason in heroes.incomplete, heroes.incomplete
    assert guilds.verdict == "equal"
    assert reason in merged.summary()


def test_a_first_partition_that_does_not_start_at_the_open_end_is_incomplete() -> None:
    reports = [partition(0, 2, {"heroes": ("b", "k")}), partition(1, 2, {"heroes": ("k", None)})]
    merged = merge_reports(reports)
    assert (
        merged.collections[0].incomplete == "heroes: the keys before 'b' are in no partition (partition 0 starts there)"
    )


def test_a_partition_report_without_key_ranges_cannot_prove_its_part() -> None:
    reports = tiled(heroes="k")
    del reports[1]["partition"]["bounds"]
    merged = merge_reports(reports)
    assert merged.verdict == INCOMPLETE
    assert "partition 1 recorded no key range of heroes" in str(merged.collections[0].incomplete)


def test_partitions_of_different_collections_are_refused() -> None:
    """--partition 0 --collection guilds beside --partition 1 --collection heroes: half of each never compared."""
    reports = [partition(0, 2, {"guilds": (None, "5")}), partition(1, 2, {"heroes": ("k", None)})]
    with pytest.raises(ConfigError, match="partition 0 compared guilds but partition 1 compared heroes"):
        merge_reports(reports)


def test_merged_differences_are_listed_by_collection_then_key() -> None:
    reports = [
        partition(0, 2, {"heroes": (None, "k"), "guilds": (None, "5")}, Difference("heroes", "b", "changed")),
        partition(1, 2, {"heroes": ("k", None), "guilds": ("5", None)}, Difference("guilds", "7", "missing")),
    ]
    reports[0]["differences"].append({**reports[0]["differences"][0], "key": "a"})
    merged = merge_reports(reports)
    assert [(d.collection, d.key) for d in merged.differences] == [("guilds", "7"), ("heroes", "a"), ("heroes", "b")]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda r: r.update(partition={"index": 0}), "partition.of must be the number of partitions"),
        (lambda r: r.update(partition={"index": 0, "of": 2}) or r.pop("collections"), "collections must be a"),
        (lambda r: r["partition"].update(index=5), "partition.index must be an integer in 0..1 (is 5)"),
        (lambda r: r["partition"].update(index=True), "partition.index must be an integer"),
        (lambda r: r["partition"].update(bounds={"heroes": ["a"]}), "partition.bounds must map each collection"),
        (lambda r: r["collections"][0].pop("covered"), "collections[0] (heroes): covered must be an integer"),
        (lambda r: r["collections"].append(r["collections"][0]), "collection heroes is listed twice"),
        (lambda r: r["differences"].append({"collection": "heroes", "key": "a"}), "differences[0] must name"),
        (lambda r: r.update(unlisted_differences="3"), "unlisted_differences must be an integer"),
        (lambda r: r.update(notes="x"), "notes must be a list of strings"),
    ],
)
def test_a_malformed_partition_report_is_one_line_naming_the_file(edit: Any, problem: str, tmp_path: Path) -> None:
    report = tiled(heroes="k")[0]
    edit(report)
    path = tmp_path / "p0.json"
    path.write_text(json.dumps(report))
    with pytest.raises(ConfigError) as raised:
        read_report(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message, message


def test_a_written_partition_report_records_its_key_ranges() -> None:
    report = CompareReport("compare", partition=(1, 3), partition_bounds={"heroes": ("k", None), "guilds": None})
    assert report.to_dict()["partition"] == {"index": 1, "of": 3, "bounds": {"heroes": ["k", None], "guilds": None}}
