"""What a killed stack leaves, found and removed by the next one. ``harness up`` stops everything on SIGINT and
SIGTERM; after SIGKILL its services stop by themselves (they watch their parent), but the embedded PostgreSQL,
the temporary directory and the databases on a DSN-named server stay. Each stack therefore records in its
directory who owns it and what it created there (``owner.json``, 0600: no secret, only names); a stack that
starts later removes the directories of owners that are gone, stops their PostgreSQL, and drops their databases
and roles when it works on the same server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

OWNER_FILE = "owner.json"
PREFIX = "harness-stack-"


def record(workdir: Path, **state: Any) -> None:
    """Write (or update) the owner file of a stack's directory."""
    path = workdir / OWNER_FILE
    current = json.loads(path.read_text()) if path.is_file() else {"pid": os.getpid()}
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**current, **state}, fh)
    os.replace(path.with_suffix(".tmp"), path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_postmaster(workdir: Path) -> None:
    for pidfile in workdir.glob("pgdata-*/postmaster.pid"):
        try:
            pid = int(pidfile.read_text().splitlines()[0])
            if b"postgres" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                continue  # the pid was reused by something else
            os.kill(pid, signal.SIGQUIT)  # immediate shutdown: its data directory is removed next
        except (OSError, ValueError, IndexError):
            pass


def stale_stacks(parent: Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """(directory, owner state) of every stack whose owner process is gone."""
    found = []
    for workdir in Path(parent or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            state = json.loads((workdir / OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue  # not a stack of this version, or still being set up: not ours to judge
        if isinstance(state, dict) and isinstance(state.get("pid"), int) and not _alive(state["pid"]):
            found.append((workdir, state))
    return found


def remove(workdir: Path) -> None:
    _stop_postmaster(workdir)
    shutil.rmtree(workdir, ignore_errors=True)
