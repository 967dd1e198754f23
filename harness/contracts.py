"""The contract files as the harness reads them: ``contracts/`` is the source of truth, never what a server says
about itself. ``violations`` checks a response body against one of the contract's component schemas."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from . import resources

CHARACTER_SERVICE = resources.character_service_contract()
STORAGE_SERVICE = resources.storage_service_contract()
ALERT_RULES = resources.alert_rules()


@cache
def load(path: Path = CHARACTER_SERVICE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@cache
def _validator(path: Path, schema: str) -> Draft202012Validator:
    uri = path.as_uri()
    resource: Resource[Any] = DRAFT202012.create_resource(load(path))
    return Draft202012Validator(
        {"$ref": f"{uri}#/components/schemas/{schema}"},
        registry=Registry().with_resource(uri, resource),
        format_checker=FormatChecker(),
    )


def violations(instance: Any, schema: str, path: Path = CHARACTER_SERVICE) -> list[str]:
    """Human-readable violations of ``#/components/schemas/<schema>``, e.g. ``items.0: 'name' is a required
    property``; empty when the instance conforms."""
    found = []
    for error in _validator(path, schema).iter_errors(instance):
        where = ".".join(str(p) for p in error.absolute_path) or "(root)"
        found.append(f"{where}: {error.message[:200]}")
    return sorted(found)
