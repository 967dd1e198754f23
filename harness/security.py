"""Access-control probes: does the Storage Service refuse who it must, and are the harness's own credentials
read-only on both sides? Nothing here changes data: writes on the Storage Service are conditional on a version
that cannot match (``If-Match: "0"``; versions start at 1), writes on PostgreSQL match no row and run in a
transaction that is rolled back. ``suites/security`` turns the results into tests.

Each probe returns ``Exchange`` records; ``got_through`` keeps those whose status is not the one the contract
documents, and ``describe`` names each such request in one line (method, path, credential, status), which is
what a failing test prints first.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

from .redaction import redact

UNAUTHORIZED, FORBIDDEN = 401, 403  # contracts/storage-service.openapi.yaml: responses Unauthorized, Forbidden
IMPOSSIBLE_VERSION = '"0"'  # versions start at 1: a conditional write on it is never applied
ABSENT_ID = "harness-security-probe"  # a record id when the collection shows none (If-Match on it: no create)


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    credential: str  # what was sent, described (never the value): "no token", "a read token", ...
    status: int | None  # None: no HTTP answer
    expected: int
    body: str = field(default="", repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    sent: str = field(default="", repr=False)  # the secret sent, to check that the answer does not echo it

    @property
    def refused_as_documented(self) -> bool:
        return self.status == self.expected

    def describe(self) -> str:
        answer = "no answer" if self.status is None else f"answered {self.status}"
        if (self.status is not None and 200 <= self.status < 300) or self.status in (404, 409, 412, 422):
            verdict = "got through"
        else:
            verdict = "refused with an undocumented status"
        return f"{self.method} {self.path} with {self.credential} {verdict}: {answer}, expected {self.expected}"

    def echoes_secret(self) -> bool:
        if not self.sent:
            return False
        return self.sent in self.body or any(self.sent in v for v in self.headers.values())


def got_through(exchanges: Iterable[Exchange]) -> list[Exchange]:
    return [e for e in exchanges if not e.refused_as_documented]


def report(exchanges: Sequence[Exchange]) -> str:
    """The failure message: how many requests got through, then one line each."""
    through = got_through(exchanges)
    head = f"{len(through)} of {len(exchanges)} request(s) not refused as documented: {through[0].describe()}"
    return "\n".join([head, *(f"  {e.describe()}" for e in through[1:])])


class StorageProbe:
    """Requests to one database and collection of a Storage Service, each with a credential of the probe's
    choosing (the client carries none of its own)."""

    def __init__(self, http: httpx.Client, url: str, database: str, collection: str) -> None:
        self.http = http
        self.url = url.rstrip("/")
        self.database = database
        self.collection = collection

    @property
    def base(self) -> str:
        return f"/databases/{self.database}/collections/{self.collection}"

    def send(
        self,
        method: str,
        path: str,
        credential: str,
        authorization: str | None,
        expected: int,
        *,
        sent: str = "",
        **kwargs: Any,
    ) -> Exchange:
        headers = dict(kwargs.pop("headers", {}))
        if authorization is not None:
            headers["Authorization"] = authorization
        try:
            response = self.http.request(method, self.url + path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            return Exchange(method, path, f"{credential} ({type(exc).__name__})", None, expected, sent=sent)
        return Exchange(
            method,
            path,
            credential,
            response.status_code,
            expected,
            body=response.text[:4000],
            headers=dict(response.headers),
            sent=sent,
        )

    def some_record_id(self, tokens: Iterable[str | None]) -> str:
        """An existing record's id (read with the first token that lists one), else an id that does not exist."""
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            try:
                response = self.http.get(self.url + self.base + "/records", params={"limit": 1}, headers=headers)
                items = response.json().get("items") if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError, AttributeError):
                continue
            if isinstance(items, list) and items and isinstance(items[0], dict) and "id" in items[0]:
                return str(items[0]["id"])
        return ABSENT_ID

    def reads(self, credential: str, authorization: str | None, expected: int, sent: str = "") -> list[Exchange]:
        return [
            self.send("GET", f"/databases/{self.database}", credential, authorization, expected, sent=sent),
            self.send(
                "GET", self.base + "/records", credential, authorization, expected, sent=sent, params={"limit": 1}
            ),
            self.send("GET", self.base + "/summary", credential, authorization, expected, sent=sent),
        ]

    def conditional_writes(
        self, record_id: str, credential: str, authorization: str | None, expected: int, sent: str = ""
    ) -> list[Exchange]:
        """PUT and DELETE of one record, conditional on a version that cannot match: never applied."""
        path = f"{self.base}/records/{record_id}"
        condition = {"If-Match": IMPOSSIBLE_VERSION}
        return [
            self.send(
                "PUT",
                path,
                f'{credential} (If-Match: "0")',
                authorization,
                expected,
                sent=sent,
                headers=condition,
                json={"harness": "security probe, never applied"},
            ),
            self.send(
                "DELETE", path, f'{credential} (If-Match: "0")', authorization, expected, sent=sent, headers=condition
            ),
        ]


