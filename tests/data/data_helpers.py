"""Helpers for the data-parity tests: readers on a stack, and real data faults written into either side."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import psycopg

from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.report import CompareReport, Difference
from harness.data.settings import CompareSettings
from harness.embedded import StackInfo


def run_compare(info: StackInfo, settings: CompareSettings, **options: Any) -> CompareReport:
    source = SourceReader(info.source_dsn, page_size=settings.page_size)
    destination = DestinationReader(
        info.storage_service_url, info.storage_database, page_size=settings.page_size, token=info.storage_read_token
    )
    try:
        return compare(source, destination, settings, CompareOptions(**options))
    finally:
        source.close()
        destination.close()


def find(report: CompareReport, key: str) -> list[Difference]:
    return [d for d in report.differences if d.key == key]


class Storage:
    """Writes into the destination the way a faulty migration would: through the Storage Service's API."""

    def __init__(self, info: StackInfo) -> None:
        self.base = f"{info.storage_service_url}/databases/{info.storage_database}/collections"
        self.http = httpx.Client(headers={"Authorization": f"Bearer {info.storage_write_token}"})

    def records(self, collection: str = "characters") -> list[dict[str, Any]]:
        body = self.http.get(f"{self.base}/{collection}/records", params={"limit": 5000}).json()
        return list(body["items"])

    def get(self, key: str, collection: str = "characters") -> dict[str, Any]:
        response = self.http.get(f"{self.base}/{collection}/records/{key}")
        response.raise_for_status()
        return dict(response.json())

    def put(self, key: str, document: dict[str, Any], collection: str = "characters", version: int = 1) -> None:
        """Upsert keeping ``version`` (the batch endpoint, as the import writes), so only the data differs."""
        records = [{"id": key, "version": version, "document": document}]
        self.http.post(f"{self.base}/{collection}/batch", json={"records": records}).raise_for_status()

    def delete(self, key: str, collection: str = "characters") -> None:
        self.http.delete(f"{self.base}/{collection}/records/{key}").raise_for_status()

    def edit(self, key: str, change: Any) -> dict[str, Any]:
        """Apply ``change(document)`` (which edits in place) and store the result; returns the original."""
        record = self.get(key)
        original = record["document"]
        document = {**original, "inventory": [dict(i) for i in original["inventory"]]}
        change(document)
        self.put(key, document, version=record["version"])
        return dict(original)


def source_sql(info: StackInfo, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(info.source_dsn, autocommit=True) as conn:
        cur = conn.execute(statement, params)
        return cur.fetchall() if cur.description else []


def hour_later(text: str) -> str:
    value = dt.datetime.fromisoformat(text) + dt.timedelta(hours=1)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
