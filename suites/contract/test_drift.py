"""Contract drift: the OpenAPI document a backend serves (if it serves one) says what the contract file says."""

from __future__ import annotations

import allure
import httpx
import pytest
import yaml

from harness.fuzz.contract import CONTRACT
from harness.fuzz.drift import SERVED_PATHS, check_drift


def test_served_contract_matches_the_file(client: httpx.Client) -> None:
    report = check_drift(client, yaml.safe_load(CONTRACT.read_text(encoding="utf-8")))
    if report is None:
        pytest.skip(f"the backend serves no OpenAPI document at {', '.join(SERVED_PATHS)}: no drift to check")
    allure.attach(report.describe(), name="contract drift", attachment_type=allure.attachment_type.TEXT)
    assert report.ok, report.describe()
