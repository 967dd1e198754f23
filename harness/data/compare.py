"""Record-by-record parity of source and destination, in bounded memory (the reladiff approach).

1. Where both sides can compute per-key-range count + checksum (the Storage Service's ``summary``; the source
   computes the same over the storage form inside PostgreSQL), compare the whole collection first, then, if it
   differs, ranges of about ``segment_size`` keys; only the ranges whose checksums differ are read.
2. A range is read from both sides in key order and merge-joined by key: a key on one side only is a missing or
   extra record; a key that repeats is a duplicate. Each pair is mapped into the canonical form and settled by
   ``==``; only the records that still differ after numeric tolerance go to DeepDiff, which names the fields.

Checksums only ever settle exact equality of ids and documents, so tolerance, ignored fields and coarser
timestamp precision can only send more ranges to step 2, never hide a difference. They are used for a
collection only when both sides' checksums are over the same form of the documents (``checksum_form``: the
destination's, for a declared query; a table's rows are compared record by record). They do not cover the record
``version`` (the Storage Service's summary leaves it out): ``--no-checksums`` compares versions everywhere.
"""

from __future__ import annotations

import gc
import math
import random
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from .canonical import Canonical, Canonicalizer, within_tolerance
from .readers import RawRecord, Reader, ReadFailure
from .report import CollectionResult, CompareReport, Difference, FieldDiff
from .settings import CompareSettings

Bound = tuple[str | None, str | None]
_PATH_PART = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")
_CHANGES = {
    "values_changed": "changed",
    "type_changes": "type changed",
    "dictionary_item_removed": "only in source",
    "dictionary_item_added": "only in destination",
    "iterable_item_removed": "only in source",
    "iterable_item_added": "only in destination",
}
_COUNTERS = {"missing": "missing", "extra": "extra", "changed": "changed", "duplicate": "duplicates"}
CHECK_EVERY = 500  # records between looks at the clock
# Once more than this share of the first DENSE_AFTER (or more) key ranges differ, the rest is read in one pass.
DENSE_AFTER, DENSE_SHARE = 4, 0.5


@dataclass(frozen=True)
class CompareOptions:
    collections: tuple[str, ...] | None = None  # None: the settings' collections
    max_diffs: int | None = None  # stop after this many differences
    time_limit: float | None = None  # stop after this many seconds (verdict incomplete unless differences)
    sample: float | None = None  # compare this fraction of the key ranges, chosen at random
    seed: int = 0
    checksums: bool | None = None  # None: the settings decide
    detail_limit: int = 1000  # differences kept with their details (the rest are counted)


class _Stop(Exception):
    pass


