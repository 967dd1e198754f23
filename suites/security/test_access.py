"""Access control of the Storage Service (the guide's "Configure access controls"): requests without a token, with a
malformed token, with another database's token, and writes with a read token are refused with the status the
contract documents (401, 403), and no refusal echoes the token. Nothing is written: every write is conditional
on a version that cannot match."""

from __future__ import annotations

import pytest

from harness.config import Target
from harness.security import FORBIDDEN, UNAUTHORIZED, Exchange, StorageProbe, got_through, malformed_credentials, report


def _assert_refused(exchanges: list[Exchange]) -> None:
    assert not got_through(exchanges), report(exchanges)


def test_no_token_is_refused(storage_probe: StorageProbe, record_id: str) -> None:
    exchanges = storage_probe.reads("no token", None, UNAUTHORIZED)
    exchanges += storage_probe.conditional_writes(record_id, "no token", None, UNAUTHORIZED)
    _assert_refused(exchanges)


def test_malformed_token_is_refused(storage_probe: StorageProbe) -> None:
    exchanges = [
        e
        for credential, header, secret in malformed_credentials()
        for e in storage_probe.reads(credential, header, UNAUTHORIZED, sent=secret)
    ]
    _assert_refused(exchanges)


def test_other_database_token_is_refused(storage_probe: StorageProbe, target: Target, record_id: str) -> None:
    token = target.security.other_database_token
    if not token:
        pytest.skip(
            f"no token of another database to probe with; set [targets.{target.name}.security] other_database_token"
        )
    credential, header = "another database's token", f"Bearer {token}"
    exchanges = storage_probe.reads(credential, header, FORBIDDEN, sent=token)
    exchanges += storage_probe.conditional_writes(record_id, credential, header, FORBIDDEN, sent=token)
    _assert_refused(exchanges)


def test_read_token_cannot_write(storage_probe: StorageProbe, target: Target, record_id: str) -> None:
    token = target.security.read_token
    if not token:
        pytest.skip(f"no read-only token to probe with; set [targets.{target.name}.security] read_token")
    header = f"Bearer {token}"
    can_read = storage_probe.reads("the read token", header, 200, sent=token)
    assert not got_through(can_read), (
        f"[targets.{target.name}.security] read_token cannot read, so its refused writes would prove nothing: "
        + report(can_read)
    )
    _assert_refused(storage_probe.conditional_writes(record_id, "the read token", header, FORBIDDEN, sent=token))


def test_refusals_never_echo_the_token(storage_probe: StorageProbe, target: Target, record_id: str) -> None:
    exchanges = [
        e
        for credential, header, secret in malformed_credentials()
        for e in storage_probe.reads(credential, header, UNAUTHORIZED, sent=secret)
    ]
    for credential, token in (
        ("another database's token", target.security.other_database_token),
        ("the read token", target.security.read_token),
    ):
        if token:
            header = f"Bearer {token}"
            exchanges += storage_probe.conditional_writes(record_id, credential, header, FORBIDDEN, sent=token)
    echoed = [e for e in exchanges if e.echoes_secret()]
    assert not echoed, f"{len(echoed)} answer(s) repeat the credential sent: " + "; ".join(
        f"{e.method} {e.path} with {e.credential} ({e.status})" for e in echoed
    )
