"""Where the embedded default's databases live: a private PostgreSQL (pgserver, in a temporary directory) or
any PostgreSQL named by a DSN. Either way the stack creates databases of its own and removes them at the end;
with a DSN it never touches a database it did not create."""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
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

    def create_reader(self, dsn: str, *, can_write: bool = False) -> str:
        """A login role that may only read the tables of ``dsn``'s database; its DSN."""
        ...

    def close(self) -> None: ...

    @property
    def server(self) -> str: ...

    @property
    def created(self) -> dict[str, list[str]]: ...

    def drop(self, databases: list[str], roles: list[str]) -> None: ...


class ExternalPostgres:
    """Databases named ``harness_<random>_<purpose>`` on a server the user names; dropped on close."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.description = f"PostgreSQL at {redact(admin_dsn)}"
        self._token = secrets.token_hex(4)
        self._created: list[str] = []
        self._roles: list[str] = []
        self.reader_role = f"harness_{self._token}_reader"  # unique: roles are shared by the whole server
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

    def create_reader(self, dsn: str, *, can_write: bool = False) -> str:
        """The harness's own role for the data checks, distinct from the service's: SELECT on every table of
        the database, nothing else (``can_write``: the ``reader_can_write`` fault grants writes too)."""
        role, password = self.reader_role, secrets.token_urlsafe(18)
        privileges = "SELECT, INSERT, UPDATE, DELETE" if can_write else "SELECT"
        try:
            with psycopg.connect(dsn, connect_timeout=5, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(password))
                )
                self._roles.append(role)
                conn.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(database_name(dsn)), sql.Identifier(role)
                    )
                )
                conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(role)))
                conn.execute(
                    sql.SQL("GRANT " + privileges + " ON ALL TABLES IN SCHEMA public TO {}").format(
                        sql.Identifier(role)
                    )
                )
        except psycopg.Error as exc:
            raise StackError(
                f"cannot create the read-only role {role} at {redact(self.admin_dsn)}: "
                f"{redact(str(exc).strip().splitlines()[0])}; the DSN's role needs CREATEROLE"
            ) from None
        return make_conninfo(dsn, user=role, password=password)

    @property
    def server(self) -> str:
        """Which server this is (host and port, no credentials): a killed stack's leftovers are dropped only
        by a stack on the same server."""
        params = conninfo_to_dict(self.admin_dsn)
        return f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"

    @property
    def created(self) -> dict[str, list[str]]:
        return {"databases": list(self._created), "roles": list(self._roles)}

    def close(self) -> None:
        self.drop(self._created, self._roles)
        self._created, self._roles = [], []

    def drop(self, databases: list[str], roles: list[str]) -> None:
        # databases first, then roles: the roles' grants went with the databases
        drops = [("database", n, "DROP DATABASE IF EXISTS {} WITH (FORCE)") for n in reversed(databases)]
        drops += [("role", r, "DROP ROLE IF EXISTS {}") for r in reversed(roles)]
        for kind, name, statement in drops:
            try:
                with psycopg.connect(self.admin_dsn, connect_timeout=5, autocommit=True) as conn:
                    conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
            except psycopg.Error as exc:
                warnings.warn(f"could not drop {kind} {name}: {redact(str(exc))}", stacklevel=2)


@contextmanager
def one_at_a_time(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the existing file ``path``, held for the block: machine-wide, and it creates
    nothing (a lock file of our own would be left in the temporary directory)."""
    with open(path, "rb") as locked:
        fcntl.flock(locked, fcntl.LOCK_EX)  # released when the file is closed, also on an error in the block
        yield


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
            if os.geteuid() == 0:
                # as root, pgserver runs the server as a system user it creates with `useradd` when missing; two
                # stacks starting at once on a fresh machine (pytest -n) would both create it, and one fail. The
                # user database is what is serialised (useradd's own lock is an fcntl lock, not this flock)
                with one_at_a_time(Path("/etc/passwd")):
                    from pgserver.utils import ensure_user_exists

                    ensure_user_exists("pgserver")
            self._server = get_server(self.datadir, cleanup_mode="stop")
        except Exception as exc:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise StackError(
                f"the embedded PostgreSQL did not start: {exc}; or use your own server with --pg-dsn / HARNESS_PG_DSN"
            ) from None
        super().__init__(self._server.get_uri())
        self.description = f"embedded PostgreSQL in {self.datadir}"
        self.reader_role = "harness_reader"  # the server is the stack's own

    def close(self) -> None:
        super().close()
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self.datadir, ignore_errors=True)


def database_name(dsn: str) -> str:
    return str(conninfo_to_dict(dsn).get("dbname") or "")
