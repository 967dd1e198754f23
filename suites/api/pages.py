"""Keyset pagination as the contract defines it (ordered by ``id`` ascending, ``cursor`` = the previous page's
``next_cursor``): a listing walked in small pages holds the same records as the same range in large pages, none
twice and in order, except what other writers (tests beside this one, on a shared target) created or deleted
during the walk."""

from __future__ import annotations

import datetime
import email.utils
from typing import Any

import httpx

from harness.contracts import violations

MAX_PAGES = 60  # bounded walk: enough for the local target, a sample of a big one


def assert_pages_agree(client: httpx.Client, path: str, *, small: int, schema: str, item_path: str) -> list[str]:
    """Walk ``path`` in pages of ``small`` (at most ``MAX_PAGES``), then the same range in pages of 200, and
    assert they agree; returns the ids the small pages held. ``item_path``: where one item is read (``{}`` its
    id), to tell a record deleted meanwhile from one the large pages skipped."""
    seen: list[str] = []
    cursor = None
    started: datetime.datetime | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {"limit": small, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=params).raise_for_status()
        if started is None and "date" in response.headers:  # the server's clock: when the walk began
            started = email.utils.parsedate_to_datetime(response.headers["date"])
        page = response.json()
        assert violations(page, schema) == []
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), f"{path}: a record appeared on two pages"
    assert seen == sorted(seen), f"{path}: pages are not in id order"
    if not seen:
        return seen
    large: dict[str, dict[str, Any]] = {}
    cursor = None
    while not large or max(large) < seen[-1]:
        page = client.get(path, params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        large.update({c["id"]: c for c in page["items"] if c["id"] <= seen[-1]})
        cursor = page["next_cursor"]
        if cursor is None:
            break
    only_large = [i for i in large if i not in set(seen) and not _created_since(large[i], started)]
    assert only_large == [], f"{path}: small pages skipped records that large pages show: {only_large[:5]}"
    only_small = [i for i in seen if i not in large and client.get(item_path.format(i)).status_code != 404]
    assert only_small == [], f"{path}: large pages skipped records that small pages show: {only_small[:5]}"
    return seen


def _created_since(record: dict[str, Any], started: datetime.datetime | None) -> bool:
    if started is None:
        return False
    created = datetime.datetime.fromisoformat(str(record["created_at"]).replace("Z", "+00:00"))
    return created >= started - datetime.timedelta(seconds=1)  # Date has whole seconds
