"""How the gate reads a suite's pytest child: a suite passes only when pytest finished and its outcomes account for
its exit status. Tests that passed before the child stopped (``pytest.exit``, an interrupt, an internal error) decided
nothing about the tests that never ran, and a test whose xdist worker crashed under it is a failure, not a pass.

The real-run tests run the gate's own ``run_suites`` on small suites of their own against a loopback stub target;
the mapping tests feed ``judge`` the outcomes document ``pytest_outcomes`` writes."""

from __future__ import annotations

import http.server
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.config.run import resolve_run
from harness.gate import suites
from harness.gate.context import QUICK, GateContext, GateOptions
from harness.verdict import CheckResult, Outcome


class _StubBackend(http.server.BaseHTTPRequestHandler):
    """Enough of a backend for the plugin's reachability probe and its end-of-run sweep (an empty listing)."""

    def do_GET(self) -> None:
        body = b'{"status": "ok", "items": [], "next_cursor": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubBackend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _run_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, source: str, *, addopts: str = "", conftest: str = ""
) -> CheckResult:
    """``run_suites`` of the smoke phase on one suite folder ``suites/fake`` holding ``source`` as its tests."""
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.fake]\nenvironment = "dev"\n[targets.fake.backends.legacy]\nurl = "{url}"\n'
        f'[targets.fake.backends.storage]\nurl = "{url}"\n',
        encoding="utf-8",
    )
    # the rootdir above suites/, as in a checkout; its addopts are the suites' own (the gate drops PYTEST_ADDOPTS)
    (tmp_path / "pytest.ini").write_text(f"[pytest]\naddopts = {addopts}\n", encoding="utf-8")
    folder = tmp_path / "suites" / "fake"
    folder.mkdir(parents=True)
    (folder / "test_fake.py").write_text(textwrap.dedent(source), encoding="utf-8")
    (folder / "conftest.py").write_text(textwrap.dedent(conftest), encoding="utf-8")
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    monkeypatch.delenv("HARNESS_TARGET", raising=False)
    monkeypatch.setenv("PYTEST_ADDOPTS", "-k test_first")  # a user's environment: the gate must not narrow by it
    monkeypatch.setattr(suites, "suite_path", lambda suite: folder)
    target = resolve_run(target="fake").named
    assert target is not None
    (tmp_path / "out").mkdir()
    (tmp_path / "work").mkdir()
    ctx = GateContext(
        options=GateOptions(),
        profile=QUICK,
        target=target,
        embedded=False,
        config_path=config,
        child_target="fake",
        outdir=tmp_path / "out",
        workdir=tmp_path / "work",
    )
    (result,) = suites.run_suites(ctx, "smoke", [("smoke", "fake")], 120)
    return result


@pytest.mark.slow
def test_a_suite_whose_tests_pass_is_a_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_url: str) -> None:
    result = _run_suite(tmp_path, monkeypatch, stub_url, "def test_one(): pass\ndef test_two(): pass\n")
    assert result.outcome is Outcome.PASS, result.summary
    assert result.summary == "2 tests passed"


@pytest.mark.slow
def test_a_child_stopped_by_pytest_exit_after_a_pass_cannot_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_url: str
) -> None:
    # the plugin itself stops a run this way (``pytest.exit(..., returncode=3)``) when the stack cannot start;
    # the failing test after it never ran
    source = """
        import pytest
        def test_first(): pass
        def test_stops(): pytest.exit("the stack could not start", returncode=3)
        def test_never_ran(): assert False
    """
    result = _run_suite(tmp_path, monkeypatch, stub_url, source)
    assert result.outcome is Outcome.INCONCLUSIVE, result.summary
    assert "exit 3" in result.summary


@pytest.mark.slow
def test_an_interrupted_child_after_a_pass_cannot_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_url: str
) -> None:
    source = """
        def test_first(): pass
        def test_interrupted(): raise KeyboardInterrupt
        def test_never_ran(): assert False
    """
    result = _run_suite(tmp_path, monkeypatch, stub_url, source)
    assert result.outcome is Outcome.INCONCLUSIVE, result.summary
    assert "exit 2" in result.summary


