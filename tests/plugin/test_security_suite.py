"""``pytest suites/security`` passes on the healthy reference, fails on each access fault naming the request that
got through, and skips (never passes) the checks whose probe tokens a named target does not give."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, run_pytest

pytestmark = pytest.mark.slow

CHECKS = 7  # tests in suites/security


def _run_on_local(tmp_path: Path, *faults: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "harness.toml"
    config.write_text("[local]\ncharacters = 10\nfaults = [" + ", ".join(f'"{f}"' for f in faults) + "]\n")
    return run_pytest("suites/security", "--alluredir", str(tmp_path / "allure"), config=config, timeout=300)


def test_healthy_reference_passes(tmp_path: Path) -> None:
    result = _run_on_local(tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{CHECKS} passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


RECORDS = "/databases/character_db/collections/characters/records"


@pytest.mark.parametrize(
    ("fault", "failed", "through"),
    [
        (
            "open_storage",
            {
                "test_no_token_is_refused",
                "test_malformed_token_is_refused",
                "test_other_database_token_is_refused",
                "test_read_token_cannot_write",
                "test_harness_storage_token_is_read_only",
            },
            f"GET {RECORDS} with no token got through: answered 200, expected 401",
        ),
        (
            "cross_database",
            {"test_other_database_token_is_refused"},
            f"GET {RECORDS} with another database's token got through: answered 200, expected 403",
        ),
        (
            "reader_can_write",
            {
                "test_read_token_cannot_write",
                "test_harness_storage_token_is_read_only",
                "test_harness_postgres_role_is_read_only",
            },
            'with the read token (If-Match: "0") got through: answered 412, expected 403',
        ),
        (
            "reader_can_write=postgres",
            {"test_harness_postgres_role_is_read_only"},
            "UPDATE characters got through (it matched no row and was rolled back)",
        ),
    ],
)
def test_each_access_fault_fails_the_suite_naming_the_request(
    tmp_path: Path, fault: str, failed: set[str], through: str
) -> None:
    result = _run_on_local(tmp_path, fault)
    assert result.returncode == 1, result.stdout[-3000:]
    names = {line.split("::")[-1].split(" ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")}
    assert names == failed, result.stdout[-3000:]
    assert through in result.stdout, result.stdout[-3000:]
    assert f"{CHECKS - len(failed)} passed" in result.stdout


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`harness up --json`, as an operator would start it, for a named target pointing at it."""
    out = tmp_path_factory.mktemp("up") / "up.json"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness", "up", "--json", "--characters", "5"],
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not out.read_text().strip() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        yield json.loads(out.read_text())
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_named_target_without_probe_tokens_skips_those_checks(tmp_path: Path, running_stack: dict[str, str]) -> None:
    config = tmp_path / "harness.toml"
    config.write_text(
        f"""
[targets.prod]
environment = "production"
[targets.prod.backends.storage]
url = "{running_stack["storage_url"]}"
[targets.prod.source]
dsn = "${{PROBE_SOURCE_DSN}}"
[targets.prod.destination]
url = "{running_stack["storage_service_url"]}"
token = "${{PROBE_READ_TOKEN}}"
"""
    )
    env = {"PROBE_SOURCE_DSN": running_stack["reader_dsn"], "PROBE_READ_TOKEN": running_stack["storage_read_token"]}
    result = run_pytest("suites/security", "--target", "prod", "-rs", config=config, env=env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "5 passed, 2 skipped" in result.stdout, result.stdout[-3000:]
    assert "set [targets.prod.security] other_database_token" in result.stdout
    assert "set [targets.prod.security] read_token" in result.stdout
