"""A check that looked at nothing decided nothing: no record on either side of any collection (a mapping whose
query selects nothing, the wrong database, a source not seeded yet) made compare and verify EQUAL and check-refs
CLEAN, exit 0. They are incomplete now, and say why; one record on each side, equal, decides again. A declared
mapping on the machine's PostgreSQL and a reference Storage Service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from data_helpers import deployment_targets, foreign_deployment

from harness.cli import main

pytestmark = pytest.mark.slow
DATABASE = "guild_db"
DDL = "CREATE TABLE guilds (guild_no integer PRIMARY KEY, guild_title text NOT NULL);"
MAPPING = """
[targets.guild.compare.collections.guilds]
destination = "guild_docs"
key_type = "integer"
query = "SELECT g.guild_no AS key, jsonb_build_object('title', g.guild_title) AS document FROM guilds g"
"""


@pytest.fixture
def empty_deployment(machine_pg_dsn: str, tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    with foreign_deployment(machine_pg_dsn, tmp_path, "guild", DDL) as (legacy_dsn, storage_url):
        with httpx.Client(timeout=30) as client:
            client.put(f"{storage_url}/databases/{DATABASE}").raise_for_status()
            client.put(f"{storage_url}/databases/{DATABASE}/collections/guild_docs").raise_for_status()
        config = deployment_targets(tmp_path / "harness.toml", "guild", legacy_dsn, storage_url, DATABASE, MAPPING)
        yield legacy_dsn, storage_url, config


def _verdicts(config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[int, object]]:
    """compare, verify and check-refs of the target: each one's (exit code, verdict)."""
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    out = {}
    for command in ("compare", "verify", "check-refs"):
        report = tmp_path / f"{command}.json"
        code = main(["data", command, "--target", "guild", "--output", str(report)])
        out[command] = (code, json.loads(report.read_text())["verdict"])
    return out


def test_nothing_on_either_side_is_incomplete_and_one_equal_record_is_equal(
    empty_deployment: tuple[str, str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    legacy_dsn, storage_url, config = empty_deployment
    undecided = _verdicts(config, tmp_path, monkeypatch)
    assert undecided == dict.fromkeys(("compare", "verify", "check-refs"), (1, "incomplete")), undecided
    printed = capsys.readouterr().out
    assert "nothing was compared" in printed and "nothing was checked" in printed
    with psycopg.connect(legacy_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO guilds VALUES (1, 'Guild of 1')")
    record = {"id": "1", "version": 1, "document": {"title": "Guild of 1"}}
    url = f"{storage_url}/databases/{DATABASE}/collections/guild_docs/batch"
    httpx.post(url, json={"records": [record]}, timeout=30).raise_for_status()
    decided = _verdicts(config, tmp_path, monkeypatch)
    assert decided == {"compare": (0, "equal"), "verify": (0, "equal"), "check-refs": (0, "clean")}, decided
