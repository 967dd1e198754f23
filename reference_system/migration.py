"""The migration guide's data scripts, for the reference: ``export_data`` (source -> JSON Lines + manifest),
``import_to_storage`` (batched, idempotent, resumable), and the rollback steps: ``stop_migration`` (an import
stops after its current batch), ``backup_source`` / ``restore_db`` (the legacy tables, copied out and back in
binary COPY form, exactly) and ``cleanup_storage`` (the Storage Service's database emptied).

Export line: ``{"collection": "characters", "id": ..., "version": ..., "document": {storage form}}``; campaigns
first, then characters, each in id order. The manifest beside it holds per-collection counts and SHA-256
checksums of the lines, and the SHA-256 of the whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from . import domain
from .legacy_schema import CAMPAIGN_COLUMNS, CHARACTER_COLUMNS, DDL, ITEM_COLUMNS, SPELL_COLUMNS
from .storage_client import HttpStorageClient, Record

EXPORT_FORMAT = "character-export/1"
COLLECTIONS = ("campaigns", "characters")


def _line(collection: str, record_id: str, version: int, document: dict[str, Any]) -> bytes:
    record = {"collection": collection, "id": record_id, "version": version, "document": document}
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode()


def iter_source_records(dsn: str, chunk: int = 2000) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    """Every source record in storage form, campaigns then characters, in id order, in bounded memory."""
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        last = None
        while True:
            rows = conn.execute(
                "SELECT * FROM campaigns WHERE (%s::uuid IS NULL OR id > %s::uuid) ORDER BY id LIMIT %s",
                (last, last, chunk),
            ).fetchall()
            if not rows:
                break
            for row in rows:
                campaign = domain.campaign_from_row(row)
                yield "campaigns", campaign["id"], campaign["version"], domain.campaign_document(campaign)
            last = rows[-1]["id"]
        last = None
        while True:
            rows = conn.execute(
                f"SELECT {', '.join(CHARACTER_COLUMNS)} FROM characters WHERE (%s::uuid IS NULL OR id > %s::uuid)"
                " ORDER BY id LIMIT %s",
                (last, last, chunk),
            ).fetchall()
            if not rows:
                break
            ids = [r["id"] for r in rows]
            items: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            spells: dict[Any, list[dict[str, Any]]] = defaultdict(list)
            for item in conn.execute(
                "SELECT * FROM inventory_items WHERE character_id = ANY(%s) ORDER BY character_id, position", (ids,)
            ):
                items[item["character_id"]].append(item)
            for spell in conn.execute(
                "SELECT * FROM character_spells WHERE character_id = ANY(%s) ORDER BY character_id, position", (ids,)
            ):
                spells[spell["character_id"]].append(spell)
            for row in rows:
                character = domain.character_from_rows(row, items[row["id"]], spells[row["id"]])
                yield "characters", character["id"], character["version"], domain.character_document(character)
            last = rows[-1]["id"]


def export_data(dsn: str, out_dir: Path) -> dict[str, Any]:
    """Write ``export.jsonl`` and ``manifest.json`` into ``out_dir``; the file appears only once complete."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "export.jsonl"
    partial = out_dir / "export.jsonl.partial"
    whole = hashlib.sha256()
    per: dict[str, Any] = {c: {"count": 0, "sha256": hashlib.sha256()} for c in COLLECTIONS}
    with open(partial, "wb") as fh:
        for collection, record_id, version, document in iter_source_records(dsn):
            line = _line(collection, record_id, version, document)
            fh.write(line)
            whole.update(line)
            per[collection]["count"] += 1
            per[collection]["sha256"].update(line)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(partial, target)
    manifest = {
        "format": EXPORT_FORMAT,
        "file": target.name,
        "sha256": whole.hexdigest(),
        "collections": {c: {"count": v["count"], "sha256": v["sha256"].hexdigest()} for c, v in per.items()},
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


@dataclass(frozen=True)
class ImportResult:
    imported: int
    skipped: int  # lines already imported by an earlier, interrupted run
    batches: int
    stopped: bool = False  # stop_migration asked it to stop; a rerun resumes from the checkpoint


def stop_marker(export_file: Path) -> Path:
    return export_file.with_suffix(".stop")


def stop_migration(export_file: Path) -> Path:
    """Ask a running (or the next) import of ``export_file`` to stop after its current batch; the checkpoint
    stays, so removing the marker (``resume_migration``) and rerunning continues where it stopped."""
    marker = stop_marker(export_file)
    marker.write_text("stop\n")
    return marker


def resume_migration(export_file: Path) -> None:
    stop_marker(export_file).unlink(missing_ok=True)


def import_to_storage(
    export_file: Path,
    storage_url: str,
    database: str = "character_db",
    *,
    batch_size: int = 1000,
    checkpoint: Path | None = None,
    token: str | None = None,
) -> ImportResult:
    """Upsert every exported record with its source version. Resumable: after each batch the checkpoint records
    how many lines are done, and a rerun skips them; idempotent, so replaying a batch changes nothing."""
    checkpoint = checkpoint or export_file.with_suffix(".import-checkpoint.json")
    marker = stop_marker(export_file)
    done = 0
    if checkpoint.exists():
        state = json.loads(checkpoint.read_text())
        if state.get("file") == str(export_file.resolve()):
            done = int(state["lines"])
    client = HttpStorageClient(storage_url, database, token=token, read_timeout=60.0, deadline=120.0)
    try:
        client.ensure_collections(*COLLECTIONS)  # provisioning: the token needs the admin role
        imported = batches = 0
        pending: list[Record] = []
        pending_collection = ""
        line_no = 0

        def flush() -> None:
            nonlocal imported, batches, pending
            if pending:
                imported += client.batch_upsert(pending_collection, pending)
                batches += 1
                pending = []
            tmp = checkpoint.with_suffix(".tmp")
            tmp.write_text(json.dumps({"file": str(export_file.resolve()), "lines": line_no}))
            os.replace(tmp, checkpoint)

        with open(export_file, "rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                if line_no <= done:
                    continue
                rec = json.loads(raw)
                if rec["collection"] != pending_collection or len(pending) >= batch_size:
                    line_no -= 1  # the checkpoint covers the lines before this one
                    flush()
                    if marker.exists():
                        return ImportResult(imported=imported, skipped=done, batches=batches, stopped=True)
                    line_no += 1
                    pending_collection = rec["collection"]
                pending.append(Record(rec["id"], rec["version"], rec["document"]))
            flush()
        return ImportResult(imported=imported, skipped=done, batches=batches)
    finally:
        client.close()


# --- rollback: backup and restore of the source, clean-up of the destination ---------------------------------

LEGACY_TABLES = {
    "campaigns": CAMPAIGN_COLUMNS,
    "characters": CHARACTER_COLUMNS,
    "inventory_items": ITEM_COLUMNS,
    "character_spells": SPELL_COLUMNS,
}
BACKUP_FORMAT = "legacy-backup/1"


def backup_source(dsn: str, backup_dir: Path) -> dict[str, Any]:
    """Copy every legacy table out in binary COPY form (types kept exactly: uuids, numeric, microseconds) into
    ``backup_dir``, from one consistent snapshot, with a manifest of row counts and SHA-256 per file."""
    backup_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {"format": BACKUP_FORMAT, "tables": {}}
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table, columns in LEGACY_TABLES.items():
            digest, rows = hashlib.sha256(), conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            path = backup_dir / f"{table}.copy"
            with (
                open(path, "wb") as fh,
                conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) TO STDOUT (FORMAT binary)") as copy,
            ):
                for block in copy:
                    fh.write(block)
                    digest.update(block)
            manifest["tables"][table] = {"rows": rows[0] if rows else 0, "sha256": digest.hexdigest()}
    (backup_dir / "backup.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def restore_db(dsn: str, backup_dir: Path) -> dict[str, int]:
    """The guide's ``restore_db``: replace the legacy tables' contents with the backup, in one transaction (all
    or nothing), checking each file against the manifest first. Creates the schema in an empty database."""
    manifest = json.loads((backup_dir / "backup.json").read_text())
    if manifest.get("format") != BACKUP_FORMAT:
        raise ValueError(f"{backup_dir}: not a {BACKUP_FORMAT} backup")
    for table in LEGACY_TABLES:
        data = (backup_dir / f"{table}.copy").read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest["tables"][table]["sha256"]:
            raise ValueError(f"{backup_dir}/{table}.copy does not match its checksum; the backup is damaged")
    restored: dict[str, int] = {}
    with psycopg.connect(dsn) as conn, conn.transaction():
        conn.execute(DDL)
        conn.execute(f"TRUNCATE {', '.join(LEGACY_TABLES)} CASCADE")
        for table, columns in LEGACY_TABLES.items():
            with (
                open(backup_dir / f"{table}.copy", "rb") as fh,
                conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)") as copy,
            ):
                while block := fh.read(1 << 20):
                    copy.write(block)
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            restored[table] = row[0] if row else 0
            if restored[table] != manifest["tables"][table]["rows"]:
                raise ValueError(
                    f"restoring {table} gave {restored[table]} rows, the backup has "
                    f"{manifest['tables'][table]['rows']}; nothing was changed"
                )
    return restored


def provision_storage(storage_url: str, database: str = "character_db", *, token: str | None = None) -> None:
    """The guide's step 2 "provision character_db": the database and its collections, empty (an admin token)."""
    client = HttpStorageClient(storage_url, database, token=token, read_timeout=30.0, deadline=60.0)
    try:
        client.ensure_collections(*COLLECTIONS)
    finally:
        client.close()


def cleanup_storage(storage_url: str, database: str = "character_db", *, token: str | None = None) -> None:
    """The guide's ``cleanup_storage``: delete the database with every record in it, then provision it again
    with its collections, empty, so the storage backend finds what it expects."""
    import httpx

    base = storage_url.rstrip("/")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    response = httpx.delete(f"{base}/databases/{database}", timeout=60.0, headers=headers)
    if response.status_code not in (204, 404):
        raise RuntimeError(f"cleanup of {database} failed: HTTP {response.status_code} {response.text[:200]}")
    provision_storage(storage_url, database, token=token)


# --- bulk load, for large rehearsals and benchmarks ---------------------------------------------------------

_TIMESTAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
# the storage documents of domain.campaign_document / character_document, built by the legacy database itself
# (a weight keeps domain's float form: 3.0, 0.5, 0.02); tests/reference/test_migration.py holds the two equal
BULK_DOCUMENTS = {
    "campaigns": f"""
        SELECT c.id::text, c.row_version, jsonb_build_object(
            'name', c.title, 'dungeonMaster', c.dm_name, 'setting', c.setting, 'status', c.status,
            'createdAt', {_TIMESTAMP.format("c.created_at")}, 'updatedAt', {_TIMESTAMP.format("c.updated_at")})
        FROM campaigns c ORDER BY c.id""",
    "characters": f"""
        SELECT c.id::text, c.row_version, jsonb_build_object(
            'ownerId', c.owner_id, 'name', c.char_name, 'race', c.race, 'characterClass', c.char_class,
            'level', c.level, 'hitPoints', c.hp, 'alignment', c.alignment, 'background', c.background,
            'abilityScores', jsonb_build_object('strength', c.str_score, 'dexterity', c.dex_score,
                'constitution', c.con_score, 'intelligence', c.int_score, 'wisdom', c.wis_score,
                'charisma', c.cha_score),
            'campaignId', c.campaign_id::text,
            'inventory', coalesce(inv.list, '[]'), 'spells', coalesce(sp.list, '[]'),
            'createdAt', {_TIMESTAMP.format("c.created_at")}, 'updatedAt', {_TIMESTAMP.format("c.updated_at")})
        FROM characters c
        LEFT JOIN LATERAL (
            SELECT jsonb_agg(jsonb_build_object('name', i.item_name, 'quantity', i.quantity, 'equipped', i.equipped,
                       'weight', round(i.weight_lb, greatest(1, scale(trim_scale(i.weight_lb))))) ORDER BY i.position)
            FROM inventory_items i WHERE i.character_id = c.id) inv(list) ON true
        LEFT JOIN LATERAL (
            SELECT jsonb_agg(jsonb_build_object('name', s.spell_name, 'level', s.spell_level,
                       'prepared', s.prepared) ORDER BY s.position)
            FROM character_spells s WHERE s.character_id = c.id) sp(list) ON true
        ORDER BY c.id""",
}


def import_bulk(source_dsn: str, storage_dsn: str, database: str = "character_db") -> dict[str, int]:
    """The migration's result without its export file and HTTP batches: every legacy record's storage document,
    built in the legacy database, copied straight into the Storage Service's own tables (``ss_records``, which
    the reference keeps in PostgreSQL), the database and collections provisioned. For rehearsals and benchmarks
    of millions of records, where ``import_to_storage`` takes many minutes; a real deployment's import goes
    through its API. Replaces what the collections held. The records imported per collection."""
    imported: dict[str, int] = {}
    with psycopg.connect(source_dsn) as src, psycopg.connect(storage_dsn) as dst:
        dst.execute("INSERT INTO ss_databases (name) VALUES (%s) ON CONFLICT DO NOTHING", (database,))
        for collection, query in BULK_DOCUMENTS.items():
            dst.execute("INSERT INTO ss_collections VALUES (%s, %s) ON CONFLICT DO NOTHING", (database, collection))
            dst.execute("DELETE FROM ss_records WHERE database = %s AND collection = %s", (database, collection))
            rows = sql.SQL("COPY (SELECT {}, {}, q.* FROM ({}) AS q) TO STDOUT").format(
                database, collection, sql.SQL(query)
            )
            with (
                src.cursor().copy(rows) as out,
                dst.cursor().copy("COPY ss_records (database, collection, id, version, document) FROM STDIN") as into,
            ):
                for block in out:
                    into.write(block)
            row = dst.execute(
                "SELECT count(*) FROM ss_records WHERE database = %s AND collection = %s", (database, collection)
            ).fetchone()
            imported[collection] = row[0] if row else 0
        dst.commit()
        dst.execute("ANALYZE ss_records")
    return imported
