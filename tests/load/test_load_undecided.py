"""Load runs that did not decide are never a pass: a rule still breaching (pending) when the run ended, because
the latency only rose after a warm-up, and a rule file none of whose rules the harness can evaluate. Real locust
against the reference, the warm-up fault made by a loopback proxy in front of it."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import Exchange, Fault, fault_proxy

from harness.embedded import StackInfo
from harness.load.runner import run_locust
from harness.load.verdict import EXIT_INVALID


def _result(verdict: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in verdict["thresholds"] if t["name"] == name)


@pytest.mark.slow
def test_latency_that_rises_after_a_warm_up_and_is_pending_at_the_end_is_not_a_pass(
    stack: StackInfo, tmp_path: Path
) -> None:
    """Fast for 8 s, then every API request 0.7 s late: each series' 4 s window mean crosses 0.5 s within a few
    seconds, so HighLatency is pending, not yet for its 10 s, when the 14 s run ends (as long as window + for). It
    was a PASS with "pending at the end of the run" in its detail."""
    first: list[float] = []
    lock = threading.Lock()

    def after_warm_up(exchange: Exchange) -> None:
        if exchange.path.startswith(("/metrics", "/health")):
            return
        with lock:
            first.append(time.monotonic()) if not first else None
            late = time.monotonic() - first[0] >= 8.0
        if late:
            time.sleep(0.7)

    with fault_proxy(stack.storage_url, Fault(before=after_warm_up)) as url:
        run = run_locust(
            url, verdict_prefix=tmp_path / "verdict", run_time="14s", users=5,
            extra=["--rule-window", "4s", "--rule-for", "10s"],
        )  # fmt: skip
    verdict = run.verdict
    assert verdict is not None, run.tail()
    latency = _result(verdict, "HighLatency")
    assert latency["outcome"] == "not proven", latency
    assert latency["detail"].startswith("breaching (pending) when the run ended on "), latency
    assert run.exit_code == EXIT_INVALID and verdict["status"] == "invalid", run.tail()
    assert any("HighLatency breaching (pending) when the run ended" in r for r in verdict["invalid_reasons"])


@pytest.mark.slow
def test_a_rule_file_with_no_rule_it_can_evaluate_is_invalid_not_a_pass(stack: StackInfo, tmp_path: Path) -> None:
    """Every rule of the file has a shape the harness cannot judge (a quantile, a label it does not know): the run
    tested no alert rule. It was a PASS, "0 thresholds hold"."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups:\n  - name: other\n    rules:\n"
        "      - alert: SlowP95\n"
        "        expr: histogram_quantile(0.95, rate(character_service_request_duration_seconds_bucket[5m])) > 0.5\n"
        "        for: 1s\n"
        "      - alert: ServerErrors\n"
        '        expr: rate(character_service_errors_total{status="500"}[5m]) > 0.01\n'
        "        for: 1s\n"
    )
    run = run_locust(
        stack.storage_url, verdict_prefix=tmp_path / "verdict", run_time="4s", users=2, extra=["--rules", str(rules)]
    )
    verdict = run.verdict
    assert verdict is not None, run.tail()
    assert verdict["thresholds"] == [] and len(verdict["not_evaluated"]) == 2
    assert run.exit_code == EXIT_INVALID and verdict["status"] == "invalid", run.tail()
    reason = f"no alert rule of {rules} could be evaluated (not evaluated: SlowP95, ServerErrors)"
    assert verdict["invalid_reasons"] == [reason]


@pytest.mark.slow
def test_a_run_against_a_backend_that_refuses_every_connection_is_invalid_not_a_pass(tmp_path: Path) -> None:
    """Every request refused (nothing listens on the port): each failure takes a millisecond, so HighLatency
    held at 0.001 s and a rule file of that rule alone passed the run ("1 thresholds hold") on no answer at all."""
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "groups:\n  - name: latency\n    rules:\n"
        "      - alert: HighLatency\n"
        "        expr: avg_over_time(character_service_request_duration_seconds[5m]) > 0.5\n"
        "        for: 5m\n"
    )
    with socket.socket() as closed:  # a loopback port nothing listens on (bound, never listening: refused)
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        run = run_locust(url, verdict_prefix=tmp_path / "verdict", run_time="6s", users=2,
                         extra=["--rules", str(rules), "--rule-window", "2s", "--rule-for", "1s"])  # fmt: skip
    verdict = run.verdict
    assert verdict is not None, run.tail()
    assert run.exit_code == EXIT_INVALID and verdict["status"] == "invalid", run.tail()
    assert verdict["run"]["requests"] > 0 and verdict["run"]["failures"] == verdict["run"]["requests"]
    assert any(r.startswith("no request succeeded") for r in verdict["invalid_reasons"]), verdict["invalid_reasons"]


BREAKING_LOCUSTFILE = """
import sys
sys.path.insert(0, {root!r})
from locustfiles.character_service import CharacterServiceUser  # noqa: F401  (the harness's locustfile)
from harness.load import locust_plugin

ticks = []
evaluate = locust_plugin._tick


def _tick(environment):
    ticks.append(1)
    if len(ticks) == 4:  # the evaluation greenlet's third second
        raise RuntimeError("evaluation broke")
    evaluate(environment)


locust_plugin._tick = _tick
"""


@pytest.mark.slow
def test_a_run_whose_evaluation_stopped_midway_is_invalid(stack: StackInfo, tmp_path: Path) -> None:
    """The once-a-second evaluation (a greenlet) died 3 s into a 10 s run: the rules were judged on those 3 s and
    the run passed. It is invalid now, and says why. (The break is the test's own: a locustfile that wraps the
    harness's evaluation step.)"""
    locustfile = tmp_path / "breaking_locustfile.py"
    locustfile.write_text(BREAKING_LOCUSTFILE.format(root=str(Path(__file__).resolve().parents[2])))
    run = run_locust(
        stack.storage_url, verdict_prefix=tmp_path / "verdict", run_time="10s", users=2, locustfile=locustfile,
        extra=["--rule-window", "3s", "--rule-for", "1s"],
    )  # fmt: skip
    verdict = run.verdict
    assert verdict is not None, run.tail()
    assert run.exit_code == EXIT_INVALID and verdict["status"] == "invalid", run.tail()
    assert "the rules' evaluation stopped during the run (RuntimeError: evaluation broke)" in verdict["invalid_reasons"]
