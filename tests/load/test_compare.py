"""The backend comparison: the Mann-Whitney U test itself, then `harness load compare` against the reference with
equal backends (passes) and a storage backend made ~30% slower (flagged)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.embedded import EmbeddedStack, StackInfo
from harness.load.compare import CompareSettings, compare_runs, mann_whitney_u
from harness.load.verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS


def test_u_counts_pairs_where_the_first_is_greater_ties_half() -> None:
    assert mann_whitney_u({1: 1, 3: 1, 5: 1}, {2: 1, 4: 1}).u == 3  # 3>2, 5>2, 5>4
    assert mann_whitney_u({1: 2}, {1: 2}).u == 2  # four ties
    same = mann_whitney_u({10: 50, 11: 50}, {10: 50, 11: 50})
    assert same.effect == 0.5 and 0.4 < same.p_greater <= 0.6


def test_normal_approximation_matches_a_worked_value() -> None:
    # n1 = n2 = 10 without ties, first entirely above: U = 100, mean 50, sd sqrt(10*10*21/12) = 13.229;
    # z = (100 - 50 - 0.5) / 13.229 = 3.742, one-sided p = 9.1e-5 (scipy.stats.mannwhitneyu asymptotic gives the same)
    result = mann_whitney_u({float(v): 1 for v in range(20, 30)}, {float(v): 1 for v in range(10, 20)})
    assert result.u == 100
    assert result.z == pytest.approx(3.742, abs=1e-3)
    assert result.p_greater == pytest.approx(9.13e-5, rel=0.01)


def _verdict(hist: dict[int, int], failures: int = 0) -> dict[str, object]:
    n = sum(hist.values())
    times = {str(k): v for k, v in hist.items()}
    return {"run": {"requests": n, "failures": failures, "total": {"response_times_ms": times}}}


def test_comparison_flags_30_percent_slower_and_passes_equal() -> None:
    base = {50: 100, 52: 100, 55: 100, 60: 50}
    slower = {round(k * 1.3): v for k, v in base.items()}
    settings = CompareSettings(max_slowdown=0.10)
    assert compare_runs(_verdict(base), _verdict(base), settings).status == "pass"
    flagged = compare_runs(_verdict(base), _verdict(slower), settings)
    assert flagged.status == "fail" and flagged.exit_code == EXIT_BREACH
    assert "significantly above legacy's x 1.10" in flagged.reasons[0]
    errors = compare_runs(_verdict(base), _verdict(base, failures=20), settings)
    assert errors.status == "fail" and "error ratio" in errors.reasons[0]


def test_runs_whose_every_request_failed_cannot_be_compared() -> None:
    """Both backends down (every request refused in a millisecond or two): the comparison held the failures'
    latencies against each other, and their error ratios (1.0 each) did not differ: a PASS, "storage is not
    slower than legacy". Either side without one answer cannot be compared; one failed request of many can."""
    base = {1: 150, 2: 20, 6: 4}
    settings = CompareSettings(max_slowdown=0.10)
    both = compare_runs(_verdict(base, failures=174), _verdict(base, failures=174), settings)
    assert both.status == "invalid" and both.exit_code == EXIT_INVALID, both
    assert both.reasons == (
        "legacy: no request succeeded (174 of 174 failed), so no answer's latency to compare",
        "storage: no request succeeded (174 of 174 failed), so no answer's latency to compare",
    )
    # an invalid comparison has no test to show: its table (the .txt report) raised KeyError, exit 70
    assert "reason: storage: no request succeeded" in both.table() and "Mann-Whitney" not in both.table()
    assert compare_runs(_verdict(base), _verdict(base, failures=174), settings).status == "invalid"
    assert compare_runs(_verdict(base, failures=1), _verdict(base, failures=1), settings).status == "pass"


