"""Live progress of a gate run on stderr: a line per phase and per check as it ends. While a check runs, its
elapsed time against its budget and, where the check can tell, a live figure (a load run's requests/s from
locust's stats history): on a terminal as a spinner line redrawn every second (rich), elsewhere (CI) as a plain
line every ``PLAIN_EVERY_S`` seconds."""

from __future__ import annotations

import csv
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ..redaction import redact
from ..verdict import CheckResult

MARKS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "skipped"}
PLAIN_EVERY_S = 15.0

Detail = Callable[[], str]


def locust_rate(prefix: Path) -> Detail:
    """Requests so far and the current requests/s of a locust run writing ``--csv prefix``."""
    history = prefix.with_name(prefix.name + "_stats_history.csv")

    def detail() -> str:
        try:
            with open(history, encoding="utf-8", newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if r.get("Name") == "Aggregated"]
        except OSError:
            return "starting"
        if not rows:
            return "starting"
        last = rows[-1]
        try:
            return (
                f"{int(float(last['Total Request Count']))} requests, {float(last['Requests/s']):.0f} req/s, "
                f"{float(last['Failures/s']):.1f} failures/s, {last['User Count']} users"
            )
        except (KeyError, ValueError):
            return ""

    return detail


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._status: Any = None
        self._console: Any = None
        self._ticker: threading.Thread | None = None
        self._halt = threading.Event()
        self._lock = threading.Lock()
        if not quiet and self.stream.isatty():
            from rich.console import Console

            self._console = Console(file=self.stream)

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        self._stop()
        with self._lock:
            print(redact(text), file=self.stream, flush=True)

    def _stop(self) -> None:
        self._halt.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join(timeout=2)
        self._ticker = None
        if self._status is not None:
            self._status.stop()
            self._status = None

    def phase(self, phase: str, checks: list[str]) -> None:
        if checks:
            self._line(f"== {phase}: {len(checks)} checks")

    def start(self, check: str, budget_s: float, detail: Detail | None = None) -> None:
        """``check`` is under way: show it until its result (or the next start) arrives."""
        if self.quiet:
            return
        self._stop()
        started = time.monotonic()

        def text() -> str:
            extra = ""
            if detail is not None:
                try:
                    extra = detail()
                except Exception:  # a live figure is decoration: never let it break the run
                    extra = ""
            return f"{check}: {time.monotonic() - started:.0f} s of {budget_s:.0f} s" + (f", {extra}" if extra else "")

        if self._console is not None:
            self._status = self._console.status(redact(text()))
            self._status.start()
        else:
            with self._lock:
                print(f"   ... {redact(text())}", file=self.stream, flush=True)
        self._halt.clear()
        self._ticker = threading.Thread(target=self._tick, args=(text,), name="gate-progress", daemon=True)
        self._ticker.start()

    def _tick(self, text: Callable[[], str]) -> None:
        last_plain = time.monotonic()
        while not self._halt.wait(1.0):  # wakes at once when the check ends, so it never delays the run
            if self._status is not None:
                self._status.update(redact(text()))
            elif time.monotonic() - last_plain >= PLAIN_EVERY_S:
                last_plain = time.monotonic()
                with self._lock:
                    print(f"   ... {redact(text())}", file=self.stream, flush=True)

    def result(self, result: CheckResult) -> None:
        mark = MARKS[result.outcome.value] + (" (report only)" if result.report_only else "")
        took = f" [{result.elapsed_s:.1f} s]" if result.elapsed_s else ""
        self._line(f"   {result.check:<28} {mark:<14} {result.summary}{took}")

    def note(self, text: str) -> None:
        self._line(f"   {text}")

    def close(self) -> None:
        self._stop()
