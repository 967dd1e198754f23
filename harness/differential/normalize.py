"""Turn an HTTP response into the document the backends are compared on.

Kept: the status, the headers a client acts on (``content-type`` without parameters, ``etag``, ``location``)
and the body (JSON when it parses, whatever the content type says, else text). Paired ids become symbols.
A listing is walked page by page and folded into one document: the items of all pages (sorted by id symbol:
each backend orders by its OWN ids, which differ for resources created during the run, so page boundaries are
not comparable), the page sizes, and whether each backend kept the order the contract defines (id ascending)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from .ids import SYMBOL, IdPairs

COMPARED_HEADERS = ("content-type", "etag", "location")
ASCENDING = "ascending by id"


def body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


def normalize_response(response: httpx.Response, *, side: str, pairs: IdPairs) -> dict[str, Any]:
    headers = {
        name: response.headers[name].split(";")[0].strip() if name == "content-type" else response.headers[name]
        for name in COMPARED_HEADERS
        if name in response.headers
    }
    return {
        "status": response.status_code,
        "headers": pairs.symbolize(side, headers),
        "body": pairs.symbolize(side, body_of(response)),
    }


def normalize_listing(
    pages: Sequence[httpx.Response], *, side: str, pairs: IdPairs, only_paired: bool = False
) -> dict[str, Any]:
    """Fold the pages of one listing walk (the last page may be an error) into one comparable document.

    ``only_paired``: keep only the items whose ids are paired (made during this run), and not the page sizes.
    For listings of everything on a shared target, where other writers' data (or data that already differed
    before the run) is none of the comparison's business; the order is still checked over every item."""
    sizes: list[int] = []
    items: list[Any] = []
    in_order = True
    last = pages[-1]
    for page in pages:
        body = body_of(page)
        if page.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("items"), list):
            break
        ids = [str(item.get("id", "")) for item in body["items"] if isinstance(item, dict)]
        in_order = in_order and ids == sorted(ids)
        sizes.append(len(body["items"]))
        items.extend(body["items"])
    symbolised = pairs.symbolize(side, items)
    if only_paired:
        symbolised = [i for i in symbolised if isinstance(i, dict) and SYMBOL.fullmatch(str(i.get("id", "")))]
    symbolised.sort(key=lambda item: json.dumps(item.get("id") if isinstance(item, dict) else item, sort_keys=True))
    out = normalize_response(last, side=side, pairs=pairs)
    body = out["body"]
    if last.status_code == 200 and isinstance(body, dict):
        out["body"] = {**body, "items": symbolised}
    if not only_paired:
        out["pages"] = sizes
    out["order"] = ASCENDING if in_order else "NOT ascending by id"
    return out
