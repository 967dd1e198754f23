"""The web UI's Thresholds tab: a real locust with its web UI, started against the slow reference; the test reads
the page, the tab's data in /stats/requests and the /harness/thresholds endpoint while the test runs, and the
verdict once it has stopped."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from harness.embedded import StackInfo
from harness.load.runner import DEFAULT_LOCUSTFILE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poll(url: str, until: Any, seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=5).json()
            if until(last):
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} never satisfied the condition; last answer: {last}")


def test_thresholds_tab_shows_rules_live_and_the_verdict(slow_stack: StackInfo, tmp_path: Path) -> None:
    port = _free_port()
    ui = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(DEFAULT_LOCUSTFILE), "--host", slow_stack.legacy_url,
        "--web-host", "127.0.0.1", "--web-port", str(port), "--autostart", "-u", "5", "-r", "5",
        "--run-time", "10s", "--autoquit", "8", "--rule-window", "3s", "--rule-for", "1s",
        "--verdict", str(tmp_path / "verdict"),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        live = _poll(f"{ui}/harness/thresholds", lambda d: any(r["status"] == "firing" for r in d["rows"]), 20)
        rows = {r["name"]: r for r in live["rows"]}
        assert rows["HighLatency"]["status"] == "firing" and float(rows["HighLatency"]["value"]) >= 0.6
        assert rows["HighLatency"]["condition"] == "> 0.5 s" and rows["HighLatency"]["window"] == "3s"
        assert rows["HighErrorRate"]["status"] == "ok"
        page = httpx.get(ui, timeout=5).text
        assert '"extended_tabs"' in page and "Thresholds" in page and '"extended_tables"' in page
        stats = httpx.get(f"{ui}/stats/requests", timeout=5).json()
        tab = next(s for s in stats["extended_stats"] if s["key"] == "thresholds")
        assert {r["name"] for r in tab["data"]} >= {"HighLatency", "HighErrorRate"}
        done = _poll(f"{ui}/harness/thresholds", lambda d: d["verdict"] is not None, 20)
        assert done["verdict"]["status"] == "breach"
        assert done["rows"][-1]["name"] == "VERDICT" and done["rows"][-1]["status"] == "breach"
        assert proc.wait(timeout=30) == 3  # the UI run's exit code carries the verdict too
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


def test_the_start_form_cannot_change_what_init_resolved(stack: StackInfo, tmp_path: Path) -> None:
    """Target, backend and the rules' timing are resolved when locust starts (the host, the evaluator). The start
    form offered them: a backend or window changed there was ignored (the load still went to the storage URL,
    judged with the old window) while the verdict named the backend typed in. The form offers only the load
    shape now, and the verdict names the backend the host really is."""
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n'
        f'[targets.t.backends.legacy]\nurl = "{stack.legacy_url}"\n'
    )
    port = _free_port()
    ui = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "locust", "-f", str(DEFAULT_LOCUSTFILE), "--target", "t", "--backend", "storage",
        "--web-host", "127.0.0.1", "--web-port", str(port), "--rule-window", "3s", "--rule-for", "1s",
        "--verdict", str(tmp_path / "verdict"),
    ]  # fmt: skip
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}, "HARNESS_CONFIG": str(config)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _poll(f"{ui}/harness/thresholds", lambda d: True, 20)
        page = httpx.get(ui, timeout=5).text
        form = json.loads(re.search(r'"extra_options": (\{.*?\}\}),', page).group(1))  # type: ignore[union-attr]
        assert set(form) == {"load_shape"}, form
        # what a stale form (or a script) would still send
        started = httpx.post(
            f"{ui}/swarm",
            data={"user_count": "2", "spawn_rate": "2", "host": stack.storage_url, "backend": "legacy",
                  "rule_window": "300s", "load_shape": "hold"},
            timeout=5,
        ).json()  # fmt: skip
        assert started["success"], started
        rows = _poll(f"{ui}/harness/thresholds", lambda d: d["rows"][0]["value"] != "-", 20)["rows"]
        assert {r["name"]: r["window"] for r in rows} == {"HighErrorRate": "3s", "HighLatency": "3s"}
        httpx.post(f"{ui}/stop", timeout=5)
        verdict = _poll(f"{ui}/harness/thresholds", lambda d: d["verdict"] is not None, 20)["verdict"]
        assert verdict["host"] == stack.storage_url and verdict["backend"] == "storage", verdict
    finally:
        proc.terminate()
        proc.wait(timeout=15)
