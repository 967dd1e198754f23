"""Running ``harness gate`` as a user does: a child process in a directory of its own, reports there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema

from harness import resources

if TYPE_CHECKING:
    from harness.gate.context import GateContext

VERDICT_SCHEMA = resources.contract("gate-verdict.schema.json")


@dataclass
class GateRun:
    returncode: int
    stdout: str
    stderr: str
    reports: Path

    @property
    def outdir(self) -> Path:
        dirs = sorted(self.reports.glob("gate-*"))
        assert len(dirs) == 1, f"expected one gate report folder in {self.reports}: {dirs}\n{self.stderr[-3000:]}"
        return dirs[0]

    @property
    def verdict(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads((self.outdir / "verdict.json").read_text(encoding="utf-8"))
        jsonschema.validate(doc, json.loads(VERDICT_SCHEMA.read_text(encoding="utf-8")))
        return doc

    def check(self, name: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [c for c in self.verdict["checks"] if c["check"] == name]
        assert found, f"no check {name} in verdict.json"
        return found[0]


def gate_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    env.update(extra)
    return env


def run_gate(cwd: Path, *args: str, timeout: float = 900, env: dict[str, str] | None = None) -> GateRun:
    reports = cwd / "reports"
    done = subprocess.run(
        [sys.executable, "-m", "harness", "gate", "--reports", str(reports), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or gate_env(),
        check=False,
    )
    return GateRun(done.returncode, done.stdout, done.stderr, reports)


@contextmanager
def private_tmpdir() -> Iterator[Path]:
    """A short TMPDIR for a gate run (PostgreSQL's socket path must stay under ~100 characters), so a test sees
    exactly the temporary directories that run made and left."""
    path = Path(tempfile.mkdtemp(prefix="gt-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stub_context(tmp_path: Path, target_tables: str) -> GateContext:
    """A gate context for target ``t`` (dev) of a targets file holding ``target_tables`` (its backends and
    destination): a gate check run on its own against stub parts, no stack."""
    from harness.config.loader import load_config
    from harness.gate.context import QUICK, GateContext, GateOptions

    config = tmp_path / "harness.toml"
    config.write_text(f'[targets.t]\nenvironment = "dev"\n{target_tables}', encoding="utf-8")
    return GateContext(GateOptions(), QUICK, load_config(config).targets["t"], False, config, "t", tmp_path, tmp_path)
