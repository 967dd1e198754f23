from __future__ import annotations

import pytest

from harness.fuzz.suite_hooks import fuzz_profile, pytest_configure, pytest_report_header

__all__ = ["fuzz_profile", "pytest_collection_modifyitems", "pytest_configure", "pytest_report_header"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Operations that can change data are writes: the plugin skips them on a production target unless
    ``--allow-writes`` (only GET/HEAD/OPTIONS are fuzzed there)."""
    from harness.fuzz.contract import SAFE_METHODS

    for item in items:
        label = item.name.split("[", 1)[1] if "[" in item.name else ""
        method = label.split(" ", 1)[0]
        if method.isupper() and method not in SAFE_METHODS:
            item.add_marker(pytest.mark.writes)