@contextmanager
def fewer_gc_passes() -> Iterator[None]:
    """The compare allocates a few dozen short-lived, acyclic objects per record; with the default thresholds
    the cyclic GC runs every few records and rescans every live object (the pages in flight, the imported
    modules) again and again. Freezing what exists and collecting less often keeps that off the hot path;
    reference counting still frees the records at once. Restored afterwards."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def segment_bounds(parts: int) -> list[Bound]:
    """``parts`` key ranges covering every string: cut at evenly spaced UUIDs (random ids spread evenly)."""
    cuts = [str(uuid.UUID(int=(i << 128) // parts)) for i in range(1, parts)]
    starts: list[str | None] = [None, *cuts]
    ends: list[str | None] = [*cuts, None]
    return list(zip(starts, ends, strict=True))


def field_path(deepdiff_path: str) -> str:
    """``root['inventory'][2]['weight']`` -> ``inventory[2].weight``."""
    out = ""
    for name, index in _PATH_PART.findall(deepdiff_path):
        out += f"[{index}]" if index else (f".{name}" if out else name)
    return out


def explain(source: Canonical, destination: Canonical) -> tuple[FieldDiff, ...]:
    diff = DeepDiff(source, destination, verbose_level=2).to_dict()
    fields: list[FieldDiff] = []
    for kind, change in _CHANGES.items():
        for path, value in (diff.get(kind) or {}).items():
            if kind in ("values_changed", "type_changes"):
                fields.append(FieldDiff(field_path(path), change, value.get("old_value"), value.get("new_value")))
            elif change == "only in source":
                fields.append(FieldDiff(field_path(path), change, source=value))
            else:
                fields.append(FieldDiff(field_path(path), change, destination=value))
    return tuple(sorted(fields, key=lambda f: f.path))


class Comparison:
    def __init__(
        self, source: Reader, destination: Reader, settings: CompareSettings, options: CompareOptions | None = None
    ) -> None:
        self.source = source
        self.destination = destination
        self.settings = settings
        self.options = options or CompareOptions()
        self.report = CompareReport("compare")
        self._deadline: float | None = None
        self._found = 0

    # --- bookkeeping -----------------------------------------------------------------------------------

    def _difference(self, result: CollectionResult, diff: Difference) -> None:
        counter = _COUNTERS[diff.kind]
        setattr(result, counter, getattr(result, counter) + 1)
        self._found += 1
        if len(self.report.differences) < self.options.detail_limit:
            self.report.differences.append(diff)
        else:
            self.report.unlisted += 1
        if self.options.max_diffs is not None and self._found >= self.options.max_diffs:
            raise _Stop(f"--max-diffs {self.options.max_diffs} reached")

    def _clock(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise _Stop(f"--time-limit {self.options.time_limit:g} s reached")

    def checksums_usable(self, collection: str | None = None) -> tuple[bool, str | None]:
        """Whether range checksums are used (for one collection: only where both sides' checksums are over the
        same form of the documents), and why not when they are wanted but cannot be."""
        wanted = self.settings.checksums if self.options.checksums is None else self.options.checksums
        if not wanted:
            return False, None
        if collection is not None:
            forms = self.source.checksum_form(collection), self.destination.checksum_form(collection)
            if forms[0] != forms[1]:
                return False, (
                    f"{collection}: range checksums off: the source's documents are not declared in the"
                    " destination's form (a table, renames.source or checksums = false), so every record is read"
                )
        return True, None

    # --- the run ---------------------------------------------------------------------------------------

    def run(self) -> CompareReport:
        with fewer_gc_passes():
            return self._run()

    def _run(self) -> CompareReport:
        started = time.monotonic()
        if self.options.time_limit is not None:
            self._deadline = started + self.options.time_limit
        collections = list(self.options.collections or self.settings.collections)
        for name in collections:
            self.settings.collection(name)  # an unknown name is a usage error before anything is read
        for index, collection in enumerate(collections):
            result = CollectionResult(collection, sampled=self.options.sample is not None)
            self.report.collections.append(result)
            use_checksums, note = self.checksums_usable(collection)
            if note:
                self.report.notes.append(note)
            try:
                self._collection(collection, result, use_checksums)
            except ReadFailure as exc:
                result.incomplete = str(exc)
            except _Stop as stop:  # the collection in progress, and those not reached, are not covered
                self.report.stopped = result.incomplete = str(stop)
                for rest in collections[index + 1 :]:
                    self.report.collections.append(CollectionResult(rest, incomplete=str(stop)))
                break
        self.report.elapsed_s = time.monotonic() - started
        return self.report

    def _segments(self, total: int) -> list[Bound]:
        parts = max(1, math.ceil(total / self.settings.segment_size))
        bounds = segment_bounds(parts)
        if self.options.sample is None:
            return bounds
        k = max(1, math.ceil(self.options.sample * parts))
        chosen = sorted(random.Random(self.options.seed).sample(range(parts), min(k, parts)))
        return [bounds[i] for i in chosen]

    def _collection(self, collection: str, result: CollectionResult, use_checksums: bool) -> None:
        sample = self.options.sample
        if not use_checksums and sample is None:
            # one pass over everything: the keys read are the counts, so nothing is counted up front
            result.segments = result.segments_streamed = 1
            result.source_count = result.destination_count = 0
            try:
                self._stream(collection, result, None, None, count=True)
            except (ReadFailure, _Stop):
                self._recount(collection, result)  # coverage needs the totals
                raise
            return
        if use_checksums:
            whole_s = self.source.summary(collection)
            whole_d = self.destination.summary(collection)
            result.source_count, result.destination_count = whole_s.count, whole_d.count
            if whole_s == whole_d and sample is None:
                result.covered = result.by_checksum = result.equal = whole_s.count
                result.segments = 1
                return
        else:
            result.source_count = self._count(self.source, collection)
            result.destination_count = self._count(self.destination, collection)
        segments = self._segments(result.total)
        checked = mismatched = 0
        for index, (start, end) in enumerate(segments):
            self._clock()
            result.segments += 1
            if use_checksums:
                s, d = self.source.summary(collection, start, end), self.destination.summary(collection, start, end)
                checked += 1
                if s == d:
                    result.covered += s.count
                    result.by_checksum += s.count
                    result.equal += s.count
                    continue
                mismatched += 1
            result.segments_streamed += 1
            dense = use_checksums and checked >= DENSE_AFTER and mismatched > checked * DENSE_SHARE
            if dense and sample is None and index + 1 < len(segments):
                # differences everywhere: checksums cost more than they save, read the rest in one pass
                self._stream(collection, result, start, None)
                result.segments += len(segments) - index - 1
                result.segments_streamed += len(segments) - index - 1
                return
            self._stream(collection, result, start, end)

    def _recount(self, collection: str, result: CollectionResult) -> None:
        for attr, reader in (("source_count", self.source), ("destination_count", self.destination)):
            try:
                setattr(result, attr, self._count(reader, collection))
            except ReadFailure:
                setattr(result, attr, None)  # unknown: coverage is measured against the other side

    @staticmethod
    def _count(reader: Reader, collection: str) -> int:
        count = getattr(reader, "count", None)
        return int(count(collection)) if count else reader.summary(collection).count

    def _unique(
        self, collection: str, result: CollectionResult, side: str, records: Iterator[RawRecord]
    ) -> Iterator[RawRecord]:
        """Records in strictly increasing key order; a repeated (or out-of-order) key is reported and skipped."""
        last: str | None = None
        for key, raw in records:
            if last is not None and key <= last:
                self._difference(result, Difference(collection, key, "duplicate", side=side))
                continue
            last = key
            yield key, raw

    def _stream(
        self, collection: str, result: CollectionResult, start: str | None, end: str | None, count: bool = False
    ) -> None:
        """Merge-join ``[start, end)`` of both sides; ``count``: the keys read are the sides' counts."""
        # each reader's records are mapped by its own side's renames, so source-vs-source (a backup) works too
        canon_s = Canonicalizer(self.settings, collection, self.source.side)
        canon_d = Canonicalizer(self.settings, collection, self.destination.side)
        tolerance = self.settings.for_collection(self.settings.tolerance, collection)
        src_iter = self.source.read(collection, start, end)
        dst_iter = self.destination.read(collection, start, end)
        only_src = only_dst = both = equal = 0  # kept in locals: this loop runs once per record
        try:
            src = self._unique(collection, result, "source", src_iter)
            dst = self._unique(collection, result, "destination", dst_iter)
            s = next(src, None)
            d = next(dst, None)
            while s is not None or d is not None:
                if (only_src + only_dst + both) % CHECK_EVERY == 0:
                    self._clock()
                if d is None or (s is not None and s[0] < d[0]):
                    assert s is not None
                    only_src += 1
                    self._difference(result, Difference(collection, s[0], "missing"))
                    s = next(src, None)
                elif s is None or d[0] < s[0]:
                    only_dst += 1
                    self._difference(result, Difference(collection, d[0], "extra"))
                    d = next(dst, None)
                else:
                    both += 1
                    a, b = canon_s(s[1]), canon_d(d[1])
                    if a == b or (tolerance and a == within_tolerance(a, b, tolerance)):
                        equal += 1
                    else:
                        b = within_tolerance(a, b, tolerance) if tolerance else b
                        self._difference(result, Difference(collection, s[0], "changed", explain(a, b)))
                    s, d = next(src, None), next(dst, None)
        finally:
            result.covered += only_src + only_dst + both
            result.equal += equal
            if count:
                result.source_count = (result.source_count or 0) + only_src + both
                result.destination_count = (result.destination_count or 0) + only_dst + both
            _close(src_iter)
            _close(dst_iter)


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close:
        close()


def compare(
    source: Reader, destination: Reader, settings: CompareSettings, options: CompareOptions | None = None
) -> CompareReport:
    return Comparison(source, destination, settings, options).run()


__all__: Sequence[str] = ("CompareOptions", "Comparison", "compare", "explain", "field_path", "segment_bounds")
