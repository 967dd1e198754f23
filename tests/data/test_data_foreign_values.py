"""Values a deployment holds that the reference never does, each one a way for a wrong "equal" to hide.

A legacy table of the machine's PostgreSQL with integer keys and typed columns the reference has none of
(boolean, date, time, bytea, numeric, text[], jsonb), declared twice: as a ``table`` and as a ``query`` (with
SQL comments before and after it) building documents with a nested object and an empty one. The destination is
a reference Storage Service holding what an export of those rows gives (``to_jsonb``). Equal data is equal; a
boolean that became a number, a nested object written as a dotted key, an empty object dropped, a document's own
``id`` or ``version`` field and a changed date are each named; a sample of integer keys compares records; a key
that is nowhere (or that is not a valid key) is "not found" rather than "equal"."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from data_helpers import deployment_targets, foreign_deployment

from harness.config import load_config, resolve_target
from harness.data.cli import open_sides
from harness.data.compare import CompareOptions, compare
from harness.data.report import CompareReport

pytestmark = pytest.mark.slow
QUESTS = 400
DATABASE = "quest_db"
LEGACY_DDL = """
CREATE TABLE quests (
    qid bigint PRIMARY KEY, title text NOT NULL, active boolean NOT NULL, due date NOT NULL, starts time NOT NULL,
    seal bytea NOT NULL, reward numeric(8, 2) NOT NULL, labels text[] NOT NULL, meta jsonb NOT NULL,
    row_version integer NOT NULL
);
INSERT INTO quests
SELECT n, 'quest ' || n, n % 2 = 0, date '2024-01-01' + n, time '06:00' + n * interval '1 minute',
       decode(lpad(to_hex(n), 4, '0'), 'hex'), n * 1.25, ARRAY['tag' || (n % 3), 'x'],
       jsonb_build_object('diff', n % 5, 'boss', n % 7 = 0), 1
FROM generate_series(1, 400) AS n;
"""
MAPPING = """
[targets.quests.compare]
segment_size = 50

[targets.quests.compare.collections.quest_rows]
destination = "quest_rows"
key_type = "integer"
table = "quests"
key = "qid"
version = "row_version"

