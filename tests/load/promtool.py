"""Helpers for tests that need the Prometheus tools (Debian package ``prometheus``): they fail loudly on CI when
the tools are missing (.ci/run installs them) and skip, saying so, elsewhere."""

from __future__ import annotations

import os
import shutil

import pytest


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path:
        return path
    message = f"{tool} not found: install the Debian package 'prometheus' (apt-get install prometheus)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
