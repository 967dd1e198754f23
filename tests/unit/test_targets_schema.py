"""The shipped JSON Schema of the targets file says what the loader says: the same keys in every section, the
same types, and the same verdict on good and bad files. The loader is the authority; the schema is for editors
(``"$schema"`` in an editor's TOML settings, or ``taplo``)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from harness import resources
from harness.config import loader
from harness.config.loader import parse_config
from harness.data.mapping import CHILD_KEYS, COLLECTION_KEYS
from harness.data.settings import KEYS as COMPARE_KEYS
from harness.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SCHEMA: dict[str, Any] = json.loads(resources.targets_schema().read_text(encoding="utf-8"))
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", list: "array"}


def _tables() -> dict[str, Mapping[str, type | tuple[type, ...]]]:
    """Every table of keys the loader accepts, by the name of its schema definition ("" is the top level)."""
    return {"": loader.TOP_KEYS, "local": loader.LOCAL_KEYS, "target": loader.TARGET_KEYS,
            **loader.SECTION_KEYS, "compare": COMPARE_KEYS, "compare_collection": COLLECTION_KEYS,
            "compare_child": CHILD_KEYS}  # fmt: skip


def _definition(name: str) -> dict[str, Any]:
    definition: dict[str, Any] = SCHEMA if name == "" else SCHEMA["$defs"][name]
    return definition


def _json_types(prop: dict[str, Any]) -> set[str]:
    if "$ref" in prop:
        return {_definition(prop["$ref"].removeprefix("#/$defs/"))["type"]}
    if "enum" in prop:
        return {JSON_TYPES[type(v)] for v in prop["enum"]}
    return set(prop["type"]) if isinstance(prop["type"], list) else {prop["type"]}


def test_the_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_every_section_has_a_definition_and_every_definition_a_section() -> None:
    assert set(_tables()) - {""} == set(SCHEMA["$defs"])


@pytest.mark.parametrize("name", list(_tables()))
def test_the_schema_accepts_exactly_the_loaders_keys_with_its_types(name: str) -> None:
    table, definition = _tables()[name], _definition(name)
    assert definition["additionalProperties"] is False
    assert set(definition["properties"]) == set(table), f"$defs.{name or '(top)'}: keys differ from the loader's"
    for key, types in table.items():
        expected = (
            {"number"}
            if types == loader.NUMBER
            else {JSON_TYPES[t] for t in (types if isinstance(types, tuple) else (types,))}
        )
        assert _json_types(definition["properties"][key]) == expected, f"{name}.{key}"


def test_the_shipped_example_is_valid_for_both() -> None:
    text = (ROOT / "harness.toml.example").read_text(encoding="utf-8")
    env = {"STAGING_PG_PASSWORD": "x", "STAGING_API_TOKEN": "y", "STAGING_STORAGE_READ_TOKEN": "r"}
    parse_config(text, "harness.toml.example", {**env, "STAGING_OTHER_DB_TOKEN": "o"})
    assert list(Draft202012Validator(SCHEMA).iter_errors(tomllib.loads(text))) == []


TARGET = '[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "http://127.0.0.1:9"\n'


@pytest.mark.parametrize(
    "section",
    [
        "[targets.t.thresholds]\np95ms = 300",
        "[targets.t.thresholds]\nrules = 5",
        "[targets.t.thresholds]\nmin_rps = -1",
        '[targets.t.thresholds]\nwindow = "5 minutes"',
        '[targets.t.thresholds.endpoints."/characters"]\np95_ms = 1',
        '[targets.t.load_compare]\nalpha = "0.05"',
        "[targets.t.load_compare]\nalpha = 1.5",
        "[targets.t.load_compare]\nrounds = 0",
        "[targets.t.differential]\nnoise = [1]",
        '[targets.t.gate]\nphases = ["smok"]',
        '[targets.t.gate]\nreport_only = ["smok"]',
        "[targets.t.gate]\nbudgets = { dta = 10 }",
        '[targets.t.compare]\nignroe = ["x"]',
        '[targets.t.compare.collections.characters]\nkey_type = "uuid4"',
        '[targets.t.timeouts]\nread = "10"',
        '[targets.t.backends.storag]\nurl = "http://x"',
        '[local]\nfaults = "latency"',
    ],
)
def test_a_file_the_loader_rejects_the_schema_rejects(section: str) -> None:
    text = TARGET + section
    with pytest.raises(ConfigError):
        parse_config(text, "harness.toml", {})
    assert list(Draft202012Validator(SCHEMA).iter_errors(tomllib.loads(text))) != []
