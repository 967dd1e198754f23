"""Interrupted mid-run, the harness leaves nothing: SIGINT and SIGTERM of ``harness up``, ``harness data compare``
and ``harness load run`` leave no process, no temporary directory and no database or role on a DSN-named server;
after SIGKILL of ``harness up`` the next run removes what it left (naming it in one line) and works.

Each command runs with its own TMPDIR and a marker in its environment (every child inherits it), and on a
DSN-named server as a role of the test's own, so what is left is told apart from other runs on the machine."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
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
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parents[2]
MACHINE_PG_DSN = os.environ.get("HARNESS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")

pytestmark = pytest.mark.slow


@dataclass
class Run:
    """One command's world: its TMPDIR, environment marker, and the server role it creates databases as."""

    tmp: Path
    marker: str
    role: str | None
    admin_dsn: str | None
    tokens: set[str] = field(default_factory=set)  # harness_<token>_ names seen on the server

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
        env.update(TMPDIR=str(self.tmp), HARNESS_INTERRUPT_MARKER=self.marker, HARNESS_ALLURE="0", **extra)
        return env

    def processes(self) -> list[str]:
        found = []
        needle = f"HARNESS_INTERRUPT_MARKER={self.marker}".encode()
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit() and int(proc.name) != os.getpid():
                try:
                    if needle in (proc / "environ").read_bytes():
                        found.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
                except OSError:
                    pass
        return found

    def server_leftovers(self) -> list[str]:
        if self.role is None or MACHINE_PG_DSN is None:
            return []
        with psycopg.connect(MACHINE_PG_DSN, autocommit=True) as conn:
            dbs = conn.execute(
                "SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = %s",
                (self.role,),
            ).fetchall()
            roles = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'harness\\_%%\\_reader'").fetchall()
        self.tokens |= {d[0].split("_")[1] for d in dbs if d[0].startswith("harness_")}
        return [d[0] for d in dbs] + [r[0] for r in roles if r[0].split("_")[1] in self.tokens]

    @property
    def cwd(self) -> Path:
        """The command's working directory (its targets file, its reports), beside TMPDIR."""
        path = self.tmp.with_name(self.tmp.name + "-cwd")
        path.mkdir(exist_ok=True)
        return path

    def left_in_tmp(self) -> list[str]:
        # runtime-<uid>: platformdirs' runtime directory (XDG_RUNTIME_DIR is unset here), not a run's state
        return [p.name for p in self.tmp.iterdir() if not p.name.startswith(("pytest-of-", "runtime-"))]


@pytest.fixture(scope="module")
def machine_role() -> Iterator[tuple[str, str] | None]:
    """A role of this test's own on the machine's PostgreSQL (CREATEDB, CREATEROLE), or None without one."""
    try:
        conn = psycopg.connect(MACHINE_PG_DSN, connect_timeout=3, autocommit=True)
    except psycopg.Error:
        yield None
        return
    role = f"secint_{secrets.token_hex(4)}"
    with conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD 'x'").format(sql.Identifier(role)))
    try:
        yield role, make_conninfo(MACHINE_PG_DSN, user=role, password="x")
    finally:
        with psycopg.connect(MACHINE_PG_DSN, autocommit=True) as conn:
            for (name,) in conn.execute(
                "SELECT d.datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = %s", (role,)
            ).fetchall():
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def run(request: pytest.FixtureRequest, machine_role: tuple[str, str] | None) -> Iterator[Run]:
    tmp = Path(tempfile.mkdtemp(prefix="hi-"))  # short: the embedded PostgreSQL's socket path must fit
    dsn_named = "dsn" in request.node.name
    if dsn_named and machine_role is None:
        pytest.skip(f"no PostgreSQL at {MACHINE_PG_DSN}; set HARNESS_TEST_PG_DSN")
    role, admin = machine_role if dsn_named and machine_role else (None, None)
    try:
        yield Run(tmp, secrets.token_hex(8), role, admin)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(tmp.with_name(tmp.name + "-cwd"), ignore_errors=True)


