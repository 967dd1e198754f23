"""``harness gate`` on a deployment its authors never saw (``tests/alt_impl``: other metric names, a path
prefix, UUIDv7 ids, no data sections in the targets file). What the deployment names otherwise is declared in the
targets file, as a user declares it; left undeclared, the gate says what to declare instead of passing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alt_impl.launcher import AltDeployment, alt_deployment, targets_file
from gate_helpers import gate_env, run_gate

from harness.gate.plan import RUNBOOK

pytestmark = pytest.mark.slow

# the deployment's alert rules: the guide's two rules over its own metric names
ALT_RULES = """
groups:
  - name: alt
    rules:
      - alert: HighErrorRate
        expr: rate(charsvc_http_server_errors_total[5m]) > 0.01
        for: 5m
      - alert: HighLatency
        expr: rate(charsvc_http_request_seconds_sum[5m]) / rate(charsvc_http_request_seconds_count[5m]) > 0.5
        for: 5m
"""


@pytest.fixture(scope="module")
def alt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AltDeployment]:
    with alt_deployment(tmp_path_factory.mktemp("alt")) as deployment:
        yield deployment


def _declared(alt: AltDeployment, directory: Path, *, rules: bool, requests_metric: bool) -> dict[str, str]:
    """A targets file for ``alt`` declaring its rules and its counter of all requests, or not."""
    lines = ["", "[targets.alt.thresholds]"] if rules or requests_metric else []
    if rules:
        (directory / "alt-rules.yaml").write_text(ALT_RULES, encoding="utf-8")
        lines.append(f'rules = "{directory / "alt-rules.yaml"}"')
    if requests_metric:
        lines.append('requests_metric = "charsvc_http_requests_total"')
    config = targets_file(directory / "harness.toml", alt.urls, extra="\n".join(lines) + "\n")
    return gate_env(HARNESS_CONFIG=str(config))


def test_declared_names_let_the_gate_decide_go(alt: AltDeployment, tmp_path: Path) -> None:
    env = _declared(alt, tmp_path, rules=True, requests_metric=True)
    only = ("preflight", "data", "performance.load_storage", "performance.check_latency", "smoke")
    run = run_gate(tmp_path, *(a for check in only for a in ("--only", check)), env=env)
    assert run.returncode == 0, run.stdout[-3000:]
    assert run.verdict["verdict"] == "GO"
    assert run.check("preflight.metrics")["outcome"] == "pass"
    assert "charsvc_http_requests_total" in run.check("preflight.metrics")["figure"]
    assert run.check("performance.check_latency")["outcome"] == "pass", run.check("performance.check_latency")
    assert run.check("smoke.smoke")["outcome"] == "pass"
    # no data sections: the data checks say why they did not run, the access probes too
    assert "names no source and no destination" in run.check("data.compare")["summary"]
    assert "names no source and no destination" in run.check("preflight.security")["summary"]
    # every check is reported, skipped or not, in the runbook's order
    assert [c["check"] for c in run.verdict["checks"]] == [c.check for c in RUNBOOK]


def test_metrics_named_otherwise_fail_the_preflight_naming_what_to_declare(alt: AltDeployment, tmp_path: Path) -> None:
    run = run_gate(tmp_path, "--only", "preflight", env=_declared(alt, tmp_path, rules=False, requests_metric=False))
    assert run.returncode == 1, run.stdout[-3000:]
    metrics = run.check("preflight.metrics")
    assert metrics["outcome"] == "fail"
    assert "character_service_errors_total on storage" in metrics["summary"]
    assert "[targets.alt.thresholds] rules" in metrics["summary"]


def test_an_undeclared_requests_counter_fails_the_preflight(alt: AltDeployment, tmp_path: Path) -> None:
    """Without ``requests_metric`` the error rule's counter of all requests is guessed from the error counter
    (``charsvc_http_server_requests_total``), which this deployment does not export: no-errors could not be
    told from no-traffic, so the preflight names the missing counter."""
    run = run_gate(tmp_path, "--only", "preflight", env=_declared(alt, tmp_path, rules=True, requests_metric=False))
    assert run.returncode == 1, run.stdout[-3000:]
    metrics = run.check("preflight.metrics")
    assert metrics["outcome"] == "fail"
    assert "charsvc_http_server_requests_total on legacy" in metrics["summary"]
