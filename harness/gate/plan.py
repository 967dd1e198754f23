"""The runbook: the migration guide's validation as ordered phases of checks, and which of them run on a
target. This is the one place that decides what a gate run does; ``--plan`` prints it without sending anything.

What runs follows the target's environment: the embedded default runs everything (a full rehearsal, migration
and rollback included); dev and staging everything that does not destroy data (migration and rollback only on a
target whose ``[targets.X.gate] rehearse = true``); production only the read-only checks (preflight, snapshot, a
sampled data compare, smoke, check-latency) unless ``--allow-writes`` (and ``--allow-load`` for load).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config.model import GATE_PHASES
from ..verdict import CheckResult
from .context import GateContext
from .scripts import missing_scripts

READ_ONLY, WRITES, LOAD, REHEARSAL = "read-only", "writes", "load", "rehearsal"


@dataclass(frozen=True)
class PlannedCheck:
    phase: str
    name: str
    guide: str  # the guide's step it validates
    kind: str  # read-only | writes (tagged synthetic records, removed) | load | rehearsal (writes and restores)
    what: str  # one line, for --plan and the summary

    @property
    def check(self) -> str:
        return f"{self.phase}.{self.name}"


@dataclass(frozen=True)
class PlanEntry:
    planned: PlannedCheck
    skip_reason: str | None  # None: it runs
    report_only: bool
    budget_s: float


RUNBOOK: tuple[PlannedCheck, ...] = (
    PlannedCheck(
        "preflight",
        "reachable",
        "1 verify storage service availability",
        READ_ONLY,
        "both backends, the Storage Service, the source database (and Prometheus) answer",
    ),
    PlannedCheck(
        "preflight",
        "storage_health",
        "1 test storage service connectivity",
        READ_ONLY,
        "the storage backend's /health names the Storage Service ok",
    ),
    PlannedCheck(
        "preflight", "character_db", "2 provision character_db", READ_ONLY, "the Storage Service has the database"
    ),
    PlannedCheck(
        "preflight",
        "security",
        "2 configure access controls",
        READ_ONLY,
        "suites/security: refused without, with a bad or another database's token; own credentials read-only",
    ),
    PlannedCheck(
        "preflight",
        "metrics",
        "2 set up monitoring",
        READ_ONLY,
        "the metrics the alert rules read are exported by every backend",
    ),
    PlannedCheck(
        "snapshot",
        "baseline",
        "1 document current database state",
        READ_ONLY,
        "counts and checksums per collection of source and destination, saved as snapshot.json",
    ),
    PlannedCheck(
        "snapshot",
        "backup",
        "1 backup all character service databases",
        REHEARSAL,
        "a real backup of the source (the rollback restores it)",
    ),
    PlannedCheck("migration", "export", "4 export current data", REHEARSAL, "export_data: JSON Lines + manifest"),
    PlannedCheck(
        "migration",
        "validate_export",
        "4 validate exported data",
        READ_ONLY,
        "the export against its schema and manifest (--export FILE on other targets)",
    ),
    PlannedCheck("migration", "import", "4 import to storage service", REHEARSAL, "import_to_storage, batched"),
    PlannedCheck("migration", "verify", "4 verify migration", READ_ONLY, "counts and checksums, both sides"),
    PlannedCheck(
        "data", "compare", "5.1 compare source and destination", READ_ONLY, "record by record, every difference named"
    ),
    PlannedCheck(
        "data", "check_refs", "5.1 verify referential integrity", READ_ONLY, "orphans and duplicates on both sides"
    ),
    PlannedCheck("endpoints", "api", "5.1 test all endpoints", WRITES, "suites/api on every backend"),
    PlannedCheck(
        "endpoints",
        "contract",
        "3 validate error handling",
        WRITES,
        "suites/contract: schemathesis fuzzing of the contract",
    ),
    PlannedCheck(
        "endpoints",
        "differential",
        "3 verify all operations",
        WRITES,
        "suites/differential: one random operation sequence on both backends",
    ),
    PlannedCheck(
        "integration",
        "integration",
        "5.3 end-to-end and campaign integration tests",
        WRITES,
        "suites/integration including test_campaigns.py",
    ),
    PlannedCheck(
        "performance",
        "load_legacy",
        "5.2 run load tests",
        LOAD,
        "locust on the legacy backend, judged against the alert rules",
    ),
    PlannedCheck(
        "performance",
        "load_storage",
        "5.2 run load tests",
        LOAD,
        "locust on the storage backend, judged against the alert rules",
    ),
    PlannedCheck(
        "performance",
        "check_latency",
        "5.2 check latency metrics",
        READ_ONLY,
        "the alert rules over the service's own metrics (Prometheus or /metrics)",
    ),
    PlannedCheck(
        "performance",
        "compare",
        "5.2 performance validation",
        LOAD,
        "the same load on legacy and storage, Mann-Whitney U",
    ),
    PlannedCheck(
        "staging",
        "staging",
        "deployment 2 run validation suite",
        READ_ONLY,
        "suites/staging: flag on, sampled reads compared across backends",
    ),
    PlannedCheck("smoke", "smoke", "deployment 3 smoke tests", READ_ONLY, "suites/smoke"),
    PlannedCheck("rollback", "stop", "6.1 stop the migration", REHEARSAL, "an import told to stop writes nothing"),
    PlannedCheck(
        "rollback",
        "restore",
        "6.2 restore original database",
        REHEARSAL,
        "restore_db; the restored source equals the snapshot",
    ),
    PlannedCheck(
        "rollback",
        "cleanup",
        "6.3 clean up storage service",
        REHEARSAL,
        "cleanup_storage; the Storage Service's database is empty",
    ),
)
assert {c.phase for c in RUNBOOK} == set(GATE_PHASES)


def check_names() -> list[str]:
    """Every name a run can select, skip, budget or make report-only: the phases and their checks."""
    return sorted(set(GATE_PHASES) | {c.check for c in RUNBOOK})


def unknown_name(value: str) -> str | None:
    """Why ``value`` names no phase or check (with a hint), or None: what ``--only``/``--skip`` and the targets
    file's ``[targets.X.gate]`` names are checked by."""
    names = check_names()
    if value in names:
        return None
    from ..errors import did_you_mean

    return (
        f"not a phase or check{did_you_mean(value, names)} "
        f"(phases: {', '.join(GATE_PHASES)}; `harness gate --plan` lists the checks)"
    )


