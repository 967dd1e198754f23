"""The gate's data checks, over the harness's data library (read-only on both sides) and, on a rehearsal, the
system's own migration scripts (``MigrationScripts``):

- snapshot (guide 1 "document current database state", "backup"): counts and checksums per collection of both
  sides, saved as the run's baseline; on a rehearsal also a real backup of the source.
- migration (guide 4): export, validate-export, import, verify; elsewhere validate a given export, and verify.
- data (guide 5.1): compare record by record and check references.
- rollback (guide 6): stop the migration, restore the source, clean up the Storage Service; then the restored
  source equals the snapshot and the Storage Service's database is empty.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from typing import Any

from ..data.cli import open_sides
from ..data.compare import CompareOptions, compare
from ..data.export_check import validate_export
from ..data.readers import Reader, ReadFailure
from ..data.refs import check_refs
from ..data.snapshot import changed_since, snapshot, write_snapshot
from ..data.verify import verify
from ..errors import HarnessError
from ..redaction import redact
from ..verdict import CheckResult, Finding, Outcome, failed, inconclusive, passed, skipped
from .context import GateContext
from .scripts import ScriptFailed


def _guarded(check: str, run: Callable[[], CheckResult]) -> CheckResult:
    """A read failure or a harness error means the check could not decide: inconclusive, with the reason."""
    started = time.monotonic()
    try:
        result = run()
    except ScriptFailed as exc:  # the system's own script failed: a failed step of the migration
        return failed(check, redact(str(exc)), elapsed_s=time.monotonic() - started)
    except (ReadFailure, HarnessError, OSError, ValueError, RuntimeError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return inconclusive(check, f"could not decide: {redact(text)}", elapsed_s=time.monotonic() - started)
    return result if result.elapsed_s else result.with_(elapsed_s=time.monotonic() - started)


def _summaries(reader: Reader, collections: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    out = {}
    for collection in collections:
        s = reader.summary(collection)
        out[collection] = {"count": s.count, "checksum": s.checksum}
    return out


# --- snapshot -----------------------------------------------------------------------------------------------


def baseline(ctx: GateContext) -> CheckResult:
    """The data library's snapshot of both sides (counts, range checksums, record digests), kept for the rollback
    to prove the restored source against; verdict.json gets the counts, snapshot.json the whole of it."""

    def run() -> CheckResult:
        with open_sides(ctx.target) as (settings, src, dst):
            assert src is not None and dst is not None
            snap = snapshot(src, dst, settings)
        ctx.snapshot = snap
        path = ctx.outdir / "snapshot.json"
        write_snapshot(snap, path)
        sides = {
            c: {
                side: {"count": e[side]["count"], "checksum": e[side]["checksum"]} for side in ("source", "destination")
            }
            for c, e in snap["collections"].items()
        }
        counts = ", ".join(f"{c} {v['source']['count']}/{v['destination']['count']}" for c, v in sides.items())
        return passed(
            "snapshot.baseline",
            f"source/destination counts: {counts}",
            figure=counts,
            evidence={"taken_at": snap["taken_at"], "collections": sides},
            files=(str(path),),
        )

    return _guarded("snapshot.baseline", run)


def backup(ctx: GateContext) -> CheckResult:
    assert ctx.scripts is not None

    def run() -> CheckResult:
        target_dir = ctx.workdir / "backup"
        manifest = ctx.scripts.backup_source(target_dir)  # type: ignore[union-attr]
        ctx.backup_dir = target_dir
        rows = {t: v["rows"] for t, v in manifest.get("tables", {}).items()}
        return passed(
            "snapshot.backup",
            "source backed up" + (": " + ", ".join(f"{t} {n}" for t, n in rows.items()) if rows else ""),
            figure=f"{sum(rows.values())} rows",
            evidence={"tables": manifest.get("tables", {})},
        )

    return _guarded("snapshot.backup", run)


# --- migration ----------------------------------------------------------------------------------------------


def export(ctx: GateContext) -> CheckResult:
    assert ctx.scripts is not None

    def run() -> CheckResult:
        ctx.export_file = ctx.scripts.export_source(ctx.workdir / "export")  # type: ignore[union-attr]
        manifest = json.loads((ctx.export_file.parent / "manifest.json").read_text(encoding="utf-8"))
        counts = {c: v["count"] for c, v in manifest.get("collections", {}).items()}
        return passed(
            "migration.export",
            "exported " + ", ".join(f"{c} {n}" for c, n in counts.items()),
            figure=f"{sum(counts.values())} records",
            evidence={"manifest": manifest},
        )

    return _guarded("migration.export", run)


def validate(ctx: GateContext) -> CheckResult:
    path = ctx.export_file or ctx.options.export
    if path is None:
        return skipped("migration.validate_export", "no export to validate (give --export FILE)")
    return _guarded(
        "migration.validate_export", lambda: validate_export(path, None).to_check("migration.validate_export")
    )


def import_(ctx: GateContext) -> CheckResult:
    assert ctx.scripts is not None
    if ctx.export_file is None:
        return inconclusive("migration.import", "there is no export to import (the export did not pass)")

    def run() -> CheckResult:
        result = ctx.scripts.import_export(ctx.export_file)  # type: ignore[union-attr, arg-type]
        # the embedded default's data faults damage the destination right after the import, as a bad one would
        ctx.data_faults = ctx.scripts.apply_data_faults()  # type: ignore[union-attr]
        if ctx.data_faults:
            result = {**result, "data_faults_applied": ctx.data_faults}
        if result.get("stopped"):
            return inconclusive(
                "migration.import", "the import stopped before the end (a stop marker)", evidence=result
            )
        return passed(
            "migration.import",
            f"imported {result['imported']} records in {result['batches']} batches"
            if "imported" in result
            else "the import script finished",
            figure=f"{result['imported']} records" if "imported" in result else None,
            evidence=result,
        )

    return _guarded("migration.import", run)


def verify_migration(ctx: GateContext) -> CheckResult:
    def run() -> CheckResult:
        with open_sides(ctx.target) as (settings, src, dst):
            assert src is not None and dst is not None
            report = verify(src, dst, settings.collections)
        return report.to_check("migration.verify")

    return _guarded("migration.verify", run)


# --- data ---------------------------------------------------------------------------------------------------


class CompareTracker:
    """The data compare's progress as a live figure for the gate's progress line: records settled, records/s,
    differences so far."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.state: tuple[str, int, int, int] | None = None

    def __call__(self, collection: str, covered: int, total: int, differences: int, done: bool) -> None:
        self.state = (collection, covered, total, differences)

    def detail(self) -> str:
        if self.state is None:
            return "reading"
        collection, covered, total, differences = self.state
        rate = covered / max(time.monotonic() - self.started, 1e-9)
        return f"{collection} {covered}/{total} records, {rate:.0f} records/s, {differences} differences"


