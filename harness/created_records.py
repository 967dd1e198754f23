"""What a run created on a target, so that all of it is removed again: fuzzing (schemathesis) and the differential
machine write generated records that carry no tag, so every ``201`` is noted here (its ``Location``, else the
collection URL plus the body's ``id``) the moment its answer arrives, and deleted at the end: also when a test
fails, and, because the ledger is a JSON Lines file per process, when the run is interrupted (the pytest plugin
removes what every worker's ledger still lists once the run ends). A write and the noting of its answer are one
step (``interrupts_held``): xdist stops a worker with a SIGINT of its own, which could otherwise land after the
target created a record and before the ledger heard of it.

Deletion knows nothing about the kinds of records: a record that cannot be deleted yet (``409``, e.g. a campaign
that still has members) is retried after the others.

A run's ledgers (``run_directory``): one file per process in a directory named by the run id, so xdist workers
write their own and the run's owner, once every worker is done (or interrupted), removes what any of them still
lists (``remove_run_records``); the gate does it again for a suite child it had to kill."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from .http_client import new_client
from .redaction import redact

if TYPE_CHECKING:
    from .config import Target

GONE = (200, 202, 204, 404, 410)  # deleted now, or already gone (the fuzzer's own DELETE)
PASSES = 4  # deletion passes: records others depend on are deleted once those are gone


def created_url(request_url: str, status: int, headers: Mapping[str, Any], body: Any) -> str | None:
    """The URL of what a ``201`` answer to ``request_url`` created: its ``Location`` resolved against the request
    (a path or a full URL), else the request's URL plus the body's ``id``; None for any other answer. (The
    contract suite once looked up ``Location`` in schemathesis' lower-cased headers and so deleted nothing.)"""
    if status != 201:
        return None
    location = headers.get("location") or headers.get("Location")
    if isinstance(location, list):  # schemathesis' responses hold each header as a list of values
        location = location[0] if location else None
    if location:
        return urllib.parse.urljoin(request_url, str(location))
    if isinstance(body, dict) and isinstance(body.get("id"), str | int):
        base = request_url.split("?", 1)[0].rstrip("/")
        return f"{base}/{urllib.parse.quote(str(body['id']), safe='')}"
    return None


@contextlib.contextmanager
def interrupts_held(*, deliver: bool = True) -> Iterator[list[int]]:
    """Hold a SIGINT that arrives inside the block until the block ends, then act on it as it would have been
    (KeyboardInterrupt under Python's default handler). Around "send a request that may create a record, note
    its answer": the request is bounded by the target's read timeout, so Ctrl-C is late by at most that. Outside
    the main thread (where no signal arrives) it holds nothing. Yields the signals held; ``deliver=False`` drops
    them at the end (a clean-up at the very end of a run: the caller reports the interrupt itself)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield received
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and deliver:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signal.SIGINT)


def delete_listed(
    client: httpx.Client, path: str, params: Mapping[str, Any], ours: Callable[[dict[str, Any]], bool], max_pages: int
) -> int:
    """Delete the records of the listing ``path`` (walked by ``next_cursor``, at most ``max_pages`` pages) that are
    ``ours``; returns how many are gone now. The sweeps of tagged records (synthetic suites' records, a load
    run's) use it: best effort, so a listing that does not answer or is not a page ends it quietly."""
    removed = 0
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, TypeError):
        cursor = None
        for _ in range(max_pages):
            page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})})
            if page.status_code != 200:
                break
            data = page.json()
            for record in data["items"]:
                if ours(record) and client.delete(f"{path}/{record['id']}").status_code in GONE:
                    removed += 1
            cursor = data.get("next_cursor")
            if cursor is None:
                break
    return removed


