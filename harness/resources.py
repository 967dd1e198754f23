"""The files the harness ships, found through :mod:`importlib.resources` so that an editable install and a built
wheel give the same answer: the contracts, alert rules, and fuzzing settings (data package
``service_contracts``, the source tree's ``contracts/``) and the locustfile (``harness.locustfiles``, the source
tree's ``locustfiles/``). Every lookup of a shipped file goes through here, never relative to ``__file__``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CONTRACTS_PACKAGE = "service_contracts"
LOCUSTFILES_PACKAGE = "harness.locustfiles"
SUITES_PACKAGE = "harness.suites"


def _file(package: str, name: str) -> Path:
    """A real path: schemathesis, locust and the error messages need one. Packages are installed unpacked (the
    harness is never run from a zip), so the traversable is already a path on disk."""
    path = Path(str(resources.files(package).joinpath(name)))
    if not path.is_file():
        raise FileNotFoundError(f"{name} is missing from the installed package {package}; reinstall the harness")
    return path


def contract(name: str) -> Path:
    """A file of ``contracts/`` by name, e.g. ``character-service.openapi.yaml``."""
    return _file(CONTRACTS_PACKAGE, name)


def character_service_contract() -> Path:
    return contract("character-service.openapi.yaml")


def storage_service_contract() -> Path:
    return contract("storage-service.openapi.yaml")


def alert_rules() -> Path:
    """The guide's Prometheus rules, the default thresholds of every load run."""
    return contract("alert-rules.yaml")


def schemathesis_config() -> Path:
    return contract("schemathesis.toml")


def targets_schema() -> Path:
    """The JSON Schema of the targets file (``harness.toml``), for editors; the loader is the authority."""
    return contract("harness-targets.schema.json")


def locustfile(name: str = "character_service.py") -> Path:
    return _file(LOCUSTFILES_PACKAGE, name)


def suites_dir() -> Path:
    """The folder of the pytest suites (``suites/`` of the source tree, ``harness/suites`` of a wheel)."""
    path = Path(str(resources.files(SUITES_PACKAGE)))
    if not (path / "smoke").is_dir():
        raise FileNotFoundError(f"the suites are missing from the installed package {SUITES_PACKAGE}; reinstall")
    return path
