"""``harness gate`` on a faulted embedded default: each fault is a NO-GO (or, where nothing could be judged, not
GO) that names what failed, with its figures. Runs are narrowed with --only to the phases the fault is about:
the checks are the same ones a whole run makes."""

from __future__ import annotations

import time

import pytest
from gate_helpers import run_gate

pytestmark = pytest.mark.slow


def test_storage_latency_is_no_go_naming_high_latency_on_storage(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = run_gate(
        tmp_path,
        "--fault",
        "storage:latency=0.6",
        "--characters",
        "40",
        "--only",
        "preflight",
        "--only",
        "performance.load_storage",
        "--only",
        "performance.check_latency",
    )
    assert run.returncode == 1, run.stderr[-3000:]
    assert run.verdict["verdict"] == "NO-GO"
    load = run.check("performance.load_storage")
    assert load["outcome"] == "fail"
    high = [f for f in load["findings"] if f["what"].startswith("HighLatency")]
    assert high and high[0]["what"] == "HighLatency on storage"
    assert high[0]["value"].endswith(" s") and float(high[0]["value"].split()[0]) > 0.5
    assert high[0]["limit"] == "> 0.5 s"
    assert "HighLatency" in (run.outdir / "summary.md").read_text(encoding="utf-8")
    latency = run.check("performance.check_latency")  # the service's own /metrics, judged during the run
    assert latency["outcome"] == "fail" and "HighLatency" in latency["summary"], latency


def test_dangling_references_fail_check_refs_naming_them(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = run_gate(
        tmp_path,
        "--fault",
        "dangling_refs=2",
        "--characters",
        "40",
        "--only",
        "snapshot",
        "--only",
        "migration",
        "--only",
        "data",
    )
    assert run.returncode == 1, run.stderr[-3000:]
    refs = run.check("data.check_refs")
    assert refs["outcome"] == "fail"
    dangling = run.check("migration.import")["evidence"]["data_faults_applied"]["dangling_refs"]
    named = " ".join(f["what"] for f in refs["findings"])
    assert all(key in named for key in dangling), (dangling, refs["findings"])


def test_a_suite_that_fails_on_its_fault_fails_its_check_naming_the_test(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = run_gate(tmp_path, "--fault", "legacy:missing_field=name", "--characters", "40", "--only", "endpoints.api")
    assert run.returncode == 1, run.stderr[-3000:]
    api = run.check("endpoints.api")
    assert api["outcome"] == "fail"
    assert all("[legacy" in f["what"] for f in api["findings"]), api["findings"]
    assert api["findings"][0]["what"].startswith("suites/api/")


def test_missing_records_are_no_go_naming_the_three_ids(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = run_gate(
        tmp_path,
        "--fault",
        "missing_records=3",
        "--characters",
        "40",
        "--only",
        "preflight",
        "--only",
        "snapshot",
        "--only",
        "migration",
        "--only",
        "data",
    )
    assert run.returncode == 1, run.stderr[-3000:]
    removed = run.check("migration.import")["evidence"]["data_faults_applied"]["missing_records"]
    assert len(removed) == 3
    compare = run.check("data.compare")
    assert compare["outcome"] == "fail"
    named = {f["what"] for f in compare["findings"]}
    assert {f"characters/{key}" for key in removed} <= named
    assert run.check("migration.verify")["outcome"] == "fail"


def test_storage_outage_is_not_go_with_the_reason_and_no_hang(tmp_path) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    run = run_gate(tmp_path, "--fault", "storage_outage", "--characters", "40", timeout=300)
    elapsed = time.monotonic() - started
    assert run.returncode in (1, 4), run.stderr[-3000:]
    assert run.verdict["verdict"] in ("NO-GO", "INCONCLUSIVE")
    health = run.check("preflight.storage_health")
    assert health["outcome"] in ("fail", "inconclusive")
    assert "Storage Service" in health["summary"]
    later = [c for c in run.verdict["checks"] if c["phase"] not in ("preflight",)]
    assert later and all("preflight did not pass" in c["summary"] for c in later)
    assert elapsed < 120, f"the gate took {elapsed:.0f} s on a Storage Service outage"


@pytest.mark.parametrize("fault", ["open_storage", "cross_database", "reader_can_write"])
def test_an_access_fault_is_no_go_naming_the_request_that_got_through(tmp_path, fault) -> None:  # type: ignore[no-untyped-def]
    run = run_gate(tmp_path, "--fault", fault, "--characters", "30", "--only", "preflight")
    assert run.returncode == 1, run.stderr[-3000:]
    security = run.check("preflight.security")
    assert security["outcome"] == "fail"
    assert "got through" in " ".join(f["detail"] for f in security["findings"]), security["findings"]
    later = [c for c in run.verdict["checks"] if c["phase"] != "preflight"]
    assert all(c["outcome"] == "skipped" for c in later)
