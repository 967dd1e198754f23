"""``harness gate`` on named targets: production runs only read-only checks and writes nothing to either side
(counted before and after); ``--plan`` says what is skipped and why without sending anything; bad input is one
line and exit 2."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from gate_helpers import gate_env, run_gate

from harness.embedded import EmbeddedStack, StackInfo

TABLES = ("campaigns", "characters", "inventory_items", "character_spells")


def _targets_file(path: Path, info: StackInfo | None, environment: str) -> Path:
    legacy = info.legacy_url if info else "http://127.0.0.1:9"
    storage = info.storage_url if info else "http://127.0.0.1:9"
    service = info.storage_service_url if info else "http://127.0.0.1:9"
    dsn = (info.reader_dsn or info.source_dsn) if info else "postgresql://nobody@127.0.0.1:9/none"
    token = f'token = "{info.storage_read_token}"' if info else ""
    path.write_text(
        f"""
[targets.prod]
environment = "{environment}"
[targets.prod.backends.legacy]
url = "{legacy}"
[targets.prod.backends.storage]
url = "{storage}"
[targets.prod.source]
dsn = "{dsn}"
[targets.prod.destination]
url = "{service}"
{token}
""",
        encoding="utf-8",
    )
    return path


def _state(info: StackInfo) -> dict[str, Any]:
    """Every record on both sides, as counts and checksums: any write changes it."""
    state: dict[str, Any] = {}
    with psycopg.connect(info.source_dsn) as conn:
        for table in TABLES:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {table} t"
            ).fetchone()
            state[f"source {table}"] = row
    for collection in ("campaigns", "characters"):
        url = f"{info.storage_service_url}/databases/{info.storage_database}/collections/{collection}/summary"
        state[f"destination {collection}"] = (
            httpx.get(url, timeout=10, headers=info.read_headers()).raise_for_status().json()
        )
    return state


@pytest.fixture(scope="module")
def production_stack() -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=40, seed=11)
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.mark.slow
def test_production_writes_nothing_and_runs_only_read_only_checks(production_stack: StackInfo, tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", production_stack, "production")
    before = _state(production_stack)
    run = run_gate(tmp_path, "--target", "prod", env=gate_env(HARNESS_CONFIG=str(config)))
    after = _state(production_stack)
    assert after == before, "the gate wrote to a production target"
    ran = {c["check"] for c in run.verdict["checks"] if c["outcome"] != "skipped"}
    assert ran <= {
        "preflight.reachable",
        "preflight.storage_health",
        "preflight.character_db",
        "preflight.metrics",
        "preflight.security",
        "snapshot.baseline",
        "migration.verify",
        "data.compare",
        "data.check_refs",
        "smoke.smoke",
        "performance.check_latency",
    }, run.stderr[-3000:]
    assert {"preflight.reachable", "data.compare", "smoke.smoke", "performance.check_latency"} <= ran
    reasons = {c["check"]: c["summary"] for c in run.verdict["checks"] if c["outcome"] == "skipped"}
    assert "--allow-writes" in reasons["endpoints.api"]
    assert "--allow-load" in reasons["performance.load_storage"]
    assert "never rehearsed" in reasons["rollback.restore"]
    assert run.check("data.compare")["outcome"] == "pass"
    assert run.verdict["verdict"] != "GO" or run.check("performance.check_latency")["outcome"] == "pass"
    assert run.returncode == run.verdict["exit_code"]


@pytest.mark.slow
def test_a_missing_database_and_missing_metrics_fail_the_preflight(production_stack: StackInfo, tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", production_stack, "staging")
    text = config.read_text(encoding="utf-8")
    # the legacy backend's URL names a service that exports none of the guide's metrics (the Storage Service)
    text = text.replace(f'url = "{production_stack.legacy_url}"', f'url = "{production_stack.storage_service_url}"')
    # a token that may read every database, so the missing one answers 404 rather than 403
    text = text.replace(production_stack.storage_read_token, production_stack.storage_operator_token)
    config.write_text(
        text.replace("[targets.prod.destination]", '[targets.prod.destination]\ndatabase = "no_such_db"'),
        encoding="utf-8",
    )
    run = run_gate(tmp_path, "--target", "prod", "--only", "preflight", env=gate_env(HARNESS_CONFIG=str(config)))
    assert run.returncode == 1, run.stderr[-3000:]
    assert run.check("preflight.character_db")["outcome"] == "fail"
    assert "no_such_db does not exist" in run.check("preflight.character_db")["summary"]
    metrics = run.check("preflight.metrics")
    assert metrics["outcome"] == "fail" and "on legacy" in metrics["summary"], metrics


def test_plan_lists_what_is_skipped_and_why_without_sending_anything(tmp_path: Path) -> None:
    # the target's URLs point at a closed port: a plan that sent anything would fail or hang
    config = _targets_file(tmp_path / "harness.toml", None, "production")
    run = run_gate(tmp_path, "--target", "prod", "--plan", env=gate_env(HARNESS_CONFIG=str(config)))
    assert run.returncode == 0, run.stderr
    lines = {
        line.split()[0]: line
        for line in run.stdout.splitlines()
        if line.startswith(("endpoints", "rollback", "performance", "smoke", "data"))
    }
    assert "production: this check writes" in lines["endpoints.api"] and "--allow-writes" in lines["endpoints.api"]
    assert "--allow-load" in lines["performance.load_legacy"]
    assert "never rehearsed" in lines["rollback.cleanup"]
    assert " yes " in lines["smoke.smoke"] and " yes " in lines["data.compare"]
    assert not (tmp_path / "reports").exists()


def test_plan_of_the_embedded_default_runs_every_check(tmp_path: Path) -> None:
    run = run_gate(tmp_path, "--plan")
    assert run.returncode == 0, run.stderr
    assert "26 of 26 checks run" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "endpoint"], "--only endpoint: not a phase or check; did you mean"),
        (["--skip", "data.comapre"], "--skip data.comapre: not a phase or check; did you mean"),
        (["--target", "nosuch"], "unknown target 'nosuch'"),
        (["--characters", "0"], "--characters must be at least 1"),
        (["--export", "/nonexistent/export.jsonl"], "no such file"),
        (["--plan", "--fault", "nosuch"], "unknown fault 'nosuch'"),
        (["--plan", "--fault", "latency=abc"], "fault 'latency' needs a number, got 'abc'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    run = run_gate(tmp_path, *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_fault_on_a_named_target_is_refused(tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", None, "staging")
    run = run_gate(tmp_path, "--target", "prod", "--fault", "latency=1", env=gate_env(HARNESS_CONFIG=str(config)))
    assert run.returncode == 2 and "embedded default only" in run.stderr


def test_characters_on_a_named_target_is_refused(tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", None, "staging")
    run = run_gate(
        tmp_path, "--target", "prod", "--characters", "5", "--plan", env=gate_env(HARNESS_CONFIG=str(config))
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert (
        len(run.stderr.strip().splitlines()) == 1 and "--characters applies to the embedded default only" in run.stderr
    )


def test_an_unreachable_target_is_inconclusive_quickly(tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", None, "staging")
    run = run_gate(tmp_path, "--target", "prod", env=gate_env(HARNESS_CONFIG=str(config)), timeout=120)
    assert run.returncode == 4, run.stderr[-2000:]
    assert run.verdict["verdict"] == "INCONCLUSIVE"
    assert "unreachable" in run.check("preflight.reachable")["summary"]


def test_a_gate_never_writes_into_the_report_folder_of_another_run(tmp_path: Path) -> None:
    """Two gates started in the same second (a CI matrix in one workspace) shared one folder: the second's
    verdict.json and summary.md replaced the first's. Here every folder this run could stamp is taken already."""
    config = _targets_file(tmp_path / "harness.toml", None, "staging")
    reports = tmp_path / "reports"
    now = time.time()
    taken = [reports / f"gate-prod-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now + s))}" for s in range(-1, 120)]
    for folder in taken:
        folder.mkdir(parents=True)
        (folder / "verdict.json").write_text("another run's", encoding="utf-8")
    run = run_gate(tmp_path, "--target", "prod", env=gate_env(HARNESS_CONFIG=str(config)), timeout=120)
    assert run.returncode == 4, run.stderr[-2000:]
    assert [f for f in taken if (f / "verdict.json").read_text(encoding="utf-8") != "another run's"] == []
    assert [f for f in taken if (f / "summary.md").exists()] == []
    mine = [p for p in reports.glob("gate-prod-*") if p not in taken]
    assert len(mine) == 1 and mine[0].name.endswith("-2"), mine
    assert json.loads((mine[0] / "verdict.json").read_text(encoding="utf-8"))["verdict"] == "INCONCLUSIVE"
    assert f"report: {mine[0] / 'summary.md'}" in run.stdout


