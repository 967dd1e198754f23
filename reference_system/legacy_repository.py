"""The legacy backend: the Character Service reads and writes PostgreSQL directly."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from . import domain
from .errors import CampaignHasMembers, CampaignNotFound, NotFound, Unavailable, VersionMismatch
from .legacy_schema import CHARACTER_COLUMNS, DDL

_CHAR_SELECT = f"SELECT {', '.join(CHARACTER_COLUMNS)} FROM characters"


class LegacyRepository:
    backend = "legacy"

    def __init__(self, dsn: str, *, pool_size: int = 8) -> None:
        self._pool = ConnectionPool(
            dsn, min_size=1, max_size=pool_size, kwargs={"row_factory": dict_row}, timeout=5.0, open=True
        )
        with self._conn() as conn:
            conn.execute(DDL)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, TimeoutError) as exc:
            raise Unavailable(f"database unavailable: {type(exc).__name__}") from exc

    def health(self) -> dict[str, Any]:
        try:
            with self._conn() as conn:
                conn.execute("SELECT 1")
        except Unavailable:
            return {"status": "degraded", "backend": "legacy", "database": {"status": "unreachable"}}
        return {"status": "ok", "backend": "legacy", "database": {"status": "ok"}}

    # --- characters ---------------------------------------------------------------------------

    def _load_characters(self, conn: psycopg.Connection[Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [r["id"] for r in rows]
        items: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        spells: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        if ids:
            for item in conn.execute(
                "SELECT * FROM inventory_items WHERE character_id = ANY(%s) ORDER BY character_id, position", (ids,)
            ):
                items[item["character_id"]].append(item)
            for spell in conn.execute(
                "SELECT * FROM character_spells WHERE character_id = ANY(%s) ORDER BY character_id, position", (ids,)
            ):
                spells[spell["character_id"]].append(spell)
        return [domain.character_from_rows(r, items[r["id"]], spells[r["id"]]) for r in rows]

    def list_characters(
        self, *, limit: int, cursor: str | None, campaign_id: str | None = None, owner: str | None = None
    ) -> tuple[list[dict[str, Any]], bool]:
        where, params = ["TRUE"], []
        if cursor:
            where.append("id > %s")
            params.append(cursor)
        if campaign_id:
            where.append("campaign_id = %s")
            params.append(campaign_id)
        if owner:
            where.append("owner_id = %s")
            params.append(owner)
        with self._conn() as conn:
            rows = conn.execute(
                f"{_CHAR_SELECT} WHERE {' AND '.join(where)} ORDER BY id LIMIT %s", (*params, limit + 1)
            ).fetchall()
            more = len(rows) > limit
            return self._load_characters(conn, rows[:limit]), more

    def get_character(self, character_id: str) -> dict[str, Any]:
        with self._conn() as conn:
            rows = conn.execute(f"{_CHAR_SELECT} WHERE id = %s", (character_id,)).fetchall()
            if not rows:
                raise NotFound(character_id)
            return self._load_characters(conn, rows)[0]

    def _check_campaign(self, conn: psycopg.Connection[Any], campaign_id: str | None) -> None:
        if (
            campaign_id
            and not conn.execute("SELECT 1 FROM campaigns WHERE id = %s FOR SHARE", (campaign_id,)).fetchone()
        ):
            raise CampaignNotFound(campaign_id)

    def _write_children(self, conn: psycopg.Connection[Any], character_id: str, fields: dict[str, Any]) -> None:
        conn.execute("DELETE FROM inventory_items WHERE character_id = %s", (character_id,))
        conn.execute("DELETE FROM character_spells WHERE character_id = %s", (character_id,))
        with conn.cursor() as cur:
            if fields["inventory"]:
                cur.executemany(
                    "INSERT INTO inventory_items VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        (character_id, n, i["name"], i["quantity"], i["weight"], i["equipped"])
                        for n, i in enumerate(fields["inventory"])
                    ],
                )
            if fields["spells"]:
                cur.executemany(
                    "INSERT INTO character_spells VALUES (%s, %s, %s, %s, %s)",
                    [(character_id, n, s["name"], s["level"], s["prepared"]) for n, s in enumerate(fields["spells"])],
                )

    def create_character(self, fields: dict[str, Any]) -> dict[str, Any]:
        character_id = str(uuid.uuid4())
        params = domain.character_row_params(fields)
        now = domain.utcnow()
        with self._conn() as conn, conn.transaction():
            self._check_campaign(conn, fields["campaign_id"])
            cols = ["id", *params, "created_at", "updated_at"]
            conn.execute(
                f"INSERT INTO characters ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                (character_id, *params.values(), now, now),
            )
            self._write_children(conn, character_id, fields)
        return self.get_character(character_id)

    def replace_character(
        self, character_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]:
        params = domain.character_row_params(fields)
        with self._conn() as conn, conn.transaction():
            current = conn.execute(
                "SELECT row_version FROM characters WHERE id = %s FOR UPDATE", (character_id,)
            ).fetchone()
            if current is None:
                raise NotFound(character_id)
            if expected_version is not None and current["row_version"] != expected_version:
                raise VersionMismatch(current["row_version"])
            self._check_campaign(conn, fields["campaign_id"])
            sets = ", ".join(f"{c} = %s" for c in params)
            conn.execute(
                f"UPDATE characters SET {sets}, row_version = row_version + 1, updated_at = %s WHERE id = %s",
                (*params.values(), domain.utcnow(), character_id),
            )
            self._write_children(conn, character_id, fields)
        return self.get_character(character_id)

    def delete_character(self, character_id: str, expected_version: int | None) -> None:
        with self._conn() as conn, conn.transaction():
            current = conn.execute(
                "SELECT row_version FROM characters WHERE id = %s FOR UPDATE", (character_id,)
            ).fetchone()
            if current is None:
                raise NotFound(character_id)
            if expected_version is not None and current["row_version"] != expected_version:
                raise VersionMismatch(current["row_version"])
            conn.execute("DELETE FROM characters WHERE id = %s", (character_id,))

    # --- campaigns ----------------------------------------------------------------------------

    def list_campaigns(self, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], bool]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT * FROM campaigns WHERE (%s::uuid IS NULL OR id > %s::uuid) ORDER BY id LIMIT %s",
                (cursor, cursor, limit + 1),
            ).fetchall()
        return [domain.campaign_from_row(r) for r in rows[:limit]], len(rows) > limit

    def get_campaign(self, campaign_id: str) -> dict[str, Any]:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM campaigns WHERE id = %s", (campaign_id,)).fetchone()
        if row is None:
            raise NotFound(campaign_id)
        return domain.campaign_from_row(row)

    def create_campaign(self, fields: dict[str, Any]) -> dict[str, Any]:
        campaign_id = str(uuid.uuid4())
        now = domain.utcnow()
        with self._conn() as conn:
            row = conn.execute(
                "INSERT INTO campaigns (id, title, dm_name, setting, status, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING *",
                (campaign_id, fields["name"], fields["dungeon_master"], fields["setting"], fields["status"], now, now),
            ).fetchone()
        assert row is not None
        return domain.campaign_from_row(row)

    def replace_campaign(
        self, campaign_id: str, fields: dict[str, Any], expected_version: int | None
    ) -> dict[str, Any]:
        with self._conn() as conn, conn.transaction():
            current = conn.execute(
                "SELECT row_version FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,)
            ).fetchone()
            if current is None:
                raise NotFound(campaign_id)
            if expected_version is not None and current["row_version"] != expected_version:
                raise VersionMismatch(current["row_version"])
            row = conn.execute(
                "UPDATE campaigns SET title = %s, dm_name = %s, setting = %s, status = %s,"
                " row_version = row_version + 1, updated_at = %s WHERE id = %s RETURNING *",
                (
                    fields["name"],
                    fields["dungeon_master"],
                    fields["setting"],
                    fields["status"],
                    domain.utcnow(),
                    campaign_id,
                ),
            ).fetchone()
        assert row is not None
        return domain.campaign_from_row(row)

    def delete_campaign(self, campaign_id: str, expected_version: int | None) -> None:
        with self._conn() as conn, conn.transaction():
            current = conn.execute(
                "SELECT row_version FROM campaigns WHERE id = %s FOR UPDATE", (campaign_id,)
            ).fetchone()
            if current is None:
                raise NotFound(campaign_id)
            if expected_version is not None and current["row_version"] != expected_version:
                raise VersionMismatch(current["row_version"])
            members = conn.execute(
                "SELECT count(*) AS n FROM characters WHERE campaign_id = %s", (campaign_id,)
            ).fetchone()
            if members and members["n"]:
                raise CampaignHasMembers(members["n"])
            conn.execute("DELETE FROM campaigns WHERE id = %s", (campaign_id,))
