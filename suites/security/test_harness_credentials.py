"""The harness's own credentials are read-only on both sides (it must never be able to damage what it
judges): its Storage Service token cannot write (conditional writes on a version that cannot match) and its
PostgreSQL role cannot write (writes that match no row, in a transaction rolled back)."""

from __future__ import annotations

import psycopg
import pytest

from harness.config import Target
from harness.redaction import redact
from harness.security import FORBIDDEN, StorageProbe, got_through, postgres_writes, report


def test_harness_storage_token_is_read_only(storage_probe: StorageProbe, target: Target, record_id: str) -> None:
    assert target.destination is not None
    token = target.destination.token
    if not token:
        pytest.skip(f"the harness reads the destination without a token; set [targets.{target.name}.destination] token")
    credential = "the harness's destination token"
    exchanges = storage_probe.conditional_writes(record_id, credential, f"Bearer {token}", FORBIDDEN, sent=token)
    assert not got_through(exchanges), report(exchanges)


def test_harness_postgres_role_is_read_only(target: Target) -> None:
    if target.source is None:
        pytest.skip(f"target {target.name!r} has no [targets.{target.name}.source] dsn to probe")
    try:
        writes = postgres_writes(target.source.dsn, connect_timeout=target.timeouts.connect)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        failure: str | None = (
            f"cannot connect with [targets.{target.name}.source] dsn {redact(target.source.dsn)}: {redact(first)}"
        )
    else:
        failure = None
    # failed outside the except: a failure raised in it chains psycopg's error, whose traceback prints
    # connect()'s conninfo, password included
    if failure is not None:
        pytest.fail(failure)
    if not writes:
        pytest.skip("the source role sees no table, so there is nothing to prove")
    through = [w for w in writes if w.outcome == "through"]
    assert not through, (
        f"the harness's PostgreSQL role can write: {len(through)} of {len(writes)} write(s) got through: "
        + "; ".join(w.describe() for w in through)
    )
    if not any(w.outcome == "refused" for w in writes):
        pytest.skip("no write was refused for lack of privilege (" + "; ".join(w.describe() for w in writes) + ")")