[targets.quests.compare.collections.quest_docs]
destination = "quest_docs"
key_type = "integer"
version = "version"
query = '''
-- the quests as the migration writes them
SELECT q.qid AS key, q.row_version AS version,
       jsonb_build_object('title', q.title, 'active', q.active, 'meta', q.meta, 'extra', '{}'::jsonb) AS document
FROM quests q  -- every row
'''
"""


@dataclass
class Deployment:
    legacy_dsn: str
    storage_url: str
    config: Path

    def put(self, collection: str, key: int, document: dict[str, Any], version: int = 1) -> None:
        url = f"{self.storage_url}/databases/{DATABASE}/collections/{collection}/batch"
        records = [{"id": str(key), "version": version, "document": document}]
        httpx.post(url, json={"records": records}).raise_for_status()

    def document(self, collection: str, key: int) -> dict[str, Any]:
        url = f"{self.storage_url}/databases/{DATABASE}/collections/{collection}/records/{key}"
        response = httpx.get(url)
        response.raise_for_status()
        return dict(response.json()["document"])

    def compare(self, **options: Any) -> tuple[CompareReport, CompareReport]:
        """The checksums-first compare (small ranges bisected) and the every-record one."""
        target = resolve_target(load_config(self.config), "quests")
        assert target is not None
        with open_sides(target) as (settings, source, destination):
            assert source is not None and destination is not None
            bisecting = dataclasses.replace(settings, bisection_factor=4, bisection_threshold=10)
            return (
                compare(source, destination, bisecting, CompareOptions(**options)),
                compare(source, destination, settings, CompareOptions(checksums=False, **options)),
            )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", "data", *args, "--target", "quests"],
            capture_output=True,
            text=True,
            timeout=120,
            env={"HARNESS_CONFIG": str(self.config), "PATH": "/usr/bin:/bin"},
        )


def _export(dsn: str, storage_url: str) -> None:
    """What an export of the rows gives: to_jsonb of each row; the documents built in Python from it."""
    with httpx.Client(timeout=30) as client, psycopg.connect(dsn) as conn:
        client.put(f"{storage_url}/databases/{DATABASE}").raise_for_status()
        rows = conn.execute("SELECT qid, row_version, (to_jsonb(q) - 'qid' - 'row_version')::text FROM quests q")
        exported = [(qid, version, json.loads(text)) for qid, version, text in rows]
        documents = {
            "quest_rows": [{"id": str(k), "version": v, "document": row} for k, v, row in exported],
            "quest_docs": [
                {
                    "id": str(k),
                    "version": v,
                    "document": {"title": row["title"], "active": row["active"], "meta": row["meta"], "extra": {}},
                }
                for k, v, row in exported
            ],
        }
        for name, records in documents.items():
            base = f"{storage_url}/databases/{DATABASE}/collections/{name}"
            client.put(base).raise_for_status()
            client.post(f"{base}/batch", json={"records": records}).raise_for_status()


@pytest.fixture
def deployment(machine_pg_dsn: str, tmp_path: Path) -> Iterator[Deployment]:
    with foreign_deployment(machine_pg_dsn, tmp_path, "quest", LEGACY_DDL) as (legacy_dsn, storage_url):
        _export(legacy_dsn, storage_url)
        config = deployment_targets(tmp_path / "harness.toml", "quests", legacy_dsn, storage_url, DATABASE, MAPPING)
        yield Deployment(legacy_dsn, storage_url, config)


def _changed(report: CompareReport) -> dict[tuple[str, str], set[str]]:
    return {(d.collection, d.key): {f.path for f in d.fields} for d in report.differences if d.kind == "changed"}


def test_typed_columns_and_nested_documents_are_equal(deployment: Deployment) -> None:
    """date, time, bytea, numeric, text[] and jsonb columns against their exported form; the query (with SQL
    comments around it) settled by its checksums."""
    for report in deployment.compare():
        assert report.verdict == "equal", report.summary()
        counts = {c.collection: (c.source_count, c.destination_count, c.covered) for c in report.collections}
        assert counts == {"quest_rows": (QUESTS, QUESTS, QUESTS), "quest_docs": (QUESTS, QUESTS, QUESTS)}


def test_each_hidden_difference_is_named(deployment: Deployment) -> None:
    docs = {k: deployment.document("quest_docs", k) for k in (2, 3, 4, 5, 6, 400)}
    assert docs[2]["active"] is True
    deployment.put("quest_docs", 2, {**docs[2], "active": 1})  # a boolean that became a number
    meta = docs[3].pop("meta")
    deployment.put("quest_docs", 3, {**docs[3], **{f"meta.{k}": v for k, v in meta.items()}})  # dotted, not nested
    deployment.put("quest_docs", 4, {k: v for k, v in docs[4].items() if k != "extra"})  # {} dropped
    deployment.put("quest_docs", 5, {**docs[5], "id": "999"})  # a document's own id
    deployment.put("quest_docs", 6, {**docs[6], "version": "schema-7"})  # a document's own version
    deployment.put("quest_docs", 400, {**docs[400], "active": 1.0})  # the last key
    row = deployment.document("quest_rows", 1)
    deployment.put("quest_rows", 1, {**row, "due": "2024-01-03"})  # the first key: a date one day later

    for report in deployment.compare():
        assert report.verdict == "different", report.summary()
        changed = _changed(report)
        assert set(changed) == {("quest_docs", str(k)) for k in (2, 3, 4, 5, 6, 400)} | {("quest_rows", "1")}
        assert "active" in changed[("quest_docs", "2")]
        assert "active" in changed[("quest_docs", "400")]
        assert {"meta.diff", "meta\\.diff"} <= changed[("quest_docs", "3")]
        assert changed[("quest_docs", "4")] == {"extra"}
        assert changed[("quest_docs", "5")] == {"(document) id"}
        assert changed[("quest_docs", "6")] == {"(document) version"}
        assert changed[("quest_rows", "1")] == {"due"}


def test_a_sample_of_integer_keys_compares_records(deployment: Deployment) -> None:
    """Ranges of a sample are cut at the source's keys: cut in the UUID space, keys 1..400 fell into a few
    ranges and most samples compared nothing."""
    deployment.put("quest_docs", 7, {**deployment.document("quest_docs", 7), "title": "renamed"})
    for seed in range(5):
        for report in deployment.compare(sample=0.25, seed=seed, collections=("quest_docs",)):
            (result,) = report.collections
            assert result.sampled
            assert 0.2 * QUESTS <= result.covered <= 0.3 * QUESTS, report.summary()


def test_a_cut_short_run_reports_the_whole_counts(deployment: Deployment) -> None:
    for k in (10, 200, 390):
        deployment.put("quest_docs", k, {**deployment.document("quest_docs", k), "title": "renamed"})
    for report in deployment.compare(max_diffs=1, collections=("quest_docs",)):
        assert report.verdict == "different", report.summary()
        (result,) = report.collections
        assert (result.source_count, result.destination_count) == (QUESTS, QUESTS), report.summary()
        assert result.covered < QUESTS


def test_show_of_a_key_that_is_nowhere_is_not_found(deployment: Deployment) -> None:
    shown = deployment.cli("show", "3", "--collection", "quest_docs")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "EQUAL" in shown.stdout
    # absent, path-like (it must not name record 2 of the destination) and out of the bigint range
    for key in ("12345", "3/../2", "99999999999999999999"):
        shown = deployment.cli("show", key, "--collection", "quest_docs")
        assert shown.returncode == 1, shown.stdout + shown.stderr
        assert "NOT FOUND" in shown.stdout, shown.stdout
        assert "Traceback" not in shown.stderr


def test_show_names_a_boolean_that_became_a_number(deployment: Deployment) -> None:
    deployment.put("quest_docs", 2, {**deployment.document("quest_docs", 2), "active": 1})
    shown = deployment.cli("show", "2", "--collection", "quest_docs")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "source vs destination: active" in shown.stdout, shown.stdout


def test_a_snapshot_of_integer_keys_has_even_ranges_and_finds_a_change(deployment: Deployment) -> None:
    from harness.data.snapshot import changed_since, snapshot

    target = resolve_target(load_config(deployment.config), "quests")
    assert target is not None
    with open_sides(target) as (settings, source, destination):
        assert source is not None and destination is not None
        snap = snapshot(source, destination, settings, ["quest_docs"])
        for side in ("source", "destination"):
            counts = [r["count"] for r in snap["collections"]["quest_docs"][side]["ranges"]]
            # 400 records in ranges of about segment_size (50): not a few crowded ranges of the UUID space
            assert sum(counts) == QUESTS and len(counts) == QUESTS // 50 and max(counts) <= 60, counts
        deployment.put("quest_docs", 123, {**deployment.document("quest_docs", 123), "title": "renamed"})
        changed = changed_since(snap, destination, settings)
        assert changed.verdict == "different", changed.summary()
        records = [(p.kind, p.where) for p in changed.problems if p.kind != "changed range"]
        assert records == [("changed record", "destination quest_docs/123")], changed.problems
        assert changed_since(snap, source, settings).verdict == "equal"
