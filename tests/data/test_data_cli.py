"""``harness data ...`` as a user runs it: a named target from a targets file, the reference's own data faults,
exit status 0 / 1 / 2, JSON output, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
FAULTS = ["missing_records=1", "extra_records=1", "altered_records=1", "dangling_refs=1"]


@pytest.fixture(scope="module")
def faulty() -> Iterator[StackInfo]:
    with EmbeddedStack(characters=30, seed=9, faults=FAULTS) as info:
        yield info


@pytest.fixture(scope="module")
def config(faulty: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "harness.toml"
    path.write_text(
        f"""
[targets.rehearsal]
environment = "staging"
[targets.rehearsal.backends.legacy]
url = "{faulty.legacy_url}"
[targets.rehearsal.source]
dsn = "{faulty.source_dsn}"
[targets.rehearsal.destination]
url = "{faulty.storage_service_url}"
database = "{faulty.storage_database}"
token = "{faulty.storage_read_token}"
[targets.rehearsal.compare]
segment_size = 10

[targets.nosource]
environment = "dev"
[targets.nosource.destination]
url = "{faulty.storage_service_url}"

[targets.down]
environment = "dev"
[targets.down.source]
dsn = "postgresql://harness:secret@127.0.0.1:1/legacy"
[targets.down.destination]
url = "http://127.0.0.1:1"

