"""Open a target for the duration of a command: a named one from the targets file, or the built-in ``local``,
whose embedded default is started here and stopped on exit. CLI commands (``harness data``, ``harness
check-latency``, the locustfiles) go through this; the pytest plugin shares one stack across workers instead."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

from .config import Config, Target, load_config, resolve_settings, resolve_target
from .config.loader import stack_target
from .config.model import LOCAL


@contextmanager
def open_target(
    name: str | None = None, *, config: Config | None = None, characters: int | None = None, faults: Sequence[str] = ()
) -> Iterator[Target]:
    """Yield the target named by ``name`` (option) > ``HARNESS_TARGET`` > file > ``local``."""
    config = config or load_config()
    settings = resolve_settings(config, target=name)
    target = resolve_target(config, settings.target)
    if target is not None:
        yield target
        return
    from .embedded import EmbeddedStack

    local = config.local
    stack = EmbeddedStack(
        characters=local.characters if characters is None else characters,
        seed=local.seed,
        pg_dsn=local.pg_dsn,
        faults=[*local.faults, *faults],
    )
    try:
        info = stack.start()
        yield stack_target(asdict(info))
    finally:
        stack.stop()


__all__ = ["LOCAL", "open_target"]
