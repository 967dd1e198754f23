"""Differential testing of two backends of the same contract: a hypothesis state machine driving both with one
random sequence, Diffy-style noise, id pairing, and a replay of recorded requests."""

from ..field_diff import FieldDifference, field_differences
from .machine import DifferentialReport, Divergence, MachineOptions, run_differential
from .noise import Noise, learn_noise

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
