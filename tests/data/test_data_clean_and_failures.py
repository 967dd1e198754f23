"""A clean migration compares equal with full coverage; a side that fails mid-stream is retried, and when the
failure persists the verdict is "incomplete" with what was covered, never "equal"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import psycopg
import pytest
from data_helpers import run_compare

from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.refs import check_refs
from harness.data.settings import CompareSettings, parse_compare_settings
from harness.data.verify import verify
from harness.embedded import StackInfo

pytestmark = pytest.mark.slow
STREAM = parse_compare_settings({"page_size": 10, "checksums": False})


@pytest.mark.parametrize("checksums", [True, False], ids=["checksums", "streaming"])
def test_clean_migration_is_equal_with_full_coverage(stack: StackInfo, checksums: bool) -> None:
    report = run_compare(stack, parse_compare_settings({"page_size": 25, "segment_size": 20}), checksums=checksums)
    assert report.verdict == "equal" and report.exit_code == 0, report.summary()
    assert [c.collection for c in report.collections] == ["campaigns", "characters"]
    for c in report.collections:
        assert c.destination_count is not None
        assert c.coverage == 1.0 and c.covered == c.source_count == c.destination_count > 0
        assert c.differences == 0
    assert report.differences == []


def test_clean_migration_verifies_and_has_no_orphans(stack: StackInfo) -> None:
    source = SourceReader(stack.source_dsn)
    destination = DestinationReader(stack.storage_service_url, stack.storage_database, headers=stack.read_headers())
    try:
        assert verify(source, destination, ("campaigns", "characters")).verdict == "equal"
        refs = check_refs(source, destination, CompareSettings())
    finally:
        source.close()
        destination.close()
    assert refs.verdict == "clean" and refs.exit_code == 0, refs.summary()
    assert refs.checked["source characters"] == refs.checked["destination characters"] == stack.characters


def test_sample_compares_a_fraction_and_says_so(stack: StackInfo) -> None:
    settings = parse_compare_settings({"segment_size": 10})
    report = run_compare(stack, settings, sample=0.25, collections=("characters",))
    characters = report.collections[0]
    assert characters.sampled and 0 < characters.coverage < 1.0
    assert report.verdict == "equal"


class FlakyTransport(httpx.BaseTransport):
    """A real transport that fails record listings number ``first`` .. ``first + failures - 1`` on purpose."""

    def __init__(self, first: int, failures: int) -> None:
        self.real = httpx.HTTPTransport()
        self.first, self.failures, self.listings = first, failures, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/records"):
            self.listings += 1
            if self.first <= self.listings < self.first + self.failures:
                raise httpx.ReadError("connection reset (injected)", request=request)
        return self.real.handle_request(request)

    def close(self) -> None:
        self.real.close()


def _compare_with(stack: StackInfo, source: SourceReader, transport: httpx.BaseTransport) -> Any:
    client = httpx.Client(transport=transport, timeout=10.0)
    destination = DestinationReader(
        stack.storage_service_url, stack.storage_database, page_size=10, client=client, headers=stack.read_headers()
    )
    try:
        return compare(source, destination, STREAM, CompareOptions(collections=("characters",)))
    finally:
        source.close()
        client.close()


def test_transient_destination_failure_is_retried(stack: StackInfo) -> None:
    transport = FlakyTransport(first=3, failures=2)
    report = _compare_with(stack, SourceReader(stack.source_dsn, page_size=10), transport)
    assert report.verdict == "equal", report.summary()
    assert transport.listings > stack.characters // 10


def test_persistent_destination_failure_is_incomplete(stack: StackInfo) -> None:
    report = _compare_with(stack, SourceReader(stack.source_dsn, page_size=10), FlakyTransport(first=3, failures=99))
    characters = report.collections[0]
    assert report.verdict == "incomplete" and report.exit_code == 1
    assert characters.incomplete and "destination characters" in characters.incomplete
    assert "connection reset (injected)" in characters.incomplete
    assert 0 < characters.covered < stack.characters and characters.coverage < 1.0
    assert "INCOMPLETE" in report.summary()


def _cut_source_after_two_pages(source: SourceReader, then_dsn: str | None = None) -> None:
    """Kill the source connection's backend (as a failover or an idle timeout would) after two pages (of the
    rows ``read`` streams; its records are made from them in the consuming thread)."""
    pages = source._row_pages

    def cut(
        collection: str, start: str | None = None, end: str | None = None, keys: Sequence[str] | None = None
    ) -> Iterator[Any]:
        for n, page in enumerate(pages(collection, start, end, keys)):
            yield page
            if n == 1:
                assert source._conn is not None
                pid = source._conn.info.backend_pid
                with psycopg.connect(source.dsn, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                if then_dsn:
                    source.dsn = then_dsn  # and it does not come back

    source._row_pages = cut  # type: ignore[method-assign]


def test_source_connection_lost_mid_stream_is_retried(stack: StackInfo) -> None:
    source = SourceReader(stack.source_dsn, page_size=10)
    _cut_source_after_two_pages(source)
    report = _compare_with(stack, source, httpx.HTTPTransport())
    assert report.verdict == "equal", report.summary()


def test_source_gone_mid_stream_is_incomplete(stack: StackInfo) -> None:
    source = SourceReader(stack.source_dsn, page_size=10)
    _cut_source_after_two_pages(source, then_dsn="postgresql://harness@127.0.0.1:1/gone")
    report = _compare_with(stack, source, httpx.HTTPTransport())
    characters = report.collections[0]
    assert report.verdict == "incomplete", report.summary()
    assert characters.incomplete and characters.incomplete.startswith("source characters")
    assert 20 <= characters.covered < stack.characters
