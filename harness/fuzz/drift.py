"""Contract drift: when a backend serves its own OpenAPI document, compare it with the contract file (deepdiff)
and report the operations one has and the other lacks, and every other field that differs. The harness always
fuzzes the file; drift says when what a deployment claims has moved away from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from deepdiff import DeepDiff

from ..field_diff import ABSENT, field_path

SERVED_PATHS = ("/openapi.json", "/openapi.yaml", "/docs/openapi.json", "/v3/api-docs")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
IGNORED = ("info", "servers")  # where a deployment legitimately differs from the file


@dataclass(frozen=True)
class FieldDrift:
    where: str  # "components.schemas.Name.maxLength", or "GET /characters: responses.200.description"
    contract: Any
    served: Any

    def describe(self) -> str:
        return f"{self.where}: contract {self.contract!r}, served {self.served!r}"


@dataclass
class DriftReport:
    served_at: str
    missing_operations: list[str] = field(default_factory=list)  # in the contract, not served
    extra_operations: list[str] = field(default_factory=list)  # served, not in the contract
    fields: list[FieldDrift] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing_operations or self.extra_operations or self.fields)

    def describe(self) -> str:
        if self.ok:
            return f"{self.served_at} matches the contract file"
        lines = [f"{self.served_at} differs from the contract file:"]
        lines += [f"  operation missing: {op}" for op in self.missing_operations]
        lines += [f"  operation not in the contract: {op}" for op in self.extra_operations]
        lines += [f"  {f.describe()}" for f in self.fields[:50]]
        if len(self.fields) > 50:
            lines.append(f"  ... and {len(self.fields) - 50} more field(s)")
        return "\n".join(lines)


def fetch_served(client: httpx.Client) -> tuple[str, dict[str, Any]] | None:
    """The first OpenAPI document the backend serves at a usual place, or None."""
    import yaml

    for path in SERVED_PATHS:
        try:
            response = client.get(path)
        except httpx.HTTPError:
            continue
        if response.status_code != 200:
            continue
        try:
            document = yaml.safe_load(response.text)  # JSON is YAML
        except yaml.YAMLError:
            continue
        if isinstance(document, dict) and "openapi" in document and "paths" in document:
            return path, document
    return None


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": item[method]
        for path, item in (document.get("paths") or {}).items()
        if isinstance(item, dict)
        for method in METHODS
        if method in item
    }


def _where(parts: list[Any]) -> str:
    """Name a differing field by its operation when it lies inside one."""
    if len(parts) >= 3 and parts[0] == "paths" and str(parts[2]) in METHODS:
        rest = field_path(parts[3:]) if len(parts) > 3 else "(the operation)"
        return f"{str(parts[2]).upper()} {parts[1]}: {rest}"
    return field_path(parts)


def compare_documents(contract: dict[str, Any], served: dict[str, Any], served_at: str = "served") -> DriftReport:
    report = DriftReport(served_at)
    ours, theirs = operations(contract), operations(served)
    report.missing_operations = sorted(set(ours) - set(theirs))
    report.extra_operations = sorted(set(theirs) - set(ours))
    # operations one side lacks are reported once, above, not field by field
    strip = {
        op.split(" ", 1)[1]: op.split(" ", 1)[0].lower()
        for op in [*report.missing_operations, *report.extra_operations]
    }

    def comparable(document: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in document.items() if k not in IGNORED}
        paths = {p: dict(item) for p, item in (document.get("paths") or {}).items() if isinstance(item, dict)}
        for path, method in strip.items():
            paths.get(path, {}).pop(method, None)
        out["paths"] = paths
        return out

    tree = DeepDiff(comparable(contract), comparable(served), view="tree", ignore_numeric_type_changes=True)
    for levels in tree.values():
        for level in levels:
            left = ABSENT if type(level.t1).__name__ == "NotPresent" else level.t1
            right = ABSENT if type(level.t2).__name__ == "NotPresent" else level.t2
            report.fields.append(FieldDrift(_where(level.path(output_format="list")), left, right))
    report.fields.sort(key=lambda f: f.where)
    return report


def check_drift(client: httpx.Client, contract: dict[str, Any]) -> DriftReport | None:
    """None when the backend serves no OpenAPI document (nothing to compare)."""
    found = fetch_served(client)
    if found is None:
        return None
    path, served = found
    return compare_documents(contract, served, str(client.base_url).rstrip("/") + path)
