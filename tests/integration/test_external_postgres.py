"""Any PostgreSQL can replace the embedded one through a DSN; the stack only touches databases it created."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from harness.embedded import EmbeddedStack


def _harness_databases(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'harness\\_%'")}


@pytest.mark.slow
def test_stack_on_the_machines_postgres(machine_pg_dsn: str) -> None:
    # other workers' stacks may create and drop harness_* databases on the same server meanwhile (pytest -n):
    # this stack's are the two named by its own token
    before = _harness_databases(machine_pg_dsn)
    with EmbeddedStack(characters=25, seed=11, pg_dsn=machine_pg_dsn) as info:
        assert "127.0.0.1" in info.source_dsn or "localhost" in info.source_dsn
        legacy_db = str(conninfo_to_dict(info.source_dsn)["dbname"])
        assert legacy_db.startswith("harness_") and legacy_db.endswith("_legacy")
        ours = {legacy_db, legacy_db.removesuffix("_legacy") + "_storage"}
        created = _harness_databases(machine_pg_dsn) - before
        assert ours <= created
        assert {name for name in created if name.startswith(legacy_db.removesuffix("legacy"))} == ours
        legacy = httpx.get(f"{info.legacy_url}/characters?limit=100").json()["items"]
        storage = httpx.get(f"{info.storage_url}/characters?limit=100").json()["items"]
        assert len(legacy) == 25 and legacy == storage
    assert not ours & _harness_databases(machine_pg_dsn), "the stack left its databases behind"
