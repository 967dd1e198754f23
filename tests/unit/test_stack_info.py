"""One description of a running embedded default, ``StackInfo``, read back from what ``harness up --json`` prints
and turned into the local target the same way by every entry point (commands and the pytest plugin)."""

from __future__ import annotations

import json

from harness.embedded import StackInfo
from harness.targets import local_target_of

INFO = StackInfo(
    legacy_url="http://127.0.0.1:4001",
    storage_url="http://127.0.0.1:4002",
    storage_service_url="http://127.0.0.1:4003",
    source_dsn="postgresql://postgres@/legacy?host=/tmp/x",
    storage_database="character_db",
    characters=10,
    seed=1,
    postgres="embedded pgserver in /tmp/x",
    faults=["storage:latency=0.1"],
)


def test_what_harness_up_prints_reads_back() -> None:
    assert StackInfo.from_json(INFO.to_json()) == INFO
    newer = {**json.loads(INFO.to_json()), "a_key_of_a_later_version": True}
    assert StackInfo.from_json(newer) == INFO


def test_the_local_target_of_a_stack() -> None:
    target = local_target_of(INFO)
    assert target.name == "local" and target.environment == "dev"
    assert {b: target.backends[b].url for b in target.backends} == {
        "legacy": INFO.legacy_url,
        "storage": INFO.storage_url,
    }
    assert target.source is not None and target.source.dsn == INFO.source_dsn
    assert target.destination is not None
    assert (target.destination.url, target.destination.database) == (INFO.storage_service_url, "character_db")
