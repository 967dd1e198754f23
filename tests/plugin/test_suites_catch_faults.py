"""Each suite fails when the reference runs with the fault that suite exists to catch, and passes without it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.embedded import EmbeddedStack

from .conftest import backends_targets, run_pytest

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, faults: list[str]) -> Path:
    path = tmp_path / "harness.toml"
    quoted = ", ".join(f'"{f}"' for f in faults)
    path.write_text(f"[local]\ncharacters = 40\nseed = 5\nfaults = [{quoted}]\n")
    return path


@pytest.mark.parametrize(
    ("suite", "fault", "failing"),
    [
        ("suites/smoke", "error_rate=0.02", "test_error_rate_within_alert_threshold"),
        ("suites/api", "legacy:missing_field=name", "test_create_and_read[legacy]"),
        (
            "suites/integration/test_cache_coherence.py",
            "storage:stale_cache",
            "test_read_after_write_is_fresh[storage]",
        ),
        # both backends answer GET /characters/{id} with the same 418: equal answers, but no data read (it passed)
        ("suites/staging", "undocumented_status=418", "test_sampled_reads_agree"),
    ],
)
def test_suite_fails_on_its_fault(tmp_path: Path, suite: str, fault: str, failing: str) -> None:
    result = run_pytest(suite, "-q", "--alluredir", str(tmp_path / "allure"), config=_config(tmp_path, [fault]))
    assert result.returncode == 1, result.stdout[-3000:]
    assert f"FAILED {suite.split('::')[0]}" in result.stdout
    assert failing in result.stdout, result.stdout[-3000:]
    if fault.startswith(("legacy:", "storage:")):  # the other backend is unaffected
        other = "storage" if fault.startswith("legacy:") else "legacy"
        assert f"{failing.split('[')[0]}[{other}]" not in result.stdout.split("short test summary")[-1]


def test_suites_pass_on_a_clean_reference(tmp_path: Path) -> None:
    result = run_pytest(
        "suites/smoke",
        "suites/integration/test_cache_coherence.py",
        "suites/staging",
        "-q",
        "--alluredir",
        str(tmp_path / "allure"),
        config=_config(tmp_path, []),
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_staging_reads_of_a_target_that_lists_no_character_compare_nothing(tmp_path: Path) -> None:
    """No character listed: "sampled reads agree" compared no read and passed; it is skipped, saying why."""
    with EmbeddedStack(characters=0, seed=1) as info:
        config = backends_targets(tmp_path / "harness.toml", {"legacy": info.legacy_url, "storage": info.storage_url})
        result = run_pytest("suites/staging", "-q", "-rs", "--alluredir", str(tmp_path / "allure"), config=config)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 skipped" in result.stdout and "lists no character" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize(("prefix", "passes"), [("", True), ("myco_", False)])
def test_staging_metrics_are_found_by_their_exact_names(tmp_path: Path, prefix: str, passes: bool) -> None:
    """A name found anywhere in /metrics passed: namespaced metrics (``myco_character_service_errors_total``) are
    not the ones the guide's alert rules read, which would never fire on them."""
    exposition = (
        f"# HELP {prefix}character_service_requests_total Requests\n"
        f"# TYPE {prefix}character_service_requests_total counter\n"
        f'{prefix}character_service_requests_total{{method="GET",route="/characters",status="200"}} 5.0\n'
        f"# HELP {prefix}character_service_errors_total Errors\n"
        f"# TYPE {prefix}character_service_errors_total counter\n"
        f"# TYPE {prefix}character_service_request_duration_seconds histogram\n"
        f'{prefix}character_service_request_duration_seconds_bucket{{method="GET",route="/characters",le="+Inf"}} 5.0\n'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            metrics = self.path == "/metrics"
            body = exposition if metrics else b'{"status": "ok", "items": [], "next_cursor": null}'
            self.send_response(200)
            self.send_header("Content-Type", "text/plain" if metrics else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = backends_targets(tmp_path / "harness.toml", {"legacy": url})
        result = run_pytest("suites/staging/test_staging.py::test_metrics_exported", "-q",
                            "--alluredir", str(tmp_path / "allure"), config=config)  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is passes, result.stdout[-3000:]
    assert ("1 passed" if passes else "1 failed") in result.stdout, result.stdout[-3000:]
