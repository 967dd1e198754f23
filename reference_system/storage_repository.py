"""The storage backend (``USE_STORAGE_SERVICE=true``): the Character Service persists through a ``StoragePort``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from . import domain
from .errors import CampaignHasMembers, CampaignNotFound, NotFound, Unavailable, VersionMismatch
from .storage_client import HttpStorageClient, Record, StorageConflict, StoragePort, StorageUnavailable

CHARACTERS = "characters"
CAMPAIGNS = "campaigns"
T = TypeVar("T")


def _translate(call: Callable[[], T]) -> T:
    try:
        return call()
    except StorageUnavailable as exc:
        raise Unavailable(str(exc)) from exc


class StorageRepository:
    backend = "storage"

    def __init__(self, client: StoragePort) -> None:
        self.client = client

    def close(self) -> None:
        if isinstance(self.client, HttpStorageClient):
            self.client.close()

    def health(self) -> dict[str, Any]:
        storage = self.client.health()
        if isinstance(self.client, HttpStorageClient):
            storage["circuit"] = self.client.breaker.state
        status = "ok" if storage["status"] == "ok" else "degraded"
        return {"status": status, "backend": "storage", "storage_service": storage}

    # --- characters ---------------------------------------------------------------------------

    @staticmethod
    def _character(record: Record) -> dict[str, Any]:
        return domain.character_from_document(record.id, record.version, record.document)

    def list_characters(
        self, *, limit: int, cursor: str | None, campaign_id: str | None = None, owner: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        match: dict[str, Any] = {}
        if campaign_id:
            match["campaignId"] = campaign_id
        if owner:
            match["ownerId"] = owner
        records, next_after = _translate(
            lambda: self.client.list_records(CHARACTERS, after=cursor, limit=limit, match=match)
        )
        return [self._character(r) for r in records], next_after is not None

    def _get(self, collection: str, record_id: str) -> Record:
        record = _translate(lambda: self.client.get(collection, record_id))
        if record is None:
            raise NotFound(record_id)
        return record

    def get_character(self, character_id: str) -> dict[str, Any]:
        return self._character(self._get(CHARACTERS, character_id))

    def _check_campaign(self, campaign_id: str | None) -> None:
        if campaign_id and _translate(lambda: self.client.get(CAMPAIGNS, campaign_id)) is None:
            raise CampaignNotFound(campaign_id)

    def create_character(self, fields: dict[str, Any]) -> dict[str, Any]:
        self._check_campaign(fields["campaign_id"])
        now = domain.format_timestamp(domain.utcnow())
        character = {**fields, "id": str(uuid.uuid4()), "version": 1, "created_at": now, "updated_at": now}
        record = _translate(
            lambda: self.client.put(CHARACTERS, character["id"], domain.character_document(character), create_only=True)
        )
        return self._character(record)

    def _replace(
        self, collection: str, record_id: str, expected_version: int | None, build: Callable[[Record], dict[str, Any]]
    ) -> Record:
        """Write ``build(current)`` with If-Match on the version it was built from; on a race with no
        expected version, re-read once (the cache may be behind) and try again."""
        for attempt in range(2):
            current = self._get(collection, record_id)
            if expected_version is not None and current.version != expected_version:
                if attempt == 0:
                    self.client_cache_drop(collection, record_id)
                    continue
                raise VersionMismatch(current.version)
            try:
                return _translate(
                    partial(self.client.put, collection, record_id, build(current), if_match=current.version)
                )
            except StorageConflict:
                self.client_cache_drop(collection, record_id)
                if attempt:
                    raise VersionMismatch(self._get(collection, record_id).version) from None
        raise VersionMismatch(self._get(collection, record_id).version)

    def client_cache_drop(self, collection: str, record_id: str) -> None:
        if isinstance(self.client, HttpStorageClient):
            self.client.cache.invalidate((collection, record_id))

    def replace_character(
        self, character_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]:
        self._check_campaign(fields["campaign_id"])
        now = domain.format_timestamp(domain.utcnow())

        def build(current: Record) -> dict[str, Any]:
            created = current.document["createdAt"]
            return domain.character_document({**fields, "created_at": created, "updated_at": now})

        return self._character(self._replace(CHARACTERS, character_id, expected_version, build))

    def delete_character(self, character_id: str, expected_version: int | None) -> None:
        current = self._get(CHARACTERS, character_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionMismatch(current.version)
        try:
            deleted = _translate(lambda: self.client.delete(CHARACTERS, character_id, if_match=current.version))
        except StorageConflict:
            raise VersionMismatch(self._get(CHARACTERS, character_id).version) from None
        if not deleted:
            raise NotFound(character_id)

    # --- campaigns ----------------------------------------------------------------------------

    @staticmethod
    def _campaign(record: Record) -> dict[str, Any]:
        return domain.campaign_from_document(record.id, record.version, record.document)

    def list_campaigns(self, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], bool]:
        records, next_after = _translate(lambda: self.client.list_records(CAMPAIGNS, after=cursor, limit=limit))
        return [self._campaign(r) for r in records], next_after is not None

    def get_campaign(self, campaign_id: str) -> dict[str, Any]:
        return self._campaign(self._get(CAMPAIGNS, campaign_id))

    def create_campaign(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = domain.format_timestamp(domain.utcnow())
        campaign = {**fields, "id": str(uuid.uuid4()), "created_at": now, "updated_at": now}
        record = _translate(
            lambda: self.client.put(CAMPAIGNS, campaign["id"], domain.campaign_document(campaign), create_only=True)
        )
        return self._campaign(record)

    def replace_campaign(
        self, campaign_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]:
        now = domain.format_timestamp(domain.utcnow())

        def build(current: Record) -> dict[str, Any]:
            return domain.campaign_document({**fields, "created_at": current.document["createdAt"], "updated_at": now})

        return self._campaign(self._replace(CAMPAIGNS, campaign_id, expected_version, build))

    def delete_campaign(self, campaign_id: str, expected_version: int | None) -> None:
        current = self._get(CAMPAIGNS, campaign_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionMismatch(current.version)
        members, more = _translate(
            lambda: self.client.list_records(CHARACTERS, after=None, limit=200, match={"campaignId": campaign_id})
        )
        if members:
            raise CampaignHasMembers(len(members) + (1 if more else 0))
        try:
            deleted = _translate(lambda: self.client.delete(CAMPAIGNS, campaign_id, if_match=current.version))
        except StorageConflict:
            raise VersionMismatch(self._get(CAMPAIGNS, campaign_id).version) from None
        if not deleted:
            raise NotFound(campaign_id)
