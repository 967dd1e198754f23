"""``preflight.character_db``: the Storage Service answers ``GET /databases/character_db`` with that database. Any
200 passed: a destination URL of some other server answering every path (a catch-all page) "provisioned"
character_db. A loopback stub answers; no stack."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixed_answer import FixedAnswer, fixed_answer_server
from gate_helpers import stub_context

from harness.gate import preflight
from harness.verdict import CheckResult, Outcome


@pytest.fixture(scope="module")
def server() -> Iterator[FixedAnswer]:
    with fixed_answer_server() as answer:
        yield answer


def _check(tmp_path: Path, server: FixedAnswer, body: str, content_type: str = "application/json") -> CheckResult:
    server.body, server.content_type = body, content_type
    ctx = stub_context(
        tmp_path,
        f'[targets.t.backends.storage]\nurl = "{server.url}"\n'
        f'[targets.t.destination]\nurl = "{server.url}"\ndatabase = "character_db"\n',
    )
    return preflight.database_provisioned(ctx)


def test_the_database_named_passes(tmp_path: Path, server: FixedAnswer) -> None:
    result = _check(tmp_path, server, '{"name": "character_db", "collections": ["campaigns", "characters"]}')
    assert result.outcome is Outcome.PASS, result.summary


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        ("<html><body>Welcome</body></html>", "text/html", "not a JSON object"),
        ('{"status": "ok"}', "application/json", "is a required property"),
        ('{"name": "other_db", "collections": []}', "application/json", "name 'other_db'"),
    ],
)
def test_a_200_that_is_not_the_database_cannot_decide(
    tmp_path: Path, server: FixedAnswer, body: str, content_type: str, why: str
) -> None:
    result = _check(tmp_path, server, body, content_type)
    assert result.outcome is Outcome.INCONCLUSIVE, result.summary
    assert why in result.summary and "is [targets.t.destination] url the Storage Service?" in result.summary