def test_a_legacy_faster_than_a_millisecond_is_compared_not_divided_by() -> None:
    """Locust rounds response times to whole milliseconds: a legacy backend answering in under 0.5 ms has a mean
    of 0, and the slower storage's reason divided by it (ZeroDivisionError: exit 70 instead of a verdict)."""
    flagged = compare_runs(_verdict({0: 300}), _verdict({4: 300}), CompareSettings(max_slowdown=0.10))
    assert flagged.status == "fail" and "mean 4.0 ms vs 0.0 ms" in flagged.reasons[0]


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"max_slowdown": float("nan")}, "--max-slowdown: must be a finite number, not negative, got nan"),
        ({"alpha": float("nan")}, "--alpha: must be between 0 and 1"),
    ],
)
def test_a_nan_compare_option_is_refused(option: dict[str, float], message: str) -> None:
    """legacy x (1 + nan) is no latency: the test compared storage with nothing (and a nan error increase is
    never exceeded)."""
    from harness.errors import ConfigError
    from harness.load.compare import compare_settings

    with pytest.raises(ConfigError, match=re.escape(message)):
        compare_settings(None, **option)


@pytest.fixture(scope="module")
def equal_stack() -> Iterator[StackInfo]:
    # both backends dominated by the same 200 ms, so the reference's own legacy/storage difference is small: the
    # storage backend's extra hop cost 10-13 ms more than legacy's path on a saturated CI machine (+13 % of 50 ms)
    stack = EmbeddedStack(characters=60, seed=5, faults=["latency=0.2"])
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def slower_storage_stack() -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=60, seed=5, faults=["latency=0.05", "storage:latency=0.068"])
    try:
        yield stack.start()
    finally:
        stack.stop()


def _compare(stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, object]]:
    (tmp_path / "harness.toml").write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.legacy]\nurl = "{stack.legacy_url}"\n'
        f'[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n[targets.t.load_compare]\nmax_slowdown = 0.10\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_CONFIG", raising=False)
    code = main(["load", "compare", "--target", "t", "--users", "5", "--run-time", "6s", "--rounds", "2"])
    reports = [p for p in (tmp_path / "reports").glob("compare-t-*.json") if not p.stem.endswith(("-1", "-2"))]
    assert reports, list((tmp_path / "reports").iterdir())
    assert len(list((tmp_path / "reports").glob("compare-t-*-*-[12].json"))) == 4  # legacy, storage, twice
    return code, json.loads(reports[-1].read_text())


@pytest.mark.slow
def test_equal_backends_pass(equal_stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, report = _compare(equal_stack, tmp_path, monkeypatch)
    assert code == EXIT_PASS, report
    assert report["statement"] == "storage is not slower than legacy by more than 10%"


@pytest.mark.slow
def test_storage_made_30_percent_slower_is_flagged(
    slower_storage_stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = _compare(slower_storage_stack, tmp_path, monkeypatch)
    assert code == EXIT_BREACH, report
    figures = report["legacy"], report["storage"]
    assert figures[1]["mean_ms"] > 1.2 * figures[0]["mean_ms"]  # type: ignore[index]
    assert report["test"]["p"] < 0.05  # type: ignore[index]


def test_pooled_runs_add_up() -> None:
    from harness.load.compare import pool

    merged = pool([_verdict({50: 2, 60: 1}, failures=1), _verdict({50: 1, 70: 1})])
    assert merged["run"]["requests"] == 5 and merged["run"]["failures"] == 1
    assert merged["run"]["total"]["response_times_ms"] == {"50": 3, "60": 1, "70": 1}


def test_load_compare_section_typo_is_one_line_with_a_suggestion() -> None:
    from harness.config.loader import parse_config
    from harness.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        text = '[targets.t]\nenvironment = "dev"\n[targets.t.load_compare]\nmax_slowdwn = 0.1\n'
        parse_config(text, "harness.toml", {})
    assert str(err.value).startswith(
        "harness.toml: targets.t.load_compare.max_slowdwn: unknown key; did you mean 'max_slowdown'?"
    )
