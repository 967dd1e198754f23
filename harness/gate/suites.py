"""A gate check made of a pytest suite: the suite runs in a child pytest against the resolved target (its name
and targets file handed down, never re-resolved), with the gate's Allure directory and phase as parent suite;
``pytest_outcomes`` writes every test's outcome as JSON, and this module turns it into one CheckResult per suite.

A suite passes when at least one test passed, none failed and pytest finished (exit 0); fails when any test
failed or errored (a worker that crashed under a test included); cannot decide when it was stopped (budget,
interrupt, ``pytest.exit``, an internal error: the tests that passed before decided nothing), could not start
(usage error, unreachable target), exited failed with no failure recorded, or ran no test.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import redaction, resources
from ..created_records import remove_run_records, run_directory
from ..pytest_plugin.allure_report import PARENT_SUITE_ENV
from ..verdict import CheckResult, Finding, Outcome, failed, inconclusive, passed
from .children import run_child, tail
from .context import GateContext
from .pytest_outcomes import OUTCOMES_ENV

MAX_FINDINGS = 30
MAX_DETAIL = 400  # a finding's first line; the whole message stays in verdict.json's evidence
BAD = ("failed", "error", "xpassed")  # a test's outcomes (``pytest_outcomes``) that fail the suite


def suite_path(suite: str) -> Path:
    return resources.suites_dir() / suite


def run_suites(ctx: GateContext, phase: str, checks: Sequence[tuple[str, str]], timeout_s: float) -> list[CheckResult]:
    """Run the suites of ``checks`` ((check name, suite folder) pairs) in one pytest child."""
    logs = ctx.outdir / "logs"
    outcomes_file = ctx.workdir / f"outcomes-{phase}.json"
    outcomes_file.unlink(missing_ok=True)
    run_id = uuid.uuid4().hex  # the child's run id (xdist's option), so its ledger of created records is known here
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        *(str(suite_path(s)) for _, s in checks),
        "-p",
        "harness.gate.pytest_outcomes",
        "--target",
        ctx.child_target,
        "--alluredir",
        str(ctx.allure_dir),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:locust",  # locust's own pytest plugin clashes with the harness's options (a wheel has no ini to say so)
        "-q",
        "-rfE",
        "--tb=short",  # a long traceback prints every frame's arguments: a DSN with its password among them
        "--hypothesis-profile",
        ctx.profile.fuzz_profile,
        "--testrunuid",
        run_id,
    ]
    if ctx.options.allow_writes:
        cmd.append("--allow-writes")
    env = {**os.environ, OUTCOMES_ENV: str(outcomes_file), PARENT_SUITE_ENV: phase, "HARNESS_ALLURE": "1"}
    env["HARNESS_FUZZ_PROFILE"] = ctx.profile.fuzz_profile
    if ctx.config_path is not None:
        env["HARNESS_CONFIG"] = str(ctx.config_path)
    env.pop("HARNESS_TARGET", None)  # the resolved target is passed with --target
    # the runbook's suites as it names them: options from the environment (-k, -m, --deselect) narrowed a suite
    # unseen, and what they deselected is recorded nowhere, so a suite of one test that ran could pass
    env.pop("PYTEST_ADDOPTS", None)
    before = set(ctx.allure_dir.iterdir()) if ctx.allure_dir.is_dir() else set()
    try:
        result = run_child(cmd, log=logs / f"pytest-{phase}.log", timeout_s=timeout_s, env=env)
    finally:
        _remove_what_the_child_left(ctx, run_id, logs / f"pytest-{phase}.log")
    for written in [result.log, *(set(ctx.allure_dir.iterdir()) - before if ctx.allure_dir.is_dir() else ())]:
        redaction.redact_file(written)  # what the suites wrote is masked as the gate's own reports are
    file_under_phase(ctx.allure_dir, phase)
    log_name = str(result.log)
    try:
        data: dict[str, Any] | None = json.loads(outcomes_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if data is not None and result.returncode != data.get("exitstatus"):
        # the outcomes are written at sessionfinish: what came after (a plugin's unconfigure, a kill) ended the
        # process otherwise, and its own exit status is the run's
        data["exitstatus"] = result.returncode
    out = []
    for check, suite in checks:
        name = f"{phase}.{check}"
        if result.timed_out:
            out.append(
                inconclusive(name, f"stopped at its budget of {timeout_s:.0f} s", files=(log_name,)).with_(
                    elapsed_s=result.elapsed_s
                )
            )
            continue
        if data is None:
            why = redaction.redact(tail(result.log, 3)) or f"pytest exited {result.returncode}"
            out.append(inconclusive(name, f"the suite could not run: {why}", files=(log_name,)))
            continue
        out.append(judge(name, suite, data, log_name, result.elapsed_s))
    return out


def _explained(exitstatus: int, tests: list[dict[str, Any]]) -> bool:
    """Whether the outcomes recorded account for pytest's exit status: 0 (every test ran), 1 with a test recorded
    as failed (in any suite of the child), 5 with none recorded (nothing collected). Any other status (interrupted,
    internal error, usage error, ``pytest.exit``), or a 1 without a recorded failure, means tests were not run or
    failed unseen: the tests that passed before it decided nothing about the suite."""
    if exitstatus == 0:
        return True
    if exitstatus == 1:
        return any(t["outcome"] in BAD for t in tests)
    return exitstatus == 5 and not tests


def _remove_what_the_child_left(ctx: GateContext, run_id: str, log: Path) -> None:
    """A child stopped at its budget or by an interrupt, killed before it could remove what it created, leaves
    its ledger: the gate removes what that still lists, and says so at the end of the child's log."""
    if not run_directory(run_id).exists():
        return
    removal = remove_run_records(run_id, ctx.target)
    if removal is not None:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"\nharness gate: the suites' run was stopped before its clean-up; it {removal.summary()}\n")


