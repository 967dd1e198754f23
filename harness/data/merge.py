"""``harness data merge REPORT...``: the reports of a partitioned compare (``--partitions N --partition I``, run
as a Kubernetes Indexed Job, a CI matrix or ``--jobs N``) combined into one verdict. A partition whose report is
missing makes the merge incomplete, never equal; so do partitions whose key ranges do not tile a collection's key
space: each partition cuts at the source's key quantiles when it runs, so on a source that changed between the
partition runs, neighbouring partitions can leave keys between them uncompared (or compare them twice)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .report import (
    CollectionResult,
    CompareReport,
    Difference,
    FieldDiff,
    is_integer,
    is_key_bound,
    read_json_object,
)

SUMMED = (
    "source_count",
    "destination_count",
    "covered",
    "by_checksum",
    "equal",
    "missing",
    "extra",
    "changed",
    "duplicates",
    "in_flight",
    "segments",
    "segments_streamed",
)
KINDS = ("missing", "extra", "changed", "duplicate")
KeyRange = tuple[str | None, str | None]


def read_report(path: Path) -> dict[str, Any]:
    """A partition's report, its structure checked: a damaged or hand-edited file is one line, not a traceback."""
    data = read_json_object(path, "compare report", "pass the --output files of the partitioned compares")
    if data.get("check") != "compare" or not isinstance(data.get("partition"), dict):
        raise ConfigError(f"{path}: not the report of a partitioned compare (--partitions N --partition I)")
    problem = _structure_problem(data)
    if problem:
        raise ConfigError(f"{path}: {problem}; pass the unedited --output file of a partitioned compare")
    return data


def _structure_problem(data: dict[str, Any]) -> str | None:
    """What is wrong with a partition report's structure (the first thing found), or None."""
    part = data["partition"]
    if not is_integer(part.get("of")) or part["of"] < 1:
        return "partition.of must be the number of partitions (an integer, 1 or more)"
    if not is_integer(part.get("index")) or not 0 <= part["index"] < part["of"]:
        return f"partition.index must be an integer in 0..{part['of'] - 1} (is {part.get('index')!r})"
    bounds = part.get("bounds", {})
    if not isinstance(bounds, dict) or not all(
        b is None or (isinstance(b, list) and len(b) == 2 and all(map(is_key_bound, b))) for b in bounds.values()
    ):
        return "partition.bounds must map each collection to [start, end] (strings or null) or null"
    collections = data.get("collections")
    if not isinstance(collections, list) or not collections:
        return "collections must be a non-empty list"
    seen: set[str] = set()
    for i, c in enumerate(collections):
        if not isinstance(c, dict) or not isinstance(c.get("collection"), str):
            return f"collections[{i}] must be an object with a collection name"
        name = c["collection"]
        if name in seen:
            return f"collection {name} is listed twice"
        seen.add(name)
        for counter in SUMMED:
            if counter not in c or not (c[counter] is None or is_integer(c[counter])):
                return f"collections[{i}] ({name}): {counter} must be an integer or null"
        if not isinstance(c.get("sampled"), bool) or not (
            c.get("incomplete") is None or isinstance(c["incomplete"], str)
        ):
            return f"collections[{i}] ({name}): sampled must be true or false and incomplete a string or null"
    differences = data.get("differences")
    if not isinstance(differences, list):
        return "differences must be a list"
    for i, d in enumerate(differences):
        if not (
            isinstance(d, dict)
            and d.get("collection") in seen
            and isinstance(d.get("key"), str)
            and d.get("kind") in KINDS
            and (d.get("side") is None or isinstance(d["side"], str))
            and isinstance(d.get("fields"), list)
            and all(
                isinstance(f, dict)
                and isinstance(f.get("path"), str)
                and isinstance(f.get("change"), str)
                and set(f) <= {"path", "change", "source", "destination"}
                for f in d["fields"]
            )
        ):
            return f"differences[{i}] must name a listed collection, a key, a kind ({', '.join(KINDS)}) and fields"
    if not is_integer(data.get("unlisted_differences")):
        return "unlisted_differences must be an integer"
    if not isinstance(data.get("elapsed_s"), int | float) or isinstance(data["elapsed_s"], bool):
        return "elapsed_s must be a number"
    if not isinstance(data.get("notes"), list) or not all(isinstance(n, str) for n in data["notes"]):
        return "notes must be a list of strings"
    if not (data.get("stopped") is None or isinstance(data["stopped"], str)):
        return "stopped must be a string or null"
    return None


