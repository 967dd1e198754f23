"""Coverage counts keys of both sides: 116 missing and 116 extra records beside 8 equal ones are 240 keys, all
covered, never "covered 240/124"."""

from __future__ import annotations

from harness.data.report import CollectionResult


def test_covered_never_exceeds_total() -> None:
    result = CollectionResult("campaigns", source_count=124, destination_count=124, covered=240, missing=116, extra=116)
    assert (result.covered, result.total, result.coverage) == (240, 240, 1.0)
    assert result.to_dict()["total"] == 240


def test_a_partial_run_stays_partial() -> None:
    result = CollectionResult("characters", source_count=100, destination_count=90, covered=40)
    assert result.total == 100 and result.coverage == 0.4
