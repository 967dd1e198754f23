"""A deployment the harness's authors never saw, declared in ``[targets.X.compare.collections.NAME]``: a legacy
schema shaped unlike the reference's (other tables and columns, integer keys, text keys in a linguistic
collation, children both in a JSON column and in a child table of another shape) on the machine's PostgreSQL,
and a reference Storage Service on a database of its own with other collection names. With the declared
mapping, compare, verify and check-refs report equal (clean) on equal data and name each injected difference."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
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
from harness.data.refs import check_refs
from harness.data.report import CompareReport, ProblemReport
from harness.data.verify import verify

pytestmark = pytest.mark.slow
GUILDS, HEROES = 30, 60
DATABASE = "game_db"
LEGACY_DDL = """
CREATE TABLE guilds (guild_no integer PRIMARY KEY, guild_title varchar(80) NOT NULL, founded timestamp NOT NULL);
CREATE TABLE heroes (
    hero_code text COLLATE "en-x-icu" PRIMARY KEY,  -- a linguistic order: 'hero-a' < 'Hero-B', unlike bytes
    display   text NOT NULL,
    lvl       integer NOT NULL,
    guild_no  integer,
    gear      jsonb NOT NULL DEFAULT '[]',           -- children in one JSON column
    created   timestamptz NOT NULL
);
CREATE TABLE hero_skills (                            -- children in a table of another shape
    hero_code text NOT NULL, slot integer NOT NULL, skill text NOT NULL, rank integer NOT NULL,
    PRIMARY KEY (hero_code, slot)
);
"""
MAPPING = """
[targets.game.compare.collections.guilds]
destination = "guild_docs"
key_type = "integer"
query = '''
SELECT g.guild_no AS key,
       jsonb_build_object('title', g.guild_title,
                          'founded', to_char(g.founded, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS document
FROM guilds g
'''

[targets.game.compare.collections.heroes]
destination = "hero_docs"
key_type = "text"
table = "heroes"
key = "hero_code"
children.skills = { table = "hero_skills", join = "hero_code", order = "slot" }
references = { guild = "guilds" }

[targets.game.compare.collections.heroes.renames.source]
display = "name"
lvl = "level"
guild_no = "guild"
created = "created_at"
"skills.skill" = "skills.name"

