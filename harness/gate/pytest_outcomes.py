"""A pytest plugin the gate loads into each suite run (``-p harness.gate.pytest_outcomes``): every test's
outcome, written as JSON to the file ``HARNESS_GATE_OUTCOMES`` names, so the gate reads results instead of
parsing pytest's output or guessing from its exit code. Under xdist only the controller writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ..redaction import redact

OUTCOMES_ENV = "HARNESS_GATE_OUTCOMES"
MAX_MESSAGE = 2000
_RECORDS: list[dict[str, Any]] = []  # one pytest session per process: the gate runs each suite in a child


def _message(report: pytest.TestReport) -> str:
    if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2])
    crash = getattr(report.longrepr, "reprcrash", None)
    text = str(getattr(crash, "message", None) or report.longreprtext or "")
    return redact(text)[:MAX_MESSAGE]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # the call of every test, and every setup or teardown that did not pass; and any other report that did not
    # pass: xdist reports a test whose worker crashed under it with ``when == "???"`` (pytest counts it failed)
    if report.when == "call" or report.outcome != "passed":
        outcome: str = report.outcome
        if report.when != "call" and report.outcome == "failed":
            outcome = "error"
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.outcome == "skipped" else "xpassed"
        _RECORDS.append(
            {
                "nodeid": report.nodeid,
                "when": report.when,
                "outcome": outcome,
                "message": _message(report) if outcome != "passed" else "",
                "duration_s": round(report.duration, 3),
            }
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return
    path = os.environ.get(OUTCOMES_ENV)
    if not path:
        return
    data = {
        "exitstatus": int(exitstatus),
        "collected": session.testscollected,
        "tests": _RECORDS,
    }
    Path(path).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
