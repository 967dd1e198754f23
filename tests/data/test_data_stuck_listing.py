"""A Storage Service whose record listing ignores ``after`` answers the first page again and again: the reader
stops with a read failure naming the key it could not move past (the compare is incomplete, never equal),
instead of reading that page forever as duplicates, past any ``--time-limit``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fault_proxy import Exchange, Fault, fault_proxy

from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.report import CompareReport
from harness.data.settings import parse_compare_settings
from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
SETTINGS = parse_compare_settings({"page_size": 10})
DEADLINE_S = 60


def _ignores_after(exchange: Exchange) -> None:
    if exchange.path.endswith("/records"):
        exchange.query = "&".join(p for p in exchange.query.split("&") if not p.startswith("after="))


@pytest.fixture(scope="module")
def stuck() -> Iterator[tuple[StackInfo, str]]:
    with (
        EmbeddedStack(characters=30, seed=4) as info,
        fault_proxy(info.storage_service_url, Fault(before=_ignores_after)) as url,
    ):
        yield info, url


def test_a_listing_that_does_not_move_is_a_read_failure(stuck: tuple[StackInfo, str]) -> None:
    info, url = stuck
    reports: list[CompareReport] = []

    def run() -> None:
        source = SourceReader(info.source_dsn, mapping=SETTINGS.mapping, page_size=SETTINGS.page_size)
        destination = DestinationReader(
            url, info.storage_database, mapping=SETTINGS.mapping, page_size=10, headers=info.read_headers()
        )
        try:
            reports.append(compare(source, destination, SETTINGS, CompareOptions(checksums=False, time_limit=20)))
        finally:
            source.close()
            destination.close()

    worker = threading.Thread(target=run, daemon=True)  # the old reader never returned: do not wait on it
    worker.start()
    worker.join(DEADLINE_S)
    assert not worker.is_alive(), f"compare still reading the same page after {DEADLINE_S} s"
    [report] = reports
    assert report.verdict == "incomplete", report.summary()
    characters = next(c for c in report.collections if c.collection == "characters")
    assert characters.incomplete is not None and "did not move past" in characters.incomplete, report.summary()
