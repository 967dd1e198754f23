"""``one_at_a_time``: the lock that serialises pgserver's creation of its system user when stacks start at once.

Each process checks whether a marker exists and, if not, creates it exclusively after a pause: the shape of
``ensure_user_exists`` (``getpwnam``, then ``useradd``, which fails when the user appeared meanwhile)."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import pytest

from harness.embedded.postgres import one_at_a_time

PROCESSES = 4


@pytest.fixture
def lock_file(tmp_path: Path) -> Path:
    lock = tmp_path / "locked"
    lock.write_text("")
    return lock


def _create_when_missing(marker: str, lock: Path | None, barrier: Any, failures: Any) -> None:
    barrier.wait(timeout=30)

    def create() -> None:
        if not os.path.exists(marker):
            time.sleep(0.2)  # the gap between the check and the creation
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                failures.put(os.getpid())

    if lock is None:
        create()
    else:
        with one_at_a_time(lock):
            create()


def _race(tmp_path: Path, lock: Path | None) -> int:
    context = multiprocessing.get_context("spawn")
    barrier, failures = context.Barrier(PROCESSES), context.Queue()
    marker = str(tmp_path / "user")
    processes = [
        context.Process(target=_create_when_missing, args=(marker, lock, barrier, failures)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert os.path.exists(marker)
    count = 0
    while not failures.empty():
        failures.get()
        count += 1
    return count


def test_without_the_lock_starts_at_once_collide(tmp_path: Path) -> None:
    assert _race(tmp_path, None) >= 1


def test_with_the_lock_one_creates_and_the_others_find_it(tmp_path: Path, lock_file: Path) -> None:
    assert _race(tmp_path, lock_file) == 0


def test_the_lock_creates_nothing(tmp_path: Path, lock_file: Path) -> None:
    before = sorted(tmp_path.iterdir())
    with one_at_a_time(lock_file):
        pass
    assert sorted(tmp_path.iterdir()) == before


def _free(lock: Path) -> bool:
    """Whether another open of ``lock`` gets the lock at once (never waits)."""
    with open(lock, "rb") as other:
        try:
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_the_lock_is_held_in_the_block_and_released_on_error(lock_file: Path) -> None:
    with pytest.raises(RuntimeError), one_at_a_time(lock_file):
        assert not _free(lock_file)
        raise RuntimeError("inside")
    assert _free(lock_file)
