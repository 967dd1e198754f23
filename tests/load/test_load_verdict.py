"""Headless locust runs of the harness locustfile against the reference, judged against the alert rules: a healthy
run passes, the latency and error-rate faults breach the rule they should (naming rule, value and limit), a run
too short for the rules' windows or with a saturated generator is invalid; also with --processes 2.

The rules' 5-minute windows are scaled down with --rule-window/--rule-for so that runs of 10-20 s prove the point;
one 60 s run with --processes 2 shows the full-length case."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.embedded import StackInfo
from harness.load.runner import DEFAULT_LOCUSTFILE, LocustRun, run_locust
from harness.load.verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS

SHORT_RULES = ["--rule-window", "6s", "--rule-for", "3s"]


def _result(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in verdict["thresholds"] if t["name"] == name)


def _run(host: str, tmp_path: Path, run_time: str, *extra: str, users: int = 5, **kw: Any) -> LocustRun:
    run = run_locust(host, verdict_prefix=tmp_path / "verdict", run_time=run_time, users=users, extra=extra, **kw)
    assert run.verdict is not None, run.tail()
    return run


def test_healthy_run_passes_and_cleans_up(stack: StackInfo, tmp_path: Path) -> None:
    owner = "loadtest-healthy"
    run = _run(stack.storage_url, tmp_path, "15s", *SHORT_RULES, "--run-owner", owner)
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_PASS, run.tail()
    assert verdict["status"] == "pass"
    assert {t["name"]: t["outcome"] for t in verdict["thresholds"]} == {"HighErrorRate": "pass", "HighLatency": "pass"}
    assert verdict["run"]["requests"] > 100
    names = {e["name"] for e in verdict["run"]["endpoints"]}
    assert names == {"/characters", "/characters/{character_id}", "/campaigns", "/campaigns/{campaign_id}/characters"}
    assert (tmp_path / "verdict.txt").read_text().startswith("verdict: PASS (exit 0)")
    # the synthetic records of the run were written and deleted again
    methods = {e["method"] for e in verdict["run"]["endpoints"]}
    assert {"POST", "PATCH", "DELETE"} <= methods
    left = httpx.get(f"{stack.storage_url}/characters", params={"owner": owner, "limit": 100}, timeout=10).json()
    assert left["items"] == []


def test_production_target_load_only_reads_unless_allowed(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.prod]\nenvironment = "production"\n[targets.prod.backends.storage]\nurl = "{stack.storage_url}"\n'
    )
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    (tmp_path / "ro").mkdir()
    (tmp_path / "rw").mkdir()
    # load on production needs --allow-load (tests/load/test_load_any_target.py shows the refusal); writes need more
    read_only = _run(stack.storage_url, tmp_path / "ro", "8s", *SHORT_RULES, "--target", "prod", "--allow-load").verdict
    assert read_only is not None
    assert {e["method"] for e in read_only["run"]["endpoints"]} == {"GET"}
    allowed = _run(
        stack.storage_url, tmp_path / "rw", "8s", *SHORT_RULES, "--target", "prod", "--allow-load", "--allow-writes"
    )
    assert allowed.verdict is not None
    assert {"POST", "PATCH", "DELETE"} <= {e["method"] for e in allowed.verdict["run"]["endpoints"]}


def test_latency_fault_breaches_the_latency_rule(slow_stack: StackInfo, tmp_path: Path) -> None:
    run = _run(slow_stack.legacy_url, tmp_path, "12s", *SHORT_RULES)
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_BREACH, run.tail()
    latency = _result(verdict, "HighLatency")
    assert latency["outcome"] == "breach"
    assert latency["value"] >= 0.6 and latency["condition"] == "> 0.5 s"
    assert _result(verdict, "HighErrorRate")["outcome"] == "pass"
    # 0.6 s or more, e.g. "0.64 s" or "1.004 s" (a loaded machine adds to the injected 600 ms)
    assert re.search(r"HighLatency \((0\.[6-9]\d*|[1-9]\d*(\.\d+)?) s > 0\.5 s\)", verdict["summary"]), verdict[
        "summary"
    ]


def test_error_rate_fault_breaches_the_error_rule(erroring_stack: StackInfo, tmp_path: Path) -> None:
    run = _run(erroring_stack.storage_url, tmp_path, "12s", *SHORT_RULES)
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_BREACH, run.tail()
    errors = _result(verdict, "HighErrorRate")
    assert errors["outcome"] == "breach" and errors["value"] > 0.01
    assert "errors/s" in errors["condition"]
    assert _result(verdict, "HighLatency")["outcome"] == "pass"


def test_a_run_shorter_than_window_plus_for_is_invalid_not_passed(stack: StackInfo, tmp_path: Path) -> None:
    run = _run(stack.legacy_url, tmp_path, "5s")  # the rule file's own 5m windows
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_INVALID, run.tail()
    assert {t["outcome"] for t in verdict["thresholds"]} == {"not proven"}
    assert "shorter than window + for = 600 s" in _result(verdict, "HighLatency")["detail"]
    assert any("too short" in r for r in verdict["invalid_reasons"])


def test_a_saturated_generator_makes_the_run_invalid(stack: StackInfo, tmp_path: Path) -> None:
    # any measurable CPU counts as saturated here: the same check locust's own 90% warning feeds
    rules = ["--rule-window", "3s", "--rule-for", "1s"]
    run = _run(stack.legacy_url, tmp_path, "8s", *rules, "--max-generator-cpu", "0.01")
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_INVALID, run.tail()
    assert "load generator CPU reached" in verdict["invalid_reasons"][0]


@pytest.mark.slow  # a locust child
def test_unknown_target_is_one_line_and_exit_2(tmp_path: Path) -> None:
    run = run_locust("http://127.0.0.1:9", verdict_prefix=tmp_path / "v", run_time="3s", extra=["--target", "nope"])
    assert run.exit_code == 2
    assert "unknown target 'nope'" in run.output


@pytest.mark.slow
def test_processes_2_error_fault_breaches(erroring_stack: StackInfo, tmp_path: Path) -> None:
    run = _run(erroring_stack.legacy_url, tmp_path, "15s", *SHORT_RULES, processes=2, users=6)
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_BREACH, run.tail()
    assert verdict["run"]["workers"] == 2
    assert _result(verdict, "HighErrorRate")["outcome"] == "breach"


@pytest.mark.slow
def test_processes_2_sixty_seconds_healthy_passes_and_latency_fault_breaches(
    stack: StackInfo, slow_stack: StackInfo, tmp_path: Path
) -> None:
    rules = ["--rule-window", "30s", "--rule-for", "15s"]
    healthy = _run(stack.storage_url, tmp_path / "healthy", "60s", *rules, processes=2, users=10)
    assert healthy.exit_code == EXIT_PASS, healthy.tail()
    assert healthy.verdict is not None and healthy.verdict["run"]["workers"] == 2
    slow = _run(slow_stack.storage_url, tmp_path / "slow", "60s", *rules, processes=2, users=10)
    assert slow.exit_code == EXIT_BREACH, slow.tail()
    assert slow.verdict is not None
    assert _result(slow.verdict, "HighLatency")["outcome"] == "breach"


def test_abort_on_breach_stops_the_run_early(slow_stack: StackInfo, tmp_path: Path) -> None:
    started = time.monotonic()
    run = _run(slow_stack.legacy_url, tmp_path, "40s", "--rule-window", "2s", "--rule-for", "1s", "--abort-on-breach")
    assert run.exit_code == EXIT_BREACH, run.tail()
    assert time.monotonic() - started < 25  # stopped once HighLatency fired, not after 40 s
    assert run.verdict is not None and run.verdict["run"]["duration_s"] < 20


@pytest.mark.slow
def test_master_worker_run_is_judged_on_the_master_only(erroring_stack: StackInfo, tmp_path: Path) -> None:
    """A distributed run (``--master`` and a separate ``--worker`` process, as on several machines): the master
    evaluates and writes the verdict; the worker only generates load."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker_verdict = tmp_path / "worker-verdict"
    worker = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", str(DEFAULT_LOCUSTFILE), "--worker", "--master-host", "127.0.0.1",
         "--master-port", str(port), "--verdict", str(worker_verdict)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        master = ["--master", "--expect-workers", "1", "--master-bind-host", "127.0.0.1"]
        master += ["--master-bind-port", str(port)]
        run = _run(erroring_stack.storage_url, tmp_path, "15s", *SHORT_RULES, *master, users=6)
    finally:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    verdict = run.verdict
    assert verdict is not None
    assert run.exit_code == EXIT_BREACH, run.tail()
    assert verdict["run"]["workers"] == 1
    assert _result(verdict, "HighErrorRate")["outcome"] == "breach"
    assert not worker_verdict.with_name("worker-verdict.json").exists()  # evaluation ran on the master only
