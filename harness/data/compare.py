"""Record-by-record parity of source and destination, in bounded memory (the reladiff approach).

1. Where both sides can compute per-key-range count + checksum (the Storage Service's ``summary``; the source
   computes the same over the storage form inside PostgreSQL), key ranges are bisected: a range that differs is
   split into ``bisection_factor`` sub-ranges until at most ``bisection_threshold`` records are left; only those
   ranges are read. The source's keys and digests of a range of the first split are read once and held while
   it is bisected (``held_range``), so the source builds each document once.
2. A range is read from both sides in key order and merge-joined by key: a key on one side only is a missing or
   extra record; a key that repeats is a duplicate. Each pair is mapped into the canonical form and settled by
   ``==``; only the records that still differ after numeric tolerance go to DeepDiff, which names the fields.

Checksums only ever settle exact equality of ids and documents, so tolerance, ignored fields and coarser
timestamp precision can only send more ranges to step 2, never hide a difference. They are used for a
collection only when both sides' checksums are over the same form of the documents (``checksum_form``: the
destination's, for a declared query; a table's rows are compared record by record). They cover the record
``version`` where the mapping declares one; a destination whose summary cannot include it (no ``versions``
in its answer to ``versions=true``) has the collection compared record by record, versions included, and the
report says so.
"""

from __future__ import annotations

import gc
import itertools
import math
import queue
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from deepdiff import DeepDiff

from ..errors import HarnessError
from . import held_range
from .canonical import Canonical, Canonicalizer, records_agree, same_data, within_tolerance
from .held_range import HeldRange
from .progress import ProgressFn
from .readers import RawRecord, Reader, ReadFailure, Summary
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
# In a differing range of at most bisection_factor x bisection_threshold records (one level above reading),
# once more than DENSE_SHARE of the first DENSE_AFTER (or more) sub-ranges differ, the rest is read in one pass.
# A larger range is always split: differences spread over the key space make every sub-range of a large range
# differ, yet a level or two further down most are equal (100 among 1,000,000: about 25,000 records read).
DENSE_AFTER, DENSE_SHARE = 4, 0.5
LOOKAHEAD = 2  # ranges of the first split whose source items are read ahead (each on a connection of its own)


@dataclass(frozen=True)
class CompareOptions:
    collections: tuple[str, ...] | None = None  # None: the settings' collections
    max_diffs: int | None = None  # stop after this many differences
    time_limit: float | None = None  # stop after this many seconds (verdict incomplete unless differences)
    sample: float | None = None  # compare this fraction of the key ranges, chosen at random
    seed: int = 0
    checksums: bool | None = None  # None: the settings decide
    detail_limit: int = 1000  # differences kept with their details (the rest are counted)
    progress: ProgressFn | None = None  # called as records are settled (harness.data.progress)
    partition: tuple[int, int] | None = None  # (index, of): compare only this key-range partition
    recheck_after: float | None = None  # read every listed mismatch again after this many seconds (live migrations)


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


def ranges_between(cuts: Sequence[str], start: str | None = None, end: str | None = None) -> list[Bound]:
    """[start, end) cut at ``cuts`` (in order, inside it): the ranges from each cut to the next."""
    return list(zip([start, *cuts], [*cuts, end], strict=True))


