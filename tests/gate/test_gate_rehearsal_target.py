"""A named target that may be rehearsed on (``[targets.X.gate] rehearse = true``) with its own data scripts
declared as commands: the gate runs the guide's migration and rollback through them, as on the embedded default.
Here the scripts are the reference's (``python -m reference_system.scripts``) against a stack the test starts
seeded and unmigrated; a script that fails is a failed step (NO-GO) naming it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gate_helpers import gate_env, run_gate

from harness.embedded import EmbeddedStack, StackInfo

pytestmark = pytest.mark.slow
PY = sys.executable


def _config(path: Path, info: StackInfo, scripts: dict[str, str]) -> Path:
    lines = [
        "[targets.rehearsal]", 'environment = "staging"',
        "[targets.rehearsal.backends.legacy]", f'url = "{info.legacy_url}"',
        "[targets.rehearsal.backends.storage]", f'url = "{info.storage_url}"',
        "[targets.rehearsal.source]", f'dsn = "{info.reader_dsn or info.source_dsn}"',
        "[targets.rehearsal.destination]", f'url = "{info.storage_service_url}"',
        f'token = "{info.storage_read_token}"',
        "[targets.rehearsal.gate]", "rehearse = true",
        "[targets.rehearsal.gate.scripts]", *(f"{k} = '{v}'" for k, v in scripts.items()),
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _scripts(**overrides: str) -> dict[str, str]:
    run = f"{PY} -m reference_system.scripts"
    scripts = {
        "export": f"{run} export_data {{export_dir}}",
        "import": f"{run} import_to_storage {{export_file}}",
        "stop": f"{run} stop_migration {{export_file}}",
        "resume": f"{run} resume_migration {{export_file}}",
        "backup": f"{run} backup_source {{backup_dir}}",
        "restore": f"{run} restore_db {{backup_dir}}",
        "cleanup": f"{run} cleanup_storage",
    }
    return {**scripts, **overrides}


@pytest.fixture
def unmigrated() -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=30, seed=3, migrate=False)
    try:
        yield stack.start()
    finally:
        stack.stop()


def _env(info: StackInfo, config: Path) -> dict[str, str]:
    # the scripts take their connections from the environment, as the guide's do
    return gate_env(
        HARNESS_CONFIG=str(config),
        DATABASE_URL=info.source_dsn,
        STORAGE_SERVICE_URL=info.storage_service_url,
        STORAGE_TOKEN=info.storage_admin_token,
    )


PHASES = ("--only", "preflight", "--only", "snapshot", "--only", "migration", "--only", "data", "--only", "rollback")


def test_a_declared_rehearsal_migrates_and_rolls_back(unmigrated: StackInfo, tmp_path: Path) -> None:
    config = _config(tmp_path / "harness.toml", unmigrated, _scripts())
    run = run_gate(tmp_path, "--target", "rehearsal", *PHASES, env=_env(unmigrated, config))
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    for check in ("migration.export", "migration.import", "migration.verify", "data.compare", "rollback.stop",
                  "rollback.restore", "rollback.cleanup"):  # fmt: skip
        assert run.check(check)["outcome"] == "pass", run.check(check)
    summary = f"{unmigrated.storage_service_url}/databases/character_db/collections/characters/summary"
    assert (
        httpx.get(summary, timeout=10, headers=unmigrated.read_headers()).json()["count"] == 0
    )  # the rollback left the destination empty


def test_a_failing_import_script_is_no_go_naming_it(unmigrated: StackInfo, tmp_path: Path) -> None:
    config = _config(tmp_path / "harness.toml", unmigrated, _scripts(**{"import": 'sh -c "echo refused >&2; exit 3"'}))
    run = run_gate(tmp_path, "--target", "rehearsal", *PHASES, env=_env(unmigrated, config))
    assert run.returncode == 1, run.stdout[-3000:]
    failed = run.check("migration.import")
    assert failed["outcome"] == "fail" and "import script exited 3: refused" in failed["summary"]


def test_a_rehearsal_target_without_all_its_scripts_skips_the_rehearsal_saying_which(tmp_path: Path) -> None:
    scripts = _scripts()
    del scripts["restore"]
    info = StackInfo("http://127.0.0.1:9", "http://127.0.0.1:9", "http://127.0.0.1:9", "postgresql://x@127.0.0.1:9/x",
                     "character_db", 0, 0, "none")  # fmt: skip
    config = _config(tmp_path / "harness.toml", info, scripts)
    run = run_gate(tmp_path, "--target", "rehearsal", "--plan", env=gate_env(HARNESS_CONFIG=str(config)))
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stdout.splitlines() if x.startswith("rollback.restore"))
    assert "[targets.rehearsal.gate.scripts] lacks restore" in line


MUTATE = """
import os, psycopg
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    first = "SELECT id FROM characters ORDER BY id LIMIT 1"
    conn.execute(f"UPDATE characters SET char_name = char_name || '!' WHERE id = ({first})")
"""


@pytest.mark.parametrize("broken", ["stop", "restore", "cleanup"])
def test_a_rollback_script_that_does_nothing_fails_its_check(
    unmigrated: StackInfo, tmp_path: Path, broken: str
) -> None:
    overrides = {broken: "true"}
    if broken == "restore":  # the source changes after the backup (as a live migration's would); restore must undo it
        mutate = tmp_path / "mutate.py"
        mutate.write_text(MUTATE, encoding="utf-8")
        overrides["import"] = f"{PY} -m reference_system.scripts import_to_storage {{export_file}} && {PY} {mutate}"
    config = _config(tmp_path / "harness.toml", unmigrated, _scripts(**overrides))
    run = run_gate(tmp_path, "--target", "rehearsal", *PHASES, env=_env(unmigrated, config))
    assert run.returncode == 1, run.stdout[-3000:]
    check = run.check(f"rollback.{broken}")
    assert check["outcome"] == "fail", check
    if broken == "restore":
        assert any(f["detail"].startswith("changed record") for f in check["findings"]), check["findings"]
    if broken == "cleanup":
        assert "still holds records" in check["summary"]


def test_a_stop_proven_on_a_destination_the_cleanup_left_full_cannot_decide(
    unmigrated: StackInfo, tmp_path: Path
) -> None:
    """rollback.stop empties the destination first, so an import that ignores the stop shows as records written.
    With a cleanup script that does nothing the destination still held every record: an import that went on
    rewrote the same records, the counts stayed, and the stop (a script that does nothing here too) passed as
    "an import told to stop wrote nothing". It cannot decide; the cleanup's own check fails."""
    config = _config(tmp_path / "harness.toml", unmigrated, _scripts(stop="true", cleanup="true"))
    run = run_gate(tmp_path, "--target", "rehearsal", *PHASES, env=_env(unmigrated, config))
    assert run.returncode == 1, run.stdout[-3000:]
    stop = run.check("rollback.stop")
    assert stop["outcome"] == "inconclusive", stop
    assert "still held" in stop["summary"], stop
    assert run.check("rollback.cleanup")["outcome"] == "fail"
