"""Child processes of a gate run (pytest suites, locust), bounded in time and stopped cleanly: each runs in a
process group of its own, so an interrupt or an overrun reaches everything it started; SIGINT first (pytest and
locust then run their clean-up: synthetic records swept, their own records deleted), SIGKILL after a grace.

A child starts with SIGINT at its default disposition whatever the gate's own is: a gate started as a background
job of a non-interactive shell (a CI script's ``harness gate &``) inherits SIGINT ignored, and an ignored signal
stays ignored across exec, so its children would ignore the gate's SIGINT and run on until the SIGKILL. (No
terminal's Ctrl-C reaches a child: it runs in a session of its own.)"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

GRACE_S = 30.0

_RUNNING: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    timed_out: bool
    elapsed_s: float
    log: Path


def run_child(
    cmd: Sequence[str], *, log: Path, timeout_s: float, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> ChildResult:
    """Run ``cmd`` with its output in ``log``; past ``timeout_s`` it is stopped and ``timed_out`` is set."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(cmd),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env or os.environ),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_default_sigint if signal.getsignal(signal.SIGINT) == signal.SIG_IGN else None,
        )
        with _LOCK:
            _RUNNING.add(proc)
        timed_out = False
        try:
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                stop(proc)
        except BaseException:  # an interrupt of the gate: the child cleans up before the gate goes on
            stop(proc)
            raise
        finally:
            with _LOCK:
                _RUNNING.discard(proc)
    return ChildResult(proc.returncode, timed_out, time.monotonic() - started, log)


def _default_sigint() -> None:
    """In the forked child before exec (only when the gate ignores SIGINT): the one call made there."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop(proc: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGINT to the child's process group, SIGKILL if it is still there after ``grace_s``."""
    for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    # whatever the child's group left (a locust worker, a reference server of a test) goes too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def stop_all() -> None:
    with _LOCK:
        running = list(_RUNNING)
    for proc in running:
        stop(proc)


def tail(log: Path, lines: int = 12) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])
