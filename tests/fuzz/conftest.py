from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.embedded import StackInfo


def backend_clients(info: StackInfo) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        "legacy": httpx.Client(base_url=info.legacy_url, timeout=10),
        "storage": httpx.Client(base_url=info.storage_url, timeout=10),
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


@pytest.fixture
def ci_profile() -> object:
    from harness.fuzz.profiles import select_profile

    return select_profile(env={})


ROOT = Path(__file__).resolve().parents[2]
CONTRACT_TESTS = "suites/contract/test_contract.py"


def run_suite(
    tmp_path: Path,
    *args: str,
    faults: list[str] | None = None,
    characters: int = 20,
    env: dict[str, str] | None = None,
    config: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a suite as a user would (fresh pytest process), by default on the plugin's ``local`` target started
    with ``faults``; Allure results go to ``tmp_path/allure``."""
    if config is None:
        config = tmp_path / "harness.toml"
        quoted = ", ".join(f'"{f}"' for f in faults or [])
        config.write_text(f"[local]\ncharacters = {characters}\nseed = 5\nfaults = [{quoted}]\n")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    full_env.update({"HARNESS_CONFIG": str(config), **(env or {})})
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--alluredir", str(tmp_path / "allure"), *args]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600, check=False)
