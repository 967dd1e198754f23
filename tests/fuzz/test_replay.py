"""Replay: exchanges recorded against the legacy backend (the harness's JSON Lines, or schemathesis' HAR) are
replayed against the storage backend and diffed; the summary counts matches and mismatches per operation and
field. The stack's storage backend cuts names to 20 characters, so only long names may differ."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from harness.differential.noise import learn_noise
from harness.differential.replay import OperationNames, Recorder, ReplaySummary, read_recording, replay
from harness.differential.strategies import SAMPLE_CAMPAIGN, SAMPLE_CHARACTER
from harness.embedded import EmbeddedStack, StackInfo
from harness.fuzz.contract import CONTRACT

from .conftest import ROOT

pytestmark = pytest.mark.slow
SAMPLES = [("campaign", "/campaigns", SAMPLE_CAMPAIGN), ("character", "/characters", SAMPLE_CHARACTER)]
OPERATIONS = OperationNames(yaml.safe_load(CONTRACT.read_text())["paths"])


@pytest.fixture(scope="module")
def truncating() -> Iterator[StackInfo]:
    with EmbeddedStack(characters=10, seed=9, faults=["storage:truncate_names=20"]) as info:
        yield info


def _record(info: StackInfo, path: Path, name: str) -> None:
    """A user's session against the legacy backend, recorded."""
    with (
        path.open("w") as stream,
        httpx.Client(base_url=info.legacy_url, event_hooks={"response": [Recorder(stream).on_response]}) as legacy,
    ):
        campaign = legacy.post("/campaigns", json=SAMPLE_CAMPAIGN).json()["id"]
        created = legacy.post("/characters", json={**SAMPLE_CHARACTER, "name": name, "campaign_id": campaign})
        character = created.json()["id"]
        legacy.get(f"/characters/{character}")
        legacy.patch(f"/characters/{character}", json={"level": 4}, headers={"If-Match": '"1"'})
        legacy.patch(f"/characters/{character}", json={"level": 5}, headers={"If-Match": '"1"'})  # stale: 412
        legacy.get(f"/campaigns/{campaign}/characters")
        legacy.post("/characters", json={**SAMPLE_CHARACTER, "level": 25})  # 422
        legacy.delete(f"/characters/{character}")
        legacy.get(f"/characters/{character}")  # 404
        legacy.delete(f"/campaigns/{campaign}")
        legacy.get("/health")  # names the backend: left out of the replay


def _replay_on_storage(info: StackInfo, recording: Path) -> ReplaySummary:
    with httpx.Client(base_url=info.storage_url) as storage:
        return replay(read_recording(recording), storage, noise=learn_noise(storage, SAMPLES), operations=OPERATIONS)


def test_replay_of_matching_answers(truncating: StackInfo, tmp_path: Path) -> None:
    recording = tmp_path / "session.jsonl"
    _record(truncating, recording, "Short Name")
    summary = _replay_on_storage(truncating, recording)
    assert summary.ok, summary.table()
    assert summary.exchanges == 10 and sum(summary.matches.values()) == 10
    assert summary.matches["PATCH /characters/{character_id}"] == 2
    assert summary.not_replayed == {"GET /health": 1}


def test_replay_counts_mismatches_per_operation_and_field(truncating: StackInfo, tmp_path: Path) -> None:
    recording = tmp_path / "session.jsonl"
    _record(truncating, recording, "Bartholomew the Unyielding")
    summary = _replay_on_storage(truncating, recording)
    assert not summary.ok
    fields = dict(summary.fields)
    assert fields == {
        ("POST /characters", "body.name"): 1,
        ("GET /characters/{character_id}", "body.name"): 1,
        ("PATCH /characters/{character_id}", "body.name"): 1,
        ("GET /campaigns/{campaign_id}/characters", "body.items[*].name"): 1,
    }, summary.table()
    table = summary.table()
    assert "recorded 'Bartholomew the Unyielding' != replayed 'Bartholomew the Unyi'" in table
    assert summary.matches["DELETE /characters/{character_id}"] == 1


