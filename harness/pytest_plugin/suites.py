"""The suites of ``suites/``, in one table: their marker, Allure feature and severity, and whether they fuzz."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Suite:
    description: str  # the marker's help: ``-m smoke`` selects the suite
    feature: str  # the Allure feature
    severity: str  # the Allure severity
    fuzzing: bool = False  # hypothesis-driven: a run that collects it loads the fuzz profile


SUITES = {
    "smoke": Suite("post-deploy smoke checks (read-only)", "Post-deploy smoke", "critical"),
    "api": Suite("every operation of the Character Service contract", "Character Service API", "critical"),
    "integration": Suite("end-to-end flows across operations and services", "End-to-end flows", "normal"),
    "staging": Suite("what the migration guide runs in staging", "Staging validation", "normal"),
    "data": Suite("data parity between source and destination", "Data parity", "critical"),
    "contract": Suite("schemathesis fuzzing of the contract", "Contract fuzzing", "normal", fuzzing=True),
    "differential": Suite("the two backends held against each other", "Backend differential", "normal", fuzzing=True),
    "security": Suite(
        "access control of the Storage Service and the harness's own credentials (read-only)",
        "Access control",
        "blocker",
    ),
}


def suite_of(item: pytest.Item) -> str | None:
    """The folder under ``suites/`` an item's module lives in, if any."""
    parts = Path(str(item.path)).parts
    if "suites" in parts and parts.index("suites") + 1 < len(parts) - 1:
        return parts[parts.index("suites") + 1]
    return None
