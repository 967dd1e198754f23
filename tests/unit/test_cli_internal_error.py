"""An exception that is no HarnessError is a bug in the harness: one line naming it and exit status 70, never 1
(NO-GO, different) nor 2 (bad input); ``HARNESS_DEBUG=1`` prints its traceback as well."""

from __future__ import annotations

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
