from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import load_config, resolve_settings, resolve_target
from harness.config.loader import config_path, parse_config
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
GOOD = """
default_target = "staging"
[local]
characters = 50
[targets.staging]
environment = "staging"
[targets.staging.backends.legacy]
url = "http://127.0.0.1:9001/"
[targets.staging.backends.storage]
url = "http://127.0.0.1:9002"
[targets.staging.source]
dsn = "postgresql://reader:${PGPASS}@db/characters"
[targets.staging.auth]
bearer_token = "${TOKEN}"
"""
ENV = {"PGPASS": "pw", "TOKEN": "tok"}


def test_a_good_file_gives_targets() -> None:
    config = parse_config(GOOD, "harness.toml", ENV)
    staging = resolve_target(config, "staging")
    assert staging is not None
    assert staging.backends["legacy"].url == "http://127.0.0.1:9001"
    assert staging.source is not None and staging.source.dsn == "postgresql://reader:pw@db/characters"
    assert staging.auth.headers() == {"Authorization": "Bearer tok"}
    assert "pw" not in repr(staging) and "tok" not in repr(staging)
    assert config.local.characters == 50
    assert resolve_target(config, "local") is None


def test_the_shipped_example_is_valid() -> None:
    env = {
        "STAGING_PG_PASSWORD": "x",
        "STAGING_API_TOKEN": "y",
        "STAGING_STORAGE_READ_TOKEN": "r",
        "STAGING_OTHER_DB_TOKEN": "o",
    }
    config = load_config(ROOT / "harness.toml.example", env)
    assert set(config.targets) == {"staging"}


def test_destination_token_and_security_probes_come_from_the_environment() -> None:
    text = """
[targets.s]
environment = "staging"
[targets.s.destination]
url = "http://storage:8000"
token = "${READ_TOKEN}"
[targets.s.security]
other_database_token = "${OTHER_TOKEN}"
"""
    target = parse_config(text, env={"READ_TOKEN": "sst_read_secret", "OTHER_TOKEN": "sst_other_secret"}).targets["s"]
    assert target.destination is not None and target.destination.token == "sst_read_secret"
    assert target.security.other_database_token == "sst_other_secret" and target.security.read_token is None
    assert "secret" not in repr(target)
    with pytest.raises(ConfigError, match=r"targets\.s\.security\.read_tokn: unknown key; did you mean 'read_token'"):
        parse_config(text.replace("other_database_token", "read_tokn"), env={"READ_TOKEN": "x", "OTHER_TOKEN": "y"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[targets.s]\nenvironment = "staging"\n[targets.s.backend.legacy]\nurl = "http://x"',
            "harness.toml: targets.s.backend: unknown key; did you mean 'backends'?",
        ),
        (
            '[targets.s]\nenvironment = "prod"',
            "must be one of dev, staging, production, got 'prod'; did you mean 'production'?",
        ),
        (
            '[targets.s]\nenvironment = "dev"\n[targets.s.timeouts]\nread = "10"',
            "targets.s.timeouts.read: must be an integer or a number",
        ),
        (
            '[targets.s]\nenvironment = "dev"\n[targets.s.source]\ndsn = "postgresql://u:${NOPE}@h/d"',
            "targets.s.source.dsn: uses ${NOPE}, which is not set; export NOPE",
        ),
        (
            '[targets.s]\nenvironment = "dev"\n[targets.s.backends.legacy]\nurl = "ftp://x"',
            "must be an http:// or https:// URL",
        ),
        ('[targets.s]\nenvironment = "dev"\n[targets.s.backends.storag]\nurl = "http://x"', "did you mean 'storage'?"),
        ("[targets.s]\n", "targets.s.environment: is required"),
        ('[targets.local]\nenvironment = "dev"', "built-in embedded default"),
        ('default_target = "stagin"\n[targets.staging]\nenvironment = "dev"', "did you mean 'staging'?"),
        ("[targets.s\n", "not valid TOML"),
    ],
)
def test_errors_name_file_key_and_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "harness.toml", {})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_the_data_reads_have_their_own_timeout() -> None:
    """A range summary reads many records: the data reads wait ``destination.read_timeout`` (30 s unless
    declared), not the API's ``timeouts.read``; a declared one is honoured, a zero one refused."""
    text = '[targets.s]\nenvironment = "staging"\n[targets.s.timeouts]\nread = 2\n[targets.s.destination]\nurl = "http://s"\n'
    destination = parse_config(text).targets["s"].destination
    assert destination is not None and destination.read_timeout == 30.0
    destination = parse_config(text + "read_timeout = 5\n").targets["s"].destination
    assert destination is not None and destination.read_timeout == 5.0
    with pytest.raises(ConfigError, match=r"targets\.s\.destination\.read_timeout: must be a positive number"):
        parse_config(text + "read_timeout = 0\n")


def test_unknown_target_suggests() -> None:
    config = parse_config(GOOD, "harness.toml", ENV)
    with pytest.raises(ConfigError, match="unknown target 'stagng'; did you mean 'staging'"):
        resolve_target(config, "stagng")


def test_config_path_precedence(tmp_path: Path) -> None:
    (tmp_path / "harness.toml").write_text("")
    assert config_path({}, tmp_path) == tmp_path / "harness.toml"
    other = tmp_path / "other.toml"
    other.write_text("")
    assert config_path({"HARNESS_CONFIG": str(other)}, tmp_path) == other
    with pytest.raises(ConfigError, match="HARNESS_CONFIG names"):
        config_path({"HARNESS_CONFIG": str(tmp_path / "missing.toml")}, tmp_path)


# precedence: option > HARNESS_* > file > default, one test per pair
def test_option_beats_environment() -> None:
    config = parse_config(GOOD, "harness.toml", ENV)
    s = resolve_settings(
        config,
        target="local",
        backend="legacy",
        allow_writes=False,
        env={"HARNESS_TARGET": "staging", "HARNESS_BACKEND": "storage", "HARNESS_ALLOW_WRITES": "1"},
    )
    assert (s.target, s.backends, s.allow_writes) == ("local", ("legacy",), False)


def test_environment_beats_file() -> None:
    config = parse_config(GOOD, "harness.toml", ENV)
    s = resolve_settings(
        config, env={"HARNESS_TARGET": "local", "HARNESS_BACKEND": "both", "HARNESS_ALLOW_WRITES": "yes"}
    )
    assert (s.target, s.backends, s.allow_writes) == ("local", ("legacy", "storage"), True)
    assert s.sources["target"] == "HARNESS_TARGET"


def test_file_beats_default() -> None:
    s = resolve_settings(parse_config(GOOD, "harness.toml", ENV), env={})
    assert s.target == "staging" and s.sources["target"] == "harness.toml default_target"


def test_defaults() -> None:
    s = resolve_settings(parse_config("", "harness.toml", {}), env={})
    assert (s.target, s.backends, s.allow_writes) == ("local", None, False)


@pytest.mark.parametrize(
    ("kwargs", "env", "message"),
    [
        ({"backend": "postgres"}, {}, "unknown backend 'postgres'"),
        ({}, {"HARNESS_ALLOW_WRITES": "maybe"}, "use true or false"),
    ],
)
def test_bad_settings(kwargs: dict[str, str], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_settings(parse_config("", "harness.toml", {}), env=env, **kwargs)  # type: ignore[arg-type]
