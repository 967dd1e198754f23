"""A sampled compare (``--sample``) reads only some key ranges, but it knows the whole collection's counts: a count
mismatch is a difference even when every sampled range agrees, and a sample that covered no record decided
nothing (incomplete), never equal."""

from __future__ import annotations

from harness.data.report import DIFFERENT, EQUAL, INCOMPLETE, CollectionResult, CompareReport


def sampled(source_count: int, destination_count: int, covered: int, equal: int = 0) -> CollectionResult:
    return CollectionResult("heroes", source_count, destination_count, covered, equal=equal, sampled=True)


def test_a_sample_whose_ranges_agree_but_whose_counts_do_not_is_different() -> None:
    result = sampled(source_count=334, destination_count=333, covered=100, equal=100)
    assert result.verdict == DIFFERENT
    report = CompareReport("compare", collections=[result])
    assert report.exit_code == 1
    assert "counts differ: source 334, destination 333" in report.summary()
    assert "heroes: source 334 records, destination 333" in report.to_check("data compare").summary


def test_a_sample_that_covered_nothing_is_incomplete() -> None:
    result = sampled(source_count=334, destination_count=334, covered=0)
    assert result.verdict == INCOMPLETE
    report = CompareReport("compare", collections=[result])
    assert "the sample covered none of the 334 records" in report.summary()
    assert "could not decide: heroes: the sample covered none" in report.to_check("data compare").summary


def test_a_sample_with_equal_counts_and_agreeing_ranges_is_equal() -> None:
    assert sampled(source_count=334, destination_count=334, covered=100, equal=100).verdict == EQUAL
    assert sampled(source_count=0, destination_count=0, covered=0).verdict == EQUAL  # both empty: decided


def test_a_full_run_is_still_judged_by_what_it_read() -> None:
    """Unsampled: the missing and extra records themselves are the differences; counts alone decide nothing."""
    cut_short = CollectionResult("heroes", source_count=10, destination_count=9, covered=4, incomplete="--time-limit")
    assert cut_short.verdict == INCOMPLETE