[targets.wrongdest]
environment = "dev"
[targets.wrongdest.source]
dsn = "{faulty.source_dsn}"
[targets.wrongdest.destination]
url = "{faulty.legacy_url}"
"""
    )
    return path


def harness(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HARNESS_CONFIG": str(config)}
    return subprocess.run(
        [sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_compare_names_each_reference_fault(config: Path, faulty: StackInfo, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = harness(config, "compare", "--target", "rehearsal", "--json", "--output", str(out))
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert json.loads(out.read_text()) == report
    kinds = {(d["key"], d["kind"]) for d in report["differences"]}
    touched = faulty.data_faults
    assert (touched["missing_records"][0], "missing") in kinds
    assert (touched["extra_records"][0], "extra") in kinds
    altered = next(d for d in report["differences"] if d["key"] == touched["altered_records"][0])
    assert "name" in [f["path"] for f in altered["fields"]]
    dangling = next(d for d in report["differences"] if d["key"] == touched["dangling_refs"][0])
    assert "campaign_id" in [f["path"] for f in dangling["fields"]]
    assert report["verdict"] == "different"


def test_progress_goes_to_stderr_and_quiet_silences_it(config: Path, faulty: StackInfo) -> None:
    run = harness(config, "compare", "--target", "rehearsal", "--json")
    lines = run.stderr.splitlines()
    keys = faulty.characters + 1  # one missing, one extra
    assert f"data compare: characters done: {keys}/{keys} records (100%)" in run.stderr, run.stderr
    assert all(line.startswith("data compare: ") for line in lines)
    assert json.loads(run.stdout)["verdict"] == "different"  # the report on stdout is unchanged
    quiet = harness(config, "compare", "--target", "rehearsal", "--quiet")
    assert quiet.stderr == "" and quiet.stdout.startswith("data compare: DIFFERENT")


def test_recheck_keeps_differences_that_stay(config: Path, faulty: StackInfo) -> None:
    run = harness(config, "compare", "--target", "rehearsal", "--recheck-after", "0", "--json", "--quiet")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    characters = next(c for c in report["collections"] if c["collection"] == "characters")
    assert characters["in_flight"] == 0 and characters["missing"] == characters["extra"] == 1
    assert {d["key"] for d in report["differences"]} >= {faulty.data_faults["missing_records"][0]}
    bad = harness(config, "compare", "--target", "rehearsal", "--recheck-after", "-1")
    assert bad.returncode == 2 and "--recheck-after must be" in bad.stderr


def test_jobs_pass_every_partition_option_to_the_children(config: Path, faulty: StackInfo) -> None:
    """--jobs N runs the same compare in N partitions: --recheck-after reaches each child (a partition with a
    mismatch waits the delay before its recheck, so the merged run takes that long at least), and a collection
    given twice is compared once."""
    args = ("--jobs", "2", "--collection", "characters", "--collection", "characters", "--recheck-after", "2")
    run = harness(config, "compare", "--target", "rehearsal", *args, "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert [c["collection"] for c in report["collections"]] == ["characters"]
    assert report["elapsed_s"] >= 2.0, report
    assert {d["key"] for d in report["differences"]} >= {faulty.data_faults["missing_records"][0]}
    assert "merged 2 of 2 partitions" in report["notes"]


def test_a_collection_given_twice_is_compared_once(config: Path) -> None:
    args = ("--collection", "campaigns", "--collection", "characters", "--collection", "campaigns")
    run = harness(config, "compare", "--target", "rehearsal", *args, "--json", "--quiet")
    assert [c["collection"] for c in json.loads(run.stdout)["collections"]] == ["campaigns", "characters"]


def test_show_names_the_field_between_each_pair_that_differs(config: Path, faulty: StackInfo) -> None:
    altered = faulty.data_faults["altered_records"][0]
    run = harness(config, "show", altered, "--target", "rehearsal", "--json")
    assert run.returncode == 1, run.stderr
    shown = json.loads(run.stdout)
    assert set(shown["views"]) == {"source", "destination", "legacy"}  # the target's one backend answers too
    pairs = {tuple(d["between"]): [f["path"] for f in d["fields"]] for d in shown["differences"]}
    # the fault rewrote the record through the API, so its version moved on too
    assert pairs == {("source", "destination"): ["name", "version"], ("destination", "legacy"): ["name", "version"]}
    missing = faulty.data_faults["missing_records"][0]
    gone = json.loads(harness(config, "show", missing, "--target", "rehearsal", "--json").stdout)
    assert gone["views"]["destination"] is None
    assert {tuple(d["between"]): d["fields"] for d in gone["differences"]} == {
        ("source", "destination"): "only in source",
        ("destination", "legacy"): "only in legacy",
    }
    nobody = "00000000-0000-4000-8000-00000000beef"
    campaign = harness(config, "show", nobody, "--target", "rehearsal", "--collection", "campaigns")
    # absent everywhere: nothing to hold equal (a mistyped key must not look like success)
    assert campaign.returncode == 1 and "NOT FOUND" in campaign.stdout and "(not there)" in campaign.stdout


def test_human_summary_and_max_diffs(config: Path) -> None:
    run = harness(config, "compare", "--target", "rehearsal", "--max-diffs", "1", "--collection", "characters")
    assert run.returncode == 1
    assert run.stdout.startswith("data compare: DIFFERENT") and "stopped early: --max-diffs 1" in run.stdout


def test_verify_and_check_refs_fail_on_the_faults(config: Path, faulty: StackInfo) -> None:
    verify = harness(config, "verify", "--target", "rehearsal")
    assert verify.returncode == 1 and "checksum mismatch" in verify.stdout
    refs = harness(config, "check-refs", "--target", "rehearsal", "--side", "destination", "--json")
    assert refs.returncode == 1
    where = [p["where"] for p in json.loads(refs.stdout)["problems"]]
    assert where == [f"destination characters/{faulty.data_faults['dangling_refs'][0]}"]
    assert harness(config, "check-refs", "--target", "rehearsal", "--side", "source").returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--target", "nosource"], "has no [targets.nosource.source] dsn"),
        (["compare", "--target", "rehearsal", "--collection", "charactres"], "did you mean 'characters'?"),
        (["verify", "--target", "stagin"], "unknown target 'stagin'"),
        (["check-refs", "--target", "down"], "cannot connect to the source PostgreSQL at postgresql://harness:***@"),
        (["compare", "--target", "rehearsal", "--sample", "3"], "--sample must be a fraction"),
        (["verify", "--target", "wrongdest"], "check [targets.X.destination] database"),
        # --jobs: checked once, before any child starts (not one line per child, then "none of the 2 jobs ...")
        (["compare", "--target", "rehearsal", "--jobs", "2", "--max-diffs", "0"], "--max-diffs must be positive"),
        (["compare", "--target", "rehearsal", "--jobs", "2", "--sample", "0.5"], "--sample and --jobs do not go"),
        (["compare", "--target", "rehearsal", "--jobs", "2", "--collection", "charactres"], "did you mean"),
        (["compare", "--target", "rehearsal", "--jobs", "2", "--recheck-after", "-1"], "--recheck-after must be"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(config: Path, args: list[str], message: str) -> None:
    run = harness(config, *args)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert "secret" not in run.stderr


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('tolerence = { "hit_points" = 1 }', "targets.typo.compare.tolerence: unknown key; did you mean 'tolerance'?"),
        (
            '[targets.typo.compare.collections.characters]\ntable = "characters"\nkey_typ = "text"',
            "targets.typo.compare.collections.characters.key_typ: unknown key; did you mean 'key_type'?",
        ),
        (
            '[targets.typo.compare.collections.characters]\nquery = "SELECT 1"\nkey_type = "int"',
            "targets.typo.compare.collections.characters.key_type: must be one of uuid, text, integer",
        ),
        (
            '[targets.typo.compare.collections.characters]\ntable = "characters"\nreferences = { c = "campains" }',
            "targets.typo.compare.collections.characters.references.c: names no declared collection",
        ),
    ],
)
def test_a_bad_compare_section_fails_when_the_file_is_read(tmp_path: Path, section: str, message: str) -> None:
    """Checked when the targets file is read: any command, not only harness data, stops with one line."""
    path = tmp_path / "harness.toml"
    path.write_text(f'[targets.typo]\nenvironment = "dev"\n[targets.typo.compare]\n{section}\n')
    run = harness(path, "verify", "--target", "typo")
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert run.stderr.startswith(f"{path}: ") or f"{path}: targets.typo.compare." in run.stderr


def test_the_suite_fails_on_the_faults_and_attaches_the_report(config: Path, faulty: StackInfo, tmp_path: Path) -> None:
    results = tmp_path / "allure"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "suites/data",
            "--target",
            "rehearsal",
            "-p",
            "no:cacheprovider",
            f"--alluredir={results}",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HARNESS_CONFIG": str(config)},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 1, run.stdout[-2000:]
    assert "3 failed" in run.stdout
    altered = faulty.data_faults["altered_records"][0]
    attachments = [p.read_text() for p in results.glob("*-attachment.*")]
    reports = [json.loads(a) for a in attachments if a.lstrip().startswith("{")]
    compared = next(r for r in reports if r["check"] == "compare")
    assert altered in [d["key"] for d in compared["differences"]]
    assert any(a.startswith("data compare: DIFFERENT") for a in attachments)
