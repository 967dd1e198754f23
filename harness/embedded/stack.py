"""Start and stop the whole embedded default: PostgreSQL, the Storage Service, the legacy data seeded and
migrated, and the Character Service twice (legacy backend and storage backend), all on free loopback ports."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StackError
from . import stale
from .postgres import EmbeddedPostgres, ExternalPostgres, PostgresProvider
from .processes import ServiceProcess

if TYPE_CHECKING:
    from reference_system.faults import Fault

STORAGE_DATABASE = "character_db"
OTHER_DATABASE = "harness_probe"  # the database of the cross-database probe token; never provisioned


@dataclass(frozen=True)
class StackTokens:
    """The Storage Service's bearer tokens, made at start (``harness up --json`` prints them)."""

    read: str  # read on character_db: the harness's data readers and every other harness client
    write: str  # write on character_db: the Character Service's storage backend
    admin: str  # admin on character_db: the migration (provisioning, import)
    other_database: str  # admin on harness_probe: a token of another database, for the security checks
    operator: str  # admin on every database: the harness's own tests, which provision scratch databases

    def __repr__(self) -> str:
        return "StackTokens(***)"

    def all(self) -> tuple[str, ...]:
        return (self.read, self.write, self.admin, self.other_database, self.operator)

    @classmethod
    def generate(cls) -> StackTokens:
        from reference_system.access import new_token  # the launcher's lazy import

        return cls(*(new_token() for _ in range(5)))

    def table(self) -> str:
        """``STORAGE_TOKENS`` for the Storage Service."""
        from reference_system.access import ANY_DATABASE, Grant, issue

        return issue(
            {
                self.read: Grant(STORAGE_DATABASE, "read"),
                self.write: Grant(STORAGE_DATABASE, "write"),
                self.admin: Grant(STORAGE_DATABASE, "admin"),
                self.other_database: Grant(OTHER_DATABASE, "admin"),
                self.operator: Grant(ANY_DATABASE, "admin"),
            }
        )


@dataclass(frozen=True)
class StackInfo:
    legacy_url: str
    storage_url: str
    storage_service_url: str
    source_dsn: str = field(repr=False)  # the legacy service's own role (owner of the tables)
    storage_database: str
    characters: int
    seed: int
    postgres: str
    faults: list[str] = field(default_factory=list)
    data_faults: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    control_url: str = ""
    reader_dsn: str = field(default="", repr=False)  # harness_reader: SELECT only, what the data checks use
    storage_read_token: str = field(default="", repr=False)
    storage_write_token: str = field(default="", repr=False)
    storage_admin_token: str = field(default="", repr=False)
    storage_other_token: str = field(default="", repr=False)  # admin on other_database
    storage_operator_token: str = field(default="", repr=False)  # admin on every database
    other_database: str = OTHER_DATABASE

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def public(self) -> dict[str, Any]:
        """The description without its secrets (tokens dropped, DSN passwords masked): for the control API,
        which any local user can ask."""
        from ..redaction import redact

        described = {k: v for k, v in asdict(self).items() if not k.endswith("_token")}
        return {**described, "source_dsn": redact(self.source_dsn), "reader_dsn": redact(self.reader_dsn)}

    def read_headers(self) -> dict[str, str]:
        """The read token as the header the harness's clients of the Storage Service send."""
        return {"Authorization": f"Bearer {self.storage_read_token}"}

    def secrets(self) -> tuple[str, ...]:
        """Every value of this description that must never reach a log or report."""
        return tuple(
            v
            for v in (
                self.storage_read_token,
                self.storage_write_token,
                self.storage_admin_token,
                self.storage_other_token,
                self.storage_operator_token,
            )
            if v
        )

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> StackInfo:
        """What ``to_json`` (``harness up --json``) wrote; keys this version does not know are ignored."""
        values = json.loads(data) if isinstance(data, str) else data
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})


def check_faults(faults: Sequence[str]) -> list[Fault]:
    """The faults ``NAME[=VALUE]`` the embedded default would start with, parsed, or a StackError naming the one
    that is unknown or out of range: what a run checks them by, and what ``harness gate --plan`` checks them by
    before it plans."""
    from reference_system.faults import FaultError, parse_faults  # the launcher's lazy import

    try:
        return list(parse_faults(faults))
    except FaultError as exc:
        raise StackError(str(exc)) from None


