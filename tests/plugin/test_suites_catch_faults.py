"""Each suite fails when the reference runs with the fault that suite exists to catch, and passes without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.embedded import EmbeddedStack

from .conftest import backends_targets, run_pytest

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, faults: list[str]) -> Path:
    path = tmp_path / "harness.toml"
    quoted = ", ".join(f'"{f}"' for f in faults)
    path.write_text(f"[local]\ncharacters = 40\nseed = 5\nfaults = [{quoted}]\n")
    return path


@pytest.mark.parametrize(
    ("suite", "fault", "failing"),
    [
        ("suites/smoke", "error_rate=0.02", "test_error_rate_within_alert_threshold"),
        ("suites/api", "legacy:missing_field=name", "test_create_and_read[legacy]"),
        (
            "suites/integration/test_cache_coherence.py",
            "storage:stale_cache",
            "test_read_after_write_is_fresh[storage]",
        ),
        # both backends answer GET /characters/{id} with the same 418: equal answers, but no data read (it passed)
        ("suites/staging", "undocumented_status=418", "test_sampled_reads_agree"),
    ],
)
def test_suite_fails_on_its_fault(tmp_path: Path, suite: str, fault: str, failing: str) -> None:
    result = run_pytest(suite, "-q", "--alluredir", str(tmp_path / "allure"), config=_config(tmp_path, [fault]))
    assert result.returncode == 1, result.stdout[-3000:]
    assert f"FAILED {suite.split('::')[0]}" in result.stdout
    assert failing in result.stdout, result.stdout[-3000:]
    if fault.startswith(("legacy:", "storage:")):  # the other backend is unaffected
        other = "storage" if fault.startswith("legacy:") else "legacy"
        assert f"{failing.split('[')[0]}[{other}]" not in result.stdout.split("short test summary")[-1]


def test_suites_pass_on_a_clean_reference(tmp_path: Path) -> None:
    result = run_pytest(
        "suites/smoke",
        "suites/integration/test_cache_coherence.py",
        "suites/staging",
        "-q",
        "--alluredir",
        str(tmp_path / "allure"),
        config=_config(tmp_path, []),
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_staging_reads_of_a_target_that_lists_no_character_compare_nothing(tmp_path: Path) -> None:
    """No character listed: "sampled reads agree" compared no read and passed; it is skipped, saying why."""
    with EmbeddedStack(characters=0, seed=1) as info:
        config = backends_targets(tmp_path / "harness.toml", {"legacy": info.legacy_url, "storage": info.storage_url})
        result = run_pytest("suites/staging", "-q", "-rs", "--alluredir", str(tmp_path / "allure"), config=config)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 skipped" in result.stdout and "lists no character" in result.stdout, result.stdout[-3000:]
