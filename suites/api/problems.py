"""What the api suite may demand of an error answer: the contract's promises (status, problem+json, the Problem
schema, the offending field named in some ``errors[].field``), plus what the target declares in
``[targets.X.suites]`` (the form of field names, words in ``detail``)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from harness.config.suites import SuiteSettings
from harness.contracts import violations


def problem(response: httpx.Response, statuses: int | tuple[int, ...], settings: SuiteSettings) -> dict[str, Any]:
    """The problem body of an error answer with one of ``statuses``, checked against the contract and the
    target's declared wording."""
    allowed = (statuses,) if isinstance(statuses, int) else statuses
    assert response.status_code in allowed, (
        f"expected {' or '.join(map(str, allowed))}, got {response.status_code}: {response.text[:300]}"
    )
    media_type = response.headers.get("content-type", "")
    assert media_type.startswith("application/problem+json"), f"error answered as {media_type!r}"
    body: dict[str, Any] = response.json()
    assert violations(body, "Problem") == [], violations(body, "Problem")
    words = settings.detail_for(response.status_code)
    if words is not None:  # declared: [targets.X.suites] problem_detail = { 412 = "..." }
        assert words in body.get("detail", ""), f"detail {body.get('detail')!r} lacks the declared {words!r}"
    return body


def segments(name: str) -> list[str]:
    """A field name in any notation as its parts: ``abilities.strength``, ``/body/abilities/strength``,
    ``abilities[strength]`` and ``$.abilities.strength`` all name ``["abilities", "strength"]`` (plus a location)."""
    return [part for part in re.split(r"[./\[\]'\"$]+", name) if part]


def names_field(reported: str, expected: str, form: str = "named") -> bool:
    """Whether ``reported`` (one ``errors[].field``) names the field at dotted path ``expected`` or something
    inside it (``inventory.0`` is named by ``inventory.0.quantity``).

    ``named`` (the contract: "a string"): the expected parts appear in order, contiguously, in any notation.
    ``dotted``: the reference's form, ``abilities.strength``. ``pointer``: an RFC 6901 pointer whose tail is
    ``/abilities/strength`` (a location such as ``/body`` may come first)."""
    want = expected.split(".")
    if form == "dotted":
        return reported == expected or reported.startswith(expected + ".") or expected.startswith(reported + ".")
    if form == "pointer":
        if not reported.startswith("/"):
            return False
        parts = [p.replace("~1", "/").replace("~0", "~") for p in reported.split("/")[1:]]
    else:
        parts = segments(reported)
    return any(parts[i : i + len(want)] == want for i in range(len(parts) - len(want) + 1))


def assert_field_named(body: dict[str, Any], expected: str, settings: SuiteSettings) -> None:
    fields = [str(e.get("field", "")) for e in body.get("errors", [])]
    assert any(names_field(f, expected, settings.error_field) for f in fields), (
        f"no errors[].field names {expected!r} ({settings.error_field} form): {fields}"
    )
