"""Contract drift is reported per operation and field when a backend serves a document that differs from the
contract file, and is not reported when it serves the same one."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
import pytest
import yaml

from harness.embedded import EmbeddedStack
from harness.fuzz.contract import CONTRACT
from harness.fuzz.drift import check_drift, compare_documents

from .conftest import run_suite

CONTRACT_DOC = yaml.safe_load(CONTRACT.read_text())


def test_compare_names_operations_and_fields() -> None:
    served = copy.deepcopy(CONTRACT_DOC)
    served["info"]["version"] = "9.9.9"  # a deployment's own version is not drift
    served["paths"]["/characters"]["get"]["responses"]["200"]["description"] = "A page."
    served["paths"]["/characters/{character_id}"]["trace"] = {"responses": {"200": {"description": "echo"}}}
    del served["components"]["schemas"]["Character"]["properties"]["background"]
    report = compare_documents(CONTRACT_DOC, served, "test")
    assert report.extra_operations == ["TRACE /characters/{character_id}"]
    assert [f.where for f in report.fields] == [
        "GET /characters: responses.200.description",
        "components.schemas.Character.properties.background",
    ]
    assert "served '<absent>'" in report.describe()
    assert compare_documents(CONTRACT_DOC, copy.deepcopy(CONTRACT_DOC)).ok


@pytest.mark.slow
def test_suite_reports_drift_of_the_backend_that_drifted(tmp_path: Path) -> None:
    result = run_suite(tmp_path, "-q", "suites/contract/test_drift.py", faults=["storage:contract_drift"])
    assert result.returncode == 1, result.stdout[-3000:]
    assert "FAILED suites/contract/test_drift.py::test_served_contract_matches_the_file[storage]" in result.stdout
    assert "1 passed" in result.stdout  # legacy serves the contract unchanged
    assert "operation missing: DELETE /campaigns/{campaign_id}" in result.stdout
    assert "components.schemas.Name.maxLength: contract 100, served 20" in result.stdout


@pytest.mark.slow
def test_nothing_to_compare_when_no_document_is_served() -> None:
    with EmbeddedStack(characters=0, seed=1) as info, httpx.Client(base_url=info.storage_service_url) as client:
        assert check_drift(client, CONTRACT_DOC) is None  # the Storage Service serves no OpenAPI document
