"""``harness check-latency`` against the reference: two scrapes of /metrics a window apart, and a real Prometheus
server (Debian's ``prometheus``) started on loopback scraping the reference. A healthy service passes, the latency
fault breaches HighLatency, an idle one cannot be judged."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from harness.cli import main
from harness.embedded import StackInfo
from harness.load.verdict import EXIT_BREACH, EXIT_INVALID, EXIT_PASS

from .promtool import require


@contextmanager
def traffic(url: str, seconds: float, threads: int = 4) -> Iterator[None]:
    """Background GETs against ``url`` for at most ``seconds`` (bounded in time and count)."""
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(100_000):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                client.get("/characters", params={"limit": 5})

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    try:
        yield
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=15)


def _config(tmp_path: Path, url: str, prometheus: str | None = None) -> Path:
    text = f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.legacy]\nurl = "{url}"\n'
    if prometheus:
        text += f'[targets.t.prometheus]\nurl = "{prometheus}"\n'
    path = tmp_path / "harness.toml"
    path.write_text(text)
    return path


def _check(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config: Path, *args: str) -> tuple[int, dict[str, object]]:
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    out = tmp_path / "report.json"
    code = main(["check-latency", "--target", "t", "--json", str(out), *args])
    return code, json.loads(out.read_text())


def _outcomes(report: dict[str, object]) -> dict[str, str]:
    return {c["name"]: c["outcome"] for c in report["checks"]}  # type: ignore[attr-defined]


def test_metrics_scrapes_pass_on_a_healthy_service(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with traffic(stack.legacy_url, 8):
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, stack.legacy_url), "--source", "metrics",
                              "--window", "4s")  # fmt: skip
    assert code == EXIT_PASS, report
    assert _outcomes(report) == {"HighErrorRate": "pass", "HighLatency": "pass"}
    printed = capsys.readouterr().out
    assert "verdict: PASS (exit 0)" in printed and "cannot be applied" in printed


def test_metrics_scrapes_breach_on_the_latency_fault(
    slow_stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with traffic(slow_stack.legacy_url, 8):
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, slow_stack.legacy_url), "--source", "metrics",
                              "--window", "4s")  # fmt: skip
    assert code == EXIT_BREACH
    assert _outcomes(report) == {"HighErrorRate": "pass", "HighLatency": "breach"}
    latency = next(c for c in report["checks"] if c["name"] == "HighLatency")  # type: ignore[attr-defined]
    assert latency["value"] >= 0.6 and latency["series"] == "GET /characters"


def test_an_idle_service_cannot_be_judged(stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, report = _check(monkeypatch, tmp_path, _config(tmp_path, stack.legacy_url), "--source", "metrics",
                          "--window", "1s")  # fmt: skip
    assert code == EXIT_INVALID
    assert set(_outcomes(report).values()) == {"no data"}


def test_unreachable_service_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HARNESS_CONFIG", str(_config(tmp_path, "http://127.0.0.1:9")))
    assert main(["check-latency", "--target", "t", "--source", "metrics", "--window", "1s"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("harness: error: http://127.0.0.1:9/metrics did not answer") and "\n" not in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Start a real Prometheus on loopback scraping one service every second; yields a starter returning its URL."""
    binary = require("prometheus")
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "prometheus.log").open("wb")

    def start(service_url: str) -> str:
        port = _free_port()
        scrape = urlparse(service_url).netloc
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            f"scrape_configs:\n  - job_name: character-service\n    static_configs:\n      - targets: ['{scrape}']\n"
        )
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"Prometheus did not start: {(tmp_path / 'prometheus.log').read_text()[-500:]}")

    try:
        yield start
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        log.close()


def test_prometheus_source_passes_healthy_and_reports_the_guides_dead_rule(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    prom = prometheus(stack.legacy_url)
    with traffic(stack.legacy_url, 12):
        time.sleep(11)
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, stack.legacy_url, prom), "--source",
                              "prometheus", "--window", "5s", "--for", "4s")  # fmt: skip
    assert code == EXIT_PASS, report
    assert _outcomes(report) == {"HighErrorRate": "pass", "HighLatency": "pass"}
    latency = next(c for c in report["checks"] if c["name"] == "HighLatency")  # type: ignore[attr-defined]
    assert any("selects no series on this Prometheus" in n for n in latency["notes"])


