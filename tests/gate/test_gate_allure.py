"""The gate's Allure results make one Allure 3 report that shows every phase (generated with the real Allure 3
CLI from npm; skipped where Node is not installed, failing in CI)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.config.model import GATE_PHASES
from harness.gate.report import write_allure
from harness.gate.suites import file_under_phase

pytestmark = pytest.mark.slow


def _pytest_result(directory: Path, phase: str) -> None:
    """A result as allure-pytest writes it for a suite test the gate ran in ``phase``."""
    doc = {
        "name": "test_health",
        "status": "passed",
        "uuid": f"{phase}-0",
        "historyId": phase,
        "fullName": f"suites.{phase}#test_health",
        "titlePath": ["suites", "smoke", "test_smoke.py"],
        "start": 1,
        "stop": 2,
        "labels": [{"name": "parentSuite", "value": phase}, {"name": "suite", "value": "smoke"}],
    }
    (directory / f"{phase}-0-result.json").write_text(json.dumps(doc), encoding="utf-8")


def test_allure3_report_shows_every_phase(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    if npx is None:
        if os.environ.get("CI") == "true":
            pytest.fail("npx (Node) is needed to generate the Allure 3 report")
        pytest.skip("Node's npx is not installed: cannot run Allure 3")
    from harness.gate.cli import _placeholder_local
    from harness.gate.context import QUICK, GateContext, GateOptions
    from harness.gate.runner import GateRun
    from harness.verdict import passed

    ctx = GateContext(GateOptions(), QUICK, _placeholder_local(), True, None, "local", tmp_path, tmp_path)
    results = ctx.allure_dir
    results.mkdir(parents=True)
    for phase in ("endpoints", "smoke"):
        _pytest_result(results, phase)
        file_under_phase(results, phase)
    others = [p for p in GATE_PHASES if p not in ("endpoints", "smoke")]
    write_allure(ctx, GateRun(results=[passed(f"{p}.check", "ok") for p in others]), set())
    out = tmp_path / "report"
    done = subprocess.run(
        [npx, "--yes", "allure@3", "generate", str(results), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    tree = json.loads((out / "widgets" / "tree.json").read_text(encoding="utf-8"))
    top = {tree["groupsById"][g]["name"] for g in tree["root"]["groups"]}
    assert top == set(GATE_PHASES)