def segment_bounds(parts: int) -> list[Bound]:
    """``parts`` key ranges covering every string: cut at evenly spaced UUIDs (random ids spread evenly)."""
    return ranges_between([str(uuid.UUID(int=(i << 128) // parts)) for i in range(1, parts)])


def even_ranges(
    settings: CompareSettings, collection: str, total: int, cut_points: Callable[..., list[str]] | None
) -> list[Bound]:
    """Key ranges of about ``segment_size`` of ``total`` records each (a sample's, a snapshot's): cut evenly in
    the UUID space for uuid keys, else at the source's key quantiles (``cut_points``), because integer or text
    keys crowd a few ranges of the UUID space and leave the rest empty."""
    parts = max(1, math.ceil(total / settings.segment_size))
    if settings.collection(collection).key_type == "uuid" or cut_points is None or parts == 1:
        return segment_bounds(parts)
    return ranges_between(sorted(set(cut_points(collection, None, None, parts))))


def split_bounds(start: str | None, end: str | None, parts: int) -> list[Bound]:
    """``parts`` sub-ranges of [start, end) cut at evenly spaced UUIDs (``None``: the ends of the UUID space)."""
    low = uuid.UUID(start).int if start else 0
    high = uuid.UUID(end).int if end else 1 << 128
    cuts = sorted({low + (high - low) * i // parts for i in range(1, parts)} - {low, high})
    return ranges_between([str(uuid.UUID(int=c)) for c in cuts], start, end)


def field_path(deepdiff_path: str) -> str:
    """``root['inventory'][2]['weight']`` -> ``inventory[2].weight``."""
    out = ""
    for name, index in _PATH_PART.findall(deepdiff_path):
        out += f"[{index}]" if index else (f".{name}" if out else name)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal as DeepDiff sees it: ``==`` with the types alike at every level (DeepDiff reports 1 against 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)


def _differing_fields(source: Canonical, destination: Canonical) -> tuple[Canonical, Canonical]:
    """Both records cut down to the top-level fields that differ (or are on one side only). DeepDiff walks what
    it is given, inventories and spells included, at a few ms a record; the fields that are the same add nothing
    to its answer, whose paths are the same either way (``root['name']``)."""
    keys = [k for k in source.keys() | destination.keys() if k not in source or k not in destination]
    keys += [k for k in source.keys() & destination.keys() if not _same(source[k], destination[k])]
    return (
        {k: source[k] for k in keys if k in source},
        {k: destination[k] for k in keys if k in destination},
    )


def explain(source: Canonical, destination: Canonical) -> tuple[FieldDiff, ...]:
    """The fields in which two records differ, as DeepDiff names them, sorted by path."""
    cut = _differing_fields(source, destination)
    # threshold_to_diff_deeper=0: always field by field. By default DeepDiff reports a dict in which more than a
    # third of the keys differ as one change of the whole dict ("" for a record), which names no field, and
    # would make the answer depend on how many equal fields were cut away.
    return field_diffs(DeepDiff(*cut, verbose_level=2, threshold_to_diff_deeper=0).to_dict())


def field_diffs(diff: dict[str, Any]) -> tuple[FieldDiff, ...]:
    """A DeepDiff answer (``to_dict()`` at ``verbose_level=2``) as field differences, sorted by path."""
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
        self.report = CompareReport("compare", partition=self.options.partition)
        self._deadline: float | None = None
        self._found = 0
        self._pool: ThreadPoolExecutor | None = None  # while running: the source's summaries beside the other's
        self._held: HeldRange | None = None  # the source range being bisected, in memory (``held_range``)

    # --- bookkeeping -----------------------------------------------------------------------------------

    def _lists_next(self) -> bool:
        """Whether the next difference is listed with its details (the first ``detail_limit``), not only counted."""
        return len(self.report.differences) < self.options.detail_limit

    def _difference(self, result: CollectionResult, diff: Difference) -> None:
        counter = _COUNTERS[diff.kind]
        setattr(result, counter, getattr(result, counter) + 1)
        self._found += 1
        if self._lists_next():
            self.report.differences.append(diff)
        else:
            self.report.unlisted += 1
        if self.options.max_diffs is not None and self._found >= self.options.max_diffs:
            raise _Stop(f"--max-diffs {self.options.max_diffs} reached")

    def _clock(self, result: CollectionResult | None = None, pending: int = 0, done: bool = False) -> None:
        """The time limit, and progress (``pending``: records of the range being read, not yet counted)."""
        if self.options.progress is not None and result is not None:
            covered = result.covered + pending
            self.options.progress(result.collection, covered, max(result.total, covered), self._found, done)
        if not done and self._deadline is not None and time.monotonic() > self._deadline:
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
            if self.settings.collection(collection).version is not None and not versions_in_checksums(
                self.source, self.destination, collection
            ):
                # checksums over documents alone would settle a range whose versions differ (a migration that
                # reset or bumped them) as equal: the versions the mapping declares are compared record by record
                return False, (
                    f"{collection}: range checksums off: the destination's summary does not cover record versions"
                    " (its answer to versions=true does not say so), so every record is read"
                )
        return True, None

    # --- the run ---------------------------------------------------------------------------------------

    def run(self) -> CompareReport:
        with fewer_gc_passes(), ThreadPoolExecutor(1, thread_name_prefix="summary") as pool:
            self._pool = pool
            try:
                return self._run()
            finally:
                self._pool = None

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
            finally:
                self._clock(result, done=True)
        if self.options.recheck_after is not None and self.report.differences:
            self._recheck(self.options.recheck_after)
        self.report.elapsed_s = time.monotonic() - started
        return self.report

    def _recheck(self, delay: float) -> None:
        """Read each listed mismatch again after ``delay`` seconds; one that has become equal was a record still
        being migrated ("in flight", pgCompare's and DMS's recheck), not a difference."""
        time.sleep(delay)
        results = {r.collection: r for r in self.report.collections}
        kept: list[Difference] = []
        by_collection: dict[str, list[Difference]] = {}
        for diff in self.report.differences:
            if diff.kind == "duplicate":
                kept.append(diff)  # a repeated key does not settle by waiting
            else:
                by_collection.setdefault(diff.collection, []).append(diff)
        for collection, diffs in by_collection.items():
            keys = sorted({d.key for d in diffs})
            try:
                src = self.source.fetch(collection, keys)
                dst = self.destination.fetch(collection, keys)
            except ReadFailure as exc:
                self.report.notes.append(f"{collection}: mismatches not rechecked ({exc})")
                kept.extend(diffs)
                continue
            canon_s = Canonicalizer(self.settings, collection, self.source.side)
            canon_d = Canonicalizer(self.settings, collection, self.destination.side)
            tolerance = self.settings.for_collection(self.settings.tolerance, collection)
            result = results[collection]
            for diff in diffs:
                s, d = src.get(diff.key), dst.get(diff.key)
                if s is not None and d is not None:
                    settled = records_agree(canon_s(s), canon_d(d), tolerance)
                else:
                    settled = s is None and d is None  # deleted on both sides meanwhile
                if not settled:
                    kept.append(diff)
                    continue
                counter = _COUNTERS[diff.kind]
                setattr(result, counter, getattr(result, counter) - 1)
                result.in_flight += 1
                if diff.kind == "changed":
                    result.equal += 1
        self.report.differences = sorted(kept, key=lambda d: (d.collection, d.key))
        if self.report.unlisted:
            self.report.notes.append(f"{self.report.unlisted} unlisted differences were not rechecked")

    def _segments(self, collection: str, total: int) -> list[Bound]:
        """The ranges a sample picks from: ``segment_size`` records each, cut evenly in the UUID space for uuid
        keys, else at the source's key quantiles (integer or text keys crowd a few ranges of the UUID space,
        which leaves most ranges, and so most of a sample, empty)."""
        bounds = even_ranges(self.settings, collection, total, getattr(self.source, "cut_points", None))
        parts = len(bounds)
        if self.options.sample is None:
            return bounds
        k = max(1, math.ceil(self.options.sample * parts))
        chosen = sorted(random.Random(self.options.seed).sample(range(parts), min(k, parts)))
        return [bounds[i] for i in chosen]

    def partition_bounds(self, collection: str) -> Bound | None:
        """[start, end) of this run's partition (``options.partition``), cut at the source's key quantiles so
        partitions are about equal and every run computes the same ones; ``None``: an empty partition."""
        if self.options.partition is None:
            return None, None
        index, parts = self.options.partition
        cut_points = getattr(self.source, "cut_points", None)
        if cut_points is None:
            raise HarnessError("--partitions needs a PostgreSQL source (its keys cut the partitions)")
        cuts = sorted(set(cut_points(collection, None, None, parts)))
        ranges = ranges_between(cuts)
        return ranges[index] if index < len(ranges) else None

    def _collection(self, collection: str, result: CollectionResult, use_checksums: bool) -> None:
        sample = self.options.sample
        bounds = self.report.partition_bounds[collection] = self.partition_bounds(collection)
        if bounds is None:  # fewer keys than partitions: this one holds none
            result.source_count = result.destination_count = 0
            return
        low, high = bounds
        if not use_checksums and sample is None:
            # one pass over everything: the keys read are the counts, so nothing is counted up front
            result.segments = result.segments_streamed = 1
            result.source_count = result.destination_count = 0
            try:
                self._stream(collection, result, low, high, count=True)
            except (ReadFailure, _Stop):
                self._recount(collection, result)  # coverage needs the totals
                raise
            return
        if use_checksums and sample is None:
            try:
                self._bisect_held(collection, result, self._split(collection, low, high))
            except (ReadFailure, _Stop):
                self._recount(collection, result)  # the ranges settled so far counted only themselves
                raise
            return
        if use_checksums:
            whole_s, whole_d = self._summaries(collection, low, high)
            result.source_count, result.destination_count = whole_s.count, whole_d.count
        else:
            result.source_count = self._count(self.source, collection)
            result.destination_count = self._count(self.destination, collection)
        for start, end in self._segments(collection, result.total):  # a sample: ranges picked at random
            self._clock(result)
            result.segments += 1
            expected = None
            if use_checksums:
                differing = self._differing(collection, result, start, end)
                if differing is None:
                    continue
                expected = (differing[0].count, differing[1].count)
            result.segments_streamed += 1
            self._stream(collection, result, start, end, expected=expected)

    def _bisect_held(self, collection: str, result: CollectionResult, parts: list[Bound]) -> None:
        """The first split, one range at a time: the source's summary items of each range are read once and held
        (``held_range``), while the destination summarises it; a differing range is bisected with the source's
        sub-range summaries computed from memory, so the source builds each document once, whatever the depth.
        Building them is the source's whole cost, so the next ranges are read ahead on connections of their own
        (``LOOKAHEAD``; PostgreSQL builds them on another core while this thread compares). A source that cannot
        list its summary items (not a ``SourceReader``) holds nothing: both sides summarise each range as it comes."""
        versioned = versions_in_checksums(self.source, self.destination, collection)
        holds = all(callable(getattr(self.source, name, None)) for name in ("summary_items", "sibling"))
        readers: queue.SimpleQueue[Any] = queue.SimpleQueue()
        siblings = [self.source.sibling() for _ in range(LOOKAHEAD)] if holds else []  # type: ignore[attr-defined]
        for reader in siblings:
            readers.put(reader)

        def hold(a: str | None, b: str | None) -> HeldRange | None:
            reader = readers.get()
            try:
                listed = reader.summary_items(collection, a, b, versioned=versioned, limit=held_range.HOLD_MAX)
            finally:
                readers.put(reader)
            return None if listed is None else HeldRange.of(listed[0], listed[1], a, b)

        result.source_count = result.destination_count = 0
        ahead: deque[Future[HeldRange | None]] = deque()  # the held ranges of the next parts, in order
        remaining = iter(parts)

        def read_ahead(count: int) -> None:
            if holds:
                ahead.extend(loaders.submit(hold, c, e) for c, e in itertools.islice(remaining, count))

        with ThreadPoolExecutor(LOOKAHEAD, thread_name_prefix="held") as loaders:
            try:
                read_ahead(LOOKAHEAD)
                for a, b in parts:
                    self._clock(result)
                    result.segments += 1
                    held: HeldRange | None = None
                    if holds:
                        d = self._summary(self.destination, collection, a, b)
                        held = ahead[0].result()  # taken off only once done: a load under way is waited for
                        ahead.popleft()
                        read_ahead(1)
                        s = held.summary(a, b) if held is not None else self._summary(self.source, collection, a, b)
                    else:
                        s, d = self._summaries(collection, a, b)
                    result.source_count += s.count
                    result.destination_count += d.count
                    if self._settled(result, s, d):
                        continue
                    self._held = held
                    try:
                        self._bisect(collection, result, a, b, s.count, d.count)
                    finally:
                        self._held = None
            finally:
                for pending in ahead:
                    pending.cancel()
                wait(ahead)  # a load under way ends before its connection is closed
                for reader in siblings:
                    reader.close()

    def _differing(
        self, collection: str, result: CollectionResult, start: str | None, end: str | None
    ) -> tuple[Summary, Summary] | None:
        """Both sides' summaries of [start, end) if they differ; ``None`` (the range counted as settled) if not."""
        s, d = self._summaries(collection, start, end)
        return None if self._settled(result, s, d) else (s, d)

    @staticmethod
    def _settled(result: CollectionResult, s: Summary, d: Summary) -> bool:
        """Equal count + checksum: the range's records are counted as covered and equal without being read."""
        if s != d:
            return False
        result.covered += s.count
        result.by_checksum += s.count
        result.equal += s.count
        return True

    def _bisect(
        self,
        collection: str,
        result: CollectionResult,
        start: str | None,
        end: str | None,
        s_count: int,
        d_count: int,
    ) -> None:
        """[start, end) differs: below ``bisection_threshold`` records read it, else split it into
        ``bisection_factor`` sub-ranges, settle the equal ones by count + checksum and recurse into the others."""
        if max(s_count, d_count) <= self.settings.bisection_threshold:
            result.segments_streamed += 1
            self._stream(collection, result, start, end, expected=(s_count, d_count))
            return
        parts = self._split(collection, start, end)
        if len(parts) < 2:  # nothing to cut at (no keys on the source in this range): read it
            result.segments_streamed += 1
            self._stream(collection, result, start, end)
            return
        checked = mismatched = 0
        dense_possible = max(s_count, d_count) <= self.settings.bisection_factor * self.settings.bisection_threshold
        for index, (a, b) in enumerate(parts):
            self._clock(result)
            result.segments += 1
            checked += 1
            s, d = self._summaries(collection, a, b)
            if self._settled(result, s, d):
                continue
            mismatched += 1
            if (
                dense_possible
                and checked >= DENSE_AFTER
                and mismatched > checked * DENSE_SHARE
                and index + 1 < len(parts)
            ):
                # differences everywhere: checksums cost more than they save, read the rest in one pass
                result.segments_streamed += 1
                self._stream(collection, result, a, end)
                return
            self._bisect(collection, result, a, b, s.count, d.count)

    def _split(self, collection: str, start: str | None, end: str | None) -> list[Bound]:
        """``bisection_factor`` sub-ranges of [start, end): even cuts of the UUID space for uuid keys, else
        cuts at keys of the source (its data's quantiles), so a range always shrinks."""
        factor = self.settings.bisection_factor
        if self.settings.collection(collection).key_type == "uuid":
            return split_bounds(start, end, factor)
        cut_points = getattr(self.source, "cut_points", None) or getattr(self.destination, "cut_points", None)
        if self._held is not None and self._held.covers(start, end):
            cut_points = self._held.cut_points
        if cut_points is None:
            return [(start, end)]
        cuts = [c for c in cut_points(collection, start, end, factor) if (start is None or c > start)]
        return ranges_between(cuts, start, end)

    def _summaries(self, collection: str, start: str | None, end: str | None) -> tuple[Summary, Summary]:
        """Both sides' summaries of [start, end), computed at the same time (each where its data is): the source's
        in a helper thread while this one waits for the destination's."""
        if self._pool is None:
            return self._summary(self.source, collection, start, end), self._summary(
                self.destination, collection, start, end
            )
        source = self._pool.submit(self._summary, self.source, collection, start, end)
        try:
            destination = self._summary(self.destination, collection, start, end)
        finally:
            wait([source])  # never leave the source reader in use by the helper when this one fails
        return source.result(), destination

    def _summary(self, reader: Reader, collection: str, start: str | None = None, end: str | None = None) -> Summary:
        """A range's count + checksum, record versions included where both sides' checksums can cover them."""
        if reader is self.source and self._held is not None and self._held.covers(start, end):
            return self._held.summary(start, end)
        if versions_in_checksums(self.source, self.destination, collection):
            return reader.versioned_summary(collection, start, end)  # type: ignore[attr-defined, no-any-return]
        return reader.summary(collection, start, end)

    def _recount(self, collection: str, result: CollectionResult) -> None:
        bounds = None
        if self.options.partition:  # the range this partition compared, not cuts taken again from a live source
            recorded = self.report.partition_bounds
            bounds = recorded[collection] if collection in recorded else self.partition_bounds(collection)
        for attr, reader in (("source_count", self.source), ("destination_count", self.destination)):
            try:
                count = reader.summary(collection, *bounds).count if bounds else self._count(reader, collection)
                setattr(result, attr, count)
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
        self,
        collection: str,
        result: CollectionResult,
        start: str | None,
        end: str | None,
        count: bool = False,
        expected: tuple[int, int] | None = None,
    ) -> None:
        """Merge-join ``[start, end)`` of both sides; ``count``: the keys read are the sides' counts;
        ``expected``: the sides' counts of the range from its summaries (the size of a first page)."""
        # each reader's records are mapped by its own side's renames, so source-vs-source (a backup) works too
        canon_s = Canonicalizer(self.settings, collection, self.source.side)
        canon_d = Canonicalizer(self.settings, collection, self.destination.side)
        tolerance = self.settings.for_collection(self.settings.tolerance, collection)
        raw_equal_settles = canon_s.agrees_with(canon_d)  # then equal records need no mapping at all
        src_iter = self.source.read(collection, start, end, expected and expected[0])
        dst_iter = self.destination.read(collection, start, end, expected and expected[1])
        only_src = only_dst = both = equal = 0  # kept in locals: this loop runs once per record
        try:
            src = self._unique(collection, result, "source", src_iter)
            dst = self._unique(collection, result, "destination", dst_iter)
            s = next(src, None)
            d = next(dst, None)
            while s is not None or d is not None:
                if (only_src + only_dst + both) % CHECK_EVERY == 0:
                    self._clock(result, only_src + only_dst + both)
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
                    if raw_equal_settles and same_data(s[1], d[1]):
                        equal += 1
                        s, d = next(src, None), next(dst, None)
                        continue
                    a, b = canon_s(s[1]), canon_d(d[1])
                    if records_agree(a, b, tolerance):
                        equal += 1
                    else:
                        b = within_tolerance(a, b, tolerance) if tolerance else b
                        # a difference beyond the listed ones is only counted: explaining it is wasted
                        fields = explain(a, b) if self._lists_next() else ()
                        self._difference(result, Difference(collection, s[0], "changed", fields))
                    s, d = next(src, None), next(dst, None)
        finally:
            result.covered += only_src + only_dst + both
            result.equal += equal
            if count:
                result.source_count = (result.source_count or 0) + only_src + both
                result.destination_count = (result.destination_count or 0) + only_dst + both
            _close(src_iter)
            _close(dst_iter)


def versions_in_checksums(source: Reader, destination: Reader, collection: str) -> bool:
    """Whether range checksums cover record versions: the source's mapping declares a version and both sides
    compute versioned checksums where the data is (the Storage Service's ``summary?versions=true``)."""
    if not declares_version(source, collection):
        return False
    return all(getattr(r, "versions_in_checksums", lambda _c: False)(collection) for r in (source, destination))


def declares_version(source: Reader, collection: str) -> bool:
    """Whether the source's mapping of ``collection`` declares a record version."""
    mapping = getattr(source, "mapping", {}).get(collection)
    return mapping is not None and mapping.version is not None


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close:
        close()


def compare(
    source: Reader, destination: Reader, settings: CompareSettings, options: CompareOptions | None = None
) -> CompareReport:
    return Comparison(source, destination, settings, options).run()


__all__: Sequence[str] = (
    "CompareOptions",
    "Comparison",
    "compare",
    "explain",
    "field_path",
    "segment_bounds",
    "split_bounds",
)
