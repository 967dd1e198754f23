"""Access control of the reference Storage Service: bearer tokens, each scoped to one database (or ``*``, the
operator's) and a role (``read`` < ``write`` < ``admin``).

The service is told its tokens by the environment variable ``STORAGE_TOKENS``: a JSON object mapping the
sha256 of each token to ``{"database": ..., "role": ...}``, so not even the service's environment holds a
usable token. No token (or a malformed one) is 401, a token of another database or too weak a role is 403.
The launcher makes the tokens (``issue``); the ``open_storage``, ``cross_database`` and ``reader_can_write``
faults switch parts of the check off, so that the harness's security checks can be shown to fail.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass

ROLES = ("read", "write", "admin")
ANY_DATABASE = "*"
TOKEN_PREFIX = "sst_"  # storage service token; the rest is url-safe base64
TOKEN = re.compile(r"^sst_[A-Za-z0-9_-]{20,128}$")


class Denied(Exception):
    """The request may not proceed: ``status`` is 401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


@dataclass(frozen=True)
class Grant:
    database: str
    role: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(24)


def issue(grants: dict[str, Grant]) -> str:
    """``STORAGE_TOKENS`` for the tokens given (token -> grant)."""
    for grant in grants.values():
        if grant.role not in ROLES:
            raise ValueError(f"unknown role {grant.role!r}; roles are {', '.join(ROLES)}")
    return json.dumps({digest(t): {"database": g.database, "role": g.role} for t, g in grants.items()})


@dataclass(frozen=True)
class AccessFaults:
    open_storage: bool = False  # no check at all: every request is served
    cross_database: bool = False  # a token's database is not compared with the request's
    reader_can_write: bool = False  # a read token may write


class AccessControl:
    def __init__(self, tokens_json: str, faults: AccessFaults | None = None) -> None:
        self.faults = faults or AccessFaults()
        try:
            table = json.loads(tokens_json) if tokens_json.strip() else {}
            self.grants = {k: Grant(v["database"], v["role"]) for k, v in table.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ValueError("STORAGE_TOKENS must be a JSON object of sha256 -> {database, role}") from None

    def check(self, authorization: str | None, database: str, needed: str) -> None:
        """Raise ``Denied`` unless the ``Authorization`` header grants ``needed`` on ``database``. Messages
        never repeat what the client sent."""
        if self.faults.open_storage:
            return
        if authorization is None or not authorization.strip():
            raise Denied(401, "Unauthorized", "send Authorization: Bearer <token>")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not TOKEN.match(token):
            raise Denied(401, "Unauthorized", "the Authorization header is not a bearer token of this service")
        grant = self.grants.get(digest(token))
        if grant is None:
            raise Denied(401, "Unauthorized", "unknown or revoked token")
        if grant.database not in (ANY_DATABASE, database) and not self.faults.cross_database:
            raise Denied(403, "Forbidden", f"the token is not valid for database {database}")
        role = grant.role
        if role == "read" and self.faults.reader_can_write:
            role = "write"
        if ROLES.index(role) < ROLES.index(needed):
            raise Denied(403, "Forbidden", f"the token's role ({grant.role}) may not {needed} on {database}")