def test_cli_replays_a_schemathesis_har(tmp_path: Path) -> None:
    """schemathesis fuzzes the legacy backend and writes a HAR; ``harness differential replay`` replays it on
    a storage backend that answers validation errors with 400, and exits 1 naming the fields that differ."""
    with EmbeddedStack(characters=10, seed=9, faults=["storage:error_status=400"]) as info:
        _fuzz_and_replay(info, tmp_path)


def _fuzz_and_replay(info: StackInfo, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    fuzz = subprocess.run(
        [schemathesis, "run", str(CONTRACT), "--url", info.legacy_url, "--max-examples", "5", "--seed", "3",
         "--phases", "examples,coverage,fuzzing", "--include-path-regex", "^/characters$", "--report-dir",
         str(tmp_path), "--no-color"],
        cwd=ROOT, env={**env, "SCHEMATHESIS_HOOKS": ""}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert fuzz.returncode == 0, fuzz.stdout[-2000:]
    har = next(tmp_path.glob("har-*.json"))
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.pair]\nenvironment = "dev"\n[targets.pair.backends.legacy]\nurl = "{info.legacy_url}"\n'
        f'[targets.pair.backends.storage]\nurl = "{info.storage_url}"\n'
    )
    summary_json = tmp_path / "replay.json"
    result = subprocess.run(
        [sys.executable, "-m", "harness", "differential", "replay", str(har), "--target", "pair", "--json",
         str(summary_json)],
        cwd=ROOT, env={**env, "HARNESS_CONFIG": str(config)}, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    summary = json.loads(summary_json.read_text())
    fields = {(f["operation"], f["field"]) for f in summary["fields"]}
    assert {("POST /characters", "status"), ("POST /characters", "body.status")} <= fields, result.stdout[-3000:]
    assert summary["operations"]["POST /characters"]["match"] > 0  # valid requests still agree
    assert "POST /characters status: " in result.stdout and "recorded 422 != storage 400" in result.stdout


def test_cli_bad_recording_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"method": "GET"}\n')
    result = subprocess.run(
        [sys.executable, "-m", "harness", "differential", "replay", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == f"harness: error: {bad}:1: not a recorded exchange (KeyError: 'path')"


def _pair_config(tmp_path: Path, info: StackInfo, environment: str = "dev") -> Path:
    config = tmp_path / "harness.toml"
    config.write_text(
        f'[targets.pair]\nenvironment = "{environment}"\n[targets.pair.backends.legacy]\nurl = "{info.legacy_url}"\n'
        f'[targets.pair.backends.storage]\nurl = "{info.storage_url}"\n'
    )
    return config


def test_cli_differential_run(tmp_path: Path) -> None:
    """``harness differential run``: exit 1 with the minimal sequence on a divergence; refuses a production
    target without --allow-writes in one line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    command = [sys.executable, "-m", "harness", "differential", "run", "--target", "pair"]
    # a hang guard, not a figure: the diverging run shrinks its sequence, 140 s alone on a slow machine and over
    # 300 s beside three other workers on its two cores
    with EmbeddedStack(characters=10, seed=9, faults=["storage:error_status=400"]) as info:
        diverging = subprocess.run(
            command, cwd=ROOT, env={**env, "HARNESS_CONFIG": str(_pair_config(tmp_path, info))},
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        production = subprocess.run(
            command, cwd=ROOT, env={**env, "HARNESS_CONFIG": str(_pair_config(tmp_path, info, "production"))},
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
    assert diverging.returncode == 1, diverging.stdout[-3000:] + diverging.stderr[-2000:]
    assert "fuzz profile ci" in diverging.stdout
    assert "status: legacy 422 != storage 400" in diverging.stdout
    assert "sequence (1 request(s); minimal)" in diverging.stdout
    assert production.returncode == 2
    assert production.stderr.strip() == (
        "harness: error: target 'pair' is production: differential run writes; pass --allow-writes"
    )
