"""The run's ledger of created records (``harness.created_records``) under pytest: one file per process in a
directory named by the run id, so xdist workers write their own and the run's owner, once every worker is done
(or interrupted), removes what any of them still lists and says how many were created and removed."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import httpx

from ..config import Target
from ..created_records import CreatedRecords, Removal
from ..http_client import new_client


def run_directory(run_id: str) -> Path:
    return Path(tempfile.gettempdir()) / f"harness-created-{run_id}"


def process_ledger(run_id: str) -> CreatedRecords:
    return CreatedRecords(run_directory(run_id) / f"created-{os.getpid()}.jsonl")


def remove_run_records(run_id: str, target: Target | None) -> Removal | None:
    """Remove what the run's ledgers still list, through the target's clients (its auth and timeouts); None
    when the run created nothing. ``target`` None: the embedded default (no auth), still running now."""
    directory = run_directory(run_id)
    paths = list(directory.glob("created-*.jsonl"))
    if not paths:
        with contextlib.suppress(OSError):
            directory.rmdir()  # an empty one (nothing was ever noted in it) is left by nobody
        return None
    ledger = CreatedRecords.read(paths)
    backends = set(ledger.pending.values())
    clients: dict[str, httpx.Client] = {}
    try:
        for backend in backends:
            if target is not None and backend in target.backends:
                clients[backend] = target.client(backend)
            else:
                clients[backend] = new_client(timeout=10)
        removal = ledger.remove(clients)
    finally:
        for client in clients.values():
            client.close()
    if not removal.left:
        with contextlib.suppress(OSError):
            shutil.rmtree(directory)
    return removal
