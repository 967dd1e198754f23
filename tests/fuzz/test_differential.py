"""The differential machine passes on two clean backends and catches each scoped divergence fault with a
minimal sequence naming the operation and the field."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fault_proxy import Exchange, Fault, fault_proxy, rewrite_json_body

from harness.differential import Divergence, MachineOptions, Noise, learn_noise, run_differential
from harness.differential.strategies import SAMPLE_CAMPAIGN, SAMPLE_CHARACTER
from harness.embedded import EmbeddedStack
from harness.fuzz.profiles import FuzzProfile

from .conftest import backend_clients

pytestmark = pytest.mark.slow
SAMPLES = [("campaign", "/campaigns", SAMPLE_CAMPAIGN), ("character", "/characters", SAMPLE_CHARACTER)]


@pytest.fixture(scope="module")
def clean_clients() -> Iterator[dict[str, httpx.Client]]:
    with EmbeddedStack(characters=12, seed=11) as info:
        yield from backend_clients(info)


def test_clean_backends_do_not_diverge(clean_clients: dict[str, httpx.Client], ci_profile: FuzzProfile) -> None:
    report = run_differential(clean_clients, ci_profile)
    assert report.stats.examples >= ci_profile.settings.max_examples
    # the sequences reached the operations the issue names
    for operation in ("createCharacter", "patchCharacter", "deleteCharacter", "listCharacters", "createCampaign"):
        assert report.stats.requests[operation] > 0, report.summary()
    assert "no divergence" in report.summary()


def test_noise_is_learned_on_one_backend(clean_clients: dict[str, httpx.Client]) -> None:
    noise = learn_noise(clean_clients["legacy"], SAMPLES)
    # timestamps differ between two equivalent creations; ids are paired, everything else is equal, and the
    # reference's error answers (404, 412, 415/422) carry nothing that differs per call
    assert noise.fields == {"created_at", "updated_at"}
    assert all(where.endswith("2xx") for seen in noise.learned.values() for where in seen), noise.learned
    masked = noise.mask({"body": {"items": [{"id": "x", "created_at": "t1"}], "created_at": "t2"}})
    assert masked == {"body": {"items": [{"id": "x", "created_at": "<noise>"}], "created_at": "<noise>"}}
    # a noise field missing on one side stays missing, so dropping it is still a difference
    assert noise.mask({"body": {"id": "x"}}) == {"body": {"id": "x"}}


def test_without_noise_the_timestamps_diverge(clean_clients: dict[str, httpx.Client], ci_profile: FuzzProfile) -> None:
    """Why the noise exists: two correct backends stamp creations at different instants."""
    with pytest.raises(Divergence) as caught:
        run_differential(clean_clients, ci_profile, learn=False)
    assert set(caught.value.fields) <= {"body.created_at", "body.updated_at"}, str(caught.value)
    assert caught.value.fields


@pytest.mark.parametrize(
    ("fault", "operation", "field", "expected"),
    [
        ("storage:truncate_names=20", "createCharacter", "body.name", "'AAAAAAAAAAAAAAAAAAAA'"),
        ("storage:reverse_order", None, "order", "NOT ascending by id"),
        ("storage:error_status=400", None, "status", "storage 400"),
    ],
)
def test_divergence_is_caught_minimal(
    fault: str, operation: str | None, field: str, expected: str, ci_profile: FuzzProfile
) -> None:
    with EmbeddedStack(characters=12, seed=11, faults=[fault]) as info:
        for clients in backend_clients(info):
            with pytest.raises(Divergence) as caught:
                run_differential(clients, ci_profile)
    found = caught.value
    message = str(found)
    assert operation is None or found.operation == operation, message
    assert field in found.fields, message
    assert expected in message
    assert len(found.steps) == 1, message  # one request shows each of these faults
    assert "minimal" in message


def _texts_rewritten(change: Callable[[str], str]) -> Fault:
    """A storage backend that stores the names, backgrounds and settings it is sent as ``change`` makes them (a
    fault put in front of it: what it answers and what it later reads back are both the changed text)."""

    def rewrite(body: Any) -> Any:
        for item in [body, *(body.get("inventory") or []), *(body.get("spells") or [])] if type(body) is dict else []:
            for field in ("name", "background", "setting"):
                if type(item) is dict and type(item.get(field)) is str and change(item[field]).strip():
                    item[field] = change(item[field])
        return body

    def before(exchange: Exchange) -> None:
        if exchange.method in ("POST", "PUT", "PATCH") and re.fullmatch(
            r"/(characters|campaigns)(/[^/]+)?", exchange.path
        ):
            rewrite_json_body(exchange, rewrite)

    return Fault(before=before)


@pytest.mark.parametrize(
    "change",
    [lambda t: unicodedata.normalize("NFD", t), lambda t: unicodedata.normalize("NFC", t)],
    ids=["nfd", "nfc"],
)
def test_text_the_storage_backend_stores_otherwise_diverges(
    clean_clients: dict[str, httpx.Client], ci_profile: FuzzProfile, change: Callable[[str], str]
) -> None:
    """Text the contract allows beyond ASCII letters (accents composed and decomposed) reaches the backends, so
    one that normalises what it stores is caught; ASCII letters alone never showed it."""
    storage = str(clean_clients["storage"].base_url)
    with (
        fault_proxy(storage, _texts_rewritten(change)) as url,
        httpx.Client(base_url=url, timeout=10) as faulty,
        pytest.raises(Divergence) as caught,
    ):
        run_differential({"legacy": clean_clients["legacy"], "storage": faulty}, ci_profile)
    assert any(f.endswith(("name", "background", "setting")) for f in caught.value.fields), str(caught.value)


def test_id_pairs_realise_and_symbolise() -> None:
    from harness.differential.ids import IdPairs

    pairs = IdPairs()
    a, b = "0741c7a8-7ce4-4c82-9807-2e8c35bf992d", "1027c4d1-c386-4bc4-8d61-3e30d8f16adf"
    symbol = pairs.pair("character", {"legacy": a, "storage": b})
    assert pairs.realize("storage", f"/characters/{symbol}") == f"/characters/{b}"
    assert pairs.symbolize("legacy", {"id": a, "Location": f"/characters/{a.upper()}"}) == {
        "id": symbol,
        "Location": f"/characters/{symbol}",
    }
    assert Noise().mask({"a": 1}) == {"a": 1}


def test_a_machine_needs_two_backends(ci_profile: FuzzProfile) -> None:
    with pytest.raises(ValueError, match="exactly two backends"):
        run_differential({"legacy": httpx.Client()}, ci_profile, learn=False, options=MachineOptions())