@pytest.mark.slow
def test_a_child_that_ends_otherwise_than_its_outcomes_say_cannot_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_url: str
) -> None:
    # the outcomes are written at sessionfinish; what comes after (a plugin's unconfigure, a kill) can still end
    # the process otherwise: its own exit status is the run's
    conftest = """
        import os
        def pytest_unconfigure(config):
            os._exit(3)
    """
    result = _run_suite(tmp_path, monkeypatch, stub_url, "def test_one(): pass\n", conftest=conftest)
    assert result.outcome is Outcome.INCONCLUSIVE, result.summary
    assert "exit 3" in result.summary


@pytest.mark.slow
def test_a_test_whose_xdist_worker_crashed_fails_the_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stub_url: str
) -> None:
    # the suites' own addopts "-n 1" run them under xdist, whose report of a crashed worker's test has
    # when == "???" (pytest counts it failed: exit 1)
    source = """
        import os
        def test_first(): pass
        def test_crashes(): os._exit(1)
        def test_after(): pass
    """
    result = _run_suite(tmp_path, monkeypatch, stub_url, source, addopts="-n 1")
    assert result.outcome is Outcome.FAIL, result.summary
    assert [f.what for f in result.findings] == ["suites/fake/test_fake.py::test_crashes"]


def _outcomes(exitstatus: int, *tests: tuple[str, str]) -> dict[str, Any]:
    return {
        "exitstatus": exitstatus,
        "collected": len(tests),
        "tests": [{"nodeid": n, "when": "call", "outcome": o, "message": "", "duration_s": 0.0} for n, o in tests],
    }


def test_passes_with_exit_0_pass() -> None:
    doc = _outcomes(0, ("suites/smoke/test_s.py::test_a", "passed"), ("suites/smoke/test_s.py::test_b", "skipped"))
    assert suites.judge("smoke.smoke", "smoke", doc, "log", 1.0).outcome is Outcome.PASS


@pytest.mark.parametrize("exitstatus", [2, 3, 4])
def test_passes_before_pytest_stopped_decide_nothing(exitstatus: int) -> None:
    doc = _outcomes(exitstatus, ("suites/smoke/test_s.py::test_a", "passed"))
    result = suites.judge("smoke.smoke", "smoke", doc, "log", 1.0)
    assert result.outcome is Outcome.INCONCLUSIVE
    assert f"exit {exitstatus}" in result.summary


def test_a_failed_exit_with_no_failure_recorded_cannot_decide() -> None:
    doc = _outcomes(1, ("suites/smoke/test_s.py::test_a", "passed"))
    result = suites.judge("smoke.smoke", "smoke", doc, "log", 1.0)
    assert result.outcome is Outcome.INCONCLUSIVE
    assert "no failed test recorded" in result.summary


def test_a_failure_in_another_suite_of_the_child_explains_its_exit() -> None:
    doc = _outcomes(1, ("suites/api/test_a.py::test_a", "passed"), ("suites/contract/test_c.py::test_c", "failed"))
    assert suites.judge("endpoints.api", "api", doc, "log", 1.0).outcome is Outcome.PASS
    assert suites.judge("endpoints.contract", "contract", doc, "log", 1.0).outcome is Outcome.FAIL


def test_a_failure_recorded_before_pytest_stopped_still_fails() -> None:
    doc = _outcomes(2, ("suites/smoke/test_s.py::test_a", "failed"))
    assert suites.judge("smoke.smoke", "smoke", doc, "log", 1.0).outcome is Outcome.FAIL


def test_nothing_collected_is_no_test_ran() -> None:
    result = suites.judge("smoke.smoke", "smoke", _outcomes(5), "log", 1.0)
    assert result.outcome is Outcome.INCONCLUSIVE
    assert result.summary.startswith("no test ran")