@dataclass
class Removal:
    created: int = 0
    removed: int = 0
    left: list[tuple[str, str]] = field(default_factory=list)  # (url, why)
    by_backend: dict[str, int] = field(default_factory=dict)  # backend -> records created

    def summary(self, where: str = "") -> str:
        per = ", ".join(f"{b} {n}" for b, n in sorted(self.by_backend.items()))
        text = f"created {self.created} record(s){where}" + (f" ({per})" if per else "")
        text += f", removed {self.removed}"
        if self.left:
            shown = "; ".join(f"{redact(url)}: {why}" for url, why in self.left[:5])
            more = f"; and {len(self.left) - 5} more" if len(self.left) > 5 else ""
            text += f"; {len(self.left)} NOT removed: {shown}{more}"
        return text


class CreatedRecords:
    """A ledger of created records per backend. ``path`` makes it durable (one JSON object a line: ``created``
    or ``removed``), for a run that may be interrupted; without it, it lives in memory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._created: dict[str, str] = {}  # url -> backend, in creation order
        self._removed: set[str] = set()

    def _write(self, entry: dict[str, str]) -> None:
        if self.path is not None:
            # made with the first entry, not up front: a run that creates nothing leaves no directory behind
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:  # one line each, flushed on close
                out.write(json.dumps(entry) + "\n")

    def note(self, backend: str, url: str) -> None:
        with self._lock:
            if url not in self._created:
                self._created[url] = backend
                self._write({"created": url, "backend": backend})

    def note_answer(self, backend: str, request_url: str, status: int, headers: Mapping[str, Any], body: Any) -> None:
        url = created_url(request_url, status, headers, body)
        if url is not None:
            self.note(backend, url)

    def note_httpx(self, backend: str, response: httpx.Response) -> None:
        if response.status_code == 201:
            with contextlib.suppress(ValueError):
                body = response.json()
                self.note_answer(backend, str(response.request.url), 201, response.headers, body)
                return
            self.note_answer(backend, str(response.request.url), 201, response.headers, None)

    def mark_removed(self, url: str) -> None:
        with self._lock:
            if url not in self._removed:
                self._removed.add(url)
                self._write({"removed": url})

    @property
    def pending(self) -> dict[str, str]:
        with self._lock:
            return {u: b for u, b in self._created.items() if u not in self._removed}

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return len(self._created), len(self._removed & set(self._created))

    def remove(self, clients: Mapping[str, httpx.Client]) -> Removal:
        """Delete every pending record through the client of its backend (absolute URLs, so the client's auth
        and timeouts apply); retried passes for records that answer 409 until the others are gone."""
        pending = self.pending
        why: dict[str, str] = {}
        for _ in range(PASSES):
            if not pending:
                break
            blocked: dict[str, str] = {}
            for url, backend in reversed(pending.items()):  # newest first: members before their campaign
                client = clients.get(backend)
                if client is None:
                    why[url] = f"no client for backend {backend}"
                    continue
                try:
                    status = client.delete(url).status_code
                except httpx.HTTPError as exc:
                    why[url] = type(exc).__name__
                    blocked[url] = backend
                    continue
                if status in GONE:
                    self.mark_removed(url)
                    why.pop(url, None)
                else:
                    why[url] = f"DELETE answered {status}"
                    blocked[url] = backend
            if len(blocked) == len(pending):
                pending = blocked
                break
            pending = blocked
        created, removed = self.counts()
        per: dict[str, int] = {}
        with self._lock:
            for backend in self._created.values():
                per[backend] = per.get(backend, 0) + 1
        return Removal(created, removed, [(u, why.get(u, "not deleted")) for u in self.pending], per)

    @classmethod
    def read(cls, paths: Iterable[Path]) -> CreatedRecords:
        """One in-memory ledger from the files of every process of a run (lines cut by a kill are skipped)."""
        ledger = cls()
        for path in sorted(paths):
            with contextlib.suppress(OSError):
                for line in path.read_text(encoding="utf-8").splitlines():
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue
                    if "created" in entry:
                        ledger.note(str(entry.get("backend", "")), str(entry["created"]))
                    elif "removed" in entry:
                        ledger.mark_removed(str(entry["removed"]))
        return ledger


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
