"""The contract suite (``suites/contract``, run as a user runs it) catches each contract fault of the reference,
on the backend it is scoped to, with one Allure test per operation carrying the failing request as a curl line;
and on a production target it fuzzes only safe methods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.embedded import EmbeddedStack

from .conftest import CONTRACT_TESTS, run_suite

pytestmark = pytest.mark.slow


def _allure_results(tmp_path: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]


def _failure_section(stdout: str, test_id: str) -> str:
    """The traceback section pytest prints for one failed test."""
    start = stdout.index(f" {test_id} ")
    following = stdout.find("\n____", start + 1)
    end = following if following != -1 else stdout.index("short test summary")
    return stdout[start:end]


@pytest.mark.parametrize(
    ("faults", "selection", "expected"),
    [
        (
            ["legacy:missing_field=name", "storage:undocumented_status"],
            "(POST and characters and not campaign) or (GET and character_id and not campaign)",
            {
                "test_operation[POST /characters][legacy]": [
                    "Response violates schema",
                    '"name" is a required property',
                ],
                "test_operation[GET /characters/{character_id}][storage]": [
                    "Undocumented status code",
                    "Received: 418",
                ],
            },
        ),
        (
            ["legacy:wrong_content_type", "storage:accept_invalid=level"],
            "POST and characters and not campaign",
            {
                "test_operation[POST /characters][legacy]": ["Undocumented Content-Type", "Received: text/html"],
                # the backend forgot level's bounds: a level of 21 is created (201) instead of rejected
                "test_operation[POST /characters][storage]": [
                    "Schema-violating request accepted",
                    "body.level: 21 is greater than the maximum of 20",
                ],
            },
        ),
        (
            ["storage:soft_delete"],
            "stateful",
            {"test_stateful_links[storage]": ["Deleted resource still available", "The resource was deleted with"]},
        ),
    ],
    ids=["missing_field+undocumented_status", "wrong_content_type+accept_invalid", "soft_delete"],
)
def test_contract_faults_are_caught(
    tmp_path: Path, faults: list[str], selection: str, expected: dict[str, list[str]]
) -> None:
    result = run_suite(tmp_path, "-q", CONTRACT_TESTS, "-k", selection, faults=faults)
    assert result.returncode == 1, result.stdout[-3000:]
    summary = result.stdout.split("short test summary info")[-1]
    failed = {line.split("::", 1)[1].split(" - ")[0] for line in summary.splitlines() if line.startswith("FAILED")}
    assert failed == set(expected), summary  # the fault's backend fails, the other one passes
    for test_id, needles in expected.items():
        section = _failure_section(result.stdout, test_id)
        for needle in [*needles, "reproduce with: curl -X "]:
            assert needle in section, f"{needle!r} not in the report of {test_id}:\n{section[-3000:]}"
    # one Allure test per operation and backend, each failure with its curl line attached
    results = _allure_results(tmp_path)
    assert len({r["historyId"] for r in results}) == len(results)
    for r in results:
        if r["status"] == "failed":
            attachments = [a["name"] for a in r.get("attachments", [])]  # type: ignore[attr-defined]
            assert any(str(a).startswith("failing request: ") for a in attachments), r["name"]
            operation = [p["value"] for p in r["parameters"] if p["name"] == "operation"]  # type: ignore[attr-defined]
            assert operation, r["name"]


def test_production_target_fuzzes_safe_methods_only(tmp_path: Path) -> None:
    with EmbeddedStack(characters=10, seed=4) as info:
        config = tmp_path / "harness.toml"
        config.write_text(
            f'[targets.prod]\nenvironment = "production"\n[targets.prod.backends.legacy]\nurl = "{info.legacy_url}"\n'
        )
        result = run_suite(tmp_path, "-q", "-rs", "suites/contract", "--target", "prod", config=config)
    assert result.returncode == 0, result.stdout[-3000:]
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    # 8 writing operations + the stateful test skipped; the 7 GET operations fuzzed, and the drift check
    assert "8 passed, 9 skipped" in result.stdout, result.stdout[-3000:]
    assert all("--allow-writes" in line for line in skipped)
