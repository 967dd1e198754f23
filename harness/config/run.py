"""A run resolved once: the targets file, the settings (with where each came from) and the target they name.

Every entry point (a CLI command, the pytest plugin's configure, the gate) calls ``resolve_run`` once and passes
the ``RunContext`` down; nothing below it reads the file or the ``HARNESS_*`` variables again. A child process
(a locust run, a gate phase's pytest) is handed the resolved target by name (``child_target_option``), so it
never applies the precedence itself and cannot pick another target than its parent did.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from .loader import load_config, resolve_target
from .model import BACKENDS, LOCAL, Config, Target
from .settings import RunSettings, resolve_settings


@dataclass(frozen=True)
class RunContext:
    config: Config
    settings: RunSettings
    named: Target | None  # the target from the file; None for the built-in local, started by the entry point

    @property
    def target_name(self) -> str:
        return self.named.name if self.named is not None else LOCAL

    @property
    def embedded(self) -> bool:
        """The run tests the embedded default (the built-in ``local``), started for it."""
        return self.named is None

    @property
    def allow_writes(self) -> bool:
        return self.settings.allow_writes

    @property
    def backends(self) -> tuple[str, ...]:
        """The backends this run tests: the selection (``--backend`` > ``HARNESS_BACKEND`` > all) among those
        the target defines (the embedded default defines both), in the contract's order."""
        defined = BACKENDS if self.named is None else tuple(self.named.backends)
        chosen = self.settings.backends or BACKENDS
        return tuple(b for b in BACKENDS if b in chosen and b in defined)

    def refuse_faults(self, faults: Sequence[str]) -> None:
        """Faults are started with the embedded default; a named target is tested as it is (ignoring them would
        make a fault test pass)."""
        if faults and self.named is not None:
            raise ConfigError("--fault applies to the embedded default only; a named target is tested as it is")

    def child_target_option(self) -> list[str]:
        """The option that hands this run's target to a child, resolved here: always by name, ``local``
        included (a child given no ``--target`` would apply the precedence again, and ``HARNESS_TARGET`` could
        name another target than the one an option chose). The built-in local has no entry in the file, so its
        child also gets its URLs (the host, or a child targets file)."""
        return ["--target", self.target_name]


def resolve_run(
    *,
    target: str | None = None,
    backend: str | None = None,
    allow_writes: bool | None = None,
    config: Config | None = None,
    env: Mapping[str, str] | None = None,
) -> RunContext:
    """Read the targets file (unless given), apply option > ``HARNESS_*`` > file > default, and look the target
    up: the one place a run is resolved."""
    config = load_config() if config is None else config
    settings = resolve_settings(
        config, target=target, backend=backend, allow_writes=allow_writes, env=os.environ if env is None else env
    )
    run = RunContext(config, settings, resolve_target(config, settings.target))
    if settings.backends is not None and not run.backends:  # a target may define none (data checks only)
        chosen, where = ", ".join(settings.backends), settings.sources["backend"]
        raise ConfigError(f"target {run.target_name!r} has none of the backends {chosen} ({where}); choose another")
    return run
