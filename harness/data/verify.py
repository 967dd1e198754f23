"""``verify``: counts and checksums per collection on both sides (the guide's ``verify_migration``).

One count + checksum per collection and side, computed inside each database (the source over its declared
query, see ``mapping.CollectionMapping.source_query``): seconds even at a million records. Checksums are
compared only where both sides' are over the same form of the documents (``checksum_form``); elsewhere counts
only, and the report says so. A mismatch says that the sides differ, not where: ``compare`` names the records.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from .compare import declares_version, versions_in_checksums
from .readers import Reader, ReadFailure
from .report import EQUAL, ProblemReport


def verify(source: Reader, destination: Reader, collections: Sequence[str], *, checksums: bool = True) -> ProblemReport:
    """``checksums=False`` compares counts only."""
    report = ProblemReport("verify", good=EQUAL)
    started = time.monotonic()
    for collection in collections:
        comparable = checksums and source.checksum_form(collection) == destination.checksum_form(collection)
        if checksums and not comparable:
            report.notes.append(
                f"{collection}: counts only; the source's documents are not declared in the destination's form"
            )
        versioned = comparable and versions_in_checksums(source, destination, collection)
        if comparable and not versioned and declares_version(source, collection):
            report.notes.append(
                f"{collection}: checksums over documents only; the destination's summary does not cover record"
                " versions (`harness data compare` reads them)"
            )
        try:
            if versioned:
                s = source.versioned_summary(collection)  # type: ignore[attr-defined]
                d = destination.versioned_summary(collection)  # type: ignore[attr-defined]
            else:
                s, d = source.summary(collection), destination.summary(collection)
        except ReadFailure as exc:
            report.incomplete = str(exc)
            continue
        report.checked[f"source {collection}"] = s.count
        report.checked[f"destination {collection}"] = d.count
        if s.count != d.count:
            report.add("count mismatch", collection, f"source {s.count}, destination {d.count}")
        elif comparable and s.checksum != d.checksum:
            report.add(
                "checksum mismatch",
                collection,
                f"same count ({s.count}) but source {s.checksum} != destination {d.checksum}; "
                "run `harness data compare` to name the records",
            )
    report.elapsed_s = time.monotonic() - started
    return report
