"""The harness's library code never imports the reference system; only the embedded launcher does, lazily."""

import ast
from pathlib import Path

HARNESS = Path(__file__).resolve().parents[2] / "harness"


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


def test_library_code_does_not_import_the_reference() -> None:
    offenders = []
    for path in HARNESS.rglob("*.py"):
        rel = path.relative_to(HARNESS)
        if rel.parts[0] == "reference":
            continue
        for module, at_top in _imports(path):
            if "reference" in module.split("."):
                lazy_launcher = rel.parts[0] in ("embedded", "cli.py") and not at_top
                if not lazy_launcher:
                    offenders.append(f"{rel}: {module}")
    assert offenders == []


def test_reference_does_not_import_the_harness_library() -> None:
    offenders = []
    for path in (HARNESS / "reference").rglob("*.py"):
        for module, _ in _imports(path):
            if module.startswith("..") or (
                module.startswith("harness.") and not module.startswith("harness.reference")
            ):
                offenders.append(f"{path.name}: {module}")
    assert offenders == []