[targets.game.compare.collections.heroes.renames.destination]
heroName = "name"
guildId = "guild"
createdAt = "created_at"
"""


@dataclass
class Deployment:
    legacy_dsn: str
    storage_url: str
    config: Path
    heroes: list[str]  # hero codes in the legacy table

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(self.legacy_dsn, autocommit=True) as conn:
            conn.execute(statement, params)

    def collection(self, name: str) -> str:
        return f"{self.storage_url}/databases/{DATABASE}/collections/{name}"

    def put(self, collection: str, key: str, document: dict[str, Any]) -> None:
        records = [{"id": key, "version": 1, "document": document}]
        httpx.post(f"{self.collection(collection)}/batch", json={"records": records}).raise_for_status()

    def get(self, collection: str, key: str) -> dict[str, Any]:
        response = httpx.get(f"{self.collection(collection)}/records/{key}")
        response.raise_for_status()
        return dict(response.json()["document"])

    def delete(self, collection: str, key: str) -> None:
        httpx.delete(f"{self.collection(collection)}/records/{key}").raise_for_status()

    def checks(self) -> tuple[CompareReport, CompareReport, ProblemReport, ProblemReport]:
        """compare (range checksums first, and every record read), verify and check-refs, as the gate calls them;
        the first compare bisects small ranges (integer keys: cut at the source's own keys)."""
        target = resolve_target(load_config(self.config), "game")
        assert target is not None
        with open_sides(target) as (settings, source, destination):
            assert source is not None and destination is not None
            bisecting = dataclasses.replace(settings, bisection_factor=3, bisection_threshold=2)
            first = compare(source, destination, bisecting, CompareOptions())
            every = compare(source, destination, settings, CompareOptions(checksums=False))
            return (
                first,
                every,
                verify(source, destination, settings.collections),
                check_refs(source, destination, settings),
            )


def _migrate(dsn: str, storage_url: str) -> None:
    """The deployment's own migration, written independently of the mapping (Python, not the mapping's SQL)."""
    with httpx.Client(timeout=30) as client, psycopg.connect(dsn) as conn:
        client.put(f"{storage_url}/databases/{DATABASE}").raise_for_status()
        for name in ("guild_docs", "hero_docs"):
            client.put(f"{storage_url}/databases/{DATABASE}/collections/{name}").raise_for_status()
        guilds = [
            {
                "id": str(no),
                "version": 1,
                "document": {"title": title, "founded": founded.isoformat(timespec="milliseconds") + "Z"},
            }
            for no, title, founded in conn.execute("SELECT guild_no, guild_title, founded FROM guilds")
        ]
        skills: dict[str, list[dict[str, Any]]] = {}
        for code, skill, rank in conn.execute("SELECT hero_code, skill, rank FROM hero_skills ORDER BY slot"):
            skills.setdefault(code, []).append({"name": skill, "rank": rank})
        heroes = [
            {
                "id": code,
                "version": 1,
                "document": {
                    "heroName": display,
                    "level": lvl,
                    "guildId": guild,
                    "gear": gear,
                    "skills": skills.get(code, []),
                    "createdAt": created.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
                },
            }
            for code, display, lvl, guild, gear, created in conn.execute(
                "SELECT hero_code, display, lvl, guild_no, gear, created FROM heroes"
            )
        ]
        for name, records in (("guild_docs", guilds), ("hero_docs", heroes)):
            url = f"{storage_url}/databases/{DATABASE}/collections/{name}/batch"
            client.post(url, json={"records": records}).raise_for_status()


@pytest.fixture
def deployment(machine_pg_dsn: str, tmp_path: Path) -> Iterator[Deployment]:
    with foreign_deployment(machine_pg_dsn, tmp_path, "game", LEGACY_DDL) as (legacy_dsn, storage_url):
        rng = random.Random(5)
        base = dt.datetime(2021, 3, 1, 12, 0, 0)
        heroes: list[str] = []
        with psycopg.connect(legacy_dsn, autocommit=True) as conn:
            for no in range(1, GUILDS + 1):
                founded = base + dt.timedelta(days=no, microseconds=no * 1234)
                conn.execute("INSERT INTO guilds VALUES (%s, %s, %s)", (no, f"Guild of {no}", founded))
            for i in range(HEROES):
                code = f"{rng.choice(['hero', 'Hero', 'HERO'])}{rng.choice('-_.')}{i:02d}"
                heroes.append(code)
                gear = [{"item": f"item {j}", "qty": rng.randint(1, 5)} for j in range(rng.randint(2, 3))]
                created = dt.datetime(2022, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i, microseconds=777)
                guild = None if i % 10 == 0 else rng.randint(1, GUILDS)
                conn.execute(
                    "INSERT INTO heroes VALUES (%s, %s, %s, %s, %s, %s)",
                    (code, f"Hero {i}", rng.randint(1, 20), guild, json.dumps(gear), created),
                )
                for slot in range(rng.randint(1, 3)):
                    conn.execute(
                        "INSERT INTO hero_skills VALUES (%s, %s, %s, %s)", (code, slot, f"skill {slot}", slot + i)
                    )
        _migrate(legacy_dsn, storage_url)
        config = deployment_targets(tmp_path / "harness.toml", "game", legacy_dsn, storage_url, DATABASE, MAPPING)
        yield Deployment(legacy_dsn, storage_url, config, heroes)


def _by_collection(report: CompareReport) -> dict[str, Any]:
    return {c.collection: c for c in report.collections}


def test_equal_data_is_equal_on_every_check(deployment: Deployment) -> None:
    first, every, verified, refs = deployment.checks()
    for report in (first, every):
        assert report.verdict == "equal", report.summary()
        counts = {c.collection: (c.source_count, c.destination_count, c.covered) for c in report.collections}
        assert counts == {"guilds": (GUILDS, GUILDS, GUILDS), "heroes": (HEROES, HEROES, HEROES)}
    # the query builds the stored document, so its checksums settle guilds without reading a record; the table
    # form's rows are not the stored form: heroes are read record by record, and the report says why
    assert _by_collection(first)["guilds"].by_checksum == GUILDS
    assert _by_collection(first)["heroes"].by_checksum == 0
    assert any(n.startswith("heroes: range checksums off") for n in first.notes)
    assert verified.verdict == "equal", verified.summary()
    assert verified.checked == {
        f"{s} {c}": n for s in ("source", "destination") for c, n in (("guilds", GUILDS), ("heroes", HEROES))
    }
    assert refs.verdict == "clean", refs.summary()
    assert refs.checked["source hero_skills"] > HEROES and refs.checked["destination heroes"] == HEROES


def test_each_injected_difference_is_named(deployment: Deployment) -> None:
    d = deployment
    codes = sorted(d.heroes)
    gear_hero, skill_hero, missing, src_dangling, dst_dangling = codes[3], codes[17], codes[29], codes[41], codes[55]
    original_title = d.get("guild_docs", "3")["title"]
    d.put("guild_docs", "3", {**d.get("guild_docs", "3"), "title": "Renamed in the destination"})
    doc = d.get("hero_docs", gear_hero)
    gear = [dict(g) for g in doc["gear"]]
    gear[1]["qty"] += 10
    d.put("hero_docs", gear_hero, {**doc, "gear": gear})
    d.delete("hero_docs", missing)
    d.put("hero_docs", "zz-extra-1", {**doc, "heroName": "Nobody"})
    d.put("hero_docs", "ZZ-extra-2", {**doc, "heroName": "Nobody either"})
    dst_guild = d.get("hero_docs", dst_dangling)["guildId"]
    d.put("hero_docs", dst_dangling, {**d.get("hero_docs", dst_dangling), "guildId": 4040})
    d.sql("UPDATE hero_skills SET rank = rank + 100 WHERE hero_code = %s AND slot = 0", (skill_hero,))
    src_guild = d.get("hero_docs", src_dangling)["guildId"]
    d.sql("UPDATE heroes SET guild_no = 999 WHERE hero_code = %s", (src_dangling,))
    d.sql("INSERT INTO hero_skills VALUES ('nobody-99', 0, 'lost', 1)")

    first, every, verified, refs = d.checks()
    for report in (first, every):
        found = {
            (x.collection, x.key): (x.kind, [(f.path, f.source, f.destination) for f in x.fields])
            for x in report.differences
        }
        gear_diff = found.pop(("heroes", gear_hero))
        assert gear_diff[0] == "changed" and [p for p, _, _ in gear_diff[1]] == ["gear[1].qty"]
        skill_diff = found.pop(("heroes", skill_hero))
        assert [p for p, _, _ in skill_diff[1]] == ["skills[0].rank"]
        assert found == {
            ("guilds", "3"): ("changed", [("title", original_title, "Renamed in the destination")]),
            ("heroes", missing): ("missing", []),
            ("heroes", "zz-extra-1"): ("extra", []),
            ("heroes", "ZZ-extra-2"): ("extra", []),
            ("heroes", src_dangling): ("changed", [("guild", 999, src_guild)]),
            ("heroes", dst_dangling): ("changed", [("guild", dst_guild, 4040)]),
        }, report.summary()
        assert report.verdict == "different"
    guilds = _by_collection(first)["guilds"]
    assert GUILDS - 2 <= guilds.by_checksum < GUILDS and guilds.segments > 3  # down to <= 2 records read
    assert {(p.kind, p.where) for p in verified.problems} == {
        ("checksum mismatch", "guilds"),
        ("count mismatch", "heroes"),
    }
    assert {(p.kind, p.where) for p in refs.problems} == {
        ("dangling reference", f"source heroes/{src_dangling}"),
        ("orphan row", "source hero_skills/nobody-99#0"),
        ("dangling reference", f"destination heroes/{dst_dangling}"),
    }, refs.summary()


def test_the_cli_reads_the_declared_mapping(deployment: Deployment) -> None:
    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"HARNESS_CONFIG": str(deployment.config), "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, timeout=120, env=env
        )

    run = harness("compare", "--target", "game", "--collection", "heroes")
    assert run.returncode == 0 and run.stdout.startswith("data compare: EQUAL"), run.stdout + run.stderr
    snap = deployment.config.with_name("snapshot.json")
    run = harness("snapshot", "--target", "game", "--output", str(snap))
    assert run.returncode == 0 and f"snapshot written to {snap}" in run.stdout, run.stderr
    changed = sorted(deployment.heroes)[7]
    original = deployment.get("hero_docs", changed)
    deployment.put("hero_docs", changed, {**original, "level": 99})
    run = harness("compare", "--target", "game", "--against-snapshot", str(snap), "--side", "destination", "--json")
    assert run.returncode == 1, run.stderr
    records = [(p["kind"], p["where"]) for p in json.loads(run.stdout)["problems"] if p["kind"] != "changed range"]
    assert records == [("changed record", f"destination heroes/{changed}")]
    run = harness("compare", "--target", "game", "--against-snapshot", str(snap))  # the source: unchanged
    assert run.returncode == 0 and "EQUAL" in run.stdout, run.stdout + run.stderr
    deployment.put("hero_docs", changed, original)
    hero = min(deployment.heroes)
    guild = deployment.get("hero_docs", hero)["guildId"] or 1
    deployment.put("hero_docs", hero, {**deployment.get("hero_docs", hero), "guildId": guild})  # one referrer at least
    deployment.sql("UPDATE heroes SET guild_no = %s WHERE hero_code = %s", (guild, hero))
    deployment.delete("guild_docs", str(guild))
    run = harness("verify", "--target", "game", "--json")
    assert run.returncode == 1
    assert [(p["kind"], p["where"]) for p in json.loads(run.stdout)["problems"]] == [("count mismatch", "guilds")]
    run = harness("check-refs", "--target", "game", "--side", "destination", "--json")
    assert run.returncode == 1
    problems = json.loads(run.stdout)["problems"]
    assert f"destination heroes/{hero}" in [p["where"] for p in problems]
    assert {p["kind"] for p in problems} == {"dangling reference"}


