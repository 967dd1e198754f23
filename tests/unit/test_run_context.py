"""``resolve_run``: the one place a run is resolved (file, settings, target), and what it hands a child."""

from __future__ import annotations

import pytest

from harness.config.loader import parse_config
from harness.config.run import resolve_run
from harness.errors import ConfigError

FILE = """
default_target = "staging"
[targets.staging]
environment = "staging"
[targets.staging.backends.storage]
url = "http://127.0.0.1:9002"
[targets.both]
environment = "dev"
[targets.both.backends.legacy]
url = "http://127.0.0.1:9001"
[targets.both.backends.storage]
url = "http://127.0.0.1:9002"
[targets.data_only]
environment = "dev"
[targets.data_only.source]
dsn = "postgresql://127.0.0.1/x"
"""
CONFIG = parse_config(FILE, "harness.toml", {})


@pytest.mark.parametrize(
    ("option", "env", "expected"),
    [
        ("both", {"HARNESS_TARGET": "staging"}, "both"),  # option > environment
        (None, {"HARNESS_TARGET": "both"}, "both"),  # environment > file
        (None, {}, "staging"),  # the file's default_target > local
        ("local", {"HARNESS_TARGET": "both"}, "local"),
    ],
)
def test_the_target_is_resolved_once_with_the_precedence(
    option: str | None, env: dict[str, str], expected: str
) -> None:
    run = resolve_run(target=option, config=CONFIG, env=env)
    assert run.target_name == expected
    assert run.embedded is (expected == "local")
    assert run.named is (None if expected == "local" else CONFIG.targets[expected])
    # a child is handed the resolved name, whatever chose it, so it never applies the precedence again
    assert run.child_target_option() == ["--target", expected]


def test_backends_are_the_selection_among_those_the_target_defines() -> None:
    assert resolve_run(target="both", config=CONFIG, env={}).backends == ("legacy", "storage")
    assert resolve_run(target="staging", config=CONFIG, env={}).backends == ("storage",)
    assert resolve_run(target="local", config=CONFIG, env={}).backends == ("legacy", "storage")
    chosen = resolve_run(target="both", config=CONFIG, env={"HARNESS_BACKEND": "storage"})
    assert chosen.backends == ("storage",)
    assert resolve_run(target="data_only", config=CONFIG, env={}).backends == ()  # a data-only target is valid


def test_a_selection_the_target_lacks_is_one_line() -> None:
    with pytest.raises(
        ConfigError, match=r"target 'staging' has none of the backends legacy \(option --backend\); choose another"
    ):
        resolve_run(target="staging", backend="legacy", config=CONFIG, env={})


def test_an_unknown_target_is_one_line_with_a_hint() -> None:
    with pytest.raises(ConfigError, match=r"unknown target 'stagng'.*did you mean 'staging'"):
        resolve_run(config=CONFIG, env={"HARNESS_TARGET": "stagng"})


def test_faults_are_refused_on_a_named_target_only() -> None:
    """``open_target`` and the gate share this: a named target is tested as it is, never silently unfaulted."""
    with pytest.raises(ConfigError, match="--fault applies to the embedded default only"):
        resolve_run(target="both", config=CONFIG, env={}).refuse_faults(["latency=0.6"])
    resolve_run(target="local", config=CONFIG, env={}).refuse_faults(["latency=0.6"])
    resolve_run(target="both", config=CONFIG, env={}).refuse_faults([])