class EmbeddedStack:
    """Usage: ``with EmbeddedStack(characters=100) as info: ...``; ``stop()`` is idempotent and leaves no process
    or temporary directory behind."""

    def __init__(
        self,
        *,
        characters: int = 1000,
        seed: int = 42,
        pg_dsn: str | None = None,
        faults: Sequence[str] = (),
        migrate: bool = True,
        bulk: bool = False,
    ) -> None:
        from reference_system.faults import DATA_FAULTS, STACK_FAULTS  # the launcher's lazy import

        if characters < 0:
            raise StackError("--characters must be zero or more")
        self.faults = check_faults(faults)
        self._stack_faults = {f.name: f for f in self.faults if f.name in STACK_FAULTS}
        self._data_faults = {n: int(f.number) for n, f in self._stack_faults.items() if n in DATA_FAULTS}
        writer = self._stack_faults.get("reader_can_write")
        self._reader_can_write_sql = writer is not None and writer.value in ("postgres", "both")
        self.tokens: StackTokens | None = None  # made at start
        self.characters = characters
        self.seed = seed
        # migrate=False: seeded and provisioned (character_db and its collections exist, empty), not migrated;
        # the caller runs the guide's data scripts itself (export, import, apply_data_faults), as `harness gate`.
        self.migrate = migrate
        # bulk: the reference's set-based seeding and its direct load of the Storage Service's tables instead of
        # the guide's export and HTTP import: other (but as deterministic) data, minutes faster at a million
        self.bulk = bulk
        self.pg_dsn = pg_dsn
        self.workdir: Path | None = None
        self.postgres: PostgresProvider | None = None
        self.storage_service: ServiceProcess | None = None
        self.legacy: ServiceProcess | None = None
        self.storage: ServiceProcess | None = None
        self.info: StackInfo | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> StackInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> StackInfo:
        from reference_system import migration, seed  # lazy: only the launcher touches the reference

        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self.workdir = Path(tempfile.mkdtemp(prefix=stale.PREFIX))
        stale.record(self.workdir)
        self.postgres = ExternalPostgres(self.pg_dsn) if self.pg_dsn else EmbeddedPostgres(self.workdir)
        self._remove_stale()
        stale.record(self.workdir, server=self.postgres.server if self.pg_dsn else "", **self.postgres.created)
        source_dsn = self.postgres.create_database("legacy")
        stale.record(self.workdir, **self.postgres.created)
        storage_dsn = self.postgres.create_database("storage")
        stale.record(self.workdir, **self.postgres.created)
        timings["postgres_s"] = time.perf_counter() - t0

        fault_env = ",".join(f.spec() for f in self.faults)
        self.tokens = tokens = StackTokens.generate()
        self.storage_service = ServiceProcess(
            "storage-service",
            "storage",
            {"DATABASE_URL": storage_dsn, "STORAGE_TOKENS": tokens.table(), "HARNESS_FAULTS": fault_env},
            self.workdir,
        )
        self.storage_service.start()
        t = time.perf_counter()
        (seed.seed_legacy_bulk if self.bulk else seed.seed_legacy)(
            source_dsn, characters=self.characters, seed=self.seed
        )
        reader_dsn = self.postgres.create_reader(source_dsn, can_write=self._reader_can_write_sql)
        stale.record(self.workdir, **self.postgres.created)
        timings["seed_s"] = time.perf_counter() - t
        self.storage_service.wait_healthy()

        touched: dict[str, list[str]] = {}
        if self.migrate and self.bulk:
            t = time.perf_counter()
            migration.import_bulk(source_dsn, storage_dsn, STORAGE_DATABASE)
            timings["migrate_s"] = time.perf_counter() - t
            touched = self.apply_data_faults()
        elif self.migrate:
            t = time.perf_counter()
            export_dir = self.workdir / "export"
            migration.export_data(source_dsn, export_dir)
            migration.import_to_storage(
                export_dir / "export.jsonl", self.storage_service.url, STORAGE_DATABASE, token=tokens.admin
            )
            timings["migrate_s"] = time.perf_counter() - t
            touched = self.apply_data_faults()
        else:
            migration.provision_storage(self.storage_service.url, STORAGE_DATABASE, token=tokens.admin)

        self.legacy = ServiceProcess(
            "character-legacy",
            "character",
            {"DATABASE_URL": source_dsn, "USE_STORAGE_SERVICE": "false", "HARNESS_FAULTS": fault_env},
            self.workdir,
        )
        self.storage = ServiceProcess(
            "character-storage",
            "character",
            {
                "USE_STORAGE_SERVICE": "true",
                "STORAGE_SERVICE_URL": self.storage_service.url,
                "STORAGE_DATABASE": STORAGE_DATABASE,
                "STORAGE_TOKEN": tokens.write,
                "HARNESS_FAULTS": fault_env,
            },
            self.workdir,
        )
        self.legacy.start()
        self.storage.start()
        self.legacy.wait_healthy()
        self.storage.wait_healthy()
        if "storage_outage" in self._stack_faults:
            self.storage_service.stop()
        timings["total_s"] = time.perf_counter() - t0
        self.info = StackInfo(
            legacy_url=self.legacy.url,
            storage_url=self.storage.url,
            storage_service_url=self.storage_service.url,
            source_dsn=source_dsn,
            storage_database=STORAGE_DATABASE,
            characters=self.characters,
            seed=self.seed,
            postgres=self.postgres.description,
            faults=[f.spec() for f in self.faults],
            data_faults=touched,
            timings={k: round(v, 3) for k, v in timings.items()},
            reader_dsn=reader_dsn,
            storage_read_token=tokens.read,
            storage_write_token=tokens.write,
            storage_admin_token=tokens.admin,
            storage_other_token=tokens.other_database,
            storage_operator_token=tokens.operator,
        )
        return self.info

    def _remove_stale(self) -> None:
        """Remove what killed stacks left (see ``stale``), naming each in one line on stderr."""
        assert self.postgres is not None
        for workdir, state in stale.stale_stacks():
            leftovers = {"databases": state.get("databases") or [], "roles": state.get("roles") or []}
            same_server = bool(self.pg_dsn) and state.get("server") == self.postgres.server
            if same_server and (leftovers["databases"] or leftovers["roles"]):
                self.postgres.drop(leftovers["databases"], leftovers["roles"])
            stale.remove(workdir)
            dropped = f", dropped {', '.join(leftovers['databases'] + leftovers['roles'])}" if same_server else ""
            print(
                f"harness: removed {workdir} of a stack that was killed (pid {state['pid']}){dropped}", file=sys.stderr
            )

    # --- the guide's data scripts (export, validate, import, backup, restore, clean-up), for rehearsals -------

    def apply_data_faults(self) -> dict[str, list[str]]:
        """Damage the destination as the stack's data faults say (after an import); the records touched."""
        from reference_system.data_faults import apply_data_faults

        assert self.storage_service is not None and self.tokens is not None
        if not self._data_faults:
            return {}
        touched = apply_data_faults(
            self.storage_service.url, STORAGE_DATABASE, self._data_faults, token=self.tokens.write
        )
        if self.info is not None:
            self.info = replace(self.info, data_faults=touched)
        return touched

    def export_source(self, out_dir: Path) -> Path:
        """``export_data``: the source as JSON Lines plus ``manifest.json``; the export file's path."""
        from reference_system import migration

        migration.export_data(self._info().source_dsn, out_dir)
        return out_dir / "export.jsonl"

    def import_export(self, export_file: Path) -> dict[str, Any]:
        """``import_to_storage``: batched, resumable; stops early when ``stop_migration`` marked the file."""
        from reference_system import migration

        info = self._info()
        result = migration.import_to_storage(
            export_file, info.storage_service_url, STORAGE_DATABASE, token=info.storage_admin_token
        )
        return asdict(result)

    def stop_migration(self, export_file: Path) -> Path:
        from reference_system import migration

        return migration.stop_migration(export_file)

    def resume_migration(self, export_file: Path) -> None:
        from reference_system import migration

        migration.resume_migration(export_file)

    def backup_source(self, backup_dir: Path) -> dict[str, Any]:
        from reference_system import migration

        return migration.backup_source(self._info().source_dsn, backup_dir)

    def restore_source(self, backup_dir: Path) -> dict[str, int]:
        from reference_system import migration

        return migration.restore_db(self._info().source_dsn, backup_dir)

    def cleanup_storage(self) -> None:
        from reference_system import migration

        info = self._info()
        migration.cleanup_storage(info.storage_service_url, STORAGE_DATABASE, token=info.storage_admin_token)

    def _info(self) -> StackInfo:
        if self.info is None:
            raise StackError("the stack is not running")
        return self.info

    # --- outage control, for tests and rehearsals -----------------------------------------------

    def stop_storage_service(self) -> None:
        if self.storage_service is None:
            raise StackError("the stack is not running")
        self.storage_service.stop()

    def start_storage_service(self) -> None:
        if self.storage_service is None:
            raise StackError("the stack is not running")
        if not self.storage_service.running():
            self.storage_service.start()  # on the port it had, so the Character Service finds it again
            self.storage_service.wait_healthy()

    def stop(self) -> None:
        with self._lock:
            for proc in (self.storage, self.legacy, self.storage_service):
                if proc is not None:
                    proc.stop()
            self.storage = self.legacy = self.storage_service = None
            if self.postgres is not None:
                self.postgres.close()
                self.postgres = None
            if self.workdir is not None:
                # a process stopped a moment ago (PostgreSQL interrupted while starting) may still write a file
                # into it while it is removed: try again briefly rather than leave the directory behind
                for _ in range(20):
                    shutil.rmtree(self.workdir, ignore_errors=True)
                    if not self.workdir.exists():
                        break
                    time.sleep(0.1)
                self.workdir = None

    def with_control_url(self, url: str) -> StackInfo:
        if self.info is None:
            raise StackError("the stack is not running")
        self.info = replace(self.info, control_url=url)
        return self.info

    def describe(self) -> dict[str, Any]:
        if self.info is None:
            raise StackError("the stack is not running")
        return asdict(self.info)
