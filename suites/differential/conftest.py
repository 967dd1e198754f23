from __future__ import annotations

from harness.fuzz.suite_hooks import fuzz_profile, pytest_configure, pytest_report_header

__all__ = ["fuzz_profile", "pytest_configure", "pytest_report_header"]
