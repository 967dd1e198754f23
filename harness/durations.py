"""Prometheus durations (``5m``, ``1h30m``, ``500ms``) in seconds: the alert rules, the targets file (checked when
it is read) and the load options all write them this way."""

from __future__ import annotations

import re

from .errors import ConfigError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str, what: str = "duration") -> float:
    """A Prometheus duration (``5m``, ``1h30m``, ``500ms``, ``0``) in seconds."""
    raw = str(text).strip()
    if raw in ("0", ""):
        return 0.0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(raw):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise ConfigError(f"{what}: {text!r} is not a duration; write it like 30s, 5m or 1h30m")
    return total
