"""``[targets.X.suites]``: what the suites may assume beyond the contract, read and checked by the loader; and the
api suite's test of whether an ``errors[].field`` names a field, in each declared form."""

from __future__ import annotations

import pytest

from harness.config.loader import local_target, parse_config
from harness.config.suites import GUIDE_METRICS, REFERENCE, SuiteSettings
from harness.errors import ConfigError
from suites.api.problems import names_field

BASE = '[targets.s]\nenvironment = "staging"\n[targets.s.backends.legacy]\nurl = "http://h:1"\n[targets.s.suites]\n'


def test_defaults_are_the_contract_and_the_guide() -> None:
    target = parse_config(BASE).targets["s"]
    assert target.suites == SuiteSettings()
    assert target.suites.metrics == GUIDE_METRICS and not any("cache" in m for m in GUIDE_METRICS)
    assert target.suites.invalid_json_status == (415, 422) and target.suites.error_field == "named"
    # the embedded reference declares its own, stricter promises
    assert local_target({"legacy": "a", "storage": "b"}, "dsn", "u", "db").suites == REFERENCE


def test_declared_settings_are_read() -> None:
    text = BASE + (
        'metrics = ["a_total"]\nstorage_metrics = ["b_total"]\nerror_field = "pointer"\n'
        'invalid_json_status = [415]\nproblem_detail = { 412 = "stale" }\nlocation = "path"\n'
    )
    suites = parse_config(text).targets["s"].suites
    assert (suites.metrics, suites.storage_metrics, suites.error_field) == (("a_total",), ("b_total",), "pointer")
    assert suites.invalid_json_status == (415,) and suites.detail_for(412) == "stale" and suites.location == "path"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('metric = ["x"]', "suites.metric: unknown key; did you mean 'metrics'?"),
        ('error_field = "dotten"', "must be one of named, dotted, pointer, got 'dotten'; did you mean 'dotted'?"),
        ("invalid_json_status = [400]", "statuses for it (415, 422)"),
        ('problem_detail = { 200 = "x" }', "problem_detail.200: must be an error status"),
        ("metrics = [1]", "must be a list of metric names"),
    ],
)
def test_bad_settings_are_one_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BASE + line + "\n", "harness.toml")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith("harness.toml: targets.s.suites.")


@pytest.mark.parametrize(
    ("reported", "expected", "form", "named"),
    [
        ("abilities.strength", "abilities.strength", "named", True),
        ("/body/abilities/strength", "abilities.strength", "named", True),
        ("$.abilities['strength']", "abilities.strength", "named", True),
        ("/body/inventory/0/quantity", "inventory.0", "named", True),
        ("/body/abilities", "abilities.strength", "named", False),  # too vague
        ("/body/wisdom", "abilities.strength", "named", False),
        ("abilities.strength", "abilities.strength", "dotted", True),
        ("/body/abilities/strength", "abilities.strength", "dotted", False),
        ("/body/abilities/strength", "abilities.strength", "pointer", True),
        ("abilities.strength", "abilities.strength", "pointer", False),
    ],
)
def test_field_naming(reported: str, expected: str, form: str, named: bool) -> None:
    assert names_field(reported, expected, form) is named