def test_recheck_counts_records_still_in_flight(deployment: Deployment) -> None:
    """--recheck-after: a mismatch that the migration settles during the run is in flight, not a difference."""
    codes = sorted(deployment.heroes)
    caught_up, late, wrong = codes[5], codes[20], codes[40]
    originals = {key: deployment.get("hero_docs", key) for key in (caught_up, late, wrong)}
    deployment.put("hero_docs", caught_up, {**originals[caught_up], "level": 77})
    deployment.delete("hero_docs", late)
    deployment.put("hero_docs", wrong, {**originals[wrong], "level": 88})

    def migration_catches_up(collection: str, covered: int, total: int, differences: int, done: bool) -> None:
        if collection == "heroes" and done:  # after the pass, before the recheck: two records arrive
            deployment.put("hero_docs", caught_up, originals[caught_up])
            deployment.put("hero_docs", late, originals[late])

    target = resolve_target(load_config(deployment.config), "game")
    assert target is not None
    with open_sides(target) as (settings, source, destination):
        assert source is not None and destination is not None
        options = CompareOptions(collections=("heroes",), progress=migration_catches_up, recheck_after=0.1)
        report = compare(source, destination, settings, options)
    heroes = report.collections[0]
    assert (heroes.in_flight, heroes.changed, heroes.missing) == (2, 1, 0), report.summary()
    assert [(d.key, d.kind) for d in report.differences] == [(wrong, "changed")]
    assert report.verdict == "different" and "in flight 2" in report.summary()


