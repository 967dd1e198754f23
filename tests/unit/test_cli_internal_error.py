"""An exception that is no HarnessError is a bug in the harness: one line naming it and exit status 70, never 1
(NO-GO, different) nor 2 (bad input); ``HARNESS_DEBUG=1`` prints its traceback as well. A reader of stdout that
went away (``| head``) is none."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness import cli
from harness.load import cli as load_cli


def _boom(*args: object) -> None:
    raise RuntimeError("boom\nsecond line, password=hunter2")


def test_an_unexpected_exception_is_one_line_and_exit_70(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HARNESS_DEBUG", raising=False)
    monkeypatch.setattr(load_cli, "_check_load_options", _boom)
    assert cli.main(["load", "run"]) == cli.EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith("harness: internal error: RuntimeError: boom second line") and "HARNESS_DEBUG=1" in err
    assert "hunter2" not in err


def test_harness_debug_prints_the_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_DEBUG", "1")
    monkeypatch.setattr(load_cli, "_check_load_options", _boom)
    assert cli.main(["load", "run"]) == 70
    err = capsys.readouterr().err
    assert "Traceback" in err and "_boom" in err and err.splitlines()[-1].startswith("harness: internal error:")


@pytest.mark.parametrize("args", [["data", "mapping"], ["up", "--list-faults"]])
def test_a_reader_that_stops_reading_is_no_internal_error(args: list[str]) -> None:
    """``harness data mapping | head -1``: the reader closes the pipe before the output is written. That is no
    bug of the harness (it answered 70 and asked for a bug report): exit 141 as a shell reports it, stderr empty."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "harness", *args],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")},
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (cli.EXIT_BROKEN_PIPE, "") == (141, "")
