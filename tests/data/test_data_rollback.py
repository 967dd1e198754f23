"""The guide's rollback path on the reference: stop the migration, restore the source from its backup (compare
proves it equals the backup again) and clean up the Storage Service (``character_db`` left empty)."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_helpers import source_sql

from harness.data.compare import compare
from harness.data.readers import DestinationReader, SourceReader
from harness.data.settings import CompareSettings
from harness.data.snapshot import changed_since, snapshot
from harness.embedded import EmbeddedStack
from reference_system.migration import (
    backup_source,
    cleanup_storage,
    export_data,
    import_to_storage,
    restore_db,
    resume_migration,
    stop_migration,
)

pytestmark = pytest.mark.slow


def test_rollback_restores_the_source_and_empties_the_destination(tmp_path: Path) -> None:
    stack = EmbeddedStack(characters=40, seed=5)
    info = stack.start()
    try:
        assert stack.postgres is not None
        # stop: an import told to stop writes nothing more; once resumed it completes from its checkpoint
        export_dir = tmp_path / "export"
        manifest = export_data(info.source_dsn, export_dir)
        export = export_dir / "export.jsonl"
        stop_migration(export)
        operator = info.storage_operator_token  # rollback_db is a scratch database: the operator's token
        stopped = import_to_storage(export, info.storage_service_url, "rollback_db", batch_size=10, token=operator)
        assert stopped.stopped and stopped.imported == 0
        resume_migration(export)
        done = import_to_storage(export, info.storage_service_url, "rollback_db", batch_size=10, token=operator)
        assert not done.stopped and done.imported == sum(c["count"] for c in manifest["collections"].values())

        backup = tmp_path / "backup"
        backup_source(info.source_dsn, backup)
        copy_dsn = stack.postgres.create_database("backupcopy")
        restore_db(copy_dsn, backup)

        settings = CompareSettings(segment_size=10)
        live = SourceReader(info.source_dsn)
        try:
            before = snapshot(live, None, settings)  # the gate's baseline: counts, range checksums, digests
            assert changed_since(before, live, settings).verdict == "equal"
        finally:
            live.close()

        victims = [r[0] for r in source_sql(info, "SELECT id::text FROM characters ORDER BY id LIMIT 3")]
        source_sql(info, "UPDATE characters SET char_name = 'Broken by migration' WHERE id = %s", (victims[0],))
        source_sql(info, "DELETE FROM characters WHERE id = %s", (victims[1],))
        source_sql(info, "UPDATE characters SET row_version = row_version + 1 WHERE id = %s", (victims[2],))
        new_campaign = "ffffffff-ffff-4fff-8fff-ffffffffffff"  # the last key of the last range
        source_sql(
            info,
            "INSERT INTO campaigns (id, title, dm_name, status) VALUES (%s, 'New', 'DM', 'active')",
            (new_campaign,),
        )

        def since_snapshot() -> tuple[str, set[tuple[str, str]]]:
            live = SourceReader(info.source_dsn)
            try:
                report = changed_since(before, live, settings)
            finally:
                live.close()
            return report.verdict, {(p.kind, p.where) for p in report.problems if p.kind != "changed range"}

        assert since_snapshot() == (
            "different",
            {
                ("changed record", f"source characters/{victims[0]}"),
                ("removed record", f"source characters/{victims[1]}"),
                ("changed record", f"source characters/{victims[2]}"),  # a version is part of the digest
                ("added record", f"source campaigns/{new_campaign}"),
            },
        )
        source_sql(info, "DELETE FROM campaigns WHERE id = %s", (new_campaign,))
        source_sql(info, "UPDATE characters SET row_version = row_version - 1 WHERE id = %s", (victims[2],))

        def live_vs(dsn: str | None) -> tuple[str, dict[str, str]]:
            live = SourceReader(info.source_dsn)
            other = (
                SourceReader(dsn)
                if dsn
                else DestinationReader(info.storage_service_url, info.storage_database, headers=info.read_headers())
            )
            try:
                report = compare(live, other, CompareSettings())
            finally:
                live.close()
                other.close()
            return report.verdict, {d.key: d.kind for d in report.differences}

        assert live_vs(copy_dsn) == ("different", {victims[0]: "changed", victims[1]: "extra"})

        # a damaged backup is refused before anything changes
        damaged = tmp_path / "damaged"
        damaged.mkdir()
        for f in backup.iterdir():
            (damaged / f.name).write_bytes(f.read_bytes())
        (damaged / "characters.copy").write_bytes((backup / "characters.copy").read_bytes()[:-40])
        with pytest.raises(ValueError, match="checksum"):
            restore_db(info.source_dsn, damaged)

        restore_db(info.source_dsn, backup)
        assert since_snapshot() == ("equal", set())  # the restored source equals the snapshot taken before
        assert live_vs(copy_dsn) == ("equal", {})
        assert live_vs(None) == ("equal", {})  # and the migrated copy matches the restored source again

        cleanup_storage(info.storage_service_url, info.storage_database, token=info.storage_admin_token)
        destination = DestinationReader(info.storage_service_url, info.storage_database, headers=info.read_headers())
        try:
            assert [destination.summary(c).count for c in ("campaigns", "characters")] == [0, 0]
        finally:
            destination.close()
        verdict, kinds = live_vs(None)
        assert verdict == "different" and set(kinds.values()) == {"missing"} and len(kinds) == info.characters + 1
    finally:
        stack.stop()
