"""Say which fields of a request break the contract. Schemathesis names the check that failed and shows the
request; for negative data (a request made invalid on purpose that a backend accepted, or crashed on) this names
the field: ``body.level: 25 is greater than the maximum of 20``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .contract import CONTRACT

_BASE = "urn:harness:contract"


@lru_cache(maxsize=4)
def _registry(path: Path) -> tuple[dict[str, Any], Registry]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return document, Registry().with_resource(_BASE, resource)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _errors(registry: Registry, pointer: str, value: Any, where: str) -> list[str]:
    validator = Draft202012Validator(
        {"$ref": f"{_BASE}#/{pointer}"}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    out = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path)):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        out.append(f"{where}{path}: {error.message}")
    return out


def request_violations(
    method: str,
    path_template: str,
    *,
    body: Any = None,
    media_type: str | None = None,
    parameters: dict[str, dict[str, Any]] | None = None,
    contract: Path = CONTRACT,
) -> list[str]:
    """The fields of a request that the contract does not allow. ``parameters`` maps ``path``/``query``/
    ``header`` to the values sent."""
    document, registry = _registry(contract)
    item = document.get("paths", {}).get(path_template, {})
    operation = item.get(method.lower(), {})
    found: list[str] = []
    levels = [(("paths", path_template), item), (("paths", path_template, method.lower()), operation)]
    for prefix, owner in levels:
        for index, param in enumerate(owner.get("parameters", [])):
            pointer = _pointer(*prefix, "parameters", str(index), "schema")
            if "$ref" in param:  # a shared parameter: validate against its own schema
                name = param["$ref"].rsplit("/", 1)[-1]
                param = document["components"]["parameters"][name]
                pointer = _pointer("components", "parameters", name, "schema")
            sent = (parameters or {}).get(param["in"], {})
            wanted = param["name"].lower() if param["in"] == "header" else param["name"]
            for key, value in sent.items():
                if (key.lower() if param["in"] == "header" else key) == wanted:
                    found += _errors(registry, pointer, value, f"{param['in']}.{param['name']}")
    content = operation.get("requestBody", {}).get("content", {})
    if body is not None and content:
        chosen: str = media_type if media_type and media_type in content else next(iter(content))
        pointer = _pointer("paths", path_template, method.lower(), "requestBody", "content", chosen, "schema")
        found += _errors(registry, pointer, body, "body")
    return found


def case_violations(case: Any) -> list[str]:
    """``request_violations`` for a schemathesis ``Case``."""
    body = getattr(case, "body", None)
    if type(body).__name__ == "NotSet":
        body = None
    return request_violations(
        case.method,
        case.path,
        body=body,
        media_type=getattr(case, "media_type", None),
        parameters={
            "path": dict(case.path_parameters or {}),
            "query": dict(case.query or {}),
            "header": dict(case.headers or {}),
        },
    )