def compare_data(ctx: GateContext, budget_s: float, tracker: CompareTracker | None = None) -> CheckResult:
    def run() -> CheckResult:
        with open_sides(ctx.target) as (settings, src, dst):
            assert src is not None and dst is not None
            sample = None
            profile = ctx.profile
            if profile.sample_above is not None or ctx.target.is_production:
                size = max((src.summary(c).count for c in settings.collections), default=0)
                if ctx.target.is_production or (profile.sample_above is not None and size > profile.sample_above):
                    sample = profile.sample if profile.sample < 1 else None
            options = CompareOptions(time_limit=budget_s * 0.9, sample=sample, progress=tracker)
            report = compare(src, dst, settings, options)
        path = ctx.outdir / "data" / "compare.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.to_json() + "\n", encoding="utf-8")
        result = report.to_check("data.compare")
        note = f"sampled {sample:.0%} of the key ranges; " if sample else ""
        return result.with_(summary=note + result.summary, files=(str(path),))

    return _guarded("data.compare", run)


def references(ctx: GateContext) -> CheckResult:
    def run() -> CheckResult:
        with open_sides(ctx.target) as (settings, src, dst):
            report = check_refs(src, dst, settings)
        path = ctx.outdir / "data" / "check-refs.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.to_json() + "\n", encoding="utf-8")
        return report.to_check("data.check_refs").with_(files=(str(path),))

    return _guarded("data.check_refs", run)


