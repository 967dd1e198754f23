"""The ``[targets.X.differential]`` section: declared noise fields, and one-line errors for anything else."""

from __future__ import annotations

import argparse

import pytest

from harness.differential.cli import _declared
from harness.errors import ConfigError


def test_declared_noise_joins_file_and_options() -> None:
    args = argparse.Namespace(noise=["etag"])
    assert _declared(args, {"differential": {"noise": ["updated_at"]}}, "t") == ("updated_at", "etag")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"nosie": ["x"]}, "targets.t.differential: unknown key 'nosie' (allowed: noise)"),
        ({"noise": "updated_at"}, "targets.t.differential.noise: must be a list of field names"),
    ],
)
def test_bad_differential_section_is_one_line(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _declared(argparse.Namespace(noise=[]), {"differential": section}, "t")
    assert message in str(err.value) and "\n" not in str(err.value)