def test_prometheus_source_breaches_on_the_latency_fault(
    slow_stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    prom = prometheus(slow_stack.legacy_url)
    with traffic(slow_stack.legacy_url, 12):
        time.sleep(11)
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, slow_stack.legacy_url, prom), "--source",
                              "prometheus", "--window", "5s", "--for", "4s")  # fmt: skip
    assert code == EXIT_BREACH, report
    assert _outcomes(report)["HighLatency"] == "breach"
    latency = next(c for c in report["checks"] if c["name"] == "HighLatency")  # type: ignore[attr-defined]
    assert latency["value"] >= 0.6


def test_prometheus_source_cannot_judge_a_rule_breaching_for_less_than_its_for(
    slow_stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    """A service slow for as long as Prometheus has known it (a backend deployed a few minutes ago), shorter than
    the rule's `for`: HighLatency is pending, so production pages if it goes on. It was a PASS (exit 0; the gate
    on production, where check-latency is the only performance check, said GO)."""
    prom = prometheus(slow_stack.legacy_url)
    with traffic(slow_stack.legacy_url, 12):
        time.sleep(11)
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, slow_stack.legacy_url, prom), "--source",
                              "prometheus", "--window", "5s", "--for", "60s")  # fmt: skip
    assert _outcomes(report)["HighLatency"] == "pending", report
    assert code == EXIT_INVALID and report["status"] == "invalid", report


def test_the_gates_check_latency_beside_the_storage_run_judges_that_runs_traffic_on_prometheus(
    stack: StackInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    """The gate's check-latency runs beside the storage load run; with a Prometheus it queried at once, so it
    judged the time before the run (here: a storage backend idle until then, so no series: INCONCLUSIVE on a
    healthy service, and a gate that could never say GO). It waits for the load to fill each rule's window and
    `for` first, as the /metrics source does."""
    from harness.config.loader import load_config
    from harness.gate import performance
    from harness.gate.context import QUICK, GateContext, GateOptions
    from harness.verdict import Outcome

    prom = prometheus(stack.storage_url)
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{stack.storage_url}"\n'
        f'[targets.t.prometheus]\nurl = "{prom}"\n'
    )
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    target = load_config(config).targets["t"]
    ctx = GateContext(GateOptions(), QUICK, target, False, config, "t", tmp_path / "out", tmp_path / "work")
    probe = performance.LatencyProbe(ctx)
    load = performance.load_run(ctx, "storage", during=probe)
    assert load.outcome is Outcome.PASS, load
    assert probe.result is not None
    assert probe.result.outcome is Outcome.PASS, probe.result
    assert {c["name"]: c["outcome"] for c in probe.result.evidence["checks"]} == {
        "HighErrorRate": "pass",
        "HighLatency": "pass",
    }


class _RestartingService:
    """A service's /metrics (prometheus_client, as the reference exports them) on a loopback port, which the test
    restarts: its counters start again from zero, with new ``_created`` timestamps. ``errors=False``: a service
    that does not export the error counter at all."""

    def __init__(self, *, errors: bool = True) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.errors = errors
        self.start()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                from prometheus_client import generate_latest

                body = generate_latest(service.registry)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        time.sleep(0.01)  # a restart is later than the last start: the series' _created differ
        self.registry = CollectorRegistry()
        self.requests = Counter("character_service_requests", "", ["method", "route", "status"], registry=self.registry)
        self.error_counter = (
            Counter("character_service_errors", "", ["method", "route", "status"], registry=self.registry)
            if self.errors
            else None
        )
        self.duration = Histogram(
            "character_service_request_duration_seconds", "", ["method", "route"], registry=self.registry
        )

    def serve(self, requests: int, seconds_each: float) -> None:
        for _ in range(requests):
            self.requests.labels("GET", "/characters", "200").inc()
            self.duration.labels("GET", "/characters").observe(seconds_each)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_metrics_scrapes_across_a_restart_cannot_be_judged(tmp_path: Path) -> None:
    """Slow before a restart (100 requests of 0.9 s) and after it (150 of 0.67 s): the second scrape's counters are
    all higher than the first's, so the difference read as 50 requests of 10 s, a mean of 0.2 s: a PASS for a
    service slow all along. A series created anew (its ``_created``) or a counter gone down means the window's
    increase is unknown: cannot judge."""
    from harness.config.loader import parse_config
    from harness.load.latency import check_metrics
    from harness.load.thresholds import target_rules

    service = _RestartingService()
    try:
        service.serve(100, 0.9)
        text = f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{service.url}"\n'
        target = parse_config(text, "harness.toml", {}).targets["t"]

        def restart_during_the_window(_: float) -> None:
            service.start()
            service.serve(150, 100 / 150)

        report = check_metrics(target, target_rules(target.thresholds), ["storage"], sleep=restart_during_the_window)
    finally:
        service.stop()
    outcomes = {c.threshold.name: c.outcome for c in report.checks}
    assert outcomes == {"HighErrorRate": "no data", "HighLatency": "no data"}, report.lines()
    assert report.exit_code == EXIT_INVALID
    latency = next(c for c in report.checks if c.threshold.name == "HighLatency")
    assert any("reset between the two scrapes" in n and "created anew" in n for n in latency.notes), latency.notes


