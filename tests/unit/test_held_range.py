"""The source range held in memory (``harness.data.held_range``) answers sub-range summaries and cut points as
the source's SQL does: the md5 of "key:item" joined by ",", over the keys in [start, end); cut points every
ceil(n / parts)-th key after the first. (Against PostgreSQL itself: tests/data/test_data_bisection.py.)"""

from __future__ import annotations

import hashlib

from harness.data.held_range import HeldRange
from harness.data.readers import Summary

KEYS = [f"k{i:03d}" for i in range(10)]
ITEMS = [hashlib.md5(k.encode()).hexdigest() for k in KEYS]


def _expected(keys: list[str]) -> Summary:
    joined = ",".join(f"{k}:{ITEMS[KEYS.index(k)]}" for k in keys)
    return Summary(len(keys), hashlib.md5(joined.encode()).hexdigest())


def test_sub_range_summaries_are_slices() -> None:
    held = HeldRange.of(list(KEYS), list(ITEMS), None, None)
    assert held.summary() == _expected(KEYS)
    assert held.summary("k003", "k007") == _expected(KEYS[3:7])
    assert held.summary("k0035", None) == _expected(KEYS[4:])  # bounds need not be keys
    assert held.summary("k100", None) == Summary(0, hashlib.md5(b"").hexdigest())  # empty: md5 of ''


def test_cut_points_as_the_source_computes_them() -> None:
    held = HeldRange.of(list(KEYS), list(ITEMS), None, None)
    assert held.cut_points("c", None, None, 4) == ["k003", "k006", "k009"]  # step ceil(10 / 4) = 3
    assert held.cut_points("c", "k002", "k008", 2) == ["k005"]


def test_keys_out_of_order_are_put_in_order() -> None:
    held = HeldRange.of(list(reversed(KEYS)), list(reversed(ITEMS)), None, None)
    assert held.keys == KEYS and held.summary() == _expected(KEYS)


def test_covers_only_ranges_inside_it() -> None:
    held = HeldRange.of(list(KEYS), list(ITEMS), "k002", "k008")
    assert held.covers("k002", "k008") and held.covers("k003", "k004")
    assert not held.covers(None, "k004") and not held.covers("k003", None) and not held.covers("k001", "k004")
