"""Helpers for the data-parity tests: readers on a stack, and real data faults written into either side."""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg

from harness.data.compare import CompareOptions, compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.report import CompareReport, Difference
from harness.data.settings import CompareSettings, parse_compare_settings
from harness.embedded import StackInfo
from harness.embedded.postgres import ExternalPostgres
from harness.embedded.processes import ServiceProcess

# The reference's legacy tables declared in the table form (rows and child tables, renamed column by column):
# the same data as the default (query) mapping, read another way.
REFERENCE_AS_TABLES = """
[collections.campaigns]
table = "campaigns"
version = "row_version"
[collections.campaigns.renames.source]
title = "name"
dm_name = "dungeon_master"
[collections.campaigns.renames.destination]
dungeonMaster = "dungeon_master"
createdAt = "created_at"
updatedAt = "updated_at"

[collections.characters]
table = "characters"
version = "row_version"
children.inventory = { table = "inventory_items", join = "character_id", order = "position" }
children.spells = { table = "character_spells", join = "character_id", order = "position" }
references = { campaign_id = "campaigns" }
[collections.characters.renames.source]
owner_id = "owner"
char_name = "name"
char_class = "class"
hp = "hit_points"
str_score = "abilities.strength"
dex_score = "abilities.dexterity"
con_score = "abilities.constitution"
int_score = "abilities.intelligence"
wis_score = "abilities.wisdom"
cha_score = "abilities.charisma"
"inventory.item_name" = "inventory.name"
"inventory.weight_lb" = "inventory.weight"
"spells.spell_name" = "spells.name"
"spells.spell_level" = "spells.level"
[collections.characters.renames.destination]
ownerId = "owner"
characterClass = "class"
abilityScores = "abilities"
hitPoints = "hit_points"
campaignId = "campaign_id"
createdAt = "created_at"
updatedAt = "updated_at"
"""


def table_settings(**extra: Any) -> CompareSettings:
    return parse_compare_settings({**tomllib.loads(REFERENCE_AS_TABLES), **extra})


def run_compare(info: StackInfo, settings: CompareSettings, **options: Any) -> CompareReport:
    source = SourceReader(info.source_dsn, mapping=settings.mapping, page_size=settings.page_size)
    destination = DestinationReader(
        info.storage_service_url,
        info.storage_database,
        mapping=settings.mapping,
        page_size=settings.page_size,
        headers=info.read_headers(),
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
        self.headers = {"Authorization": f"Bearer {info.storage_write_token}"}  # a faulty migration writes

    def records(self, collection: str = "characters") -> list[dict[str, Any]]:
        body = httpx.get(f"{self.base}/{collection}/records", params={"limit": 5000}, headers=self.headers).json()
        return list(body["items"])

    def get(self, key: str, collection: str = "characters") -> dict[str, Any]:
        response = httpx.get(f"{self.base}/{collection}/records/{key}", headers=self.headers)
        response.raise_for_status()
        return dict(response.json())

    def put(self, key: str, document: dict[str, Any], collection: str = "characters", version: int = 1) -> None:
        """Upsert keeping ``version`` (the batch endpoint, as the import writes), so only the data differs."""
        records = [{"id": key, "version": version, "document": document}]
        httpx.post(
            f"{self.base}/{collection}/batch", json={"records": records}, headers=self.headers
        ).raise_for_status()

    def delete(self, key: str, collection: str = "characters") -> None:
        httpx.delete(f"{self.base}/{collection}/records/{key}", headers=self.headers).raise_for_status()

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


@contextlib.contextmanager
def foreign_deployment(machine_pg_dsn: str, tmp_path: Path, name: str, ddl: str) -> Iterator[tuple[str, str]]:
    """A deployment unlike the reference's: a legacy database on the machine's PostgreSQL made by ``ddl`` and a
    reference Storage Service on a database of its own. Yields (legacy DSN, Storage Service URL); both
    databases and the service are removed at the end."""
    postgres = ExternalPostgres(machine_pg_dsn)
    storage: ServiceProcess | None = None
    try:
        legacy_dsn = postgres.create_database(f"{name}legacy")
        storage_dsn = postgres.create_database(f"{name}storage")
        with psycopg.connect(legacy_dsn, autocommit=True) as conn:
            conn.execute(ddl)
        storage = ServiceProcess("storage-service", "storage", {"DATABASE_URL": storage_dsn}, tmp_path)
        storage.start()
        storage.wait_healthy()
        yield legacy_dsn, storage.url
    finally:
        if storage is not None:
            storage.stop()
        postgres.close()


def deployment_targets(path: Path, target: str, legacy_dsn: str, storage_url: str, database: str, extra: str) -> Path:
    """A targets file naming such a deployment as ``target`` (staging), ``extra`` (its mapping) appended."""
    path.write_text(
        f'[targets.{target}]\nenvironment = "staging"\n[targets.{target}.source]\ndsn = "{legacy_dsn}"\n'
        f'[targets.{target}.destination]\nurl = "{storage_url}"\ndatabase = "{database}"\n{extra}'
    )
    return path
