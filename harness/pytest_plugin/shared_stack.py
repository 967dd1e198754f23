"""One embedded default for a whole pytest run, also under pytest-xdist: the first worker that needs the
``local`` target starts ``harness up --json`` (under a file lock), every other worker reads what it printed, and
the process that owns the run (the xdist controller, or pytest itself without xdist) stops it at the end.
``harness up`` also watches the owner's pid, so a killed run leaves nothing behind.

The run's directory holds what ``harness up --json`` printed (``info.json``: DSNs and tokens), so it is private
(0700, ``info.json`` 0600), and ``harness up`` removes it when it stops, also when the run was killed."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import LocalSettings
from ..errors import StackError

if TYPE_CHECKING:
    from ..embedded.stack import StackInfo

START_TIMEOUT = 180.0
# The `harness up` processes this process started: kept referenced so they are reaped with wait(), not
# garbage-collected while running (which warns, and fails runs under filterwarnings=error).
_STARTED: dict[Path, subprocess.Popen[bytes]] = {}


ROLES = ("main", "pristine")  # pristine: a second stack no test of the run writes to (see `pristine_target`)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds secrets), created so: never readable for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


class SharedLocalStack:
    def __init__(self, run_id: str, owner_pid: int, settings: LocalSettings, role: str = "main") -> None:
        if role not in ROLES:
            raise ValueError(f"unknown stack role {role!r}")
        suffix = "" if role == "main" else f"-{role}"
        self.dir = Path(tempfile.gettempdir()) / f"harness-run-{run_id}{suffix}"
        self.owner_pid = owner_pid
        self.settings = settings

    def info(self) -> StackInfo:
        """The running stack's description, starting it if this is the first request of the run."""
        from ..embedded.stack import StackInfo  # the launcher's modules only once a stack is wanted

        return StackInfo.from_json(self._info())

    def _info(self) -> dict[str, Any]:
        self.dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)  # mkdir's mode is masked by the umask
        with open(self.dir / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            info_file, error_file = self.dir / "info.json", self.dir / "error.txt"
            if info_file.exists():
                return json.loads(info_file.read_text())  # type: ignore[no-any-return]
            if error_file.exists():
                raise StackError(error_file.read_text().strip())
            try:
                info = self._start()
            except StackError as exc:
                error_file.write_text(str(exc))
                raise
            write_private(info_file, json.dumps(info))
            return info

    def _start(self) -> dict[str, Any]:
        s = self.settings
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "up",
            "--json",
            "--characters",
            str(s.characters),
            "--seed",
            str(s.seed),
            "--watch-pid",
            str(self.owner_pid),
            "--remove-on-exit",
            str(self.dir),
        ]
        for fault in s.faults:
            cmd += ["--fault", fault]
        env = dict(os.environ)
        env.pop("HARNESS_FAULTS", None)  # faults for the local target come from [local] faults only
        if s.pg_dsn:
            env["HARNESS_PG_DSN"] = s.pg_dsn  # through the environment, never the command line
        log = open(self.dir / "harness-up.log", "wb")  # noqa: SIM115 - handed to the child
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        log.close()
        _STARTED[self.dir] = proc
        (self.dir / "pid").write_text(str(proc.pid))
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                break
        proc.stdout.close()
        if not line:
            self.stop(remove=False)
            tail = (self.dir / "harness-up.log").read_text(errors="replace").strip().splitlines()
            raise StackError(f"the local target's embedded default did not start: {tail[-1] if tail else 'no output'}")
        return json.loads(line)  # type: ignore[no-any-return]

    def stop(self, remove: bool = True) -> None:
        pid_file = self.dir / "pid"
        proc = _STARTED.pop(self.dir, None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            pid_file.unlink(missing_ok=True)
        if pid_file.exists():
            pid = int(pid_file.read_text())
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(300):  # up to 30 s for a clean stop
                    os.kill(pid, 0)
                    try:
                        if os.waitpid(pid, os.WNOHANG) != (0, 0):
                            break
                    except ChildProcessError:
                        pass
                    time.sleep(0.1)
                else:
                    os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            pid_file.unlink(missing_ok=True)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)