def test_a_target_that_is_not_the_service_is_inconclusive_and_not_probed(tmp_path: Path) -> None:
    """Every URL at a plain web server that answers 404: the parts are not reached, so their checks are not
    run (they were, and their 404s made it NO-GO) and nothing but the health probes is sent there."""
    import http.server
    import threading

    requests: list[str] = []

    class NotTheService(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            requests.append(f"{self.command} {self.path}")
            self.send_error(404)

        do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotTheService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        config = _targets_file(tmp_path / "harness.toml", None, "staging")
        config.write_text(config.read_text().replace("http://127.0.0.1:9", url))
        run = run_gate(tmp_path, "--target", "prod", env=gate_env(HARNESS_CONFIG=str(config)), timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 4, run.stderr[-2000:]
    assert run.verdict["verdict"] == "INCONCLUSIVE"
    for check in ("preflight.storage_health", "preflight.character_db", "preflight.security", "preflight.metrics"):
        assert run.check(check)["outcome"] == "skipped", run.check(check)
        assert "did not answer (preflight.reachable)" in run.check(check)["summary"]
    assert requests and all(r.startswith("GET ") and r.endswith("/health") for r in requests), requests
    assert "(0 checks decided, 1 inconclusive, " in run.stdout + run.stderr  # an inconclusive check decided nothing


@pytest.mark.slow
def test_production_load_with_allow_load_runs_and_only_reads(production_stack: StackInfo, tmp_path: Path) -> None:
    config = _targets_file(tmp_path / "harness.toml", production_stack, "production")
    before = _state(production_stack)
    args = ("--target", "prod", "--allow-load", "--only", "performance.load_storage")
    run = run_gate(tmp_path, *args, env=gate_env(HARNESS_CONFIG=str(config)))
    assert _state(production_stack) == before, "a production load without --allow-writes wrote"
    load = run.check("performance.load_storage")
    assert load["outcome"] == "pass", (load, run.stderr[-2000:])
    assert load["evidence"]["run"]["requests"] > 0