def merge_reports(reports: Sequence[dict[str, Any]]) -> CompareReport:
    sizes = {r["partition"]["of"] for r in reports}
    if len(sizes) != 1:
        raise ConfigError(f"the reports come from different partitionings ({sorted(sizes)} partitions)")
    (parts,) = sizes
    by_index: dict[int, dict[str, Any]] = {}
    for report in reports:
        index = report["partition"]["index"]
        if index in by_index:
            raise ConfigError(f"partition {index} of {parts} is given twice")
        by_index[index] = report
    _same_collections(by_index)
    merged = CompareReport("compare")
    results: dict[str, CollectionResult] = {}
    for index in sorted(by_index):
        report = by_index[index]
        for c in report["collections"]:
            result = results.setdefault(c["collection"], CollectionResult(c["collection"], sampled=c["sampled"]))
            for name in SUMMED:
                setattr(result, name, (getattr(result, name) or 0) + (c[name] or 0))
            if c["incomplete"]:
                _undecided(result, f"partition {index}: {c['incomplete']}")
        for d in report["differences"]:
            fields = tuple(FieldDiff(**f) for f in d["fields"])
            merged.differences.append(Difference(d["collection"], d["key"], d["kind"], fields, d["side"]))
        merged.unlisted += report["unlisted_differences"]
        merged.elapsed_s = max(merged.elapsed_s, report["elapsed_s"])
        merged.notes.extend(n for n in report["notes"] if n not in merged.notes)
        if report["stopped"]:
            merged.stopped = report["stopped"]
    # partitions ran one after another: listed as one run would list them, not partition by partition
    merged.differences.sort(key=lambda d: (d.collection, d.key))
    missing = sorted(set(range(parts)) - set(by_index))
    if missing:
        why = f"the reports of partitions {', '.join(map(str, missing))} of {parts} are missing"
        for result in results.values():
            _undecided(result, why)
    else:  # with a partition missing, its neighbours cannot meet anyway: the missing one is the reason
        for collection, result in results.items():
            gap = tiling_gap(collection, by_index)
            if gap:
                _undecided(result, gap)
    merged.collections = list(results.values())
    merged.notes.append(f"merged {len(by_index)} of {parts} partitions")
    return merged


def _undecided(result: CollectionResult, why: str) -> None:
    result.incomplete = "; ".join(filter(None, (result.incomplete, why)))


def _same_collections(by_index: dict[int, dict[str, Any]]) -> None:
    """Every partition must have compared the same collections. Refused as a usage error rather than merged as
    incomplete: reports of different collections come from different commands (other --collection options),
    so running the partitions again the same way would never complete the merge; the merge's input is wrong,
    and exit status 2 with the two lists says what to fix, where "incomplete" (exit 1, as for a difference)
    would send the user to look at the data."""
    first, *rest = sorted(by_index)
    expected = {c["collection"] for c in by_index[first]["collections"]}
    for index in rest:
        names = {c["collection"] for c in by_index[index]["collections"]}
        if names != expected:
            raise ConfigError(
                f"partition {first} compared {', '.join(sorted(expected))} but partition {index} compared"
                f" {', '.join(sorted(names))}: merge the partitions of one compare (the same --collection options)"
            )


def tiling_gap(collection: str, by_index: dict[int, dict[str, Any]]) -> str | None:
    """Why the partitions' [start, end) ranges of ``collection`` do not tile the key space exactly (the first
    start open, the last end open, each end the next start), or None. Empty partitions (no key: fewer keys than
    partitions) hold no range. A partition that recorded no range and is incomplete for it (a read failure, a
    stop before it was reached) is already the reason; one that recorded none otherwise cannot prove its part."""
    ranges: list[tuple[int, KeyRange]] = []
    for index in sorted(by_index):
        report = by_index[index]
        bounds = report["partition"].get("bounds", {})
        if collection not in bounds:
            result = next(c for c in report["collections"] if c["collection"] == collection)
            if result["incomplete"]:
                return None
            return f"partition {index} recorded no key range of {collection} (a report of an older harness?)"
        if bounds[collection] is not None:
            start, end = bounds[collection]
            ranges.append((index, (start, end)))
    if not ranges:
        return f"no partition recorded a key range of {collection}"
    first, (start, _) = ranges[0]
    if start is not None:
        return f"{collection}: the keys before {start!r} are in no partition (partition {first} starts there)"
    last, (_, end) = ranges[-1]
    if end is not None:
        return f"{collection}: the keys from {end!r} on are in no partition (partition {last} ends there)"
    for (i, (_, end)), (j, (start, _)) in itertools.pairwise(ranges):
        if end != start:
            return (
                f"{collection}: partition {i} ends at {_shown(end)} but partition {j} starts at {_shown(start)}:"
                " the keys between were compared twice or not at all (the source's keys changed between the"
                " partition runs; run them again)"
            )
    return None


def _shown(bound: str | None) -> str:
    return "the open end" if bound is None else repr(bound)
