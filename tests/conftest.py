from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psycopg
import pytest

from harness.embedded import EmbeddedStack, StackInfo

MACHINE_PG_DSN = os.environ.get("HARNESS_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
# The shared fixtures that start an embedded stack (here and in tests/load/conftest.py): a test that takes one
# is in the slow tier without having to say so. Tests with a stack or locust of their own carry the mark.
STACK_FIXTURES = frozenset({"stack", "stack_handle", "slow_stack", "erroring_stack"})


def pytest_configure(config: pytest.Config) -> None:
    # A run started in the background of a non-interactive shell (`pytest ... &` in a script) inherits SIGINT
    # ignored, and so would every harness process the tests start: the interrupt tests would see no Ctrl-C at
    # all. A handler set here is reset to the default in each child at exec, so the children get Ctrl-C again.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if STACK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def stack_handle() -> Iterator[EmbeddedStack]:
    """One clean embedded stack for the session (per xdist worker); tests that stop parts of it restore them."""
    stack = EmbeddedStack(characters=120, seed=7)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def stack(stack_handle: EmbeddedStack) -> StackInfo:
    assert stack_handle.info is not None
    return stack_handle.info


@pytest.fixture(scope="session")
def machine_pg_dsn() -> str:
    try:
        with psycopg.connect(MACHINE_PG_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.skip(f"no PostgreSQL at {MACHINE_PG_DSN} ({type(exc).__name__}); set HARNESS_TEST_PG_DSN")
    return MACHINE_PG_DSN
