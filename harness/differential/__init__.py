"""Differential testing of two backends of the same contract: a hypothesis state machine driving both with one
random sequence, Diffy-style noise, id pairing, and a replay of recorded requests."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..field_diff import FieldDifference, field_differences
    from .machine import DifferentialReport, Divergence, MachineOptions, run_differential
    from .noise import Noise, learn_noise

# Re-exported on first use (PEP 562): ``harness differential``'s argument parser is built by every ``harness``
# command, and the machine pulls in hypothesis, which costs a command's start about 0.4 s of CPU.
_HOMES = {
    "FieldDifference": "..field_diff",
    "field_differences": "..field_diff",
    "DifferentialReport": ".machine",
    "Divergence": ".machine",
    "MachineOptions": ".machine",
    "run_differential": ".machine",
    "Noise": ".noise",
    "learn_noise": ".noise",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)


__all__ = [
    "DifferentialReport",
    "Divergence",
    "FieldDifference",
    "MachineOptions",
    "Noise",
    "field_differences",
    "learn_noise",
    "run_differential",
]
