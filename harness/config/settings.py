"""Run settings with one precedence order, documented and tested:
command-line option > ``HARNESS_*`` environment variable > targets file > default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigError
from .model import BACKENDS, Config

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class RunSettings:
    target: str
    backends: tuple[str, ...] | None  # None: every backend the target defines
    allow_writes: bool
    sources: dict[str, str]  # setting -> where its value came from (for the report header)


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false")


def parse_backend_choice(raw: str, origin: str) -> tuple[str, ...] | None:
    value = raw.strip().lower()
    if value in ("both", "all"):
        return BACKENDS
    parts = tuple(p.strip() for p in value.split(",") if p.strip())
    for part in parts:
        if part not in BACKENDS:
            raise ConfigError(f"{origin}: unknown backend {part!r}; use legacy, storage or both")
    return parts or None


def resolve_settings(
    config: Config,
    *,
    target: str | None = None,
    backend: str | None = None,
    allow_writes: bool | None = None,
    env: Mapping[str, str] | None = None,
) -> RunSettings:
    env = os.environ if env is None else env
    sources: dict[str, str] = {}
    if target:
        sources["target"] = "option --target"
    elif env.get("HARNESS_TARGET"):
        target, sources["target"] = env["HARNESS_TARGET"], "HARNESS_TARGET"
    elif config.path and config.default_target:
        target, sources["target"] = config.default_target, f"{config.path} default_target"
    else:
        target, sources["target"] = "local", "default"
    backends: tuple[str, ...] | None
    if backend:
        backends, sources["backend"] = parse_backend_choice(backend, "--backend"), "option --backend"
    elif env.get("HARNESS_BACKEND"):
        backends = parse_backend_choice(env["HARNESS_BACKEND"], "HARNESS_BACKEND")
        sources["backend"] = "HARNESS_BACKEND"
    else:
        backends, sources["backend"] = None, "default"
    if allow_writes is not None:
        writes, sources["allow_writes"] = allow_writes, "option --allow-writes"
    elif "HARNESS_ALLOW_WRITES" in env:
        writes, sources["allow_writes"] = (
            _flag("HARNESS_ALLOW_WRITES", env["HARNESS_ALLOW_WRITES"]),
            "HARNESS_ALLOW_WRITES",
        )
    else:
        writes, sources["allow_writes"] = False, "default"
    return RunSettings(target=target, backends=backends, allow_writes=writes, sources=sources)
