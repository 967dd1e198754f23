"""Snapshots of the data's state (the guide's "document current database state"), and what changed since one.

``snapshot(source, destination, settings)`` records per collection and side: the count and checksum of the
whole collection and of key ranges of about ``segment_size`` records (the checksums each side computes where
its data is: PostgreSQL over the declared query, the Storage Service's range summary), and per range the
record digests (md5 of "version:document", so a version change counts) with a versioned checksum over them.
It is a plain dict (JSON-ready; about 60 bytes a record).

``changed_since(snapshot, reader, settings)`` recomputes the versioned checksum of each range on that reader's
side (in SQL on the source; the destination's records are streamed) and, for each range that differs, names
the records added, removed or changed since. Nothing is written to either side. The rollback rehearsal uses it
to prove that a restored source equals the snapshot taken before the migration.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import ConfigError, HarnessError
from .compare import even_ranges
from .readers import Reader, Summary
from .report import EQUAL, ProblemReport, is_integer, is_key_bound, read_json_object
from .settings import CompareSettings

FORMAT = "harness-data-snapshot/1"


class DigestReader(Reader, Protocol):
    def digests(
        self, collection: str, start: str | None = None, end: str | None = None
    ) -> Iterator[tuple[str, str]]: ...

    def versioned_summary(self, collection: str, start: str | None = None, end: str | None = None) -> Summary: ...


def _side(reader: DigestReader, collection: str, bounds: Sequence[tuple[str | None, str | None]]) -> dict[str, Any]:
    whole = reader.summary(collection)
    ranges: list[dict[str, Any]] = []
    stream = reader.digests(collection)
    pending = next(stream, None)
    for start, end in bounds:
        records: list[tuple[str, str]] = []
        while pending is not None and (end is None or pending[0] < end):
            records.append(pending)
            pending = next(stream, None)
        part = reader.summary(collection, start, end)
        ranges.append(
            {
                "start": start,
                "end": end,
                "count": part.count,
                "checksum": part.checksum,
                # the same call changed_since makes later (the service's own form where it has one)
                "versioned": reader.versioned_summary(collection, start, end).checksum,
                "records": [list(r) for r in records],
            }
        )
    return {
        "count": whole.count,
        "checksum": whole.checksum,
        "checksum_form": reader.checksum_form(collection),
        "ranges": ranges,
    }


def snapshot(
    source: DigestReader | None,
    destination: DigestReader | None,
    settings: CompareSettings,
    collections: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Counts, range checksums and record digests of each collection on the sides given (either may be None)."""
    started = time.monotonic()
    readers = [r for r in (source, destination) if r is not None]
    out: dict[str, Any] = {
        "format": FORMAT,
        "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "segment_size": settings.segment_size,
        "collections": {},
    }
    for collection in collections or settings.collections:
        settings.collection(collection)
        total = max((r.summary(collection).count for r in readers), default=0)
        bounds = even_ranges(settings, collection, total, getattr(source, "cut_points", None))
        entry: dict[str, Any] = {"bounds": [list(b) for b in bounds]}
        for reader in readers:
            entry[reader.side] = _side(reader, collection, bounds)
        out["collections"][collection] = entry
    out["elapsed_s"] = round(time.monotonic() - started, 3)
    return out


def changed_since(snap: dict[str, Any], reader: DigestReader, settings: CompareSettings) -> ProblemReport:
    """The ranges, then the records, of ``reader``'s side that differ from the snapshot; ``equal`` if none."""
    if snap.get("format") != FORMAT or not isinstance(snap.get("collections"), dict):
        raise ConfigError(f"not a data snapshot (format {snap.get('format')!r}, expected {FORMAT!r})")
    side = reader.side
    report = ProblemReport(f"changes since snapshot ({side})", good=EQUAL)
    started = time.monotonic()
    for collection, entry in snap["collections"].items():
        settings.collection(collection)
        taken = entry.get(side)
        if taken is None:
            raise ConfigError(f"the snapshot has no {side} side for {collection}; take one with --side {side}")
        report.checked[f"{side} {collection}"] = 0
        for part in taken["ranges"]:
            start, end = part["start"], part["end"]
            now = reader.versioned_summary(collection, start, end)
            report.checked[f"{side} {collection}"] += now.count
            if now.count == part["count"] and now.checksum == part["versioned"]:
                continue
            where = f"{side} {collection} [{start or ''}, {end or ''})"
            report.add("changed range", where, f"{part['count']} records in the snapshot, {now.count} now")
            before = {k: d for k, d in part["records"]}
            after = dict(reader.digests(collection, start, end))
            for key in sorted(before.keys() | after.keys()):
                if key not in after:
                    report.add("removed record", f"{side} {collection}/{key}", "in the snapshot, not any more")
                elif key not in before:
                    report.add("added record", f"{side} {collection}/{key}", "not in the snapshot")
                elif before[key] != after[key]:
                    report.add("changed record", f"{side} {collection}/{key}", "its document or version changed")
    report.elapsed_s = time.monotonic() - started
    return report


def write_snapshot(snap: dict[str, Any], path: Path) -> None:
    try:
        path.write_text(json.dumps(snap, separators=(",", ":")) + "\n", encoding="utf-8")
    except OSError as exc:
        raise HarnessError(f"cannot write the snapshot to {path} ({exc.strerror}); choose another --output") from None


def read_snapshot(path: Path) -> dict[str, Any]:
    """A snapshot file, its structure checked: a damaged or hand-edited file is one line, not a traceback."""
    snap = read_json_object(path, "snapshot", f"take one with `harness data snapshot --output {path}`")
    problem = snapshot_problem(snap)
    if problem:
        raise ConfigError(f"{path}: {problem}; take a new one with `harness data snapshot --output {path}`")
    return snap


def snapshot_problem(snap: dict[str, Any]) -> str | None:
    """What is wrong with a snapshot's structure (the first thing found, where it is), or None: each part that
    ``changed_since`` reads."""
    if snap.get("format") != FORMAT:
        return f"not a data snapshot (format {snap.get('format')!r}, expected {FORMAT!r})"
    collections = snap.get("collections")
    if not isinstance(collections, dict):
        return "collections must be an object of collections"
    for collection, entry in collections.items():
        if not isinstance(entry, dict):
            return f"collections.{collection} must be an object"
        for side in ("source", "destination"):
            if side not in entry:
                continue
            where = f"collections.{collection}.{side}"
            if not isinstance(entry[side], dict) or not isinstance(entry[side].get("ranges"), list):
                return f"{where}.ranges is missing (a list of key ranges)"
            for i, part in enumerate(entry[side]["ranges"]):
                problem = _range_problem(part)
                if problem:
                    return f"{where}.ranges[{i}]: {problem}"
    return None


def _range_problem(part: Any) -> str | None:
    if not isinstance(part, dict):
        return "must be an object"
    for bound in ("start", "end"):
        if bound not in part or not is_key_bound(part[bound]):
            return f"{bound} must be a key or null"
    if not is_integer(part.get("count")):
        return "count must be an integer"
    if "versioned" not in part or not (part["versioned"] is None or isinstance(part["versioned"], str)):
        return "versioned must be a checksum or null"
    records = part.get("records")
    if not isinstance(records, list) or not all(
        isinstance(r, list) and len(r) == 2 and all(isinstance(v, str) for v in r) for r in records
    ):
        return "records must be a list of [key, digest] pairs"
    return None
