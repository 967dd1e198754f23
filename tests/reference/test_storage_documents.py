"""``contracts/character-storage-documents.schema.json`` is the one statement of the storage form: the reference's
conversions, the Character Service contract and the default data mapping are all held to it here."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from test_domain import CHARACTER

from harness import contracts
from harness.data.documents import api_names, collection_schemas, document_schema
from harness.data.reference_mapping import REFERENCE_MAPPING_TOML
from reference_system import domain

CAMPAIGN: dict[str, Any] = {
    "id": "5d5f1c7e-0c1b-4f4e-8a53-2b8e9f6c1a22",
    "name": "Lost Mine",
    "dungeon_master": "dm_1",
    "setting": "Phandalin",
    "status": "active",
    "version": 2,
    "created_at": "2024-02-03T04:05:06.789Z",
    "updated_at": "2024-02-04T04:05:06.000Z",
}
API_SCHEMA = {"characters": "Character", "campaigns": "Campaign"}
ON_THE_RECORD = {"id", "version"}  # the Storage Service keeps these on the record, not in the document


def _errors(collection: str, document: Any) -> list[str]:
    validator = Draft202012Validator(collection_schemas()[collection])
    return [e.message for e in validator.iter_errors(document)]


def test_the_schema_file_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(document_schema())
    assert set(document_schema()["x-collections"]) == set(API_SCHEMA)


@pytest.mark.parametrize("collection", sorted(API_SCHEMA))
def test_every_api_field_has_one_storage_field(collection: str) -> None:
    """Storage fields, under their API names, are exactly the API resource's fields except id and version."""
    api = contracts.load()["components"]["schemas"][API_SCHEMA[collection]]["properties"]
    storage = document_schema()["$defs"][collection]["properties"]
    renames = api_names(collection)
    assert {renames.get(field, field) for field in storage} == set(api) - ON_THE_RECORD


def test_the_reference_writes_documents_of_the_schema() -> None:
    assert _errors("characters", domain.character_document(CHARACTER)) == []
    assert _errors("campaigns", domain.campaign_document(CAMPAIGN)) == []
    assert set(domain.character_document(CHARACTER)) == set(document_schema()["$defs"]["characters"]["properties"])
    assert set(domain.campaign_document(CAMPAIGN)) == set(document_schema()["$defs"]["campaigns"]["properties"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("hitPoints"), "'hitPoints' is a required property"),
        (lambda d: d.update(level=25), "25 is greater than the maximum of 20"),
        (lambda d: d["abilityScores"].pop("wisdom"), "'wisdom' is a required property"),
        (lambda d: d.update(createdAt="yesterday"), "does not match"),
        (lambda d: d["spells"][0].update(prepared="yes"), "'yes' is not of type 'boolean'"),
    ],
)
def test_a_broken_document_is_refused(change: Any, message: str) -> None:
    document = copy.deepcopy(domain.character_document(CHARACTER))
    change(document)
    assert any(message in e for e in _errors("characters", document)), _errors("characters", document)


def test_the_default_mapping_takes_its_renames_from_the_schema() -> None:
    mapping = tomllib.loads(REFERENCE_MAPPING_TOML)["collections"]
    for collection in API_SCHEMA:
        assert mapping[collection]["renames"]["destination"] == api_names(collection)
    assert api_names("characters")["characterClass"] == "class"
