"""Where the embedded default's databases live: a private PostgreSQL (pgserver, in a temporary directory) or
any PostgreSQL named by a DSN. Either way the stack creates databases of its own and removes them at the end;
with a DSN it never touches a database it did not create."""

from __future__ import annotations

import secrets
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ..errors import StackError, TargetUnreachable
from ..redaction import redact


class PostgresProvider(Protocol):
    description: str

    def create_database(self, purpose: str) -> str:
        """Create a fresh, empty database and return its DSN."""
        ...

    def close(self) -> None: ...


class ExternalPostgres:
    """Databases named ``harness_<random>_<purpose>`` on a server the user names; dropped on close."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.description = f"PostgreSQL at {redact(admin_dsn)}"
        self._token = secrets.token_hex(4)
        self._created: list[str] = []
        try:
            with psycopg.connect(admin_dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TargetUnreachable(
                f"cannot connect to PostgreSQL at {redact(admin_dsn)} ({redact(first)}); "
                "check the DSN given by --pg-dsn or HARNESS_PG_DSN"
            ) from None

    def create_database(self, purpose: str) -> str:
        name = f"harness_{self._token}_{purpose}"
        try:
            with psycopg.connect(self.admin_dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise StackError(
                f"cannot create database {name} at {redact(self.admin_dsn)}: "
                f"{redact(str(exc).strip().splitlines()[0])}; the DSN's role needs CREATEDB"
            ) from None
        self._created.append(name)
        return make_conninfo(self.admin_dsn, dbname=name)

    def close(self) -> None:
        while self._created:
            name = self._created.pop()
            try:
                with psycopg.connect(self.admin_dsn, connect_timeout=5, autocommit=True) as conn:
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            except psycopg.Error as exc:
                warnings.warn(f"could not drop database {name}: {exc}", stacklevel=2)


class EmbeddedPostgres(ExternalPostgres):
    """A private PostgreSQL server (the ``pgserver`` wheel) in a temporary directory, deleted on close."""

    def __init__(self, parent_dir: Path | None = None) -> None:
        try:
            with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
                warnings.simplefilter("ignore")
                from pgserver import get_server  # type: ignore[attr-defined]
        except ImportError:  # pragma: no cover - pgserver is a hard dependency
            raise StackError("pgserver is not installed; run the README's install command") from None
        self.datadir = Path(tempfile.mkdtemp(prefix="pgdata-", dir=parent_dir))
        try:
            self._server = get_server(self.datadir, cleanup_mode="stop")
        except Exception as exc:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise StackError(
                f"the embedded PostgreSQL did not start: {exc}; or use your own server with --pg-dsn / HARNESS_PG_DSN"
            ) from None
        super().__init__(self._server.get_uri())
        self.description = f"embedded PostgreSQL in {self.datadir}"

    def close(self) -> None:
        super().close()
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


def database_name(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("dbname") or "")
