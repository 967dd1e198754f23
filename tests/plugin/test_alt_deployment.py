"""The suites against a deployment the harness's authors never saw: ``tests/alt_impl``, a second implementation
of the contract that differs from the reference in every choice the contract leaves open, reached through a
targets file (a named ``staging`` target). The suites pass on it; they still fail on the reference's faults
(``test_suites_catch_faults.py``, ``tests/fuzz``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alt_impl.launcher import AltDeployment, alt_deployment

from .conftest import run_pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def alt(tmp_path: Path) -> Iterator[AltDeployment]:
    with alt_deployment(tmp_path) as deployment:
        yield deployment


def _summary(stdout: str) -> str:
    return stdout.strip().splitlines()[-1]


def test_api_and_smoke_pass_on_an_independent_implementation(alt: AltDeployment, tmp_path: Path) -> None:
    result = run_pytest(
        "suites/api", "suites/smoke", "-q", "-n", "2", "--alluredir", str(tmp_path / "allure"), config=alt.config
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "harness: target alt (staging)" in result.stdout or "failed" not in _summary(result.stdout)
    passed = int(_summary(result.stdout).split(" passed")[0].split()[-1])
    assert passed >= 90, _summary(result.stdout)  # every api and smoke test, on both backends


def test_undeclared_metric_names_fail_smoke(alt: AltDeployment, tmp_path: Path) -> None:
    """Without its declared metric names the deployment fails the metrics check (the check is real), and only
    that one: the legacy backend is not asked for cache metrics either way."""
    alt.config.write_text(alt.config.read_text().split("[targets.alt.suites]")[0])
    result = run_pytest("suites/smoke", "-q", "--alluredir", str(tmp_path / "allure"), config=alt.config)
    assert result.returncode == 1
    failed = sorted(line.split(" - ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED"))
    assert failed == [
        "FAILED suites/smoke/test_smoke.py::test_guide_metrics_exported[legacy]",
        "FAILED suites/smoke/test_smoke.py::test_guide_metrics_exported[storage]",
    ], result.stdout[-3000:]
    assert "character_service_requests_total" in result.stdout


def test_error_answers_teach_noise(alt: AltDeployment) -> None:
    """A ``request_id`` that differs on every problem body is learned as noise from two equivalent error answers;
    without learning, the first error answer diverges on it."""
    from harness.differential import Divergence, learn_noise, run_differential
    from harness.differential.strategies import SAMPLE_CAMPAIGN, SAMPLE_CHARACTER
    from harness.fuzz.profiles import select_profile

    profile = select_profile(env={})
    clients = {b: httpx.Client(base_url=u, timeout=10) for b, u in alt.urls.items()}
    try:
        samples = [("campaign", "/campaigns", SAMPLE_CAMPAIGN), ("character", "/characters", SAMPLE_CHARACTER)]
        noise = learn_noise(clients["legacy"], samples)
        assert noise.fields == {"created_at", "updated_at", "request_id"}
        assert any("get unknown character 4xx" in where for where in noise.learned["request_id"])
        with pytest.raises(Divergence) as caught:
            run_differential(clients, profile, learn=False, declared_noise=("created_at", "updated_at"))
        assert caught.value.fields == ["body.request_id"], str(caught.value)
        report = run_differential(clients, profile)
        assert "no divergence" in report.summary()
    finally:
        for client in clients.values():
            client.close()


def test_contract_only_checks_still_catch_the_references_faults(tmp_path: Path) -> None:
    """The reference as a named target gets the contract-only defaults (no declared wording or forms); the api
    suite still fails where the reference breaks the contract: a dropped field, validation answered 400."""
    from harness.embedded import EmbeddedStack

    with EmbeddedStack(characters=20, seed=3, faults=["legacy:missing_field=name", "storage:error_status=400"]) as info:
        config = tmp_path / "harness.toml"
        config.write_text(
            '[targets.ref]\nenvironment = "staging"\n'
            f'[targets.ref.backends.legacy]\nurl = "{info.legacy_url}"\n'
            f'[targets.ref.backends.storage]\nurl = "{info.storage_url}"\n'
        )
        selection = "create_and_read or invalid_character_is_422"
        result = run_pytest(
            "suites/api",
            "-q",
            "--target",
            "ref",
            "-k",
            selection,
            "--alluredir",
            str(tmp_path / "allure"),
            config=config,
        )
    failed = {line.split("::")[1].split(" - ")[0] for line in result.stdout.splitlines() if line.startswith("FAILED")}
    assert "test_create_and_read[legacy]" in failed, result.stdout[-3000:]
    assert {f for f in failed if f.startswith("test_invalid_character_is_422[storage-")} and not {
        f for f in failed if f.startswith(("test_invalid_character_is_422[legacy-", "test_create_and_read[storage]"))
    }, sorted(failed)
