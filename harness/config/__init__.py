"""Targets and settings: the targets file (``harness.toml`` or ``$HARNESS_CONFIG``), ``HARNESS_*`` variables and
command-line options, merged with one precedence everywhere: option > environment > file > default."""

from .loader import load_config, resolve_target
from .model import Auth, Backend, Config, Destination, LocalSettings, Prometheus, Source, Target, Timeouts
from .settings import RunSettings, resolve_settings

__all__ = [
    "Auth",
    "Backend",
    "Config",
    "Destination",
    "LocalSettings",
    "Prometheus",
    "RunSettings",
    "Source",
    "Target",
    "Timeouts",
    "load_config",
    "resolve_settings",
    "resolve_target",
]