def _serve_fast(service: _RestartingService, _window_s: float) -> None:
    service.serve(50, 0.01)


def test_metrics_scrapes_of_a_service_without_the_error_counter_cannot_judge_the_error_rule(tmp_path: Path) -> None:
    """A service that exports no ``character_service_errors_total`` (renamed, or never registered) read as zero
    errors, so HighErrorRate passed on traffic it could not see. A counter that never counted still has its
    ``# TYPE`` line (the healthy case, which passes): only an undeclared one cannot be judged."""
    from harness.config.loader import parse_config
    from harness.load.latency import check_metrics
    from harness.load.thresholds import target_rules

    outcomes = {}
    for errors in (True, False):
        service = _RestartingService(errors=errors)
        try:
            text = f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{service.url}"\n'
            target = parse_config(text, "harness.toml", {}).targets["t"]
            report = check_metrics(
                target, target_rules(target.thresholds), ["storage"], sleep=partial(_serve_fast, service)
            )
        finally:
            service.stop()
        outcomes[errors] = ({c.threshold.name: c.outcome for c in report.checks}, report.exit_code)
        if not errors:
            rule = next(c for c in report.checks if c.threshold.name == "HighErrorRate")
            assert "storage's /metrics exports no character_service_errors_total" in rule.notes[-1], rule.notes
    assert outcomes[True] == ({"HighErrorRate": "pass", "HighLatency": "pass"}, EXIT_PASS)
    assert outcomes[False] == ({"HighErrorRate": "no data", "HighLatency": "pass"}, EXIT_INVALID)


@contextmanager
def _busy_and_scraped(service: _RestartingService, prometheus: Callable[[str], str]) -> Iterator[str]:
    """``service`` answering 20 fast requests every 0.5 s (at most 30 s), scraped by a real Prometheus for 9 s
    first; yields that Prometheus's URL, and stops the traffic and the service at the end."""
    stop = threading.Event()

    def serve() -> None:
        for _ in range(60):  # bounded: at most 30 s
            if stop.wait(0.5):
                return
            service.serve(20, 0.01)

    worker = threading.Thread(target=serve, daemon=True)
    worker.start()
    try:
        prom = prometheus(service.url)
        time.sleep(9)
        yield prom
    finally:
        stop.set()
        worker.join(timeout=5)
        service.stop()


def test_prometheus_source_without_the_error_counter_cannot_judge_the_error_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    """No target exports ``character_service_errors_total``: the error query's empty answer meant "no errors"
    whenever there was traffic, a pass. Prometheus's metadata API tells an error counter that never counted
    (declared, the healthy test above) from one that does not exist (cannot judge)."""
    service = _RestartingService(errors=False)
    with _busy_and_scraped(service, prometheus) as prom:
        code, report = _check(monkeypatch, tmp_path, _config(tmp_path, service.url, prom), "--source",
                              "prometheus", "--window", "5s", "--for", "4s")  # fmt: skip
    assert _outcomes(report) == {"HighErrorRate": "no data", "HighLatency": "pass"}, report
    assert code == EXIT_INVALID
    errors = next(c for c in report["checks"] if c["name"] == "HighErrorRate")  # type: ignore[attr-defined]
    assert "no scraped target exports character_service_errors_total" in errors["notes"][-1], errors