def _start(run: Run, args: list[str], config: str = "") -> subprocess.Popen[str]:
    env = run.env()
    if config:
        (run.cwd / "harness.toml").write_text(config)
        env["HARNESS_CONFIG"] = str(run.cwd / "harness.toml")
    if run.admin_dsn:
        env["HARNESS_PG_DSN"] = run.admin_dsn
    return subprocess.Popen(
        [sys.executable, "-m", "harness", *args],
        cwd=run.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(proc: subprocess.Popen[str], text: str, run: Run, timeout: float = 120) -> str:
    """Read the output until ``text`` appears (watching the server meanwhile, to learn the stack's names)."""
    assert proc.stdout is not None
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                seen.append(line)
                if text in line:
                    done.set()
        except (ValueError, OSError):  # closed by _assert_clean
            pass
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    READERS[proc.pid] = reader
    reader.start()
    deadline = time.monotonic() + timeout
    while not done.wait(0.2) and time.monotonic() < deadline:
        run.server_leftovers()
    run.server_leftovers()
    return "".join(seen)


READERS: dict[int, threading.Thread] = {}


def _assert_clean(run: Run, proc: subprocess.Popen[str]) -> None:
    code = proc.wait(90)
    reader = READERS.pop(proc.pid, None)
    if reader is not None:
        reader.join(15)  # until every process holding the pipe is gone
    assert proc.stdout is not None
    proc.stdout.close()
    assert code in (0, 1, 130), f"exit {code}"
    deadline = time.monotonic() + 10  # services notice their parent is gone within a second
    while run.processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.processes() == [], "processes left"
    assert run.left_in_tmp() == [], "left in the temporary directory"
    assert run.server_leftovers() == [], "left on the DSN-named server"


LOCAL = "[local]\ncharacters = 300\n"
LOCAL_DSN = LOCAL + 'pg_dsn = "${HARNESS_PG_DSN}"\n'


@pytest.mark.parametrize(
    ("case", "args", "config", "wait_for", "after", "sig"),
    [
        ("up-ready-sigint-dsn", ["up", "--characters", "50"], "", "Ready.", 0.0, signal.SIGINT),
        ("up-ready-sigterm", ["up", "--characters", "50"], "", "Ready.", 0.0, signal.SIGTERM),
        ("up-starting-sigterm-dsn", ["up", "--characters", "3000"], "", "", 2.5, signal.SIGTERM),
        ("up-starting-sigint", ["up", "--characters", "3000"], "", "", 2.5, signal.SIGINT),
        ("compare-sigint-dsn", ["data", "compare", "--characters", "3000"], LOCAL_DSN, "", 4.0, signal.SIGINT),
        ("compare-sigterm", ["data", "compare", "--characters", "3000"], LOCAL, "", 4.0, signal.SIGTERM),
        (
            "load-sigint",
            ["load", "run", "--run-time", "60s", "--users", "2"],
            LOCAL,
            "harness load:",
            2.0,
            signal.SIGINT,
        ),
        (
            "load-sigterm-dsn",
            ["load", "run", "--run-time", "60s", "--users", "2"],
            LOCAL_DSN,
            "harness load:",
            2.0,
            signal.SIGTERM,
        ),
    ],
)
def test_an_interrupt_leaves_nothing(
    run: Run, case: str, args: list[str], config: str, wait_for: str, after: float, sig: signal.Signals
) -> None:
    proc = _start(run, args, config)
    if wait_for:
        output = _wait_for(proc, wait_for, run)
        assert wait_for in output, output[-2000:]
        time.sleep(after)
    try:
        # interrupt once the stack's services run: a fixed wait was too long on a quiet machine (the whole compare
        # of 3,000 characters takes under a second now) and too short on a loaded one
        deadline = time.monotonic() + 60
        while len(run.processes()) <= 1 and proc.poll() is None and time.monotonic() < deadline:
            run.server_leftovers()
            time.sleep(0.05)
        assert len(run.processes()) > 1, "the command started nothing yet: the interrupt would prove nothing"
        if run.role:
            assert run.server_leftovers(), "no database yet on the server: the interrupt would prove little"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # a failed precondition must not leave the command (or its pipe) behind
        proc.wait(30)
        assert proc.stdout is not None
        proc.stdout.close()
        raise
    os.kill(proc.pid, sig)
    _assert_clean(run, proc)


@pytest.mark.parametrize("where", ["embedded", "dsn"])
def test_after_sigkill_the_next_run_removes_what_was_left(run: Run, where: str) -> None:
    killed = _start(run, ["up", "--characters", "20"])
    assert "Ready." in _wait_for(killed, "Ready.", run)
    killed.kill()
    killed.wait(10)
    assert killed.stdout is not None
    killed.stdout.close()
    assert run.left_in_tmp(), "SIGKILL left nothing: this test would prove nothing"
    if where == "dsn":
        assert run.server_leftovers(), "SIGKILL left no database: this test would prove nothing"
    following = _start(run, ["up", "--characters", "20"])
    output = _wait_for(following, "Ready.", run)
    assert "Ready." in output, output[-2000:]
    assert "of a stack that was killed" in output, output[-2000:]
    os.kill(following.pid, signal.SIGINT)
    _assert_clean(run, following)
