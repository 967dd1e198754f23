"""Writes that lose part of what they were sent, on both backends alike (so the differential suite sees nothing
and a read answers what the write answered): the api suite holds each write's answer against its body, and a
PATCH of several fields against all of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import Exchange, Fault, fault_proxy, rewrite_json_body

from harness.embedded import EmbeddedStack

from .conftest import backends_targets, run_pytest

pytestmark = pytest.mark.slow
WRITES = re.compile(r"/(characters|campaigns)(/[^/]+)?")


def _loses_last_item(field: str) -> Fault:
    """A backend that stores every list ``field`` of a write without its last item (and answers so)."""

    def drop(body: Any) -> Any:
        if type(body) is dict and type(body.get(field)) is list and len(body[field]) > 1:
            body[field] = body[field][:-1]
        return body

    def before(exchange: Exchange) -> None:
        if exchange.method in ("POST", "PUT", "PATCH") and WRITES.fullmatch(exchange.path):
            rewrite_json_body(exchange, drop)

    return Fault(before=before)


def _loses(field: str) -> Fault:
    """A backend that stores writes without ``field`` (its default instead)."""

    def before(exchange: Exchange) -> None:
        if exchange.method == "POST" and WRITES.fullmatch(exchange.path):
            rewrite_json_body(exchange, lambda b: {k: v for k, v in b.items() if k != field} if type(b) is dict else b)

    return Fault(before=before)


def _patches_first_field_only() -> Fault:
    """A backend that applies only the first field a PATCH names."""

    def before(exchange: Exchange) -> None:
        if exchange.method == "PATCH" and WRITES.fullmatch(exchange.path):
            rewrite_json_body(exchange, lambda b: dict(list(b.items())[:1]) if type(b) is dict else b)

    return Fault(before=before)


@pytest.fixture(scope="module")
def stack_urls() -> Iterator[dict[str, str]]:
    with EmbeddedStack(characters=12, seed=5) as info:
        yield {"legacy": info.legacy_url, "storage": info.storage_url}


@pytest.mark.parametrize(
    ("fault", "failing"),
    [
        (_loses_last_item("spells"), "test_create_and_read"),
        (_loses_last_item("spells"), "test_replace"),
        (_loses_last_item("inventory"), "test_create_and_read"),
        (_loses("setting"), "test_campaign_crud"),
        (_patches_first_field_only(), "test_patch_changes_only_what_it_names"),
    ],
    ids=["spells-create", "spells-replace", "inventory-create", "campaign-setting", "patch-partly"],
)
def test_a_write_that_loses_what_it_was_sent_fails(
    stack_urls: dict[str, str], tmp_path: Path, fault: Fault, failing: str
) -> None:
    with ExitStack() as proxies:
        urls = {backend: proxies.enter_context(fault_proxy(url, fault)) for backend, url in stack_urls.items()}
        result = run_pytest(
            "suites/api", "-q", "-k", failing, "--alluredir", str(tmp_path / "allure"),
            config=backends_targets(tmp_path / "harness.toml", urls),
        )  # fmt: skip
    assert result.returncode == 1, result.stdout[-3000:]
    failed = {line.split(" ")[1].split("::")[-1] for line in result.stdout.splitlines() if line.startswith("FAILED")}
    assert failed == {f"{failing}[legacy]", f"{failing}[storage]"}, result.stdout[-3000:]
    assert "is not the one sent" in result.stdout or failing == "test_patch_changes_only_what_it_names"
