"""Every response the reference serves conforms to the contracts (schemathesis, all checks), and the check
fails when the reference is switched to violate them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import resources
from harness.embedded import EmbeddedStack, StackInfo

ROOT = Path(__file__).resolve().parents[2]
CHARACTER_CONTRACT = resources.character_service_contract()
STORAGE_CONTRACT = resources.storage_service_contract()
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")

pytestmark = pytest.mark.slow


def run_schemathesis(spec: Path, url: str, *extra: str, examples: int = 8) -> subprocess.CompletedProcess[str]:
    cmd = [
        SCHEMATHESIS,
        "run",
        str(spec),
        "--url",
        url,
        "--checks",
        "all",
        "--max-examples",
        str(examples),
        "--seed",
        "20261125",
        "--generation-database",
        "none",
        "--no-color",
        *extra,
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": ""}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[StackInfo]:
    """A clean stack of the module's own: the fuzzer's writes must not reach the session's shared data."""
    stack = EmbeddedStack(characters=20, seed=5)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.mark.parametrize("backend", ["legacy", "storage"])
def test_character_service_conforms(fuzz_stack: StackInfo, backend: str) -> None:
    url = fuzz_stack.legacy_url if backend == "legacy" else fuzz_stack.storage_url
    result = run_schemathesis(CHARACTER_CONTRACT, url)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Tested: 15" in result.stdout, result.stdout[-2000:]


@pytest.fixture(scope="module")
def violating_stack() -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=20, seed=3, faults=["legacy:missing_field=name", "storage:wrong_content_type"])
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def scratch_stack() -> Iterator[StackInfo]:
    """A stack of its own: fuzzing the Storage Service deletes and overwrites whatever it finds."""
    stack = EmbeddedStack(characters=5, seed=3)
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_storage_service_conforms(scratch_stack: StackInfo) -> None:
    # U+0000 cannot be stored in jsonb; the contract documents the 422 and the fuzzer is told not to send it
    auth = f"Authorization: Bearer {scratch_stack.storage_operator_token}"  # fuzzing provisions databases of its own
    result = run_schemathesis(
        STORAGE_CONTRACT, scratch_stack.storage_service_url, "--generation-allow-x00", "false", "-H", auth
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "Tested: 12" in result.stdout


@pytest.mark.parametrize(
    ("backend", "expected"),
    [("legacy", "Response violates schema"), ("storage", "Undocumented Content-Type")],
)
def test_conformance_check_fails_on_contract_violations(
    violating_stack: StackInfo, backend: str, expected: str
) -> None:
    url = violating_stack.legacy_url if backend == "legacy" else violating_stack.storage_url
    result = run_schemathesis(CHARACTER_CONTRACT, url, "--include-path-regex", "^/characters", examples=5)
    assert result.returncode == 1, result.stdout[-3000:]
    assert expected in result.stdout, result.stdout[-3000:]
