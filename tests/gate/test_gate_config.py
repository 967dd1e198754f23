"""``[targets.X.gate]``: the documented example parses into GateSettings; bad values are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.loader import parse_config
from harness.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "harness.toml.example"


def _example_gate_block() -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    block = text[text.index("# [targets.staging.gate]") :].splitlines()
    lines = [line[2:] for line in block if line.startswith("# [") or (line.startswith("# ") and "=" in line)]
    return '[targets.staging]\nenvironment = "staging"\n' + "\n".join(lines)


def test_the_documented_gate_section_parses() -> None:
    gate = parse_config(_example_gate_block()).targets["staging"].gate
    assert gate.profile == "quick"
    assert gate.phases == ("preflight", "data")
    assert gate.skip == ("performance.compare",)
    assert gate.report_only == ("smoke",)
    assert gate.deciding == ("performance.compare",)
    assert gate.budget("performance.load_storage", "performance") == 900.0
    assert gate.budget("data.compare", "data") == 1800.0
    assert gate.rehearse is False
    assert dict(gate.scripts)["export"].endswith("export_data --out {export_dir}")


def test_checks_are_accepted_wherever_phases_are() -> None:
    body = (
        'phases = ["data.compare", "preflight"]\nskip = ["smoke.smoke"]\nreport_only = ["data"]\n'
        'deciding = ["performance.compare"]\nbudgets = { "data.compare" = 10, data = 20 }'
    )
    gate = parse_config(f'[targets.s]\nenvironment = "dev"\n[targets.s.gate]\n{body}\n').targets["s"].gate
    assert gate.phases == ("data.compare", "preflight") and gate.budget("data.compare", "data") == 10.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('profile = "quik"', "targets.s.gate.profile: must be one of quick, full, got 'quik'; did you mean 'quick'"),
        ('phases = ["dta"]', "targets.s.gate.phases: 'dta': not a phase or check; did you mean 'data'"),
        ('report_only = ["smok"]', "targets.s.gate.report_only: 'smok': not a phase or check; did you mean 'smoke'"),
        ('skip = ["data.nope"]', "targets.s.gate.skip: 'data.nope': not a phase or check"),
        ('deciding = ["performance.comapre"]', "targets.s.gate.deciding: 'performance.comapre': not a phase or"),
        ("budgets = { dta = 10 }", "targets.s.gate.budgets.dta: not a phase or check; did you mean 'data'"),
        ('budgets = { "data.comparee" = 10 }', "targets.s.gate.budgets.data.comparee: not a phase or check; did"),
        ("budgets = { data = -1 }", "targets.s.gate.budgets.data: must be a positive number of seconds"),
        ("budgets = { data = nan }", "targets.s.gate.budgets.data: must be a positive number of seconds, got nan"),
        ("budgets = { data = inf }", "targets.s.gate.budgets.data: must be a positive number of seconds, got inf"),
        ('rehearse = "yes"', "targets.s.gate.rehearse: must be true or false"),
        ("skipp = []", "targets.s.gate.skipp: unknown key; did you mean 'skip'"),
    ],
)
def test_bad_gate_values_are_one_line(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(f'[targets.s]\nenvironment = "dev"\n[targets.s.gate]\n{body}\n')
    assert message in str(info.value)
    assert "\n" not in str(info.value)
