"""Differential testing: the legacy and the storage backend driven by one random sequence of operations
(create, replace, patch, delete, list, campaign moves), every pair of answers compared after normalisation;
fields that differ between two equivalent calls on the same backend are noise."""

from __future__ import annotations

import allure
import httpx
import pytest

from harness.config import Target
from harness.created_records import CreatedRecords
from harness.differential import run_differential
from harness.fuzz.profiles import FuzzProfile

pytestmark = pytest.mark.writes


def test_backends_answer_alike(
    backend_clients: dict[str, httpx.Client],
    target: Target,
    fuzz_profile: FuzzProfile,
    created_records: CreatedRecords,
) -> None:
    declared = target.differential.noise  # [differential] noise = ["field", ...], checked by the loader
    allure.dynamic.parameter("backends", " vs ".join(backend_clients))
    report = run_differential(backend_clients, fuzz_profile, declared_noise=tuple(declared), ledger=created_records)
    allure.attach(report.summary(), name="differential summary", attachment_type=allure.attachment_type.TEXT)
    print(report.summary())
