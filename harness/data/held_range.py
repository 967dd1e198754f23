"""A source key range's summary items held in memory while that range is bisected.

A range summary of the source is computed in PostgreSQL over the documents it builds from the legacy tables;
building them is most of its cost (about 50 us a record on this kind of machine). The bisection asks for the
summaries of a differing range's sub-ranges, then of theirs: in SQL each level builds the range's documents
again. Holding the range's ``(key, item)`` pairs (what the summary hashes: "key:item" joined by ",") makes every
deeper summary a slice of memory, so the source builds each document once per run. Only one top-level range is
held at a time, and only up to ``HOLD_MAX`` records (a larger range is summarised in SQL as before)."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left
from dataclasses import dataclass

from .readers import Summary, digest_checksum

HOLD_MAX = 250_000  # records: about 40 MB of keys and md5s


@dataclass(frozen=True)
class HeldRange:
    start: str | None
    end: str | None
    keys: list[str]  # in the summary's key order (the Storage Service's: bytes of the text form)
    items: list[str]

    @classmethod
    def of(cls, keys: list[str], items: list[str], start: str | None, end: str | None) -> HeldRange:
        """The range as the source listed it; put in key order if it was not (the order is what the summary
        hashes and what ``bisect`` needs, so it is checked, not assumed)."""
        if any(a >= b for a, b in itertools.pairwise(keys)):
            pairs = sorted(zip(keys, items, strict=True))
            keys, items = [k for k, _ in pairs], [i for _, i in pairs]
        return cls(start, end, keys, items)

    def covers(self, start: str | None, end: str | None) -> bool:
        low_ok = self.start is None or (start is not None and start >= self.start)
        high_ok = self.end is None or (end is not None and end <= self.end)
        return low_ok and high_ok

    def _span(self, start: str | None, end: str | None) -> tuple[int, int]:
        """The indexes of the keys in [start, end)."""
        low = 0 if start is None else bisect_left(self.keys, start)
        return low, len(self.keys) if end is None else bisect_left(self.keys, end)

    def summary(self, start: str | None = None, end: str | None = None) -> Summary:
        """What the source's SQL summary of [start, end) gives, from memory."""
        low, high = self._span(start, end)
        return Summary(high - low, digest_checksum(zip(self.keys[low:high], self.items[low:high], strict=True)))

    def cut_points(self, collection: str, start: str | None, end: str | None, parts: int) -> list[str]:
        """Keys that cut [start, end) into ``parts`` runs of about equal size, as ``SourceReader.cut_points``
        computes them in SQL (every ceil(n / parts)-th key after the first)."""
        low, high = self._span(start, end)
        step = max(1, math.ceil((high - low) / parts))
        return self.keys[low + step : high : step]
