"""The one verdict type every check returns (data, load, latency, suites, rollback), and how a set of them
becomes the gate's decision.

A check's outcome is ``pass``, ``fail``, ``inconclusive`` (it could not decide: unreachable, read failure, cut
short, an invalid load run, no data) or ``skipped`` (not run, with the reason). The decision: **GO** when every
deciding check passed (and at least one ran), **NO-GO** when any deciding check failed, **INCONCLUSIVE**
otherwise. Inconclusive is never GO. ``report_only`` checks are shown but never decide (Argo Rollouts' dryRun).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


class Decision(StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"
    INCONCLUSIVE = "INCONCLUSIVE"

    @property
    def exit_code(self) -> int:
        return {Decision.GO: 0, Decision.NO_GO: 1, Decision.INCONCLUSIVE: 4}[self]


@dataclass(frozen=True)
class Finding:
    """One thing a check found: a rule that fired, a record that differs, a test that failed."""

    what: str  # e.g. "HighLatency on storage", "characters/123", "suites/api/test_x.py::test_y[storage]"
    detail: str = ""
    value: str | None = None  # the measured figure, formatted with its unit
    limit: str | None = None  # the limit it was held to

    def describe(self) -> str:
        figures = ""
        if self.value is not None:
            figures = f" ({self.value}" + (f", limit {self.limit}" if self.limit is not None else "") + ")"
        return f"{self.what}{figures}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class CheckResult:
    """The result of one check. ``figure``/``limit`` are the key figure and the limit shown in the table;
    ``evidence`` holds what a reviewer needs (JSON-able), ``files`` the report files written."""

    check: str  # "<phase>.<name>", e.g. "data.compare"
    outcome: Outcome
    summary: str  # one line: what was found, or why it could not decide / was skipped
    figure: str | None = None
    limit: str | None = None
    findings: tuple[Finding, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    elapsed_s: float = 0.0
    report_only: bool = False

    @property
    def phase(self) -> str:
        return self.check.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.check.split(".", 1)[-1]

    @property
    def deciding(self) -> bool:
        return not self.report_only and self.outcome is not Outcome.SKIPPED

    def with_(self, **changes: Any) -> CheckResult:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "phase": self.phase,
            "outcome": self.outcome.value,
            "summary": self.summary,
            "figure": self.figure,
            "limit": self.limit,
            "findings": [
                {"what": f.what, "detail": f.detail, "value": f.value, "limit": f.limit} for f in self.findings
            ],
            "evidence": self.evidence,
            "files": list(self.files),
            "elapsed_s": round(self.elapsed_s, 3),
            "report_only": self.report_only,
        }


def passed(check: str, summary: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check, Outcome.PASS, summary, **kwargs)


def failed(check: str, summary: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check, Outcome.FAIL, summary, **kwargs)


def inconclusive(check: str, summary: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check, Outcome.INCONCLUSIVE, summary, **kwargs)


def skipped(check: str, reason: str, **kwargs: Any) -> CheckResult:
    return CheckResult(check, Outcome.SKIPPED, reason, **kwargs)


def decide(results: Iterable[CheckResult], *, interrupted: bool = False) -> Decision:
    deciding = [r for r in results if r.deciding]
    if any(r.outcome is Outcome.FAIL for r in deciding):
        return Decision.NO_GO
    if interrupted or not deciding or any(r.outcome is not Outcome.PASS for r in deciding):
        return Decision.INCONCLUSIVE
    return Decision.GO


__all__ = [
    "CheckResult",
    "Decision",
    "Finding",
    "Outcome",
    "decide",
    "failed",
    "inconclusive",
    "passed",
    "skipped",
]