def test_partitions_merged_equal_the_whole_run(deployment: Deployment, tmp_path: Path) -> None:
    """--partitions N --partition I (cut at the source's keys) merged with `harness data merge` give what the
    unpartitioned compare gives; a missing partition makes the merge incomplete; --jobs runs them itself."""
    codes = sorted(deployment.heroes)
    deployment.delete("hero_docs", codes[0])
    deployment.put("hero_docs", codes[-1], {**deployment.get("hero_docs", codes[-1]), "level": 50})
    deployment.put("guild_docs", "17", {**deployment.get("guild_docs", "17"), "title": "Changed"})

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        env = {"HARNESS_CONFIG": str(deployment.config), "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, timeout=120, env=env
        )

    def found(report: dict[str, Any]) -> tuple[set[tuple[str, str, str]], dict[str, tuple[int, int, int]]]:
        keys = {(d["collection"], d["key"], d["kind"]) for d in report["differences"]}
        counts = {
            c["collection"]: (c["source_count"], c["destination_count"], c["covered"]) for c in report["collections"]
        }
        return keys, counts

    whole = json.loads(harness("compare", "--target", "game", "--json", "--quiet").stdout)
    outputs = []
    for i in range(3):
        out = tmp_path / f"p{i}.json"
        run = harness(
            "compare", "--target", "game", "--partitions", "3", "--partition", str(i), "--quiet", "--output", str(out)
        )
        assert run.returncode in (0, 1), run.stderr
        outputs.append(str(out))
    merged = harness("merge", *outputs, "--json")
    assert merged.returncode == 1
    assert found(json.loads(merged.stdout)) == found(whole)
    assert len(found(whole)[0]) == 3 and json.loads(merged.stdout)["verdict"] == "different"
    partial = harness("merge", *outputs[:2], "--json")
    assert json.loads(partial.stdout)["verdict"] == "different"  # what it saw differs, and it says what is missing
    assert all("partitions 2 of 3 are missing" in c["incomplete"] for c in json.loads(partial.stdout)["collections"])
    deployment.put("hero_docs", codes[-1], {**deployment.get("hero_docs", codes[-1]), "level": 1})
    jobs = json.loads(harness("compare", "--target", "game", "--jobs", "2", "--json").stdout)
    assert "merged 2 of 2 partitions" in jobs["notes"]
    assert {(d["collection"], d["key"]) for d in jobs["differences"]} >= {("heroes", codes[0]), ("guilds", "17")}


