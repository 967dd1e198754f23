"""``harness data merge REPORT...``: the reports of a partitioned compare (``--partitions N --partition I``, run
as a Kubernetes Indexed Job, a CI matrix or ``--jobs N``) combined into one verdict. A partition whose report is
missing makes the merge incomplete, never equal."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .report import CollectionResult, CompareReport, Difference, FieldDiff, read_json_object

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


def read_report(path: Path) -> dict[str, Any]:
    data = read_json_object(path, "compare report", "pass the --output files of the partitioned compares")
    if data.get("check") != "compare" or not isinstance(data.get("partition"), dict):
        raise ConfigError(f"{path}: not the report of a partitioned compare (--partitions N --partition I)")
    return data


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
    merged = CompareReport("compare")
    results: dict[str, CollectionResult] = {}
    for index in sorted(by_index):
        report = by_index[index]
        for c in report["collections"]:
            result = results.setdefault(c["collection"], CollectionResult(c["collection"], sampled=c["sampled"]))
            for name in SUMMED:
                setattr(result, name, (getattr(result, name) or 0) + (c[name] or 0))
            if c["incomplete"]:
                result.incomplete = "; ".join(
                    filter(None, (result.incomplete, f"partition {index}: {c['incomplete']}"))
                )
        for d in report["differences"]:
            fields = tuple(FieldDiff(**f) for f in d["fields"])
            merged.differences.append(Difference(d["collection"], d["key"], d["kind"], fields, d["side"]))
        merged.unlisted += report["unlisted_differences"]
        merged.elapsed_s = max(merged.elapsed_s, report["elapsed_s"])
        merged.notes.extend(n for n in report["notes"] if n not in merged.notes)
        if report["stopped"]:
            merged.stopped = report["stopped"]
    missing = sorted(set(range(parts)) - set(by_index))
    if missing:
        why = f"the reports of partitions {', '.join(map(str, missing))} of {parts} are missing"
        for result in results.values():
            result.incomplete = "; ".join(filter(None, (result.incomplete, why)))
        if not results:
            results["(none)"] = CollectionResult("(none)", incomplete=why)
    merged.collections = list(results.values())
    merged.notes.append(f"merged {len(by_index)} of {parts} partitions")
    return merged
