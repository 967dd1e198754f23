"""The destination reader's responses do not keep the pages they read. An httpx Response sits in a reference
cycle: one that kept its body (``.content``) held a whole page until a full GC pass, which the compare runs
rarely (``fewer_gc_passes``), so its memory grew by ~80 MB per 100,000 records (bench/data_compare.py)."""

from __future__ import annotations

import httpx
import pytest

from harness.data.readers import DestinationReader
from harness.embedded import StackInfo
from harness.http_client import new_client


@pytest.mark.slow
def test_no_response_keeps_the_page_it_read(stack: StackInfo) -> None:
    responses: list[httpx.Response] = []
    client = new_client(timeout=30, event_hooks={"response": [responses.append]})
    reader = DestinationReader(
        stack.storage_service_url,
        stack.storage_database,
        page_size=20,
        client=client,
        headers={"Authorization": f"Bearer {stack.storage_read_token}"},
    )
    try:
        records = sum(1 for _ in reader.read("characters"))
    finally:
        reader.close()
        client.close()
    pages = [r for r in responses if r.url.path.endswith("/records")]
    assert records == stack.characters and len(pages) >= 3
    for response in pages:
        with pytest.raises(httpx.ResponseNotRead):
            response.content  # noqa: B018 (the body was streamed into the reader's own buffer, not kept here)
