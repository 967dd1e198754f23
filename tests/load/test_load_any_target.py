"""Load goes wherever a target's URLs point, not only to loopback literals: `harness load run` and `load compare`
against a `staging` target named by this machine's host name (URLs on this machine, not "local") run and judge;
a production target refuses load without `--allow-load`. Every run says where its load goes before it starts.
The host name must resolve to a loopback address (our tests send load to loopback only), else the test skips."""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.embedded import EmbeddedStack, StackInfo
from harness.load.verdict import EXIT_PASS

pytestmark = pytest.mark.slow
SHORT = ["--users", "3", "--rule-window", "2s", "--rule-for", "1s"]


def machine_host() -> str:
    """A name for this machine that is not a loopback literal but resolves to loopback (``/etc/hosts``)."""
    name = socket.gethostname()
    try:
        address = socket.gethostbyname(name)
    except OSError:
        pytest.skip(f"host name {name!r} does not resolve")
    if name in ("localhost", "") or not ipaddress.ip_address(address).is_loopback:
        pytest.skip(f"host name {name!r} resolves to {address}, not loopback: our tests load loopback only")
    return name


@pytest.fixture(scope="module")
def stack() -> Iterator[StackInfo]:
    # equal backends: an injected 200 ms on both dominates what the storage backend's extra hop costs, which
    # grows with the machine's load (legacy 73 ms, storage 86 ms with 50 ms injected on a saturated CI machine)
    embedded = EmbeddedStack(characters=40, seed=5, faults=["latency=0.2"])
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def _config(tmp_path: Path, stack: StackInfo, environment: str, monkeypatch: pytest.MonkeyPatch) -> str:
    host = machine_host()
    urls = {b: u.replace("127.0.0.1", host) for b, u in (("legacy", stack.legacy_url), ("storage", stack.storage_url))}
    lines = [f'default_target = "{environment}"', f"[targets.{environment}]", f'environment = "{environment}"']
    for backend, url in urls.items():
        lines += [f"[targets.{environment}.backends.{backend}]", f'url = "{url}"']
    (tmp_path / "harness.toml").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_CONFIG", raising=False)
    monkeypatch.delenv("HARNESS_TARGET", raising=False)
    return urls["storage"]


def test_load_run_against_a_staging_target(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    url = _config(tmp_path, stack, "staging", monkeypatch)
    code = main(["load", "run", "--run-time", "6s", *SHORT])
    out, err = capfd.readouterr()
    assert code == EXIT_PASS, out + err
    assert f"-> {url} (target staging (staging), storage backend)" in err
    [verdict_file] = (tmp_path / "reports").glob("load-staging-storage-*.json")
    verdict = json.loads(verdict_file.read_text())
    assert verdict["target"] == "staging" and verdict["status"] == "pass", verdict
    assert "verdict: PASS" in out


def test_load_compare_against_a_staging_target(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, stack, "staging", monkeypatch)
    code = main(["load", "compare", "--run-time", "5s", "--rounds", "2", *SHORT])
    out, err = capfd.readouterr()
    assert code == EXIT_PASS, out + err
    assert err.count("(target staging (staging), ") == 4  # legacy and storage, twice, each announced
    [report] = [p for p in (tmp_path / "reports").glob("compare-staging-*.json") if p.stem.count("-") == 3]
    assert json.loads(report.read_text())["statement"] == "storage is not slower than legacy by more than 10%"


def test_production_needs_allow_load(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    _config(tmp_path, stack, "production", monkeypatch)
    for command in (["load", "run", "--run-time", "4s"], ["load", "compare", "--run-time", "4s", "--rounds", "1"]):
        assert main([*command, *SHORT]) == 2
        err = capfd.readouterr().err
        assert "target 'production' is production: pass --allow-load" in err
        assert len(err.strip().splitlines()) == 1 and "->" not in err  # refused before any load started
    assert not (tmp_path / "reports").exists()
    # with --allow-load it runs, reading only (the write cycle would need --allow-writes too)
    assert main(["load", "run", "--run-time", "6s", "--allow-load", *SHORT]) == EXIT_PASS
    [verdict_file] = (tmp_path / "reports").glob("load-production-storage-*.json")
    endpoints = json.dumps(json.loads(verdict_file.read_text()).get("endpoints", {}))
    assert "POST" not in endpoints and "DELETE" not in endpoints