def malformed_credentials() -> list[tuple[str, str, str]]:
    """(description, Authorization header, the secret part of it) that no Storage Service may accept."""
    unknown = "sst_" + secrets.token_urlsafe(24)  # well formed, never issued
    return [
        ("a bearer scheme without a token", "Bearer", ""),
        ("a bearer token with spaces", "Bearer not a token", "not a token"),
        ("basic credentials", "Basic aGFybmVzczpzZWNyZXQ=", "aGFybmVzczpzZWNyZXQ="),
        ("a token without a scheme", unknown, unknown),
        ("a well-formed token that was never issued", f"Bearer {unknown}", unknown),
        ("a truncated token", "Bearer sst_x", "sst_x"),
    ]


@dataclass(frozen=True)
class SqlWrite:
    statement: str  # e.g. "UPDATE characters"
    outcome: str  # refused (no privilege, or a read-only transaction) | through | inconclusive (another error)
    detail: str

    def describe(self) -> str:
        if self.outcome == "through":
            return f"{self.statement} got through (it matched no row and was rolled back)"
        return f"{self.statement}: {self.outcome} ({self.detail})"


def postgres_writes(dsn: str, *, connect_timeout: float = 5.0, limit: int = 20) -> list[SqlWrite]:
    """Try UPDATE, INSERT and DELETE on every table the role can see, each matching no row, each in a savepoint
    of one transaction that is rolled back: a permission error is a refusal, success means the role can write."""
    results: list[SqlWrite] = []
    with psycopg.connect(dsn, connect_timeout=max(1, int(connect_timeout))) as conn:
        conn.execute("SET statement_timeout = '5s'")
        conn.execute("SET lock_timeout = '2s'")
        tables = conn.execute(
            "SELECT c.table_schema, c.table_name, min(c.column_name) FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE t.table_type = 'BASE TABLE' AND c.table_schema NOT IN ('pg_catalog', 'information_schema')"
            " GROUP BY 1, 2 ORDER BY 1, 2 LIMIT %s",
            (limit,),
        ).fetchall()
        for schema, table, column in tables:
            name = sql.Identifier(schema, table)
            col = sql.Identifier(column)
            statements = {
                f"UPDATE {table}": sql.SQL("UPDATE {} SET {} = {} WHERE false").format(name, col, col),
                f"INSERT INTO {table}": sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE false").format(name, name),
                f"DELETE FROM {table}": sql.SQL("DELETE FROM {} WHERE false").format(name),
            }
            for label, statement in statements.items():
                try:
                    with conn.transaction():  # a savepoint inside the outer transaction
                        conn.execute(statement)
                except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction) as exc:
                    results.append(SqlWrite(label, "refused", type(exc).__name__))
                except psycopg.Error as exc:  # proves nothing either way (e.g. a generated column)
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    results.append(SqlWrite(label, "inconclusive", f"{type(exc).__name__}: {redact(first)}"))
                else:
                    results.append(SqlWrite(label, "through", "allowed"))
        conn.rollback()
    return results
