"""Malformed files the data commands read, as a user runs them: a partition report given to ``harness data
merge``, a snapshot given to ``harness data compare --against-snapshot``. One line naming the file and what is
wrong, exit status 2, never a traceback. Nothing is started: both files are read before any target is opened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SNAPSHOT = "harness-data-snapshot/1"
RANGE = {"start": None, "end": None, "count": 1, "checksum": "c", "versioned": "v", "records": [["1", "d"]]}


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, timeout=60)


def assert_one_line(run: subprocess.CompletedProcess[str], path: Path, problem: str) -> None:
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert f"{path}: " in run.stderr and problem in run.stderr, run.stderr


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
    assert_one_line(harness("merge", str(path)), path, problem)


@pytest.mark.parametrize(
    ("side", "problem"),
    [
        ({"ranges": [{"start": None}]}, "collections.heroes.source.ranges[0]: end must be a key or null"),
        ({}, "collections.heroes.source.ranges is missing"),
        ({"ranges": [{**RANGE, "records": [[1]]}]}, "ranges[0]: records must be a list of [key, digest] pairs"),
        ({"ranges": [{**RANGE, "count": "3"}]}, "ranges[0]: count must be an integer"),
        ({"ranges": [{k: v for k, v in RANGE.items() if k != "versioned"}]}, "versioned must be a checksum"),
    ],
)
def test_a_malformed_snapshot_is_one_line_and_exit_2(side: dict[str, Any], problem: str, tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    path.write_text(json.dumps({"format": SNAPSHOT, "collections": {"heroes": {"source": side}}}))
    assert_one_line(harness("compare", "--against-snapshot", str(path)), path, problem)
    path.write_text(json.dumps({"format": SNAPSHOT, "collections": ["heroes"]}))
    assert_one_line(harness("compare", "--against-snapshot", str(path)), path, "collections must be an object")
