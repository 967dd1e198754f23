"""Fuzzing and differential runs leave nothing behind on a named target: every record the contract suite
(schemathesis) and the differential suite create is deleted at the end, also when the run is interrupted under
``-n 2``; the run says how many it created and removed. Record counts are read through the API on both
backends before and after."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from alt_impl.launcher import alt_deployment, count_records

from harness.created_records import CreatedRecords
from harness.embedded import EmbeddedStack

from .conftest import ROOT, run_suite

pytestmark = pytest.mark.slow
REMOVED = re.compile(r"harness: this run created (\d+) record\(s\) on target \w+ \(.*?\), removed (\d+)$", re.M)


def counts(urls: dict[str, str]) -> dict[str, dict[str, int]]:
    out = {}
    for backend, url in urls.items():
        with httpx.Client(base_url=url, timeout=10) as http:
            out[backend] = {c: count_records(http, f"/{c}") for c in ("campaigns", "characters")}
    return out


def _pending(tmp: Path) -> dict[str, str]:
    """What the ledgers of the run whose temporary directory is ``tmp`` still hold (its own: other workers' runs
    keep theirs in the machine's temporary directory)."""
    directories = set(tmp.glob("harness-created-*"))
    return CreatedRecords.read(p for d in directories for p in d.glob("*.jsonl")).pending


def _created_and_removed(stdout: str) -> tuple[int, int]:
    found = REMOVED.search(stdout)
    assert found, stdout[-3000:]
    return int(found.group(1)), int(found.group(2))


def test_the_reference_as_a_named_target_keeps_its_counts(tmp_path: Path) -> None:
    with EmbeddedStack(characters=20, seed=9) as info:
        urls = {"legacy": info.legacy_url, "storage": info.storage_url}
        config = tmp_path / "harness.toml"
        lines = ["[targets.stage]", 'environment = "staging"']
        for backend, url in urls.items():
            lines += [f"[targets.stage.backends.{backend}]", f'url = "{url}"']
        config.write_text("\n".join(lines) + "\n")
        before = counts(urls)
        result = run_suite(
            tmp_path, "-q", "-n", "2", "suites/contract", "suites/differential", "--target", "stage", config=config
        )
        after = counts(urls)
    assert result.returncode == 0, result.stdout[-3000:]
    created, removed = _created_and_removed(result.stdout)
    assert created > 50 and removed == created, result.stdout[-1000:]
    assert after == before


def test_the_independent_implementation_keeps_its_counts(tmp_path: Path) -> None:
    with alt_deployment(tmp_path) as alt:
        before = alt.count()
        result = run_suite(tmp_path, "-q", "-n", "2", "suites/contract", "suites/differential", config=alt.config)
        after = alt.count()
    assert result.returncode == 0, result.stdout[-3000:]
    created, removed = _created_and_removed(result.stdout)
    assert created > 50 and removed == created
    assert after == before


def test_an_interrupted_run_keeps_the_counts(tmp_path: Path) -> None:
    """Ctrl-C in the middle of ``-n 2`` fuzzing: the run's owner still removes what every worker created."""
    with alt_deployment(tmp_path) as alt:
        before = alt.count()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
        env.pop("PYTEST_CURRENT_TEST", None)
        run_tmp = tmp_path / "tmp"
        run_tmp.mkdir()
        env.update(HARNESS_CONFIG=str(alt.config), HARNESS_ALLURE="0", TMPDIR=str(run_tmp))
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "suites/contract"]
        cmd += ["-k", "stateful"]  # the stateful sequences hold their records until they end: interrupt them
        log = tmp_path / "pytest.log"
        with log.open("w") as out:
            process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and len(_pending(run_tmp)) < 5:
                    time.sleep(0.1)  # until the workers hold records on the target that they have not removed
                held = counts(alt.urls)
                process.send_signal(signal.SIGINT)
                process.wait(timeout=120)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        after = alt.count()
    stdout = log.read_text()
    assert held != before, "interrupted before anything was created"
    assert "KeyboardInterrupt" in stdout or "Interrupted" in stdout or "!!!" in stdout, stdout[-2000:]
    created, removed = _created_and_removed(stdout)
    assert created > 0 and removed == created, stdout[-2000:]
    assert after == before, stdout[-2000:]
    assert not list(run_tmp.glob("harness-created-*")), "the run's ledgers were left behind"


def test_the_ledger_resolves_locations_and_retries_blocked_deletes(tmp_path: Path) -> None:
    """Under a path prefix (``/character``), a ``Location`` path or a body id give the record's URL; a campaign
    noted before its member is retried after the member is gone; a file ledger read back lists the same."""
    from harness.created_records import created_url

    assert created_url("http://h/character/characters", 201, {"location": ["/character/characters/x"]}, None) == (
        "http://h/character/characters/x"
    )
    assert created_url("http://h/api/campaigns?x=1", 201, {}, {"id": "c1"}) == "http://h/api/campaigns/c1"
    assert created_url("http://h/api/campaigns", 422, {"location": "/nope"}, None) is None
    with alt_deployment(tmp_path) as alt, httpx.Client(base_url=alt.urls["legacy"], timeout=10) as http:
        before = alt.count()
        ledger = CreatedRecords(tmp_path / "ledger.jsonl")
        campaign = http.post("/campaigns", json={"name": "L", "dungeon_master": "dm", "status": "active"})
        member = http.post("/characters", json={**CHARACTER, "campaign_id": campaign.json()["id"]})
        ledger.note_httpx("legacy", member)  # the member first: newest-first deletion meets the campaign first
        ledger.note_httpx("legacy", campaign)
        assert len(CreatedRecords.read([tmp_path / "ledger.jsonl"]).pending) == 2
        removal = ledger.remove({"legacy": http})
        assert (removal.created, removal.removed, removal.left) == (2, 2, [])
        assert "created 2 record(s) (legacy 2), removed 2" in removal.summary()
        assert alt.count() == before


CHARACTER = {
    "owner": "ledger", "name": "Ledger", "race": "elf", "class": "wizard", "level": 1, "hit_points": 5,
    "alignment": "neutral", "abilities": dict.fromkeys(
        ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma"), 10
    ),
}  # fmt: skip
