"""What one gate run knows once it is resolved: the options, the profile, the target (and, on the embedded
default, the stack and its migration scripts), where it writes, and what earlier phases left for later ones
(the snapshot, the backup, the export). Resolved once, in ``harness.gate.cli``; checks only read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..config import Target
from ..config.model import GATE_PROFILES


class MigrationScripts(Protocol):
    """The guide's data scripts of the system under test (step 4 and the rollback of step 6). The embedded
    default's launcher provides them; a deployment's would be its own scripts."""

    def export_source(self, out_dir: Path) -> Path: ...
    def import_export(self, export_file: Path) -> dict[str, Any]: ...
    def apply_data_faults(self) -> dict[str, list[str]]: ...
    def stop_migration(self, export_file: Path) -> Path: ...
    def resume_migration(self, export_file: Path) -> None: ...
    def backup_source(self, backup_dir: Path) -> dict[str, Any]: ...
    def restore_source(self, backup_dir: Path) -> dict[str, int]: ...
    def cleanup_storage(self) -> None: ...


@dataclass(frozen=True)
class Profile:
    """How thorough a gate run is. ``quick``: the CI gate on every change (rule windows scaled down, sampled data
    on large sources, the ci fuzz profile); ``full``: before a rollout (the rules' own windows, every record, the
    nightly fuzz profile)."""

    name: str
    fuzz_profile: str
    load_run_time_s: float | None  # None: the rules' own window + for, plus a margin
    rule_window: str | None  # None: the rules' own
    rule_for: str | None
    load_users: int
    compare_rounds: int
    compare_run_time: str
    latency_window: str | None
    sample_above: int | None  # sample the data compare when the source holds more records than this
    sample: float
    budgets_s: dict[str, float] = field(default_factory=dict)  # per phase


QUICK = Profile(
    name="quick",
    fuzz_profile="ci",
    load_run_time_s=20,
    rule_window="10s",
    rule_for="5s",
    load_users=10,
    compare_rounds=1,
    compare_run_time="10s",
    latency_window="10s",
    sample_above=50_000,
    sample=0.1,
    budgets_s={
        "preflight": 60,
        "snapshot": 120,
        "migration": 300,
        "data": 300,
        "endpoints": 900,
        "integration": 300,
        "performance": 300,
        "staging": 300,
        "smoke": 180,
        "rollback": 300,
    },
)
FULL = Profile(
    name="full",
    fuzz_profile="nightly",
    load_run_time_s=None,
    rule_window=None,
    rule_for=None,
    load_users=20,
    compare_rounds=2,
    compare_run_time="60s",
    latency_window=None,
    sample_above=None,
    sample=1.0,
    budgets_s={
        "preflight": 120,
        "snapshot": 1800,
        "migration": 7200,
        "data": 7200,
        "endpoints": 5400,
        "integration": 1800,
        "performance": 3600,
        "staging": 1800,
        "smoke": 600,
        "rollback": 3600,
    },
)
PROFILES = {p.name: p for p in (QUICK, FULL)}
assert tuple(PROFILES) == GATE_PROFILES


@dataclass(frozen=True)
class GateOptions:
    target: str | None = None
    profile: str | None = None
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    plan_only: bool = False
    allow_writes: bool = False
    allow_load: bool = False
    faults: tuple[str, ...] = ()
    export: Path | None = None
    characters: int | None = None
    reports: Path = Path("reports")


@dataclass
class GateContext:
    options: GateOptions
    profile: Profile
    target: Target
    embedded: bool  # the built-in local target, started by the gate
    config_path: Path | None  # the targets file children read (HARNESS_CONFIG), naming ``child_target``
    child_target: str  # the target name children (pytest, locust) get with --target
    outdir: Path  # reports/gate-<target>-<stamp>/
    workdir: Path  # temporary: export, backup (user data never goes to reports/); removed at the end
    scripts: MigrationScripts | None = None  # on a rehearsal: the system's migration scripts
    data_faults: dict[str, list[str]] = field(default_factory=dict)
    # left by earlier phases for later ones
    snapshot: dict[str, Any] | None = None
    backup_dir: Path | None = None
    export_file: Path | None = None

    @property
    def allure_dir(self) -> Path:
        return self.outdir / "allure-results"

    @property
    def rehearsal(self) -> bool:
        return self.scripts is not None

    def budget(self, phase: str, check: str) -> float:
        configured = self.target.gate.budget(check, phase)
        return configured if configured is not None else self.profile.budgets_s.get(phase, 600.0)