# --- rollback -----------------------------------------------------------------------------------------------


def stop_migration(ctx: GateContext) -> CheckResult:
    """An import told to stop writes nothing more (the guide's ``stop_migration``)."""
    assert ctx.scripts is not None
    scripts = ctx.scripts
    if ctx.export_file is None:
        return inconclusive("rollback.stop", "there is no export whose import could be stopped")
    export_file = ctx.export_file

    def destination() -> dict[str, dict[str, Any]]:
        with open_sides(ctx.target, source=False) as (settings, _, dst):
            assert dst is not None
            return _summaries(dst, settings.collections)

    def run() -> CheckResult:
        # The destination is emptied first (the rollback cleans it up anyway), so an import that ignores the
        # stop shows as records written; a copy of the export has no import checkpoint that would skip its lines.
        copy = ctx.workdir / "rollback-stop" / export_file.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export_file, copy)
        scripts.cleanup_storage()
        before = destination()
        held = sum(v["count"] for v in before.values())
        if held:  # an import that went on would rewrite records already there: the counts could not show it
            return inconclusive(
                "rollback.stop",
                f"the destination still held {held} records after cleanup_storage, so an import that ignored the"
                " stop would not show; see rollback.cleanup",
                figure=f"{held} records before",
                evidence={"destination_before": before},
            )
        scripts.stop_migration(copy)
        try:
            result = scripts.import_export(copy)
        finally:
            scripts.resume_migration(copy)
        after = destination()
        written = sum(v["count"] for v in after.values()) - sum(v["count"] for v in before.values())
        evidence = {"import": result, "destination_before": before, "destination_after": after}
        if not result.get("imported") and before == after:
            return passed(
                "rollback.stop",
                "an import told to stop wrote nothing",
                figure="0 records",
                limit="0",
                evidence=evidence,
            )
        return failed(
            "rollback.stop",
            f"the import went on after stop_migration: {max(written, int(result.get('imported') or 0))} records "
            "written",
            figure=f"{written} records",
            limit="0",
            findings=(Finding("stop_migration", "the import did not stop"),),
            evidence=evidence,
        )

    return _guarded("rollback.stop", run)


def restore(ctx: GateContext) -> CheckResult:
    """Restore the source from the backup; it must then equal the snapshot taken before the migration."""
    assert ctx.scripts is not None
    scripts = ctx.scripts
    if ctx.backup_dir is None or ctx.snapshot is None:
        return inconclusive("rollback.restore", "no backup or snapshot to restore to (the snapshot phase did not pass)")
    backup_dir, snap = ctx.backup_dir, ctx.snapshot

    def run() -> CheckResult:
        restored = scripts.restore_source(backup_dir)
        with open_sides(ctx.target, destination=False) as (settings, src, _):
            assert src is not None
            report = changed_since(snap, src, settings)
        result = report.to_check("rollback.restore")
        evidence = {"restored_rows": restored, **result.evidence}
        if result.outcome is Outcome.PASS:
            return result.with_(
                summary="the restored source equals the snapshot (range checksums, every record's digest)",
                evidence=evidence,
            )
        if result.outcome is Outcome.FAIL:
            return result.with_(
                summary="the restored source differs from the snapshot: " + result.summary, evidence=evidence
            )
        return result.with_(evidence=evidence)

    return _guarded("rollback.restore", run)


def cleanup(ctx: GateContext) -> CheckResult:
    """Clean up the Storage Service; its database must then hold no record."""
    assert ctx.scripts is not None
    scripts = ctx.scripts

    def run() -> CheckResult:
        scripts.cleanup_storage()
        with open_sides(ctx.target, source=False) as (settings, _, dst):
            assert dst is not None
            counts = {c: dst.summary(c).count for c in settings.collections}
        left = [Finding(f"destination {c}", f"{n} records left") for c, n in counts.items() if n]
        if left:
            return failed(
                "rollback.cleanup",
                "the Storage Service still holds records: " + ", ".join(f.describe() for f in left),
                findings=tuple(left),
                evidence=counts,
            )
        return passed(
            "rollback.cleanup", "the Storage Service's database is empty", figure="0 records", evidence=counts
        )

    return _guarded("rollback.cleanup", run)
