"""A load run removes what it wrote, also what a write cycle stopped mid-create left: the create reached the
service, but the user was stopped (the run's end and ``--stop-timeout``, or an interrupt) before the answer
came, so it never learnt the id and its ``on_stop`` could not delete it. The run sweeps its own owner tag."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from fault_proxy import Exchange, Fault, fault_proxy

from harness.embedded import StackInfo
from harness.load.runner import run_locust

pytestmark = pytest.mark.slow


CREATED: list[int] = []  # the creates that reached the service


def _creates_answer_late(exchange: Exchange) -> None:
    """The character is created; its answer would come 30 s later: the user gives up after its 10 s network
    timeout (a failed create) or is stopped at the run's end and its 5 s stop timeout, before any answer."""
    if exchange.method == "POST" and exchange.path == "/characters":
        CREATED.append(exchange.status)
        time.sleep(30)


def _left(url: str, owner: str) -> list[str]:
    page = httpx.get(f"{url}/characters", params={"owner": owner, "limit": 100}, timeout=10).json()
    return [c["id"] for c in page["items"]]


def test_a_create_under_way_when_the_run_stops_is_removed(stack: StackInfo, tmp_path: Path) -> None:
    owner = "loadtest-midcreate"
    with fault_proxy(stack.storage_url, Fault(after=_creates_answer_late)) as storage:
        # ten users for 8 s: each starts a write cycle (1 task in 19) well before the end, and stays in it
        run = run_locust(storage, verdict_prefix=tmp_path / "verdict", run_time="8s", users=10,
                         extra=["--run-owner", owner, "--rule-window", "4s", "--rule-for", "2s"])  # fmt: skip
    assert run.verdict is not None, run.tail()
    # every create of the run was under way when it stopped: the sweep found them (without it, they stayed)
    removed = re.search(rf"removed (\d+) record\(s\) of owner {owner} that stopped write cycles left", run.output)
    created = sum(1 for status in CREATED if status == 201)
    assert created >= 1 and removed is not None and int(removed.group(1)) == created, (created, run.tail())
    assert _left(stack.storage_url, owner) == []


def test_a_run_owner_without_the_load_prefix_is_refused(stack: StackInfo, tmp_path: Path) -> None:
    """The sweep deletes by the owner tag: a tag that could be a real player's is refused before any load."""
    run = run_locust(stack.storage_url, verdict_prefix=tmp_path / "verdict", run_time="5s", users=1,
                     extra=["--run-owner", "alice"])  # fmt: skip
    assert run.exit_code == 2, run.tail()
    assert "--run-owner must start with 'loadtest-'" in run.tail()
    assert run.verdict is None