def test_a_missing_partition_is_never_equal(deployment: Deployment, tmp_path: Path) -> None:
    env = {"HARNESS_CONFIG": str(deployment.config), "PATH": "/usr/bin:/bin"}
    outputs = []
    for i in (0, 2):  # partition 1 of 3 never ran
        out = tmp_path / f"p{i}.json"
        args = [
            "compare",
            "--target",
            "game",
            "--partitions",
            "3",
            "--partition",
            str(i),
            "--quiet",
            "--output",
            str(out),
        ]
        run = subprocess.run([sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stdout + run.stderr  # equal data: each partition is equal
        outputs.append(str(out))
    run = subprocess.run(
        [sys.executable, "-m", "harness", "data", "merge", *outputs], capture_output=True, text=True, env=env
    )
    assert run.returncode == 1 and run.stdout.startswith("data compare: INCOMPLETE"), run.stdout
    assert "partitions 1 of 3 are missing" in run.stdout


def test_partitions_of_a_source_that_changed_between_their_runs_are_incomplete(
    deployment: Deployment, tmp_path: Path
) -> None:
    """Each partition cuts at the source's key quantiles when it runs: the first 15 heroes in key order removed
    (on both sides, so the data stays equal) between partition 0 and partition 1 move the cut, and the keys
    between the two cuts are never compared. Each report records its [start, end); the merge finds the gap and
    is not equal. Partitions of different collections are refused (exit 2, one line)."""
    env = {"HARNESS_CONFIG": str(deployment.config), "PATH": "/usr/bin:/bin"}

    def harness(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "harness", "data", *args], capture_output=True, text=True, timeout=120, env=env
        )

    def partition(index: int, collection: str) -> Path:
        out = tmp_path / f"{collection}-{index}.json"
        args = ("--partitions", "2", "--partition", str(index), "--collection", collection)
        run = harness("compare", "--target", "game", *args, "--quiet", "--output", str(out))
        assert run.returncode == 0, run.stdout + run.stderr  # equal data: each partition is equal
        return out

    first = partition(0, "heroes")
    cut = json.loads(first.read_text())["partition"]["bounds"]["heroes"]
    assert cut[0] is None and isinstance(cut[1], str)
    with psycopg.connect(deployment.legacy_dsn, autocommit=True) as conn:
        gone = [
            row[0]
            for row in conn.execute(
                "DELETE FROM heroes WHERE hero_code IN"
                ' (SELECT hero_code FROM heroes ORDER BY hero_code COLLATE "C" LIMIT 15) RETURNING hero_code'
            )
        ]
        conn.execute("DELETE FROM hero_skills WHERE hero_code = ANY(%s)", (gone,))
    for code in gone:
        deployment.delete("hero_docs", code)
    second = partition(1, "heroes")
    start = json.loads(second.read_text())["partition"]["bounds"]["heroes"][0]
    assert start != cut[1]
    merged = harness("merge", str(first), str(second))
    assert merged.returncode == 1 and merged.stdout.startswith("data compare: INCOMPLETE"), merged.stdout
    assert f"heroes: partition 0 ends at {cut[1]!r} but partition 1 starts at {start!r}" in merged.stdout

    run = harness("merge", str(partition(0, "guilds")), str(second))
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr
    assert "partition 0 compared guilds but partition 1 compared heroes" in run.stderr
