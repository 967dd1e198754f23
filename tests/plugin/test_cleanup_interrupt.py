"""A Ctrl-C (or the gate's SIGINT to a suite child) that lands during the run's end-of-run clean-up: the sweep of
synthetic records an interrupted test left. It raised a KeyboardInterrupt in the middle of the sweep: a
traceback, and the records it had not reached yet stayed on the target. The clean-up now finishes first and
the run ends as interrupted (exit 2), saying so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fault_proxy import Exchange, Fault, fault_proxy

from harness.embedded import EmbeddedStack, StackInfo
from harness.pytest_plugin.synthetic import SYNTHETIC_OWNER, character_body

from .conftest import ROOT, backends_targets

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def own_stack() -> Iterator[StackInfo]:
    with EmbeddedStack(characters=5, seed=11) as info:
        yield info


def test_an_interrupt_during_the_end_of_run_sweep_waits_for_it(own_stack: StackInfo, tmp_path: Path) -> None:
    # what an earlier, killed run left: the sweep at the end of this one is what removes it
    orphan = httpx.post(f"{own_stack.storage_url}/characters", json=character_body(), timeout=10).json()["id"]
    child: list[subprocess.Popen[str]] = []
    sent = threading.Event()

    def interrupt_the_sweep(exchange: Exchange) -> None:
        if exchange.method == "GET" and f"owner={SYNTHETIC_OWNER}" in exchange.query and not sent.is_set():
            sent.set()
            os.kill(child[0].pid, signal.SIGINT)  # the sweep's first listing is under way
            threading.Event().wait(0.5)

    with fault_proxy(own_stack.storage_url, Fault(before=interrupt_the_sweep)) as storage:
        config = backends_targets(tmp_path / "harness.toml", {"storage": storage})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
        env.pop("PYTEST_CURRENT_TEST", None)
        test = "suites/smoke/test_smoke.py::test_health"
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", test, "--alluredir", str(tmp_path / "a")]
        env["HARNESS_CONFIG"] = str(config)
        child.append(
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
        out, _ = child[0].communicate(timeout=120)
    assert sent.is_set(), out[-3000:]
    assert child[0].returncode == pytest.ExitCode.INTERRUPTED, out[-3000:]
    assert "harness: interrupted during the end-of-run clean-up, which was finished first" in out, out[-3000:]
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]
    assert httpx.get(f"{own_stack.storage_url}/characters/{orphan}", timeout=10).status_code == 404
