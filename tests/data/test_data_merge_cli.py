"""``harness data merge`` on malformed partition reports, as a user runs it: one line naming the file and what is
wrong, exit status 2, never a traceback. Nothing is started: the merge reads files only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(
    ("report", "problem"),
    [
        ({"check": "compare", "partition": {"index": 0}}, "partition.of must be the number of partitions"),
        ({"check": "compare", "partition": {"index": 0, "of": 2}}, "collections must be a non-empty list"),
        ({"check": "compare", "partition": {"index": 5, "of": 2}}, "partition.index must be an integer in 0..1"),
    ],
)
def test_a_malformed_partition_report_is_one_line_and_exit_2(
    report: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    path = tmp_path / "p0.json"
    path.write_text(json.dumps(report))
    run = subprocess.run(
        [sys.executable, "-m", "harness", "data", "merge", str(path)], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert str(path) in run.stderr and problem in run.stderr, run.stderr
