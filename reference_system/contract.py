"""Request validation straight from the contract file, so the reference accepts exactly what the contract says."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

_CONTRACT_URI = "urn:character-service-contract"


def contracts_dir() -> Path:
    """The installed data package ``service_contracts`` (the source tree's ``contracts/``): the same files the
    harness reads, in an editable install and a wheel alike."""
    return Path(str(resources.files("service_contracts")))


@cache
def load_contract(name: str = "character-service.openapi.yaml") -> dict[str, Any]:
    with open(contracts_dir() / name, encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


RANGE_CHECKS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "enum", "pattern"}
)


@cache
def validator(schema_name: str) -> Draft202012Validator:
    contract = load_contract()
    registry: Registry[Any] = Registry().with_resource(_CONTRACT_URI, DRAFT202012.create_resource(contract))
    return Draft202012Validator(
        {"$ref": f"{_CONTRACT_URI}#/components/schemas/{schema_name}"},
        registry=registry,
        format_checker=FormatChecker(),
    )


def validation_errors(
    schema_name: str, instance: Any, *, skip_fields: frozenset[str] = frozenset()
) -> list[dict[str, str]]:
    """Every violation as ``{"field": "abilities.strength", "message": ...}``; fields in ``skip_fields`` get
    no range or value checks, only their type is (the ``accept_invalid`` fault: a service that forgot a bound,
    so level 25 is accepted while a level of the wrong type is still rejected)."""
    problems = []
    for error in validator(schema_name).iter_errors(instance):
        path = ".".join(str(p) for p in error.absolute_path)
        if path.split(".", 1)[0] in skip_fields and error.validator in RANGE_CHECKS:
            continue
        if error.validator == "additionalProperties" and not path:
            path = "(body)"
        problems.append({"field": path or "(body)", "message": error.message[:300]})
    return sorted(problems, key=lambda p: (p["field"], p["message"]))
