"""An interrupted gate (SIGINT, as Ctrl-C; SIGTERM alike) stops the check under way and everything it started,
removes its temporary directories (the embedded stack's too), and still writes a verdict marked interrupted:
INCONCLUSIVE, exit 4."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest
from gate_helpers import VERDICT_SCHEMA, gate_env, private_tmpdir

from harness.gate import children

pytestmark = pytest.mark.slow


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """The gate's and the stack's temporary directories go here, so the test sees exactly what the run left."""
    with private_tmpdir() as path:
        yield path


def _gate(cwd: Path, reports: Path, private_tmp: Path) -> subprocess.Popen[str]:
    """A whole gate on a small embedded default, its output read by the test."""
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "gate", "--characters", "40", "--reports", str(reports)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gate_env(TMPDIR=str(private_tmp)),
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_mid_run_leaves_nothing_and_writes_an_inconclusive_verdict(
    tmp_path: Path, private_tmp: Path, sig: int
) -> None:
    import jsonschema

    reports = tmp_path / "reports"
    proc = _gate(tmp_path, reports, private_tmp)
    assert proc.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if line.startswith("== endpoints") or not line:
            break
    assert seen and seen[-1].startswith("== endpoints"), "".join(seen)
    time.sleep(4)  # the endpoint suites' pytest child is under way
    tree = psutil.Process(proc.pid).children(recursive=True)
    assert any("pytest" in " ".join(p.cmdline()) for p in tree)
    assert [p.name for p in private_tmp.iterdir() if p.name.startswith("harness-")], "no temporary directory seen"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err[-3000:]
    _gone, alive = psutil.wait_procs(tree, timeout=15)
    assert not alive, f"left running: {[' '.join(p.cmdline())[:120] for p in alive]}"
    left = [p.name for p in private_tmp.iterdir() if p.name.startswith("harness-")]
    assert not left, f"temporary directories left behind: {left}"
    verdict_file = next(reports.glob("gate-*/verdict.json"))
    verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
    jsonschema.validate(verdict, json.loads(VERDICT_SCHEMA.read_text(encoding="utf-8")))
    assert verdict["interrupted"] is True and verdict["verdict"] == "INCONCLUSIVE"
    assert "verdict: INCONCLUSIVE (interrupted)" in out
    unfinished = [c for c in verdict["checks"] if c["summary"] == "interrupted before it finished"]
    assert unfinished and all(c["outcome"] == "inconclusive" for c in unfinished)
    # the suites under way ran for the 4 s before the signal (they showed 0.0 s); later phases never started
    running = [c for c in unfinished if c["check"].startswith("endpoints.")]
    assert running and all(c["elapsed_s"] >= 3 for c in running), running
    assert all(c["elapsed_s"] == 0 for c in unfinished if c not in running), unfinished


def test_a_gate_started_ignoring_sigint_still_stops_its_suite_child_at_once(tmp_path: Path, private_tmp: Path) -> None:
    """A gate started as a background job of a non-interactive shell (a CI script's ``harness gate &``) inherits
    SIGINT ignored, and is stopped with SIGTERM. It stops its pytest child with SIGINT: the child must not have
    inherited the ignored SIGINT (it ran on, deaf to it, until the SIGKILL 30 s later, and cleaned up nothing
    itself): pytest stops at once, reports the KeyboardInterrupt and removes what it created."""
    reports = tmp_path / "reports"
    gate = ["gate", "--characters", "40", "--only", "endpoints", "--reports", str(reports)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", *gate],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=gate_env(TMPDIR=str(private_tmp)),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # what the shell does for a background job
    )
    try:
        deadline = time.monotonic() + 240
        log: Path | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            log = next(reports.glob("gate-*/logs/pytest-endpoints.log"), None)
            if log is not None and "." in log.read_text(encoding="utf-8", errors="replace"):
                break  # the endpoint suites' tests are under way
            time.sleep(0.2)
        assert log is not None and proc.poll() is None, "the endpoint suites' pytest child was not seen running"
        tree = psutil.Process(proc.pid).children(recursive=True)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 4, out[-3000:]
    text = log.read_text(encoding="utf-8", errors="replace")
    # pytest itself stopped on the gate's SIGINT and cleaned up; the gate did not have to kill it after the grace
    assert "KeyboardInterrupt" in text, text[-3000:]
    assert "stopped before its clean-up" not in text, text[-3000:]
    assert took < children.GRACE_S, f"the gate took {took:.0f} s to stop: its child waited for the SIGKILL"
    _gone, alive = psutil.wait_procs(tree, timeout=15)
    assert not alive, f"left running: {[' '.join(p.cmdline())[:120] for p in alive]}"
    assert not [p.name for p in private_tmp.iterdir() if p.name.startswith("harness-")]
    verdict = json.loads(next(reports.glob("gate-*/verdict.json")).read_text(encoding="utf-8"))
    assert verdict["interrupted"] is True and verdict["verdict"] == "INCONCLUSIVE"
    endpoints = [c for c in verdict["checks"] if c["check"].startswith("endpoints.")]
    assert endpoints and all(
        c["outcome"] == "inconclusive" and c["summary"] == "interrupted before it finished" for c in endpoints
    ), endpoints


def test_interrupted_while_the_embedded_default_starts_is_inconclusive_too(tmp_path: Path, private_tmp: Path) -> None:
    """SIGTERM while the stack was starting ended the gate with 130, no verdict and an empty report folder."""
    reports = tmp_path / "reports"
    proc = _gate(tmp_path, reports, private_tmp)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "starting the embedded default" in line, line
    deadline = time.monotonic() + 60
    while not any(p.name.startswith("harness-stack-") for p in private_tmp.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, "the stack never began to start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 4, err[-3000:]
    left = [p.name for p in private_tmp.iterdir() if p.name.startswith("harness-")]
    assert not left, f"temporary directories left behind: {left}"
    import jsonschema

    verdict = json.loads(next(reports.glob("gate-*/verdict.json")).read_text(encoding="utf-8"))
    jsonschema.validate(verdict, json.loads(VERDICT_SCHEMA.read_text(encoding="utf-8")))
    assert verdict["interrupted"] is True and verdict["verdict"] == "INCONCLUSIVE" and verdict["exit_code"] == 4
    assert {c["outcome"] for c in verdict["checks"]} == {"inconclusive"} and len(verdict["checks"]) == 26
    assert "verdict: INCONCLUSIVE (interrupted) (0 checks decided, 26 inconclusive" in out
