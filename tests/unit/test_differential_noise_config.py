"""The ``[targets.X.differential]`` section: declared noise fields join the ``--noise`` options (the loader checks
the section: tests/unit/test_config_sections.py)."""

from __future__ import annotations

import argparse

from harness.config.model import DifferentialSettings
from harness.differential.cli import _declared


def test_declared_noise_joins_file_and_options() -> None:
    args = argparse.Namespace(noise=["etag"])
    assert _declared(args, DifferentialSettings(noise=("updated_at",))) == ("updated_at", "etag")
