"""Data parity between the source (legacy PostgreSQL) and the destination (Storage Service).

The same checks as ``harness data verify|compare|check-refs``, on the run's target (``local``: the embedded
default with a migrated copy of the seeded data). Read-only. Each attaches its report to Allure as JSON, with a
readable summary; the target's ``[targets.X.compare]`` section configures the comparison.
"""

from __future__ import annotations

from collections.abc import Iterator

import allure
import pytest

from harness.config import Target
from harness.data.cli import open_sides
from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.refs import check_refs
from harness.data.report import CompareReport, ProblemReport
from harness.data.settings import CompareSettings
from harness.data.verify import verify

Sides = tuple[CompareSettings, SourceReader, DestinationReader]


@pytest.fixture(scope="module")
def sides(target: Target) -> Iterator[Sides]:
    if target.source is None or target.destination is None:
        pytest.skip(f"target {target.name!r} has no source dsn or destination url: data parity needs both")
    with open_sides(target) as (settings, source, destination):
        assert source is not None and destination is not None
        yield settings, source, destination


def attach(report: CompareReport | ProblemReport) -> str:
    summary = report.summary()
    allure.attach(report.to_json(), name=f"data {report.check} (JSON)", attachment_type=allure.attachment_type.JSON)
    allure.attach(summary, name=f"data {report.check} summary", attachment_type=allure.attachment_type.TEXT)
    return summary


def test_counts_and_checksums_match(sides: Sides) -> None:
    settings, source, destination = sides
    report = verify(source, destination, settings.collections)
    summary = attach(report)
    assert report.verdict == "equal", summary


def test_every_record_is_equal(sides: Sides) -> None:
    settings, source, destination = sides
    report = compare(source, destination, settings, CompareOptions(detail_limit=200))
    summary = attach(report)
    assert report.verdict == "equal", summary
    assert all(c.coverage == 1.0 for c in report.collections), summary


def test_references_are_intact(sides: Sides) -> None:
    settings, source, destination = sides
    report = check_refs(source, destination, settings)
    summary = attach(report)
    assert report.verdict == "clean", summary
