"""pytest hooks and fixtures shared by the fuzzing suites (``suites/contract``, ``suites/differential``); their
conftests import these names. The profile is loaded at configure time, so ``--hypothesis-profile ci|nightly``
and ``HARNESS_FUZZ_PROFILE`` both work, and the report header says which profile and seed ran."""

from __future__ import annotations

import pytest

from ..errors import HarnessError
from .profiles import FuzzProfile, configure_pytest

PROFILE = pytest.StashKey[FuzzProfile]()


def pytest_configure(config: pytest.Config) -> None:
    if PROFILE in config.stash:  # both suites' conftests share this hook
        return
    try:
        config.stash[PROFILE] = configure_pytest(config)
    except HarnessError as exc:
        raise pytest.UsageError(f"harness: {exc}") from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"harness: {config.stash[PROFILE].describe()}"] if PROFILE in config.stash else []


@pytest.fixture(scope="session")
def fuzz_profile(pytestconfig: pytest.Config) -> FuzzProfile:
    if PROFILE not in pytestconfig.stash:
        pytestconfig.stash[PROFILE] = configure_pytest(pytestconfig)
    return pytestconfig.stash[PROFILE]
