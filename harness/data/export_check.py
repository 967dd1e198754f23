"""``validate-export``: the guide's ``validate_export`` for the JSON Lines export and its manifest.

Every line must be one JSON object ``{"collection", "id", "version", "document"}`` whose document matches the
JSON Schema of its collection (the storage form of ``contracts/character-storage-documents.schema.json``
unless others are given: ``--schema C=FILE``);
ids must increase strictly within a collection (so a repeated id is caught
without holding ids in memory); per-collection counts and SHA-256 checksums of the lines, and the SHA-256 of the
whole file, must match ``manifest.json``. A problem is reported as ``file:line: reason``; the file is streamed.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from .. import contracts
from ..errors import HarnessError
from .documents import collection_schemas
from .report import ProblemReport

EXPORT_FORMAT = "character-export/1"


def _record_problem(record: Any, validators: dict[str, Draft202012Validator], record_id: re.Pattern[str]) -> str | None:
    if not isinstance(record, dict):
        return f"expected a JSON object, got {type(record).__name__}"
    if set(record) != {"collection", "id", "version", "document"}:
        return f"keys must be collection, id, version, document; got {', '.join(sorted(record))}"
    if record["collection"] not in validators:
        return f"unknown collection {record['collection']!r} (expected {', '.join(validators)})"
    if not isinstance(record["id"], str) or not record_id.match(record["id"]):
        return f"id {record['id']!r} is not a valid record id"
    version = record["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return f"version must be a positive integer, got {version!r}"
    error = next(iter(validators[record["collection"]].iter_errors(record["document"])), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "document"
        return f"document {where}: {error.message}"
    return None


def validate_export(
    path: Path, manifest_path: Path | None = None, schemas: Mapping[str, dict[str, Any]] | None = None
) -> ProblemReport:
    """``schemas``: a JSON Schema per collection for its documents (default: the shipped storage documents); a
    line of a collection without one is reported as an unknown collection."""
    report = ProblemReport("validate-export")
    validators = {name: Draft202012Validator(s) for name, s in (schemas or collection_schemas()).items()}
    record_id = re.compile(contracts.load(contracts.STORAGE_SERVICE)["components"]["schemas"]["RecordId"]["pattern"])
    started = time.monotonic()
    if not path.is_file():
        raise HarnessError(f"{path}: no such export file; pass the export.jsonl written by the export step")
    manifest_path = manifest_path or path.with_name("manifest.json")
    whole = hashlib.sha256()
    per: dict[str, dict[str, Any]] = {}
    last_id: dict[str, str] = {}
    name = str(path)
    line_no = 0
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            whole.update(raw)
            where = f"{name}:{line_no}"
            truncated = not raw.endswith(b"\n")
            try:
                record = json.loads(raw)
            except UnicodeDecodeError as exc:
                report.add("bad encoding", where, f"not UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            except json.JSONDecodeError as exc:
                reason = "truncated: the file ends inside this line" if truncated else "not valid JSON"
                report.add("malformed line", where, f"{reason} ({exc.msg} at column {exc.colno})")
                continue
            if truncated:
                report.add("truncated", where, "the last line has no newline: the file may be cut short")
            problem = _record_problem(record, validators, record_id)
            if problem:
                report.add("schema", where, problem)
                continue
            collection, key = record["collection"], record["id"]
            if collection in last_id and key <= last_id[collection]:
                kind = "duplicate key" if key == last_id[collection] else "out of order"
                report.add(kind, where, f"{collection} id {key} after {last_id[collection]}")
            last_id[collection] = key
            stats = per.setdefault(collection, {"count": 0, "sha256": hashlib.sha256()})
            stats["count"] += 1
            stats["sha256"].update(raw)
    report.checked["lines"] = line_no
    report.checked.update({f"{c} records": v["count"] for c, v in per.items()})
    _check_manifest(report, manifest_path, whole.hexdigest(), per)
    report.elapsed_s = time.monotonic() - started
    return report


def _check_manifest(report: ProblemReport, path: Path, sha256: str, per: dict[str, dict[str, Any]]) -> None:
    where = str(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        report.add("manifest", where, "not found: pass --manifest, or keep manifest.json beside the export")
        return
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add("manifest", where, f"unreadable ({type(exc).__name__}: {exc})")
        return
    if not isinstance(manifest, dict) or not isinstance(manifest.get("collections"), dict):
        report.add("manifest", where, "expected an object with format, sha256 and collections")
        return
    if manifest.get("format") != EXPORT_FORMAT:
        report.add("manifest", where, f"format {manifest.get('format')!r}, expected {EXPORT_FORMAT!r}")
    if manifest.get("sha256") != sha256:
        report.add("checksum mismatch", where, f"file sha256 {sha256} != manifest {manifest.get('sha256')}")
    expected = manifest["collections"]
    for collection in sorted(set(expected) | set(per)):
        want = expected.get(collection) or {}
        have = per.get(collection)
        count = have["count"] if have else 0
        digest = have["sha256"].hexdigest() if have else hashlib.sha256().hexdigest()
        if want.get("count") != count:
            report.add(
                "count mismatch",
                f"{where} {collection}",
                f"{count} records in the file, manifest says {want.get('count')}",
            )
        elif want.get("sha256") != digest:
            report.add(
                "checksum mismatch", f"{where} {collection}", f"lines sha256 {digest} != manifest {want.get('sha256')}"
            )
