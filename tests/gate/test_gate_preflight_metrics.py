"""``preflight.metrics``: the metrics the alert rules read are exported by their exact names. A name found anywhere
in the text passed: a deployment whose metrics carry a namespace (``myco_character_service_errors_total``) passed,
though the rules read ``character_service_errors_total`` and would never fire on it. A loopback stub serves
/metrics; no stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixed_answer import FixedAnswer, fixed_answer_server
from gate_helpers import stub_context

from harness.gate import preflight
from harness.verdict import Outcome


def _exposition(prefix: str) -> str:
    return (
        f"# HELP {prefix}character_service_requests_total Requests\n"
        f"# TYPE {prefix}character_service_requests_total counter\n"
        f'{prefix}character_service_requests_total{{method="GET",route="/characters",status="200"}} 5.0\n'
        f"# HELP {prefix}character_service_errors_total Errors\n"
        f"# TYPE {prefix}character_service_errors_total counter\n"
        f"# HELP {prefix}character_service_request_duration_seconds Latency\n"
        f"# TYPE {prefix}character_service_request_duration_seconds histogram\n"
        f'{prefix}character_service_request_duration_seconds_sum{{method="GET",route="/characters"}} 0.1\n'
        f'{prefix}character_service_request_duration_seconds_count{{method="GET",route="/characters"}} 5.0\n'
    )


@pytest.fixture(scope="module")
def service() -> Iterator[FixedAnswer]:
    with fixed_answer_server("text/plain; version=0.0.4") as answer:
        yield answer


def _check(tmp_path: Path, service: FixedAnswer, body: str) -> Any:
    service.body = body
    backends = "".join(f'[targets.t.backends.{b}]\nurl = "{service.url}"\n' for b in ("legacy", "storage"))
    ctx = stub_context(tmp_path, backends)
    return preflight.metrics_exported(ctx)


def test_the_rules_metrics_exported_by_their_names_pass(tmp_path: Path, service: FixedAnswer) -> None:
    result = _check(tmp_path, service, _exposition(""))
    assert result.outcome is Outcome.PASS, result.summary


def test_namespaced_metrics_are_not_the_ones_the_rules_read(tmp_path: Path, service: FixedAnswer) -> None:
    result = _check(tmp_path, service, _exposition("myco_"))
    assert result.outcome is Outcome.FAIL, result.summary
    assert {f.what for f in result.findings} == {
        f"{metric} on {backend}"
        for metric in (
            "character_service_errors_total",
            "character_service_requests_total",
            "character_service_request_duration_seconds",
        )
        for backend in ("legacy", "storage")
    }


def test_a_name_only_in_a_help_text_is_not_exported(tmp_path: Path, service: FixedAnswer) -> None:
    body = _exposition("").replace(
        "# HELP character_service_errors_total Errors\n# TYPE character_service_errors_total counter\n",
        "# HELP app_errors_total Errors (was character_service_errors_total)\n# TYPE app_errors_total counter\n",
    )
    result = _check(tmp_path, service, body)
    assert result.outcome is Outcome.FAIL, result.summary
    assert {f.what for f in result.findings} == {"character_service_errors_total on legacy",
                                                 "character_service_errors_total on storage"}  # fmt: skip


def test_metrics_that_are_not_prometheus_text_fail(tmp_path: Path, service: FixedAnswer) -> None:
    result = _check(tmp_path, service, "<html>character_service_errors_total character_service_requests_total</html>")
    assert result.outcome is Outcome.FAIL, result.summary
    assert [f.detail for f in result.findings] == ["not Prometheus text format"] * 2
