"""A deployment's own data scripts (the guide's ``export_data``, ``import_to_storage``, ``stop_migration``,
``restore_db``, ``cleanup_storage``), declared as shell commands in ``[targets.X.gate.scripts]``, as the
``MigrationScripts`` a rehearsal runs. Each runs in ``/bin/sh`` with the gate's environment (so ``$VAR`` in a
command is expanded there, never in the gate's logs), bounded in time, its output in ``logs/``.

Placeholders: ``{export_dir}`` (export: the folder to write ``export.jsonl`` and ``manifest.json`` to),
``{export_file}`` (import, stop, resume), ``{backup_dir}`` (backup, restore). A script that exits non-zero is a
failed step of the migration: the check fails with its exit status and the last lines of its output.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ..errors import HarnessError
from ..redaction import redact
from .children import run_child, tail

SCRIPT_TIMEOUT_S = 3600.0


class ScriptFailed(HarnessError):
    """A declared data script exited non-zero or overran: a failed step, not bad input."""


class CommandScripts:
    def __init__(self, scripts: dict[str, str], logs: Path, timeout_s: float = SCRIPT_TIMEOUT_S) -> None:
        self.scripts = scripts
        self.logs = logs
        self.timeout_s = timeout_s

    def _run(self, name: str, **paths: Path) -> dict[str, Any]:
        template = self.scripts.get(name)
        if template is None:
            raise ScriptFailed(f"[gate.scripts] declares no {name!r} script")
        command = template.format(**{k: shlex.quote(str(v)) for k, v in paths.items()})
        log = self.logs / f"script-{name}.log"
        result = run_child(["/bin/sh", "-c", command], log=log, timeout_s=self.timeout_s)
        if result.timed_out:
            raise ScriptFailed(f"the {name} script did not finish within {self.timeout_s:.0f} s (see {log})")
        if result.returncode != 0:
            raise ScriptFailed(
                f"the {name} script exited {result.returncode}: {redact(tail(log, 2)) or 'no output'} (see {log})"
            )
        return {"script": name, "exit_code": 0, "log": str(log)}

    def export_source(self, out_dir: Path) -> Path:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._run("export", export_dir=out_dir)
        export = out_dir / "export.jsonl"
        if not export.is_file():
            raise ScriptFailed(f"the export script wrote no {export.name} into {out_dir}")
        return export

    def import_export(self, export_file: Path) -> dict[str, Any]:
        return self._run("import", export_file=export_file)

    def apply_data_faults(self) -> dict[str, list[str]]:
        return {}  # faults are the embedded default's; a deployment is tested as it is

    def stop_migration(self, export_file: Path) -> Path:
        self._run("stop", export_file=export_file)
        return export_file

    def resume_migration(self, export_file: Path) -> None:
        if "resume" in self.scripts:
            self._run("resume", export_file=export_file)

    def backup_source(self, backup_dir: Path) -> dict[str, Any]:
        backup_dir.mkdir(parents=True, exist_ok=True)
        return {**self._run("backup", backup_dir=backup_dir), "tables": {}}

    def restore_source(self, backup_dir: Path) -> dict[str, int]:
        self._run("restore", backup_dir=backup_dir)
        return {}

    def cleanup_storage(self) -> None:
        self._run("cleanup")


REQUIRED = ("export", "import", "stop", "backup", "restore", "cleanup")


def missing_scripts(scripts: dict[str, str]) -> list[str]:
    return [name for name in REQUIRED if name not in scripts]
