"""The harness's library code never imports the reference system; only the embedded launcher does, lazily, and
only through the reference's launcher API. The reference system never imports the harness."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
REFERENCE = ROOT / "reference_system"
# what the launcher may use: the fault parser (the reference's public API), the seeder, the migration and the
# data faults; the services themselves are started as `python -m reference_system.serve`
LAUNCHER_API = {
    "reference_system",
    "reference_system.faults",
    "reference_system.seed",
    "reference_system.migration",
    "reference_system.data_faults",
    "reference_system.access",  # the Storage Service's tokens, issued by the launcher as a deployment would
}


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(n) for n in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = ("." * node.level) + (node.module or "")
            found.append((module, id(node) in top))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, id(node) in top) for alias in node.names)
    return found


def test_the_reference_is_a_package_of_its_own() -> None:
    assert (REFERENCE / "__init__.py").is_file()
    assert not (HARNESS / "reference").exists()


def test_library_code_does_not_import_the_reference() -> None:
    offenders = []
    for path in HARNESS.rglob("*.py"):
        rel = path.relative_to(HARNESS)
        for module, at_top in _imports(path):
            if module.split(".")[0] == "reference_system" or "reference" in module.lstrip(".").split("."):
                lazy_launcher = rel.parts[0] in ("embedded", "cli.py") and not at_top and module in LAUNCHER_API
                if not lazy_launcher:
                    offenders.append(f"{rel}: {module}")
    assert offenders == []


def test_reference_does_not_import_the_harness() -> None:
    offenders = []
    for path in REFERENCE.rglob("*.py"):
        for module, _ in _imports(path):
            if module.startswith("..") or module.split(".")[0] == "harness":
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_fuzz_does_not_import_differential() -> None:
    """differential builds on fuzz (profiles, the contract); the field diff both use is harness.field_diff."""
    offenders = []
    for path in (HARNESS / "fuzz").rglob("*.py"):
        for module, _ in _imports(path):
            if module.lstrip(".").split(".")[0] == "differential" or module.startswith("harness.differential"):
                offenders.append(f"{path.name}: {module}")
    assert offenders == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The walk above is not vacuous: a top-level import of the reference is found."""
    probe = tmp_path / "probe.py"
    probe.write_text("from reference_system.storage_client import HttpStorageClient\nimport harness.config\n")
    assert _imports(probe) == [("reference_system.storage_client", True), ("harness.config", True)]
