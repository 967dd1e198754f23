"""Open a target for the duration of a command: a named one from the targets file, or the built-in ``local``,
whose embedded default is started here and stopped on exit. CLI commands (``harness data``, ``harness
check-latency``, the locustfiles) go through this; the pytest plugin shares one stack across workers instead."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .config import Target
from .config.loader import local_target
from .config.model import LOCAL, SecurityProbes
from .config.run import RunContext

if TYPE_CHECKING:  # the embedded launcher is imported only when a local target is started
    from .embedded import StackInfo


@contextmanager
def open_target(run: RunContext, *, characters: int | None = None, faults: Sequence[str] = ()) -> Iterator[Target]:
    """Yield the run's target: the named one as it is, or the embedded default, started for the duration."""
    run.refuse_faults(faults)
    if run.named is not None:
        yield run.named
        return
    from .embedded import EmbeddedStack

    local = run.config.local
    stack = EmbeddedStack(
        characters=local.characters if characters is None else characters,
        seed=local.seed,
        pg_dsn=local.pg_dsn,
        faults=[*local.faults, *faults],
    )
    try:
        yield local_target_of(stack.start())
    finally:
        stack.stop()


def local_target_of(info: StackInfo) -> Target:
    """The built-in ``local`` target of a running embedded default: the one way every entry point (commands,
    the pytest plugin's shared stack) turns a ``StackInfo`` into a target."""
    return local_target(
        {"legacy": info.legacy_url, "storage": info.storage_url},
        info.reader_dsn or info.source_dsn,  # the data checks read as harness_reader (SELECT only)
        info.storage_service_url,
        info.storage_database,
        token=info.storage_read_token or None,
        security=SecurityProbes(
            other_database_token=info.storage_other_token or None, read_token=info.storage_read_token or None
        ),
    )


__all__ = ["LOCAL", "local_target_of", "open_target"]
