from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness.embedded import StackInfo


def backend_clients(info: StackInfo) -> Iterator[dict[str, httpx.Client]]:
    clients = {
        "legacy": httpx.Client(base_url=info.legacy_url, timeout=10),
        "storage": httpx.Client(base_url=info.storage_url, timeout=10),
    }
    try:
        yield clients
    finally:
        for client in clients.values():
            client.close()


@pytest.fixture
def ci_profile() -> object:
    from harness.fuzz.profiles import select_profile

    return select_profile(env={})
