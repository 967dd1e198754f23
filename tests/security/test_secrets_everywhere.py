"""Secrets never reach an output: a DSN password and bearer tokens (literal and ``${VAR}``) are grepped for in the
stdout and stderr of every command, in every file they write (reports, Allure results, JUnit, locust's files,
the verdicts), in pytest's output with ``-vv --tb=long``, in one-line error messages, and in the command lines
of every process running meanwhile (``ps``). The stack runs with failing faults, so failure paths are covered.
Files that must hold a secret (the shared stack's ``info.json``) are 0600 while they exist and gone after."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PG_DSN = os.environ.get("HARNESS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_PASSWORD = "pg-Secret-7f3a9c"  # the admin DSN's password (the machine's server trusts loopback, so any works)
API_TOKEN = "api-Token-51be0d77c2"  # [targets.X.auth] bearer_token, through ${API_TOKEN}
ANY_TOKEN = re.compile(r"sst_[A-Za-z0-9_-]{20,}")  # a Storage Service token, whichever stack made it

pytestmark = pytest.mark.slow


@dataclass
class Surfaces:
    """Everything the commands showed or left: (where, text)."""

    texts: list[tuple[str, str]] = field(default_factory=list)
    ps: list[str] = field(default_factory=list)
    exits: dict[str, int] = field(default_factory=dict)
    private_files: dict[str, int] = field(default_factory=dict)  # info.json seen -> its mode

    def __repr__(self) -> str:  # this test's own output must not show what it looks for either
        return f"Surfaces({len(self.texts)} texts, {len(self.ps)} ps lines, exits {self.exits})"

    def tail(self, name: str) -> str:
        return "\n".join(text[-1500:] for where, text in self.texts if where.startswith(name + ":"))

    def add_run(self, name: str, result: subprocess.CompletedProcess[str]) -> None:
        self.exits[name] = result.returncode
        self.texts += [(f"{name}: stdout", result.stdout), (f"{name}: stderr", result.stderr)]

    def add_files(self, root: Path) -> None:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.texts.append((f"file {path.relative_to(root)}", path.read_bytes().decode("utf-8", "replace")))


class ProcessWatcher:
    """``ps`` of every process, every 100 ms, while the commands run."""

    def __init__(self, surfaces: Surfaces, started: float, tmp: Path) -> None:
        self.surfaces, self.started, self.tmp = surfaces, started, tmp
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        tmp = self.tmp
        while not self.stop.wait(0.1):
            out = subprocess.run(["ps", "-eww", "-o", "args="], capture_output=True, text=True, check=False).stdout
            self.surfaces.ps.extend(out.splitlines())
            for info in tmp.glob("harness-run-*/info.json"):
                try:
                    if info.stat().st_mtime >= self.started:
                        self.surfaces.private_files[str(info)] = stat.S_IMODE(info.stat().st_mode)
                except FileNotFoundError:
                    pass


def _env(config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    return {**env, "HARNESS_CONFIG": str(config), "HARNESS_ALLURE": "1", **extra}


def _run(cwd: Path, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def admin_dsn() -> str:
    """The machine's PostgreSQL with a password in the DSN, else the embedded one (then no admin password)."""
    try:
        with psycopg.connect(MACHINE_PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return ""
    return make_conninfo(MACHINE_PG_DSN, password=PG_PASSWORD)


@pytest.fixture(scope="module")
def faulty_stack(admin_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``harness up --json`` with data and access faults (so checks fail), on a DSN-named server when there is one."""
    out = tmp_path_factory.mktemp("stack") / "up.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    if admin_dsn:
        env["HARNESS_PG_DSN"] = admin_dsn
    cmd = [sys.executable, "-m", "harness", "up", "--json", "--characters", "20"]
    cmd += ["--fault", "missing_records=2", "--fault", "open_storage"]
    with open(out, "wb") as fh:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not out.read_text().strip() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        yield json.loads(out.read_text())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


def _targets_file(path: Path, info: dict[str, str], admin_dsn: str) -> None:
    down = "postgresql://harness:pg-Secret-7f3a9c@127.0.0.1:1/legacy"  # the password again, in an error path
    backends = f"""
[targets.{{name}}.backends.legacy]
url = "{info["legacy_url"]}"
[targets.{{name}}.backends.storage]
url = "{info["storage_url"]}"
[targets.{{name}}.auth]
bearer_token = "${{{{API_TOKEN}}}}"
"""
    text = f"""
[local]
characters = 10
faults = ["open_storage", "missing_records=1"]
{'pg_dsn = "${PG_DSN}"' if admin_dsn else ""}

[targets.lit]
environment = "staging"
[targets.lit.source]
dsn = "{info["reader_dsn"]}"
[targets.lit.destination]
url = "{info["storage_service_url"]}"
token = "{info["storage_read_token"]}"
[targets.lit.security]
other_database_token = "{info["storage_other_token"]}"
read_token = "{info["storage_read_token"]}"
{backends.format(name="lit")}
[targets.env]
environment = "staging"
[targets.env.source]
dsn = "${{READER_DSN}}"
[targets.env.destination]
url = "{info["storage_service_url"]}"
token = "${{READ_TOKEN}}"
[targets.env.security]
other_database_token = "${{OTHER_TOKEN}}"
read_token = "${{READ_TOKEN}}"
{backends.format(name="env")}
[targets.down]
environment = "dev"
[targets.down.source]
dsn = "{down}"
[targets.down.destination]
url = "{info["storage_service_url"]}"
token = "${{READ_TOKEN}}"
{backends.format(name="down")}
"""
    path.write_text(text)


def _harness_up_human(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``harness up`` as a person runs it: the human output until Ready, then Ctrl-C."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "up", "--characters", "5", "--fault", "reader_can_write"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ready."):
            break
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines) + rest, err)


@pytest.fixture(scope="module")
def surfaces(
    faulty_stack: dict[str, str], admin_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Surfaces, list[str]]:
    work = tmp_path_factory.mktemp("work")
    config = work / "harness.toml"
    _targets_file(config, faulty_stack, admin_dsn)
    secrets = [
        API_TOKEN,
        *(faulty_stack[k] for k in faulty_stack if k.endswith("_token")),
        str(conninfo_to_dict(faulty_stack["reader_dsn"])["password"]),
        *([PG_PASSWORD] if admin_dsn else []),
    ]
    env = _env(
        config,
        API_TOKEN=API_TOKEN,
        READ_TOKEN=faulty_stack["storage_read_token"],
        OTHER_TOKEN=faulty_stack["storage_other_token"],
        READER_DSN=faulty_stack["reader_dsn"],
        **({"PG_DSN": admin_dsn, "HARNESS_PG_DSN": admin_dsn} if admin_dsn else {}),
    )
    # the commands' own TMPDIR, where the shared stacks' run directories go (short: the embedded PostgreSQL's
    # socket path must fit in 107 bytes)
    tmp = Path(tempfile.mkdtemp(prefix="hs-"))
    env["TMPDIR"] = str(tmp)
    found = Surfaces()
    watcher = ProcessWatcher(found, time.time(), tmp)
    watcher.thread.start()
    allure, junit = work / "reports" / "allure", work / "reports" / "junit"
    (work / "reports").mkdir()
    pytest_args = ["-m", "pytest", "-p", "no:cacheprovider", "-vv", "--tb=long", "-rA", "--rootdir", str(ROOT)]
    try:
        found.add_run("harness data verify", _run(work, env, "-m", "harness", "data", "verify", "--target", "env"))
        found.add_run(
            "harness data compare",
            _run(work, env, "-m", "harness", "data", "compare", "--target", "lit", "--output", "reports/compare.json"),
        )
        found.add_run(
            "harness data check-refs --json",
            _run(work, env, "-m", "harness", "data", "check-refs", "--target", "env", "--json"),
        )
        found.add_run(
            "harness data verify (down)", _run(work, env, "-m", "harness", "data", "verify", "--target", "down")
        )
        found.add_run(
            "pytest suites/security (named)",
            _run(
                work,
                env,
                *pytest_args,
                str(ROOT / "suites" / "security"),
                "--target",
                "env",
                "--alluredir",
                str(allure / "security"),
                "--junitxml",
                str(junit / "security.xml"),
            ),
        )
        found.add_run(  # the source refuses the connection: the failure path of the credentials probe
            "pytest suites/security (down)",
            _run(
                work,
                env,
                *pytest_args,
                str(ROOT / "suites" / "security" / "test_harness_credentials.py"),
                "-k",
                "postgres_role",
                "--target",
                "down",
                "--alluredir",
                str(allure / "down"),
            ),
        )
        found.add_run(
            "pytest suites/data (named)",
            _run(
                work,
                env,
                *pytest_args,
                str(ROOT / "suites" / "data"),
                "--target",
                "lit",
                "--alluredir",
                str(allure / "data"),
                "--junitxml",
                str(junit / "data.xml"),
            ),
        )
        found.add_run(
            "pytest -n 2 suites/security (local, pg_dsn)",
            _run(
                work,
                env,
                *pytest_args,
                "-n",
                "2",
                str(ROOT / "suites" / "security"),
                "--alluredir",
                str(allure / "local"),
            ),
        )
        found.add_run(
            "harness load run",
            _run(
                work,
                env,
                "-m",
                "harness",
                "load",
                "run",
                "--target",
                "env",
                "--users",
                "2",
                "--run-time",
                "4s",
                "--rule-window",
                "2s",
                "--rule-for",
                "1s",
            ),
        )
        found.add_run("harness up", _harness_up_human(work, env))
    finally:
        watcher.stop.set()
        watcher.thread.join()
    found.add_files(work / "reports")
    found.add_files(tmp)  # what the runs left in their temporary directory (should be nothing)
    left = [str(p) for p in tmp.iterdir() if not p.name.startswith("pytest-of-")]  # pytest's own basetemp
    found.texts.append(("left in TMPDIR", "\n".join(left)))
    shutil.rmtree(tmp, ignore_errors=True)
    return found, Secrets(secrets)


class Secrets(list[str]):
    def __repr__(self) -> str:
        return f"Secrets({len(self)})"


EXPECTED_EXITS = {
    "harness data verify": (1,),  # missing_records
    "harness data compare": (1,),
    "harness data check-refs --json": (0, 1),
    "harness data verify (down)": (2,),  # one line naming the unreachable source
    "pytest suites/security (named)": (1,),  # open_storage
    "pytest suites/security (down)": (1,),  # the source cannot be reached
    "pytest suites/data (named)": (1,),  # missing_records
    "pytest -n 2 suites/security (local, pg_dsn)": (1,),
    "harness load run": (0, 3, 4),
    "harness up": (0,),
}


@pytest.mark.parametrize("command", list(EXPECTED_EXITS))
def test_the_commands_ran_their_failure_paths(surfaces: tuple[Surfaces, list[str]], command: str) -> None:
    found, _ = surfaces
    assert found.exits[command] in EXPECTED_EXITS[command], found.tail(command)


def test_every_kind_of_report_was_written(surfaces: tuple[Surfaces, list[str]]) -> None:
    found, _ = surfaces
    kinds = {where.split("/")[0] for where, _ in found.texts if where.startswith("file ")}
    assert {"file compare.json", "file allure", "file junit"} <= kinds, kinds
    assert any(where.startswith("file load-") for where, _ in found.texts), "harness load run wrote no reports"
    assert found.ps, "ps saw nothing"


def leaks_in(found: Surfaces, secrets: list[str]) -> list[str]:
    leaks = [f"{where}: {secret[:4]}…" for where, text in found.texts for secret in secrets if secret in text]
    leaks += [f"{where}: a Storage Service token" for where, text in found.texts if ANY_TOKEN.search(text)]
    leaks += [f"ps: {line[:80]}" for line in found.ps for secret in secrets if secret in line]
    return leaks


def test_no_secret_on_any_surface(surfaces: tuple[Surfaces, list[str]]) -> None:
    found, secrets = surfaces
    leaks = leaks_in(found, secrets)
    assert leaks == [], f"{len(leaks)} leak(s): " + "; ".join(leaks[:20])


def test_the_grep_finds_what_is_there(surfaces: tuple[Surfaces, list[str]], faulty_stack: dict[str, str]) -> None:
    """Not vacuous: ``harness up --json`` prints the tokens by design, and the same grep finds every one."""
    _, secrets = surfaces
    printed = Surfaces(texts=[("harness up --json: stdout", json.dumps(faulty_stack))], ps=[json.dumps(faulty_stack)])
    tokens = [s for s in secrets if s.startswith("sst_")]
    assert len(tokens) == 5 and len(leaks_in(printed, tokens)) == 5 * 2 + 1


def test_the_shared_stack_info_is_private_and_removed(surfaces: tuple[Surfaces, list[str]]) -> None:
    found, _ = surfaces
    assert found.private_files, "the -n 2 run wrote no info.json the watcher saw"
    assert set(found.private_files.values()) == {0o600}, found.private_files
    assert [f for f in found.private_files if Path(f).exists()] == []
    assert dict(found.texts)["left in TMPDIR"] == "", "the runs left files in their temporary directory"
