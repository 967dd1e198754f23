"""``harness gate`` on a healthy embedded default: GO, every phase run (a full rehearsal: migration and rollback
included), a verdict.json valid against its schema, a summary to paste, one Allure results folder with a parent
suite per phase, a chart per load run, nothing left behind."""

from __future__ import annotations

import json

import pytest
from gate_helpers import GateRun, gate_env, private_tmpdir, run_gate

from harness.config.model import GATE_PHASES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> GateRun:
    with private_tmpdir() as private_tmp:  # the gate's and the stack's temporary directories go here
        cwd = tmp_path_factory.mktemp("gate-healthy")
        run = run_gate(cwd, "--characters", "60", env=gate_env(TMPDIR=str(private_tmp)))
        left = [p.name for p in private_tmp.iterdir() if p.name.startswith("harness-")]
    assert not left, f"the gate left temporary directories behind: {left}"
    return run


def test_go_with_exit_0(healthy: GateRun) -> None:
    bad = [c for c in healthy.verdict["checks"] if c["outcome"] not in ("pass",) and not c["report_only"]]
    assert healthy.returncode == 0, f"{bad}\n{healthy.stderr[-4000:]}"
    assert healthy.verdict["verdict"] == "GO"
    assert "verdict: GO" in healthy.stdout


def test_every_phase_ran_and_no_check_was_skipped(healthy: GateRun) -> None:
    checks = healthy.verdict["checks"]
    assert {c["phase"] for c in checks} == set(GATE_PHASES)
    assert [c["check"] for c in checks if c["outcome"] == "skipped"] == []
    assert set(healthy.verdict["phase_times_s"]) == set(GATE_PHASES)


def test_the_rehearsal_restored_the_source_and_emptied_the_destination(healthy: GateRun) -> None:
    restore, cleanup = healthy.check("rollback.restore"), healthy.check("rollback.cleanup")
    assert restore["outcome"] == "pass" and cleanup["outcome"] == "pass"
    snapshot = json.loads((healthy.outdir / "snapshot.json").read_text(encoding="utf-8"))
    assert restore["evidence"]["verdict"] == "equal"
    for collection, entry in snapshot["collections"].items():
        assert restore["evidence"]["checked"][f"source {collection}"] == entry["source"]["count"] > 0
    assert set(cleanup["evidence"].values()) == {0}


def test_summary_starts_with_the_verdict_and_lists_every_check(healthy: GateRun) -> None:
    summary = (healthy.outdir / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith("# Migration gate: **GO**")
    for check in healthy.verdict["checks"]:
        assert f"| {check['phase']} | {check['check'].split('.', 1)[1]} |" in summary
    assert "charts/load-storage.svg" in summary


def test_one_allure_results_folder_with_a_parent_suite_per_phase(healthy: GateRun) -> None:
    parents = set()
    for result in (healthy.outdir / "allure-results").glob("*-result.json"):
        labels = json.loads(result.read_text(encoding="utf-8"))["labels"]
        parents |= {label["value"] for label in labels if label["name"] == "parentSuite"}
    assert set(GATE_PHASES) <= parents


def test_a_chart_per_load_run_with_its_thresholds(healthy: GateRun) -> None:
    for backend in ("legacy", "storage"):
        svg = (healthy.outdir / "charts" / f"load-{backend}.svg").read_text(encoding="utf-8")
        assert 'class="threshold"' in svg and 'class="value"' in svg
