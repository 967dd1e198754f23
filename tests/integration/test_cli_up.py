"""``harness up`` as a user runs it: JSON once healthy, clean stop on SIGTERM and Ctrl-C, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

HARNESS = [sys.executable, "-m", "harness"]


def _start(*args: str) -> tuple[subprocess.Popen[str], dict[str, object]]:
    proc = subprocess.Popen(
        [*HARNESS, "up", "--json", "--characters", "30", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        _, stderr = proc.communicate(timeout=10)
        raise AssertionError(f"harness up printed nothing; stderr: {stderr}")
    return proc, json.loads(line)


def _children_of(pid: int) -> set[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return {int(p) for p in out.stdout.split()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes; /proc tells
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_up_prints_json_and_stops_cleanly(how: signal.Signals) -> None:
    proc, info = _start()
    children = _children_of(proc.pid)
    try:
        for key in ("legacy_url", "storage_url", "storage_service_url", "source_dsn"):
            assert info[key], key
        assert httpx.get(f"{info['legacy_url']}/health").json()["backend"] == "legacy"
        assert httpx.get(f"{info['storage_url']}/health").json()["backend"] == "storage"
        assert httpx.get(f"{info['storage_service_url']}/health").status_code == 200
        workdir = Path(str(info["postgres"]).split(" in ", 1)[1]).parent
        assert workdir.is_dir()
        assert len(children) >= 3, "the three services run as children of harness up"
    finally:
        proc.send_signal(how)
        _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 0, stderr
    assert not workdir.exists(), "the temporary directory was left behind"
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if _alive(pid)] == [], "a service process was left behind"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{info['legacy_url']}/health", timeout=1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "latncy=1"], "did you mean 'latency'"),
        (["--pg-dsn", "postgresql://nobody:hunter2@127.0.0.1:1/x"], "cannot connect to PostgreSQL"),
        (["--characters", "-1"], "--characters must be zero or more"),
    ],
)
def test_bad_input_is_one_clear_line(args: list[str], message: str) -> None:
    result = subprocess.run([*HARNESS, "up", *args], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
