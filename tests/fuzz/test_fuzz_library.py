"""The fuzzing library without servers: profile choice, curl lines without secrets, naming the invalid fields of
a request, and the safe-methods rule."""

from __future__ import annotations

from typing import Any

import pytest

from harness.errors import ConfigError
from harness.fuzz.contract import load_contract, restrict_to_safe_methods
from harness.fuzz.curl import curl_line
from harness.fuzz.explain import request_violations
from harness.fuzz.profiles import CI_SEED, select_profile


def test_profile_precedence_option_env_default() -> None:
    assert select_profile(None, env={}).name == "ci"
    assert select_profile(None, env={"HARNESS_FUZZ_PROFILE": "nightly"}).name == "nightly"
    assert select_profile("ci", env={"HARNESS_FUZZ_PROFILE": "nightly"}).name == "ci"
    ci = select_profile(None, env={})
    assert ci.settings.derandomize and ci.settings.deadline is None and ci.seed == CI_SEED
    nightly = select_profile("nightly", env={})
    assert nightly.settings.max_examples > ci.settings.max_examples and not nightly.settings.derandomize
    assert select_profile("nightly", env={"HARNESS_FUZZ_SEED": "7"}).seed == 7
    assert "HARNESS_FUZZ_SEED=7" in select_profile("nightly", env={"HARNESS_FUZZ_SEED": "7"}).describe()


def test_bad_profile_or_seed_is_one_line() -> None:
    with pytest.raises(ConfigError, match="unknown fuzz profile 'nigthly'; use one of ci, nightly"):
        select_profile(None, env={"HARNESS_FUZZ_PROFILE": "nigthly"})
    with pytest.raises(ConfigError, match="HARNESS_FUZZ_SEED='x': use an integer"):
        select_profile(None, env={"HARNESS_FUZZ_SEED": "x"})


def test_curl_line_masks_secrets() -> None:
    schema = load_contract()
    case = schema["/characters"]["GET"].Case(query={"limit": 5})
    line = curl_line(case, "http://user:hunter2@127.0.0.1:8000", {"Authorization": "Bearer s3cret-token"})
    assert line.startswith("curl -X GET")
    assert "limit=5" in line and "127.0.0.1:8000/characters" in line
    assert "s3cret-token" not in line and "hunter2" not in line


def test_invalid_fields_are_named() -> None:
    body: dict[str, Any] = {"owner": "a", "name": "x", "race": "elf", "class": "bard", "level": 25, "hit_points": 1}
    body |= {"alignment": "neutral", "abilities": dict.fromkeys(("strength", "dexterity", "constitution"), 1)}
    body["abilities"] |= dict.fromkeys(("intelligence", "wisdom", "charisma"), 1)
    assert request_violations("POST", "/characters", body=body) == ["body.level: 25 is greater than the maximum of 20"]
    found = request_violations(
        "DELETE", "/characters/{character_id}", parameters={"path": {"character_id": "x"}, "header": {"if-match": "v"}}
    )
    assert found[0] == "path.character_id: 'x' is not a 'uuid'" and found[1].startswith("header.If-Match: 'v'")
    assert request_violations("GET", "/characters", parameters={"query": {"limit": 50}}) == []


def test_production_fuzzes_safe_methods_only() -> None:
    schema = load_contract()
    every = {op.ok().method.upper() for op in schema.get_all_operations()}
    assert {"POST", "PUT", "PATCH", "DELETE"} <= every
    safe = restrict_to_safe_methods(schema, production=True, allow_writes=False)
    assert {op.ok().method.upper() for op in safe.get_all_operations()} == {"GET"}
    assert restrict_to_safe_methods(schema, production=True, allow_writes=True) is schema
    assert restrict_to_safe_methods(schema, production=False, allow_writes=False) is schema
