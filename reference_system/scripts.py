"""The reference's data scripts as the guide runs them (``python -m character_service.scripts.export_data`` and
friends): ``python -m reference_system.scripts VERB ...``. Connection settings come from the environment
(``DATABASE_URL`` for the legacy PostgreSQL, ``STORAGE_SERVICE_URL``, ``STORAGE_DATABASE`` and ``STORAGE_TOKEN``,
an admin token of that database, for the import and the clean-up), never from the
command line, where every user of the machine could read them.

Verbs: ``export_data OUT_DIR``, ``import_to_storage EXPORT_FILE``, ``stop_migration EXPORT_FILE``,
``resume_migration EXPORT_FILE``, ``backup_source BACKUP_DIR``, ``restore_db BACKUP_DIR``, ``cleanup_storage``.
Exit status 0 on success, 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from . import migration


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_system.scripts")
    parser.add_argument(
        "verb",
        choices=(
            "export_data", "import_to_storage", "stop_migration", "resume_migration", "backup_source", "restore_db",
            "cleanup_storage",
        ),
    )  # fmt: skip
    parser.add_argument("path", nargs="?", help="the directory or export file the verb works on")
    args = parser.parse_args(argv)
    database = os.environ.get("STORAGE_DATABASE", "character_db")
    try:
        if args.verb != "cleanup_storage" and not args.path:
            raise SystemExit(f"{args.verb} needs a path")
        path = Path(args.path or ".")
        if args.verb == "export_data":
            result: object = migration.export_data(_env("DATABASE_URL"), path)
        elif args.verb == "import_to_storage":
            token = os.environ.get("STORAGE_TOKEN")
            result = asdict(migration.import_to_storage(path, _env("STORAGE_SERVICE_URL"), database, token=token))
        elif args.verb == "stop_migration":
            result = str(migration.stop_migration(path))
        elif args.verb == "resume_migration":
            migration.resume_migration(path)
            result = "resumed"
        elif args.verb == "backup_source":
            result = migration.backup_source(_env("DATABASE_URL"), path)
        elif args.verb == "restore_db":
            result = migration.restore_db(_env("DATABASE_URL"), path)
        else:
            migration.cleanup_storage(_env("STORAGE_SERVICE_URL"), database, token=os.environ.get("STORAGE_TOKEN"))
            result = "cleaned"
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"{args.verb}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        return 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
