"""`harness load run` against a named target whose [thresholds] section adds a p95 limit, and the rollout load
shape chosen by option."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.cli import main
from harness.embedded import StackInfo
from harness.load.runner import run_locust
from harness.load.verdict import EXIT_BREACH

# how the target is chosen: the locust child must get the one the command resolved, whichever way it was named
CHOSEN_BY = {
    "option": ("", {}, ["--target", "t"]),
    "HARNESS_TARGET": ("", {"HARNESS_TARGET": "t"}, []),
    "default_target": ('default_target = "t"\n', {}, []),
}


@pytest.mark.parametrize("chosen_by", CHOSEN_BY)
def test_load_run_uses_the_targets_thresholds_section(
    chosen_by: str,
    stack: StackInfo,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    top, env, option = CHOSEN_BY[chosen_by]
    config = tmp_path / "harness.toml"
    config.write_text(
        f'{top}[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n'
        '[targets.t.thresholds]\nwindow = "3s"\nfor = "1s"\np95_ms = 0.5\n'  # no real service answers in 0.5 ms
    )
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    monkeypatch.delenv("HARNESS_TARGET", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = main(["load", "run", *option, "--users", "3", "--run-time", "6s"])
    assert code == EXIT_BREACH
    [verdict_file] = (tmp_path / "reports").glob("load-t-storage-*.json")
    verdict = json.loads(verdict_file.read_text())
    p95 = next(t for t in verdict["thresholds"] if t["name"] == "p95_ms")
    assert (p95["source"], p95["outcome"], p95["condition"]) == ("targets file", "breach", "<= 0.5 ms")
    assert verdict["target"] == "t" and verdict["backend"] == "storage"
    assert "window 5m -> 3s (targets.t.thresholds.window)" in json.dumps(verdict["thresholds"])
    assert list((tmp_path / "reports").glob("load-t-storage-*.html"))  # locust's own report next to the verdict
    assert "verdict: BREACH (exit 3)" in capsys.readouterr().out


def test_step_shape_adds_users_in_steps(stack: StackInfo, tmp_path: Path) -> None:
    run = run_locust(
        stack.legacy_url, verdict_prefix=tmp_path / "v", run_time="8s", users=4, csv=tmp_path / "s",
        extra=["--load-shape", "step", "--shape-steps", "2", "--csv-full-history", "--rule-window", "2s",
               "--rule-for", "1s"],
    )  # fmt: skip
    assert run.verdict is not None, run.tail()
    with open(tmp_path / "s_stats_history.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    users = [int(r["User Count"]) for r in rows]
    assert 2 in users and 4 in users  # 2 users for the first half, 4 for the second
    assert users.index(4) > users.index(2)


def test_the_child_gets_the_resolved_target_by_name() -> None:
    """load run and load compare hand the locust child the target they resolved (here chosen by
    HARNESS_TARGET, not typed), never the raw option; the built-in local target by name too, so the child
    cannot pick another one from the environment (its URL reaches it as the host)."""
    import argparse

    from harness.config.loader import parse_config
    from harness.config.run import resolve_run
    from harness.load.cli import _locust_extra

    args = argparse.Namespace(target=None, rule_window="2s", rule_for=None, locust_args=["--tags", "read"])
    config = parse_config('[targets.t]\nenvironment = "dev"\n', "harness.toml", {})
    by_env = resolve_run(config=config, env={"HARNESS_TARGET": "t"})
    assert _locust_extra(args, by_env) == ["--target", "t", "--rule-window", "2s", "--tags", "read"]
    typed = argparse.Namespace(**{**vars(args), "target": "local"})
    local = resolve_run(target=typed.target, config=config, env={"HARNESS_TARGET": "t"})  # the option wins
    assert _locust_extra(typed, local) == ["--target", "local", "--rule-window", "2s", "--tags", "read"]


def _api_requests(url: str) -> float:
    """The requests the service has counted (its own /metrics, the scrape and health routes left out)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "character_service_requests_total" and s.labels.get("route") not in ("/metrics", "/health")
    )


@pytest.mark.slow  # locust children
@pytest.mark.parametrize(
    ("processes", "after", "message"),
    [
        ([], ["--p95-ms", "-1"], "harness: error: --p95-ms: must be a finite number, not negative, got -1.0"),
        # the master waited for ever for its two workers, which refused the option too and quit
        (["--processes", "2"], ["--p95-ms", "-1"], "harness: error: --p95-ms: must be a finite number"),
        ([], ["--load-shape", "bogus"], "harness: error: locust: argument --load-shape: invalid choice: 'bogus'"),
        # locust's own -u after the harness's: the load shapes made 0 users one
        ([], ["-u", "0"], "harness: error: locust: -u/--users must be at least 1, got 0"),
    ],
    ids=["plugin option", "plugin option with --processes 2", "locust choice", "no users"],
)
def test_a_bad_option_after_the_dashes_is_one_line_exit_2_and_sends_nothing(
    processes: list[str], after: list[str], message: str, stack: StackInfo, tmp_path: Path
) -> None:
    """Options after ``--`` go to the locust child, which refuses them: the command printed the tail of the
    child's log (locust's stats tables, not the reason) after the load had started; with --processes it hung
    until the run's time limit. Now: where the load would have gone, then the reason, and nothing sent."""
    (tmp_path / "harness.toml").write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    before = _api_requests(stack.storage_url)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "harness", "load", "run", "--target", "t", "--run-time", "5s", *processes, "--",
         *after],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    assert time.monotonic() - started < 30
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("harness load: 10 user(s) for 5s -> "), result.stderr[-2000:]
    assert lines[1].startswith(message) and "Traceback" not in result.stderr, lines
    assert result.stdout == ""
    assert _api_requests(stack.storage_url) == before


@pytest.mark.slow  # locust children
def test_sigterm_to_load_run_stops_every_locust_process_and_the_load(stack: StackInfo, tmp_path: Path) -> None:
    """SIGTERM (or Ctrl-C) to ``harness load run --processes 2``: the master was killed alone, and its two forked
    workers, orphaned, went on sending load to the target. Locust runs in a process group of its own, which is
    shut down (SIGTERM, SIGKILL after a grace): nothing of the run is left, no request arrives afterwards."""
    import psutil  # type: ignore[import-untyped]

    (tmp_path / "harness.toml").write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    before = _api_requests(stack.storage_url)
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "load", "run", "--target", "t", "--run-time", "40s", "--users", "4",
         "--processes", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (_api_requests(stack.storage_url) - before < 50 or len(started) < 3):
            time.sleep(0.5)
            started = psutil.Process(harness.pid).children(recursive=True)
        assert len(started) >= 3, started  # the master and its two workers, sending load
        harness.send_signal(signal.SIGTERM)
        harness.wait(timeout=40)
        _, alive = psutil.wait_procs(started, timeout=5)
        assert alive == [], alive
        settled = _api_requests(stack.storage_url)
        time.sleep(2)
        assert _api_requests(stack.storage_url) == settled  # no load after the command ended
    finally:
        for proc in [*started, psutil.Process(harness.pid)] if harness.poll() is None else started:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
