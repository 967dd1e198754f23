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

pytestmark = pytest.mark.slow


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """The gate's and the stack's temporary directories go here, so the test sees exactly what the run left."""
    with private_tmpdir() as path:
        yield path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_mid_run_leaves_nothing_and_writes_an_inconclusive_verdict(
    tmp_path: Path, private_tmp: Path, sig: int
) -> None:
    import jsonschema

    reports = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "gate", "--characters", "40", "--reports", str(reports)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=gate_env(TMPDIR=str(private_tmp)),
    )
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
