"""The feature sections of a target (``thresholds``, ``load_compare``, ``differential``) are typed value objects the
loader builds and checks when the file is read: a wrong type or a misspelt key is one line naming file, key and
fix, and every command exits 2 on it before doing anything, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.config.loader import parse_config
from harness.config.model import LoadCompareSettings, RunLimits, Target, ThresholdSettings
from harness.errors import ConfigError

TARGET = '[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "http://127.0.0.1:9"\n'


def _target(sections: str) -> Target:
    return parse_config(TARGET + sections, "harness.toml", {}).targets["t"]


def test_sections_become_typed_frozen_settings() -> None:
    target = _target(
        '[targets.t.thresholds]\nrules = "r.yaml"\nwindow = "30s"\nfor = "15s"\np95_ms = 300\nmax_generator_cpu = 80\n'
        '[targets.t.thresholds.endpoints."GET /characters/{character_id}"]\np99_ms = 200\n'
        "[targets.t.load_compare]\nalpha = 0.01\nrounds = 3\nmax_slowdown = 0\n"
        '[targets.t.differential]\nnoise = ["updated_at"]\n'
    )
    assert target.thresholds == ThresholdSettings(
        rules="r.yaml",
        window="30s",
        for_="15s",
        max_generator_cpu=80.0,
        run=RunLimits(p95_ms=300.0),
        endpoints=(("GET /characters/{character_id}", RunLimits(p99_ms=200.0)),),
    )
    assert target.load_compare == LoadCompareSettings(alpha=0.01, rounds=3, max_slowdown=0.0)
    assert target.differential.noise == ("updated_at",)
    assert "thresholds" not in target.extra and "load_compare" not in target.extra
    with pytest.raises(AttributeError):
        target.load_compare.alpha = 0.5  # type: ignore[misc]


def test_absent_sections_are_the_defaults() -> None:
    target = _target("")
    assert target.thresholds == ThresholdSettings() and target.load_compare == LoadCompareSettings()
    assert target.differential.noise == ()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            '[targets.t.load_compare]\nalpha = "0.05"',
            "targets.t.load_compare.alpha: must be an integer or a number, got str '0.05'",
        ),
        (
            "[targets.t.load_compare]\nmax_slowdwn = 0.1",
            "targets.t.load_compare.max_slowdwn: unknown key; did you mean 'max_slowdown'?",
        ),
        ("[targets.t.load_compare]\nalpha = 1.5", "targets.t.load_compare.alpha: must be between 0 and"),
        ("[targets.t.load_compare]\nrounds = 0", "targets.t.load_compare.rounds: must be at least 1"),
        (
            "[targets.t.load_compare]\nmax_error_ratio_increase = nan",
            "targets.t.load_compare.max_error_ratio_increase: must be a finite number, not negative, got nan",
        ),
        ("[targets.t.load_compare]\nmax_slowdown = inf", "targets.t.load_compare.max_slowdown: must be a finite"),
        ('[targets.t.load_compare]\nrun_time = "soon"', "targets.t.load_compare.run_time: 'soon' is not a duration"),
        ('[targets.t.load_compare]\nrun_time = "0s"', "targets.t.load_compare.run_time: must be above zero"),
        ("[targets.t.thresholds]\nrules = 5", "targets.t.thresholds.rules: must be a string, got int 5"),
        (
            "[targets.t.thresholds]\np95ms = 300",
            "targets.t.thresholds.p95ms: unknown key; did you mean 'p95_ms'?",
        ),
        ('[targets.t.thresholds]\np95_ms = "fast"', "targets.t.thresholds.p95_ms: must be an integer or a number"),
        (
            "[targets.t.thresholds]\nmin_rps = -1",
            "targets.t.thresholds.min_rps: must be a finite number, not negative, got -1",
        ),
        ("[targets.t.thresholds]\nwindow = 30", "targets.t.thresholds.window: must be a string"),
        ('[targets.t.thresholds]\nfor = "5 minutes"', "targets.t.thresholds.for: '5 minutes' is not a duration"),
        (
            '[targets.t.thresholds.endpoints."/characters"]\np95_ms = 1',
            'targets.t.thresholds.endpoints."/characters": name endpoints "METHOD name"',
        ),
        (
            '[targets.t.thresholds.endpoints."GET /c"]\np95 = 1',
            "targets.t.thresholds.endpoints.\"GET /c\".p95: unknown key; did you mean 'p95_ms'?",
        ),
        ('[targets.t.differential]\nnosie = ["x"]', "targets.t.differential.nosie: unknown key; did you mean 'noise'?"),
        ('[targets.t.differential]\nnoise = "updated_at"', "targets.t.differential.noise: must be a list"),
        ("[targets.t.differential]\nnoise = [1]", "targets.t.differential.noise: must be a list of strings"),
    ],
)
def test_a_bad_section_is_one_line_at_load_time(section: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(TARGET + section, "harness.toml", {})
    assert str(err.value).startswith(f"harness.toml: {message}") and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("section", "command"),
    [
        ('[targets.t.load_compare]\nalpha = "0.05"', ["load", "compare", "--target", "t"]),
        ("[targets.t.thresholds]\nrules = 5", ["check-latency", "--target", "t", "--source", "metrics"]),
        ("[targets.t.thresholds]\np95ms = 5", ["load", "run", "--target", "t"]),
        ('[targets.t.differential]\nnoise = "x"', ["differential", "run", "--target", "t"]),
    ],
)
def test_commands_exit_2_with_one_line_on_a_bad_section(
    section: str,
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "harness.toml"
    config.write_text(TARGET + section)
    monkeypatch.setenv("HARNESS_CONFIG", str(config))
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: error: {config}: targets.t.") and err.count("\n") == 1, err


def test_options_are_checked_by_the_same_rules() -> None:
    from harness.load.compare import compare_settings

    section = _target("[targets.t.load_compare]\nalpha = 0.01\n").load_compare
    assert compare_settings(section, alpha=None, rounds=4) == LoadCompareSettings(alpha=0.01, rounds=4)
    with pytest.raises(ConfigError, match=r"^--alpha: must be between 0 and 1, got 2"):
        compare_settings(section, alpha=2)
    with pytest.raises(ConfigError, match=r"^--run-time: 'x' is not a duration"):
        compare_settings(section, run_time="x")
    with pytest.raises(ConfigError, match=r"^--run-time: must be above zero, got '0s'"):
        compare_settings(section, run_time="0s")
