"""Progress of a long data check on stderr, so the report on stdout stays as it is.

On a terminal: a bar per collection (records settled of the total, keys/s, time left, differences so far), drawn
by ``rich``. Elsewhere (CI, a pipe): one line per collection every ``interval`` seconds and when it ends.
``--quiet``: nothing. The compare calls ``update(collection, covered, total, differences, done)``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

ProgressFn = Callable[[str, int, int, int, bool], None]
INTERVAL_S = 5.0


class LineProgress:
    """One line per collection every ``interval`` seconds (and one when it is done): for logs without a TTY."""

    def __init__(self, stream: TextIO, interval: float = INTERVAL_S) -> None:
        self.stream, self.interval = stream, interval
        self.started: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def __call__(self, collection: str, covered: int, total: int, differences: int, done: bool) -> None:
        now = time.monotonic()
        started = self.started.setdefault(collection, now)
        if not done and now - self.last.get(collection, started) < self.interval:
            return
        self.last[collection] = now
        rate = covered / max(now - started, 1e-6)
        share = f" ({covered / total:.0%})" if total else ""
        state = "done" if done else "in progress"
        print(
            f"data compare: {collection} {state}: {covered}/{total} records{share}, {rate:,.0f} keys/s,"
            f" {differences} differences",
            file=self.stream,
            flush=True,
        )


@contextmanager
def stderr_progress(quiet: bool = False) -> Iterator[ProgressFn | None]:
    """The progress callback for a command: bars on a terminal, lines otherwise, ``None`` when quiet."""
    if quiet:
        yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield LineProgress(sys.stderr)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>9} keys/s"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[differences]} differences"),
    )
    with Progress(*columns, console=console) as bars:
        tasks: dict[str, Any] = {}
        started: dict[str, float] = {}

        def update(collection: str, covered: int, total: int, differences: int, done: bool) -> None:
            if collection not in tasks:
                tasks[collection] = bars.add_task(collection, total=total or None, rate="-", differences=0)
                started[collection] = time.monotonic()
            rate = covered / max(time.monotonic() - started[collection], 1e-6)
            bars.update(
                tasks[collection], completed=covered, total=total or None, rate=f"{rate:,.0f}", differences=differences
            )

        yield update
