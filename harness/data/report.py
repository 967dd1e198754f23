"""Results of the data checks and their two renderings: JSON (for machines and Allure) and a readable summary.

Verdicts: ``equal`` (or ``clean`` for reference checks), ``different``, ``incomplete`` (a side could not be read,
or a time limit stopped the run before everything was covered: never reported as equal). Exit status: 0 only on
equal/clean, 1 otherwise; usage errors are 2 (the CLI's ``HarnessError`` path).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..redaction import redact
from ..verdict import CheckResult, Finding, Outcome

EQUAL, DIFFERENT, INCOMPLETE, CLEAN = "equal", "different", "incomplete", "clean"


def read_json_object(path: Path, what: str, missing_hint: str) -> dict[str, Any]:
    """A JSON object from a file the harness wrote (a report, a snapshot); every problem is one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}; {missing_hint}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable {what} ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a {what}")
    return data


def is_integer(value: Any) -> bool:
    """An integer of a report or snapshot read back (JSON's true and false are ints to Python: not these)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_key_bound(value: Any) -> bool:
    """A key range's bound as reports and snapshots write it: a key, or null for an open end."""
    return value is None or isinstance(value, str)


# A data verdict as the one verdict type: a cut-short or unreadable run could not decide.
OUTCOMES = {EQUAL: Outcome.PASS, CLEAN: Outcome.PASS, DIFFERENT: Outcome.FAIL, INCOMPLETE: Outcome.INCONCLUSIVE}
MAX_FINDINGS = 50


@dataclass(frozen=True)
class FieldDiff:
    """One field of one record: ``path`` in canonical names (``name``, ``inventory[2].weight``)."""

    path: str
    change: str  # changed | type changed | only in source | only in destination
    source: Any = None
    destination: Any = None


@dataclass(frozen=True)
class Difference:
    collection: str
    key: str
    kind: str  # missing (only in the source) | extra (only in the destination) | changed | duplicate
    fields: tuple[FieldDiff, ...] = ()
    side: str | None = None  # for a duplicate: where the key repeats

    def describe(self) -> str:
        where = f"{self.collection}/{self.key}"
        if self.kind == "missing":
            return f"missing   {where}: in the source, not in the destination"
        if self.kind == "extra":
            return f"extra     {where}: in the destination, not in the source"
        if self.kind == "duplicate":
            return f"duplicate {where}: the key repeats in the {self.side}"
        parts = []
        for f in self.fields:
            if f.change in ("changed", "type changed"):
                parts.append(f"{f.path}: {f.source!r} -> {f.destination!r}")
            else:
                parts.append(f"{f.path}: {f.change}")
        return f"changed   {where}: " + "; ".join(parts)


@dataclass
class CollectionResult:
    collection: str
    source_count: int | None = None
    destination_count: int | None = None
    covered: int = 0  # keys settled, by checksum ranges or record by record
    by_checksum: int = 0
    equal: int = 0
    missing: int = 0
    extra: int = 0
    changed: int = 0
    duplicates: int = 0
    in_flight: int = 0  # mismatches that became equal when read again (--recheck-after): not differences
    segments: int = 0
    segments_streamed: int = 0
    sampled: bool = False
    incomplete: str | None = None  # why not everything was covered

    @property
    def total(self) -> int:
        """Keys known on either side: the larger count, or the keys read where a side's missing and extra
        records make their union larger (so "covered" never exceeds it)."""
        return max(self.source_count or 0, self.destination_count or 0, self.covered)

    @property
    def differences(self) -> int:
        return self.missing + self.extra + self.changed + self.duplicates

    @property
    def coverage(self) -> float:
        if self.total == 0:
            return 0.0 if self.incomplete else 1.0
        return min(1.0, self.covered / self.total)

    @property
    def counts_differ(self) -> bool:
        """A sample's ranges can all agree while the whole collection's counts (known before the ranges are
        picked) do not: records the sample did not reach are missing or extra, a difference all the same. A full
        run finds those records themselves (missing, extra), so only a sample needs the counts to decide."""
        if not self.sampled or self.source_count is None or self.destination_count is None:
            return False
        return self.source_count != self.destination_count

    @property
    def undecided(self) -> str | None:
        """Why this collection could not be decided (verdict incomplete), or None."""
        if self.incomplete:
            return self.incomplete
        if self.sampled and self.covered == 0 and self.total > 0:
            return f"the sample covered none of the {self.total} records: it decided nothing"
        if self.coverage < 1.0 and not self.sampled:
            return f"covered {self.covered} of {self.total} records"
        return None

    @property
    def verdict(self) -> str:
        if self.differences or self.counts_differ:
            return DIFFERENT
        if self.undecided:
            return INCOMPLETE
        return EQUAL

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total, "coverage": round(self.coverage, 6), "verdict": self.verdict}


