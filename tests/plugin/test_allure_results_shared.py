"""Two pytest runs of one checkout at once (a smoke run after a deploy beside a longer one) write into the
default ``reports/allure-results``. Each run emptied it at its start, so a second run deleted what the first had
written so far. A run leaves it as it is while another live run writes into it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

WAITING = """
import pathlib, time
def test_first():
    pass
def test_waits():
    go = pathlib.Path("go")
    for _ in range(600):  # bounded: at most 60 s
        if go.exists():
            return
        time.sleep(0.1)
    raise AssertionError("never told to go on")
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST", "PYTEST_ADDOPTS"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def _results(results: Path) -> set[str]:
    return {json.loads(p.read_text())["name"] for p in results.glob("*-result.json")}


def test_a_run_beside_another_keeps_what_the_other_wrote(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_waiting.py").write_text(WAITING)
    (tmp_path / "test_quick.py").write_text("def test_quick():\n    pass\n")
    results = tmp_path / "reports" / "allure-results"
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    first = subprocess.Popen([*cmd, "test_waiting.py"], cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while "test_first" not in (_results(results) if results.is_dir() else set()):
            assert time.monotonic() < deadline and first.poll() is None, "the first run wrote no result"
            time.sleep(0.1)
        second = subprocess.run([*cmd, "test_quick.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                                timeout=120, check=False)  # fmt: skip
        assert second.returncode == 0, second.stdout[-2000:]
    finally:
        (tmp_path / "go").touch()
        out, _ = first.communicate(timeout=120)
    assert first.returncode == 0, out[-2000:]
    assert _results(results) == {"test_first", "test_waits", "test_quick"}
    assert not list(results.glob(".in-use-by-*")), "a finished run left its mark"
    # alone again, a run starts the directory afresh
    alone = subprocess.run([*cmd, "test_quick.py"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                           timeout=120, check=False)  # fmt: skip
    assert alone.returncode == 0, alone.stdout[-2000:]
    assert _results(results) == {"test_quick"}
