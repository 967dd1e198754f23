"""A Storage Service whose range summary cannot include record versions (the contract lets it: an answer
without ``"versions": true`` does not cover them) and a migration that changed a version only: checksums over
the documents alone are equal, so ``compare`` reads the records (versions compared) instead of settling the
collection as equal, and ``verify`` says what its checksums leave out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from data_helpers import Storage
from fault_proxy import Exchange, Fault, fault_proxy

from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.settings import parse_compare_settings
from harness.data.verify import verify
from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
SETTINGS = parse_compare_settings({"page_size": 10, "bisection_threshold": 4})


def _no_versioned_summary(exchange: Exchange) -> None:
    """The summary of a service that never heard of ``versions``: the parameter never reaches it."""
    if exchange.path.endswith("/summary"):
        exchange.query = "&".join(p for p in exchange.query.split("&") if not p.startswith("versions="))


@pytest.fixture(scope="module")
def bumped() -> Iterator[tuple[StackInfo, str, str, int]]:
    """A stack whose destination holds one character with its document intact and its version raised by one,
    and the URL of that destination behind a summary without versions."""
    with EmbeddedStack(characters=30, seed=4) as info:
        storage = Storage(info)
        record = storage.records()[7]
        storage.put(record["id"], record["document"], version=record["version"] + 1)
        with fault_proxy(info.storage_service_url, Fault(before=_no_versioned_summary)) as url:
            yield info, url, record["id"], record["version"]


def _readers(info: StackInfo, url: str) -> tuple[SourceReader, DestinationReader]:
    source = SourceReader(info.source_dsn, mapping=SETTINGS.mapping, page_size=SETTINGS.page_size)
    destination = DestinationReader(
        url, info.storage_database, mapping=SETTINGS.mapping, page_size=SETTINGS.page_size, headers=info.read_headers()
    )
    return source, destination


def test_compare_names_a_changed_version_the_summary_cannot_see(bumped: tuple[StackInfo, str, str, int]) -> None:
    info, url, key, version = bumped
    source, destination = _readers(info, url)
    try:
        assert not destination.versions_in_checksums("characters")  # the fault is in place
        report = compare(source, destination, SETTINGS, CompareOptions())
    finally:
        source.close()
        destination.close()
    assert report.verdict == "different", report.summary()
    [diff] = report.differences
    assert (diff.key, diff.kind) == (key, "changed")
    assert [(f.path, f.source, f.destination) for f in diff.fields] == [("version", version, version + 1)]
    assert any("characters: range checksums off" in n and "versions" in n for n in report.notes), report.notes


def test_verify_says_its_checksums_leave_the_versions_out(bumped: tuple[StackInfo, str, str, int]) -> None:
    """``verify`` is counts and checksums computed where the data is: it cannot see the version, and says so."""
    info, url, _, _ = bumped
    source, destination = _readers(info, url)
    try:
        report = verify(source, destination, ["campaigns", "characters"])
    finally:
        source.close()
        destination.close()
    assert any(n.startswith("characters: checksums over documents only") for n in report.notes), report.notes