ROUTE_RULES = """groups:
  - name: per-route
    rules:
      - alert: CampaignErrors
        expr: rate(character_service_errors_total{route="/campaigns"}[5s]) > 0.01
        for: 4s
      - alert: CharacterErrors
        expr: rate(character_service_errors_total{route="/characters"}[5s]) > 0.01
        for: 4s
"""


def _route_rules_config(tmp_path: Path, url: str, prometheus: str | None = None) -> Path:
    rules = tmp_path / "route-rules.yaml"
    rules.write_text(ROUTE_RULES)
    config = _config(tmp_path, url, prometheus)
    config.write_text(config.read_text() + f'[targets.t.thresholds]\nrules = "{rules}"\n')
    return config


def test_metrics_scrapes_with_no_traffic_on_a_rules_route_cannot_judge_that_rule(tmp_path: Path) -> None:
    """A rule that reads one route (``{route="/campaigns"}``) while the window's traffic all went elsewhere: the
    route's series, there from earlier requests, stayed flat, so its error rate read as 0, a PASS on no traffic it
    could judge (the check asked for traffic on any route). The rule on the route that had traffic still passes."""
    from harness.config.loader import load_config
    from harness.load.latency import check_metrics
    from harness.load.thresholds import target_rules

    service = _RestartingService()
    try:
        for _ in range(20):  # earlier traffic: the /campaigns series exists in both scrapes
            service.requests.labels("GET", "/campaigns", "200").inc()
            service.duration.labels("GET", "/campaigns").observe(0.01)
        target = load_config(_route_rules_config(tmp_path, service.url)).targets["t"]
        report = check_metrics(target, target_rules(target.thresholds), ["legacy"], sleep=partial(_serve_fast, service))
    finally:
        service.stop()
    assert {c.threshold.name: c.outcome for c in report.checks} == {
        "CampaignErrors": "no data",
        "CharacterErrors": "pass",
    }, report.lines()
    assert report.exit_code == EXIT_INVALID
    campaigns = next(c for c in report.checks if c.threshold.name == "CampaignErrors")
    assert 'no requests on {route="/campaigns"} in the window' in campaigns.notes[-1], campaigns.notes


def test_prometheus_source_with_no_traffic_on_a_rules_route_cannot_judge_that_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    """No series of ``character_service_errors_total{route="/campaigns"}`` (no request went there): the empty answer
    was read as "no errors" because the check looked for traffic on every route, a PASS on none it could judge."""
    service = _RestartingService()
    with _busy_and_scraped(service, prometheus) as prom:
        code, report = _check(monkeypatch, tmp_path, _route_rules_config(tmp_path, service.url, prom), "--source",
                              "prometheus", "--window", "5s", "--for", "0s")  # fmt: skip
    assert _outcomes(report) == {"CampaignErrors": "no data", "CharacterErrors": "pass"}, report
    assert code == EXIT_INVALID


ERROR_RULE_ONLY = """groups:
  - name: errors
    rules:
      - alert: HighErrorRate
        expr: rate(character_service_errors_total[5m]) > 0.01
        for: 5m
"""


def test_prometheus_source_cannot_judge_the_error_rule_of_an_idle_service_whose_error_series_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prometheus: Callable[[str], str]
) -> None:
    """An error counter that counted once has a series for good: on a service idle in the window its rate is 0, so
    HighErrorRate passed (exit 0 with the error rule alone) on no traffic at all; the /metrics source already says
    it cannot judge an idle window."""
    service = _RestartingService()
    service.serve(20, 0.01)
    assert service.error_counter is not None
    service.error_counter.labels("GET", "/characters", "500").inc()
    rules = tmp_path / "error-rule.yaml"
    rules.write_text(ERROR_RULE_ONLY)
    config = _config(tmp_path, service.url)
    try:
        prom = prometheus(service.url)
        config.write_text(
            config.read_text() + f'[targets.t.prometheus]\nurl = "{prom}"\n[targets.t.thresholds]\nrules = "{rules}"\n'
        )
        time.sleep(9)  # idle: the 5 s window holds no request
        code, report = _check(monkeypatch, tmp_path, config, "--source", "prometheus", "--window", "5s", "--for", "3s")
    finally:
        service.stop()
    assert _outcomes(report) == {"HighErrorRate": "no data"}, report
    assert code == EXIT_INVALID
