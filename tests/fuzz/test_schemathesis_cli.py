"""``schemathesis.toml`` lets a user fuzz any target from the schemathesis CLI, with JUnit and HAR reports under
``reports/schemathesis``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.embedded import EmbeddedStack
from harness.fuzz.contract import CONTRACT

from .conftest import ROOT

pytestmark = pytest.mark.slow


def test_cli_run_writes_junit_and_har_under_reports() -> None:
    reports = ROOT / "reports" / "schemathesis"
    before = set(reports.glob("*")) if reports.is_dir() else set()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}, "SCHEMATHESIS_HOOKS": ""}
    with EmbeddedStack(characters=3, seed=2) as info:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run", str(CONTRACT.relative_to(ROOT)), "--url",
             info.legacy_url, "--max-examples", "3", "--include-path-regex", "^/campaigns$",
             "--phases", "coverage,fuzzing", "--no-color"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    new = {p.name.split("-")[0] for p in set(reports.glob("*")) - before}
    assert new == {"junit", "har"}, result.stdout[-2000:]
