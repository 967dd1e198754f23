"""The gate stops a child (a pytest suite, a data script) with SIGINT to its process group: the child must act on
it even when the gate itself was started ignoring SIGINT, as a non-interactive shell starts a background job (a
CI script's ``harness gate &``): an ignored signal stays ignored across exec, and the child ran on, deaf to the
gate's SIGINT, until the SIGKILL after the grace period."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.gate import children

CHILD = (
    "import signal, sys, time\n"
    "print('SIGINT', 'ignored' if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else 'handled', flush=True)\n"
    "try:\n"
    "    time.sleep(120)\n"
    "except KeyboardInterrupt:\n"
    "    print('stopped by KeyboardInterrupt', flush=True)\n"
    "    sys.exit(130)\n"
)


@pytest.fixture
def gate_ignoring_sigint() -> Iterator[None]:
    """This process as a background job of a non-interactive shell starts: SIGINT ignored (main thread only)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_child_stops_on_the_gates_sigint_even_when_the_gate_ignores_sigint(
    tmp_path: Path, gate_ignoring_sigint: None
) -> None:
    log = tmp_path / "child.log"
    results: list[children.ChildResult] = []
    # from a thread, as the gate's checks may start children beside its progress line
    runner = threading.Thread(target=lambda: results.append(children.run_child([sys.executable, "-c", CHILD],
                                                                               log=log, timeout_s=60)))  # fmt: skip
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while "SIGINT" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert log.read_text().startswith("SIGINT handled"), log.read_text()
    finally:
        children.stop_all()  # what the gate does when it is interrupted: SIGINT to the group, SIGKILL after a grace
        runner.join(timeout=children.GRACE_S + 20)
    assert results, "run_child did not return"
    # ended by the SIGINT (its own clean-up ran), not by the SIGKILL after the grace period
    assert "stopped by KeyboardInterrupt" in log.read_text(), log.read_text()
    assert results[0].returncode == 130
    assert results[0].elapsed_s < children.GRACE_S