# Suite folder of each suite check.
SUITES = {
    "preflight.security": "security",
    "endpoints.api": "api",
    "endpoints.contract": "contract",
    "endpoints.differential": "differential",
    "integration.integration": "integration",
    "staging.staging": "staging",
    "smoke.smoke": "smoke",
}
# The read-only checks that run on production without --allow-writes / --allow-load.
PRODUCTION_SAFE = {c.check for c in RUNBOOK if c.kind == READ_ONLY} - {"staging.staging"}


def _why_no_rehearsal(ctx: GateContext) -> str:
    target = ctx.target
    if target.is_production:
        return "production is never rehearsed on"
    if not target.gate.rehearse:
        return f"not a rehearsal target (set [targets.{target.name}.gate] rehearse = true and declare its scripts)"
    missing = missing_scripts(dict(target.gate.scripts))
    return f"[targets.{target.name}.gate.scripts] lacks {', '.join(missing)}"


def _skip_reason(ctx: GateContext, c: PlannedCheck) -> str | None:
    target, options = ctx.target, ctx.options
    gate = target.gate
    selected = options.only or gate.phases
    if selected and c.phase not in selected and c.check not in selected:
        return f"not selected (only: {', '.join(selected)})"
    for skip in (*options.skip, *gate.skip):
        if skip in (c.phase, c.check):
            return f"skipped by {'--skip' if skip in options.skip else f'targets.{target.name}.gate.skip'} {skip}"
    if c.kind == REHEARSAL and not ctx.rehearsal:
        return f"writes and restores the source and the Storage Service: {_why_no_rehearsal(ctx)}"
    if c.check == "migration.validate_export" and not ctx.rehearsal and options.export is None:
        return "no export to validate on this target (give --export FILE)"
    if c.check == "preflight.security" and target.source is None and target.destination is None:
        return (
            f"the target names no source and no destination to probe (declare [targets.{target.name}.source] "
            f"or [targets.{target.name}.destination])"
        )
    needs = {"source": target.source is None, "destination": target.destination is None}
    if c.phase in ("snapshot", "migration", "data", "rollback") and any(needs.values()):
        missing = [k for k, v in needs.items() if v]
        sections = f"[targets.{target.name}.source] and [targets.{target.name}.destination]"
        return f"the target names no {' and no '.join(missing)} (data checks need {sections})"
    if target.is_production and c.check not in PRODUCTION_SAFE:
        if c.kind == LOAD and not options.allow_load:
            return "production: load needs --allow-load"
        if c.kind == WRITES and not options.allow_writes:
            return "production: this check writes (tagged synthetic records); use --allow-writes"
        if c.check == "staging.staging":
            return "production: the staging suite belongs to staging"
    return None


# Checks shown but not deciding unless a target lists them in ``[targets.X.gate] deciding``. The guide's limits
# are the alert rules' absolute ones; "storage no slower than legacy x (1 + max_slowdown)" is a policy a target
# opts into: the storage backend adds a network hop, so it is slower by design.
REPORT_ONLY_BY_DEFAULT = ("performance.compare",)


def build_plan(ctx: GateContext) -> list[PlanEntry]:
    gate = ctx.target.gate
    report_only = set(gate.report_only) | (set(REPORT_ONLY_BY_DEFAULT) - set(gate.deciding))
    return [
        PlanEntry(
            c,
            _skip_reason(ctx, c),
            report_only=c.check in report_only or c.phase in report_only,
            budget_s=ctx.budget(c.phase, c.check),
        )
        for c in RUNBOOK
    ]


def describe_plan(ctx: GateContext, plan: list[PlanEntry]) -> str:
    where = "the embedded default (full rehearsal)" if ctx.embedded else f"target {ctx.target.name}"
    lines = [
        f"harness gate plan: {where}, environment {ctx.target.environment}, profile {ctx.profile.name}",
        "",
        f"{'check':<28} {'guide step':<44} {'runs?':<6} what / why not",
    ]
    for e in plan:
        runs = "no" if e.skip_reason else ("report" if e.report_only else "yes")
        why = e.skip_reason or f"{e.planned.what} [{e.planned.kind}, budget {e.budget_s:.0f} s]"
        lines.append(f"{e.planned.check:<28} {e.planned.guide:<44} {runs:<6} {why}")
    running = sum(1 for e in plan if not e.skip_reason)
    lines += ["", f"{running} of {len(plan)} checks run; nothing was sent to the target."]
    return "\n".join(lines)


Runner = Callable[[GateContext], CheckResult]
