"""Named targets: an unreachable one fails the run fast with one line; a production one runs no write."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.embedded import EmbeddedStack, StackInfo

from .conftest import run_pytest

pytestmark = pytest.mark.slow
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def test_unreachable_target_fails_fast_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.dead]\nenvironment = "staging"\n[targets.dead.backends.legacy]\nurl = "http://127.0.0.1:{port}"\n'
    )
    started = time.monotonic()
    result = run_pytest("suites/smoke", "--target", "dead", config=config, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert elapsed < 15, f"took {elapsed:.1f} s"
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if "did not answer" in line]
    assert len(lines) == 1, output[-2000:]
    assert f"http://127.0.0.1:{port}/health did not answer" in lines[0]
    assert "Traceback" not in output


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "harness.toml"
    config.write_text('[targets.staging]\nenvironment = "staging"\n')
    result = run_pytest("suites/smoke", "--target", "stagin", config=config, timeout=60)
    assert result.returncode == 4
    assert "unknown target 'stagin'; did you mean 'staging'?" in result.stderr


@pytest.fixture(scope="module")
def prod_stack() -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=30, seed=4, faults=["legacy:missing_field=name"])
    try:
        yield stack.start()
    finally:
        stack.stop()


def _prod_config(tmp_path: Path, info: StackInfo) -> Path:
    config = tmp_path / "harness.toml"
    config.write_text(
        '[targets.prodlike]\nenvironment = "production"\n'
        f'[targets.prodlike.backends.legacy]\nurl = "{info.legacy_url}"\n'
        f'[targets.prodlike.backends.storage]\nurl = "{info.storage_url}"\n'
        '[targets.prodlike.auth]\nbearer_token = "${PROD_TOKEN}"\n'
    )
    return config


def _writes(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    total = 0.0
    for line in text.splitlines():
        m = re.match(r'character_service_requests_total\{method="(\w+)".*\} ([0-9.e+]+)$', line)
        if m and m.group(1) in WRITE_METHODS:
            total += float(m.group(2))
    return total


def test_production_target_runs_no_write(tmp_path: Path, prod_stack: StackInfo) -> None:
    before = {u: _writes(u) for u in (prod_stack.legacy_url, prod_stack.storage_url)}
    result = run_pytest(
        "suites/api",
        "suites/integration",
        "suites/smoke",
        "-q",
        "-rfs",
        "--target",
        "prodlike",
        "--alluredir",
        str(tmp_path / "allure"),
        config=_prod_config(tmp_path, prod_stack),
        env={"PROD_TOKEN": "s3cret-token-value"},
    )
    after = {u: _writes(u) for u in before}
    assert after == before, f"writes reached a production target: {before} -> {after}"
    assert "skipped on production target 'prodlike'; pass --allow-writes" in result.stdout
    # reads still ran: the missing-field fault on the legacy backend is caught by smoke
    assert "FAILED suites/smoke/test_smoke.py::test_list_characters[legacy]" in result.stdout
    # the failing exchange is attached, with the bearer token masked
    attachments = list((tmp_path / "allure").glob("*-attachment.json"))
    assert attachments, "no HTTP exchange attached to the failing test"
    texts = [a.read_text() for a in attachments]
    assert any('"Authorization": "***"' in t or '"authorization": "***"' in t for t in texts)
    assert not any("s3cret-token-value" in p.read_text(errors="replace") for p in (tmp_path / "allure").iterdir())
    assert "s3cret-token-value" not in result.stdout + result.stderr


def test_allow_writes_leaves_no_synthetic_record(tmp_path: Path, prod_stack: StackInfo) -> None:
    count = len(httpx.get(f"{prod_stack.storage_url}/characters", params={"limit": 200}).json()["items"])
    result = run_pytest(
        "suites/integration/test_campaigns.py",
        "-q",
        "--target",
        "prodlike",
        "--allow-writes",
        "--backend",
        "storage",
        "--alluredir",
        str(tmp_path / "allure"),
        config=_prod_config(tmp_path, prod_stack),
        env={"PROD_TOKEN": "t"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "passed" in result.stdout and "skipped" not in result.stdout
    items = httpx.get(f"{prod_stack.storage_url}/characters", params={"limit": 200}).json()["items"]
    assert len(items) == count
    assert not [c for c in items if c["owner"] == "harness-synthetic"]


def test_allure_results_carry_labels_and_environment(tmp_path: Path) -> None:
    allure = tmp_path / "allure"
    config = tmp_path / "harness.toml"
    config.write_text("[local]\ncharacters = 30\n")
    result = run_pytest("suites/smoke", "-q", "-n", "2", "--alluredir", str(allure), config=config)
    assert result.returncode == 0, result.stdout[-2000:]
    results = [json.loads(p.read_text()) for p in allure.glob("*-result.json")]
    health = [r for r in results if r["name"].startswith("test_health")]
    assert {p["value"] for r in health for p in r["parameters"] if p["name"] == "backend"} == {"'legacy'", "'storage'"}
    labels = {(label["name"], label["value"]) for label in health[0]["labels"]}
    assert ("parentSuite", "smoke") in labels and ("severity", "critical") in labels
    assert any(name == "feature" for name, _ in labels) and any(name == "story" for name, _ in labels)
    environment = (allure / "environment.properties").read_text()
    assert "target=local" in environment and "backends=legacy, storage" in environment
