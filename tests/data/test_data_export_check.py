"""validate-export: a real export passes; truncated, malformed, schema-breaking, duplicated or tampered files are
reported with file, line number and reason, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.data.export_check import validate_export
from harness.data.report import ProblemReport
from harness.embedded import StackInfo
from reference_system.migration import export_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def export(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export")
    export_data(stack.source_dsn, out)
    return out / "export.jsonl"


def damaged(export: Path, tmp_path: Path, change: Callable[[list[bytes]], list[bytes]]) -> Path:
    """A copy of the export (manifest included) whose lines ``change`` rewrote."""
    (tmp_path / "manifest.json").write_bytes((export.parent / "manifest.json").read_bytes())
    lines = export.read_bytes().splitlines(keepends=True)
    target = tmp_path / "export.jsonl"
    target.write_bytes(b"".join(change(lines)))
    return target


def problems(report: ProblemReport) -> list[tuple[str, str]]:
    return [(p.kind, p.where) for p in report.problems]


def test_a_real_export_is_valid(export: Path) -> None:
    report = validate_export(export)
    assert report.verdict == "clean" and report.exit_code == 0, report.summary()
    assert report.checked["lines"] == report.checked["campaigns records"] + report.checked["characters records"]


def test_truncated_file_names_the_last_line(export: Path, tmp_path: Path) -> None:
    path = damaged(export, tmp_path, lambda lines: [*lines[:-1], lines[-1][: len(lines[-1]) // 2]])
    report = validate_export(path)
    n = len(export.read_bytes().splitlines())
    assert problems(report)[0] == ("malformed line", f"{path}:{n}")
    assert "truncated" in report.problems[0].detail
    assert ("count mismatch", f"{tmp_path / 'manifest.json'} characters") in problems(report)


def test_malformed_json_line(export: Path, tmp_path: Path) -> None:
    path = damaged(export, tmp_path, lambda lines: [*lines[:4], b'{"collection": "characters", "id": \n', *lines[5:]])
    report = validate_export(path)
    assert problems(report)[0] == ("malformed line", f"{path}:5")
    assert "not valid JSON" in report.problems[0].detail


def test_schema_violation_names_the_field(export: Path, tmp_path: Path) -> None:
    def level_25(lines: list[bytes]) -> list[bytes]:
        index = next(i for i, line in enumerate(lines) if b'"characters"' in line)
        record = json.loads(lines[index])
        record["document"]["level"] = 25
        return [*lines[:index], (json.dumps(record) + "\n").encode(), *lines[index + 1 :]]

    path = damaged(export, tmp_path, level_25)
    report = validate_export(path)
    first = report.problems[0]
    assert first.kind == "schema" and first.where.startswith(f"{path}:")
    assert "document level" in first.detail and "25" in first.detail


def test_duplicate_line_is_a_duplicate_key(export: Path, tmp_path: Path) -> None:
    path = damaged(export, tmp_path, lambda lines: [*lines[:10], lines[9], *lines[10:]])
    report = validate_export(path)
    assert problems(report)[0] == ("duplicate key", f"{path}:11")


def test_tampered_record_fails_the_manifest_checksum(export: Path, tmp_path: Path) -> None:
    path = damaged(export, tmp_path, lambda lines: [*lines[:-1], lines[-1].replace(b'"name":"', b'"name":"X', 1)])
    kinds = {p.kind for p in validate_export(path).problems}
    assert "checksum mismatch" in kinds and "schema" not in kinds


def test_cli_exit_codes_and_one_line_errors(export: Path, tmp_path: Path) -> None:
    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", "data", "validate-export", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    ok = harness(str(export), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["verdict"] == "clean"
    path = damaged(export, tmp_path, lambda lines: lines[:-3])
    bad = harness(str(path))
    assert bad.returncode == 1 and "count mismatch" in bad.stdout
    missing = harness(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