def _in_suite(nodeid: str, suite: str) -> bool:
    parts = nodeid.replace("\\", "/").split("::", 1)[0].split("/")
    return "suites" in parts and parts.index("suites") + 1 < len(parts) and parts[parts.index("suites") + 1] == suite


def judge(check: str, suite: str, outcomes: dict[str, Any], log: str, elapsed: float) -> CheckResult:
    """One suite's check from the outcomes ``pytest_outcomes`` wrote for the child that ran it (and maybe other
    suites beside it)."""
    tests = [t for t in outcomes["tests"] if _in_suite(t["nodeid"], suite)]
    exitstatus = int(outcomes["exitstatus"])
    explained = _explained(exitstatus, outcomes["tests"])
    counts: dict[str, int] = {}
    for t in tests:
        counts[t["outcome"]] = counts.get(t["outcome"], 0) + 1
    figure = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no tests"
    bad = [t for t in tests if t["outcome"] in BAD]
    evidence = {"suite": f"suites/{suite}", "counts": counts, "pytest_exitstatus": exitstatus}
    common: dict[str, Any] = {"figure": figure, "evidence": evidence, "files": (log,), "elapsed_s": elapsed}
    if bad:
        findings = tuple(
            Finding(
                t["nodeid"],
                redaction.redact((t["message"].strip().splitlines()[0] if t["message"] else t["outcome"])[:MAX_DETAIL]),
            )
            for t in bad[:MAX_FINDINGS]
        )
        evidence["failures"] = [{"test": t["nodeid"], "message": t["message"]} for t in bad[:MAX_FINDINGS]]
        return failed(
            check,
            f"{len(bad)} of {len(tests)} tests failed: " + findings[0].describe(),
            findings=findings,
            limit="0 failed",
            **common,
        )
    if not explained:
        why = (
            "pytest exited failed (exit 1) with no failed test recorded"
            if exitstatus == 1
            else f"pytest stopped (exit {exitstatus}) before deciding"
        )
        return inconclusive(check, why, **common)
    if not counts.get("passed"):
        reasons = sorted({t["message"] for t in tests if t["outcome"] == "skipped" and t["message"]})
        return CheckResult(
            check, Outcome.INCONCLUSIVE, "no test ran" + (f": {reasons[0]}" if reasons else ""), **common
        )
    return passed(
        check,
        f"{counts['passed']} tests passed" + (f", {counts.get('skipped', 0)} skipped" if counts.get("skipped") else ""),
        limit="0 failed",
        **common,
    )


def file_under_phase(allure_dir: Path, phase: str) -> None:
    """Allure 3 builds its tree from each result's ``titlePath`` (allure-pytest writes the file path there):
    put the phase first, so one report of the whole gate shows a parent suite per phase."""
    for path in allure_dir.glob("*-result.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        labels = {label.get("name"): label.get("value") for label in doc.get("labels", [])}
        title = doc.get("titlePath") or []
        if labels.get("parentSuite") != phase or (title and title[0] == phase):
            continue
        doc["titlePath"] = [phase, *[t for t in title if t != "suites"]]
        path.write_text(json.dumps(doc), encoding="utf-8")
