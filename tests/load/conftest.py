from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.embedded import EmbeddedStack, StackInfo


def _stack(faults: list[str]) -> Iterator[StackInfo]:
    stack = EmbeddedStack(characters=60, seed=11, faults=faults)
    info = stack.start()
    try:
        yield info
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def slow_stack() -> Iterator[StackInfo]:
    """Both backends answer every API request 600 ms late (the reference's latency fault)."""
    yield from _stack(["latency=0.6"])


@pytest.fixture(scope="module")
def erroring_stack() -> Iterator[StackInfo]:
    """Both backends answer 2% of API requests with 500."""
    yield from _stack(["error_rate=0.02"])
