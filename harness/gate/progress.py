"""Live progress of a gate run on stderr: a line per phase and per check as it ends; on a terminal also a
spinner with the check under way and its elapsed time against its budget (rich), in CI plain lines only."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..redaction import redact
from ..verdict import CheckResult

MARKS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "skipped": "skipped"}


class Progress:
    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._status: Any = None
        self._console: Any = None
        self._started = 0.0
        if not quiet and self.stream.isatty():
            from rich.console import Console

            self._console = Console(file=self.stream)

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        self._stop()
        print(redact(text), file=self.stream, flush=True)

    def _stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def phase(self, phase: str, checks: list[str]) -> None:
        self._line(f"== {phase}: {len(checks)} checks")

    def start(self, check: str, budget_s: float) -> None:
        self._started = time.monotonic()
        if self._console is not None and not self.quiet:
            self._stop()
            self._status = self._console.status(f"{check} (budget {budget_s:.0f} s)")
            self._status.start()
        elif not self.quiet:
            print(f"   ... {check} (budget {budget_s:.0f} s)", file=self.stream, flush=True)

    def result(self, result: CheckResult) -> None:
        mark = MARKS[result.outcome.value] + (" (report only)" if result.report_only else "")
        took = f" [{result.elapsed_s:.1f} s]" if result.elapsed_s else ""
        self._line(f"   {result.check:<28} {mark:<14} {result.summary}{took}")

    def note(self, text: str) -> None:
        self._line(f"   {text}")

    def close(self) -> None:
        self._stop()
