"""Progress on stderr: bars on a terminal, a line per collection elsewhere (every few seconds and when done)."""

from __future__ import annotations

import io

import pytest

from harness.data.progress import LineProgress, stderr_progress


def test_lines_without_a_terminal_are_rate_limited_and_end_with_done() -> None:
    out = io.StringIO()
    progress = LineProgress(out, interval=3600)
    progress("characters", 10, 100, 0, False)  # the first call only starts the clock
    progress("characters", 50, 100, 1, False)  # within the interval: nothing
    progress("characters", 100, 100, 2, True)
    [line] = out.getvalue().splitlines()
    assert line.startswith("data compare: characters done: 100/100 records (100%),") and "2 differences" in line


def test_bars_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # rich treats stderr as a terminal
    with stderr_progress() as progress:
        assert progress is not None and not isinstance(progress, LineProgress)
        progress("characters", 40, 100, 1, False)
        progress("characters", 100, 100, 3, True)
    err = capsys.readouterr().err
    assert "characters" in err and "100/100" in err and "3 differences" in err


def test_quiet_is_silent() -> None:
    with stderr_progress(quiet=True) as progress:
        assert progress is None