def combine(verdicts: list[str], good: str = EQUAL) -> str:
    if DIFFERENT in verdicts:
        return DIFFERENT
    if INCOMPLETE in verdicts:
        return INCOMPLETE
    return good


@dataclass
class CompareReport:
    check: str  # compare | verify
    collections: list[CollectionResult] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)  # the first ``detail_limit``
    unlisted: int = 0  # differences counted but not listed, to bound memory
    stopped: str | None = None  # --max-diffs / --time-limit
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    partition: tuple[int, int] | None = None  # (index, of) of a partitioned run (merge the reports)
    # per collection, the [start, end) this partition compared (None: an open end), or None where it held no key:
    # the cut points are the source's key quantiles when each partition runs, so the merge checks they tile
    partition_bounds: dict[str, tuple[str | None, str | None] | None] = field(default_factory=dict)

    @property
    def nothing_compared(self) -> str | None:
        """Why a whole run decided nothing though every collection agrees: no record on either side of any (a
        mapping whose query selects nothing, the wrong database, a source not yet seeded). One partition may
        hold no key; the merge of all of them is judged."""
        if self.partition is not None or not self.collections or any(c.total for c in self.collections):
            return None
        return "no record on either side of any collection: nothing was compared (is the source mapping right?)"

    @property
    def verdict(self) -> str:
        verdict = combine([c.verdict for c in self.collections])
        return INCOMPLETE if verdict == EQUAL and self.nothing_compared else verdict

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == EQUAL else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "collections": [c.to_dict() for c in self.collections],
            "differences": [asdict(d) for d in self.differences],
            "unlisted_differences": self.unlisted,
            "stopped": self.stopped,
            "elapsed_s": round(self.elapsed_s, 3),
            "notes": self.notes,
            "partition": self._partition_dict(),
        }

    def _partition_dict(self) -> dict[str, Any] | None:
        if self.partition is None:
            return None
        bounds = {c: (list(b) if b is not None else None) for c, b in self.partition_bounds.items()}
        return {"index": self.partition[0], "of": self.partition[1], "bounds": bounds}

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2, default=str))

    def summary(self) -> str:
        part = f" (partition {self.partition[0]} of {self.partition[1]})" if self.partition else ""
        lines = [f"data {self.check}{part}: {self.verdict.upper()} in {self.elapsed_s:.1f} s"]
        for c in self.collections:
            lines.append(
                f"  {c.collection:<11} {c.verdict:<10} source {c.source_count} destination {c.destination_count}"
                f"  covered {c.covered}/{c.total} ({c.coverage:.1%}{', sampled' if c.sampled else ''})"
                f"  missing {c.missing} extra {c.extra} changed {c.changed} duplicates {c.duplicates}"
                + (f" in flight {c.in_flight}" if c.in_flight else "")
            )
            if c.counts_differ:
                lines.append(f"    counts differ: source {c.source_count}, destination {c.destination_count}")
            if c.undecided:
                lines.append(f"    incomplete: {c.undecided}")
        for d in self.differences:
            lines.append("  " + d.describe())
        if self.unlisted:
            lines.append(f"  ... and {self.unlisted} more differences not listed")
        if self.stopped:
            lines.append(f"  stopped early: {self.stopped}")
        if self.nothing_compared:
            lines.append(f"  incomplete: {self.nothing_compared}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return redact("\n".join(lines))

    def to_check(self, check: str) -> CheckResult:
        """This report as the one verdict type: every difference named (the first ``MAX_FINDINGS``)."""
        total = sum(c.total for c in self.collections)
        covered = sum(min(c.covered, c.total) for c in self.collections)
        found = sum(c.differences for c in self.collections)
        summary = f"{found} differences in {total} records, covered {covered}/{total}"
        summary += "".join(
            f"; {c.collection}: source {c.source_count} records, destination {c.destination_count}"
            for c in self.collections
            if c.counts_differ
        )
        reasons = [f"{c.collection}: {c.undecided}" for c in self.collections if c.undecided]
        if self.stopped:
            reasons.append(f"stopped early: {self.stopped}")
        if self.nothing_compared:
            reasons.append(self.nothing_compared)
        if self.verdict == INCOMPLETE:
            summary += "; could not decide: " + ("; ".join(reasons) or "not every record was covered")
        findings = tuple(Finding(f"{d.collection}/{d.key}", redact(d.describe())) for d in self.differences)
        return CheckResult(
            check,
            OUTCOMES[self.verdict],
            redact(summary),
            figure=f"{found} differences",
            limit="0",
            findings=findings[:MAX_FINDINGS],
            evidence=self.to_dict(),
            elapsed_s=self.elapsed_s,
        )


@dataclass(frozen=True)
class Problem:
    """One finding of a check that is not a record comparison: an orphan, a bad export line."""

    kind: str
    where: str  # collection/key, or file:line
    detail: str

    def describe(self) -> str:
        return f"{self.kind:<18} {self.where}: {self.detail}"


@dataclass
class ProblemReport:
    """check-refs and validate-export: a list of named problems (bounded) and counts by kind."""

    check: str
    problems: list[Problem] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)  # what was looked at (records, lines) per side/collection
    incomplete: str | None = None
    detail_limit: int = 1000
    elapsed_s: float = 0.0
    good: str = CLEAN  # the verdict when nothing was found: clean, or equal for verify
    notes: list[str] = field(default_factory=list)  # what the check could not look at, and why

    def add(self, kind: str, where: str, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.problems) < self.detail_limit:
            self.problems.append(Problem(kind, where, detail))

    @property
    def undecided(self) -> str | None:
        """Why nothing was found without deciding anything: cut short, or nothing to look at (every side and
        collection held no record, the export no line: a mapping that selects nothing, the wrong database)."""
        if self.incomplete:
            return self.incomplete
        if self.checked and not any(self.checked.values()):
            return f"nothing was checked ({', '.join(f'{k} 0' for k in self.checked)}): is the source mapping right?"
        return None

    @property
    def verdict(self) -> str:
        if self.counts:
            return DIFFERENT
        return INCOMPLETE if self.undecided else self.good

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict == self.good else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "verdict": self.verdict,
            "counts": self.counts,
            "checked": self.checked,
            "problems": [asdict(p) for p in self.problems],
            "incomplete": self.undecided,
            "elapsed_s": round(self.elapsed_s, 3),
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2, default=str))

    def summary(self) -> str:
        total = sum(self.counts.values())
        lines = [f"data {self.check}: {self.verdict.upper()} ({total} problems) in {self.elapsed_s:.1f} s"]
        lines.append("  checked: " + ", ".join(f"{k} {v}" for k, v in self.checked.items()))
        lines.extend("  " + p.describe() for p in self.problems)
        if total > len(self.problems):
            lines.append(f"  ... and {total - len(self.problems)} more not listed")
        if self.undecided:
            lines.append(f"  incomplete: {self.undecided}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return redact("\n".join(lines))

    def to_check(self, check: str) -> CheckResult:
        total = sum(self.counts.values())
        checked = ", ".join(f"{k} {v}" for k, v in self.checked.items())
        summary = f"{total} problems ({checked})" if checked else f"{total} problems"
        if self.verdict == INCOMPLETE:
            summary += f"; could not decide: {self.undecided}"
        return CheckResult(
            check,
            OUTCOMES[self.verdict],
            redact(summary),
            figure=f"{total} problems",
            limit="0",
            findings=tuple(Finding(p.where, redact(f"{p.kind}: {p.detail}")) for p in self.problems[:MAX_FINDINGS]),
            evidence=self.to_dict(),
            elapsed_s=self.elapsed_s,
        )
