"""The security probes' own judgement, against services broken on purpose (httpx mock transports)."""

from __future__ import annotations

import httpx

from harness.security import FORBIDDEN, UNAUTHORIZED, StorageProbe, got_through, malformed_credentials, report

TOKEN = "sst_" + "a" * 32


def _probe(handler: httpx.MockTransport) -> StorageProbe:
    return StorageProbe(httpx.Client(transport=handler), "http://storage.test", "character_db", "characters")


def test_an_echoed_token_is_found_in_body_or_headers() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        sent = request.headers.get("authorization", "")
        return httpx.Response(403, json={"detail": f"bad credential {sent}"}, headers={"X-Seen": sent})

    exchanges = _probe(httpx.MockTransport(echo)).reads("a token", f"Bearer {TOKEN}", FORBIDDEN, sent=TOKEN)
    assert not got_through(exchanges) and all(e.echoes_secret() for e in exchanges)


def test_a_refusal_with_another_status_is_named_and_a_success_got_through() -> None:
    def lenient(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.method == "DELETE" else 200, json={"items": []})

    probe = _probe(httpx.MockTransport(lenient))
    exchanges = probe.conditional_writes("x1", "no token", None, UNAUTHORIZED)
    message = report(exchanges)
    assert message.startswith("2 of 2 request(s) not refused as documented: PUT ")
    assert (
        'PUT /databases/character_db/collections/characters/records/x1 with no token (If-Match: "0") got through'
        in message
    )
    teapot = _probe(httpx.MockTransport(lambda r: httpx.Response(418))).reads("no token", None, UNAUTHORIZED)
    assert "refused with an undocumented status: answered 418, expected 401" in report(teapot)


def test_no_answer_is_not_a_refusal() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    exchanges = _probe(httpx.MockTransport(down)).reads("no token", None, UNAUTHORIZED)
    assert len(got_through(exchanges)) == 3 and "no answer" in report(exchanges)


def test_malformed_credentials_are_new_each_time() -> None:
    assert malformed_credentials()[3][2] != malformed_credentials()[3][2]
