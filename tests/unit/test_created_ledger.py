"""The run's ledger of created records leaves nothing in the temporary directory: not when the run created
records and removed them, and not when it created none."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from harness.created_records import process_ledger, remove_run_records, run_directory


@pytest.fixture
def run_id() -> Iterator[str]:
    run = f"test-{uuid.uuid4().hex}"
    yield run
    directory = run_directory(run)
    for path in directory.glob("*"):
        path.unlink()
    if directory.exists():
        directory.rmdir()


@pytest.fixture
def deleting_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_DELETE(self) -> None:
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_ledger_that_notes_nothing_makes_no_directory(run_id: str) -> None:
    process_ledger(run_id)
    assert not run_directory(run_id).exists()
    assert remove_run_records(run_id, None) is None


def test_an_empty_run_directory_is_removed(run_id: str) -> None:
    run_directory(run_id).mkdir()  # as an earlier version left it
    assert remove_run_records(run_id, None) is None
    assert not run_directory(run_id).exists()


def test_a_run_that_created_and_removed_leaves_no_directory(run_id: str, deleting_server: str) -> None:
    ledger = process_ledger(run_id)
    ledger.note("storage", f"{deleting_server}/characters/{uuid.uuid4()}")
    assert run_directory(run_id).is_dir()
    removal = remove_run_records(run_id, None)
    assert removal is not None and not removal.left
    assert not run_directory(run_id).exists()
