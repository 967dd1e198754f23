"""The Storage Service's access control: who may do what on which database, and the faults that open it."""

from __future__ import annotations

import pytest

from reference_system.access import AccessControl, AccessFaults, Denied, Grant, issue, new_token

READ, WRITE, ADMIN, OTHER, OPERATOR = (new_token() for _ in range(5))
TABLE = issue(
    {
        READ: Grant("character_db", "read"),
        WRITE: Grant("character_db", "write"),
        ADMIN: Grant("character_db", "admin"),
        OTHER: Grant("other_db", "admin"),
        OPERATOR: Grant("*", "admin"),
    }
)


def status(access: AccessControl, header: str | None, database: str = "character_db", needed: str = "read") -> int:
    try:
        access.check(header, database, needed)
    except Denied as exc:
        assert header is None or header.partition(" ")[2] not in exc.detail or not header.partition(" ")[2]
        return exc.status
    return 200


UNKNOWN = new_token()  # well formed, never issued
HEADERS = {
    "none": None,
    "scheme only": "Bearer",
    "basic": "Basic dXNlcjpwdw==",
    "unknown": f"Bearer {UNKNOWN}",
    "no scheme": READ,
    "read": f"Bearer {READ}",
    "read, lower-case scheme": f"bearer {READ}",
    "write": f"Bearer {WRITE}",
    "admin": f"Bearer {ADMIN}",
    "other": f"Bearer {OTHER}",
    "operator": f"Bearer {OPERATOR}",
}


@pytest.mark.parametrize(
    ("header", "database", "needed", "expected"),
    [
        ("none", "character_db", "read", 401),
        ("scheme only", "character_db", "read", 401),
        ("basic", "character_db", "read", 401),
        ("unknown", "character_db", "read", 401),
        ("no scheme", "character_db", "read", 401),
        ("read", "character_db", "read", 200),
        ("read, lower-case scheme", "character_db", "read", 200),
        ("read", "character_db", "write", 403),
        ("write", "character_db", "write", 200),
        ("write", "character_db", "admin", 403),
        ("admin", "character_db", "admin", 200),
        ("other", "character_db", "read", 403),
        ("admin", "other_db", "read", 403),
        ("operator", "any_db", "admin", 200),
    ],
)
def test_tokens_grant_their_role_on_their_database(header: str, database: str, needed: str, expected: int) -> None:
    assert status(AccessControl(TABLE), HEADERS[header], database, needed) == expected


def test_the_table_holds_no_token() -> None:
    assert all(token not in TABLE for token in (READ, WRITE, ADMIN, OTHER, OPERATOR))


def test_faults_open_exactly_their_hole() -> None:
    open_storage = AccessControl(TABLE, AccessFaults(open_storage=True))
    assert status(open_storage, None) == status(open_storage, "Bearer junk", needed="admin") == 200
    cross = AccessControl(TABLE, AccessFaults(cross_database=True))
    assert status(cross, f"Bearer {OTHER}") == 200 and status(cross, None) == 401
    assert status(cross, f"Bearer {READ}", needed="write") == 403
    writer = AccessControl(TABLE, AccessFaults(reader_can_write=True))
    assert status(writer, f"Bearer {READ}", needed="write") == 200
    assert status(writer, f"Bearer {READ}", needed="admin") == 403 and status(writer, f"Bearer {OTHER}") == 403


def test_a_broken_token_table_is_refused() -> None:
    with pytest.raises(ValueError, match="STORAGE_TOKENS"):
        AccessControl("[1, 2]")
    with pytest.raises(ValueError, match="role"):
        issue({READ: Grant("character_db", "owner")})
