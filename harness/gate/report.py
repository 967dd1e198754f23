"""What a gate run writes to ``reports/gate-<target>-<stamp>/``: ``verdict.json`` (the schema is
``contracts/gate-verdict.schema.json``), ``summary.md`` (what a release manager pastes into the cutover ticket:
the verdict first, then every failed or inconclusive check with its evidence, then the rest), Allure results
for the checks that are not pytest suites (the suites write theirs into the same directory, a parent suite per
phase), and the final table printed at the end. Secrets are masked in everything written."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import time
import uuid
from pathlib import Path
from typing import Any

from .. import resources
from ..redaction import redact
from ..verdict import Outcome
from .context import GateContext
from .runner import GateRun

SCHEMA_VERSION = 1
ALLURE_STATUS = {
    Outcome.PASS: "passed",
    Outcome.FAIL: "failed",
    Outcome.INCONCLUSIVE: "broken",
    Outcome.SKIPPED: "skipped",
}


def _version() -> str:
    try:
        return importlib.metadata.version("storage-migration-harness")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _contract_hashes() -> dict[str, str]:
    files = (resources.character_service_contract(), resources.storage_service_contract(), resources.alert_rules())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def verdict_document(ctx: GateContext, run: GateRun) -> dict[str, Any]:
    decision = run.decision
    counts = {o.value: sum(1 for r in run.results if r.outcome is o) for o in Outcome}
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": decision.value,
        "exit_code": decision.exit_code,
        "interrupted": run.interrupted,
        "target": ctx.target.name,
        "environment": ctx.target.environment,
        "embedded": ctx.embedded,
        "profile": ctx.profile.name,
        "harness_version": _version(),
        "contracts": _contract_hashes(),
        "faults": list(ctx.options.faults),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started_at)),
        "elapsed_s": round(run.elapsed_s, 3),
        "phase_times_s": run.phase_times,
        "counts": counts,
        "checks": [r.to_dict() for r in run.results],
    }


def write_verdict(ctx: GateContext, run: GateRun) -> Path:
    path = ctx.outdir / "verdict.json"
    path.write_text(redact(json.dumps(verdict_document(ctx, run), indent=2, default=str)) + "\n", encoding="utf-8")
    return path


def _rel(ctx: GateContext, file: str) -> str:
    try:
        return str(Path(file).resolve().relative_to(ctx.outdir.resolve()))
    except ValueError:
        return file


def summary_markdown(ctx: GateContext, run: GateRun) -> str:
    decision = run.decision
    where = "embedded default (full rehearsal)" if ctx.embedded else f"`{ctx.target.name}`"
    lines = [
        f"# Migration gate: **{decision.value}**",
        "",
        f"Target {where}, environment {ctx.target.environment}, profile `{ctx.profile.name}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(run.started_at))}, {run.elapsed_s:.0f} s"
        + (", **interrupted**" if run.interrupted else "")
        + (f", faults: {', '.join(ctx.options.faults)}" if ctx.options.faults else ""),
        "",
    ]
    bad = [r for r in run.results if r.outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE)]
    if bad:
        lines += ["## What stops the rollout" if decision.value == "NO-GO" else "## What could not be decided", ""]
        for r in sorted(bad, key=lambda r: r.outcome is not Outcome.FAIL):
            lines.append(f"### {r.outcome.value.upper()}: `{r.check}`" + (" (report only)" if r.report_only else ""))
            lines.append("")
            lines.append(r.summary)
            if r.figure or r.limit:
                lines.append(f"- figure: {r.figure or '-'}; limit: {r.limit or '-'}")
            for f in r.findings[:20]:
                lines.append(f"- {f.describe()}")
            if len(r.findings) > 20:
                lines.append(f"- ... and {len(r.findings) - 20} more in verdict.json")
            for file in r.files:
                lines.append(f"- [{_rel(ctx, file)}]({_rel(ctx, file)})")
            lines.append("")
    charts = sorted((ctx.outdir / "charts").glob("*.svg")) if (ctx.outdir / "charts").is_dir() else []
    if charts:
        lines += ["## Load runs", ""]
        lines += [f"![{c.stem}](charts/{c.name})" for c in charts]
        lines.append("")
    lines += ["## Every check", "", "| phase | check | verdict | figure | limit | time |", "|---|---|---|---|---|---|"]
    for r in run.results:
        verdict = r.outcome.value + (" (report only)" if r.report_only else "")
        figure = r.figure if r.outcome is not Outcome.SKIPPED else r.summary
        lines.append(f"| {r.phase} | {r.name} | {verdict} | {_cell(figure)} | {_cell(r.limit)} | {r.elapsed_s:.1f} s |")
    lines += [
        "",
        "Files: `verdict.json`, `allure-results/` (`npx --yes allure@3 generate allure-results -o allure-report`).",
    ]
    return redact("\n".join(lines)) + "\n"


def _cell(value: str | None) -> str:
    return (value or "-").replace("|", "\\|").replace("\n", " ")[:120]


def write_summary(ctx: GateContext, run: GateRun) -> Path:
    path = ctx.outdir / "summary.md"
    path.write_text(summary_markdown(ctx, run), encoding="utf-8")
    return path


def final_table(run: GateRun) -> str:
    rows = [("phase", "check", "verdict", "figure", "limit", "time")]
    for r in run.results:
        rows.append(
            (
                r.phase,
                r.name,
                r.outcome.value.upper() + ("*" if r.report_only else ""),
                (r.figure or ("-" if r.outcome is not Outcome.SKIPPED else r.summary))[:60],
                (r.limit or "-")[:24],
                f"{r.elapsed_s:.1f} s",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    if any(r.report_only for r in run.results):
        lines.append("* report only: shown, never deciding")
    return redact("\n".join(lines))


def write_allure(ctx: GateContext, run: GateRun, suite_checks: set[str]) -> None:
    """One Allure test per check that is not a pytest suite (the suites wrote their own tests)."""
    results = ctx.allure_dir
    results.mkdir(parents=True, exist_ok=True)
    now = int(time.time() * 1000)
    for r in run.results:
        # a suite that ran wrote its own tests; one that was skipped or could not start gets a result here
        if r.check in suite_checks and r.outcome in (Outcome.PASS, Outcome.FAIL):
            continue
        test_id = str(uuid.uuid4())
        attachment = f"{uuid.uuid4()}-attachment.json"
        (results / attachment).write_text(redact(json.dumps(r.to_dict(), indent=2, default=str)), encoding="utf-8")
        attachments = [{"name": "evidence", "source": attachment, "type": "application/json"}]
        for file in r.files:
            p = Path(file)
            if p.suffix == ".svg" and p.is_file():
                name = f"{uuid.uuid4()}-attachment.svg"
                (results / name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
                attachments.append({"name": p.stem, "source": name, "type": "image/svg+xml"})
        message = r.summary + "".join(f"\n- {f.describe()}" for f in r.findings[:30])
        case_id = hashlib.md5(f"gate:{r.check}".encode()).hexdigest()  # stable: Allure's history follows it
        document = {
            "uuid": test_id,
            "historyId": case_id,
            "testCaseId": case_id,
            "name": r.check,
            "fullName": f"harness.gate.{r.check}",
            "titlePath": [r.phase, "gate"],
            "status": ALLURE_STATUS[r.outcome],
            "statusDetails": {"message": redact(message)},
            "stage": "finished",
            "start": now - int(r.elapsed_s * 1000),
            "stop": now,
            "labels": [
                {"name": "parentSuite", "value": r.phase},
                {"name": "suite", "value": "gate"},
                {"name": "feature", "value": f"gate: {r.phase}"},
                {"name": "story", "value": r.name},
                {"name": "severity", "value": "critical" if r.phase in ("data", "preflight", "rollback") else "normal"},
            ],
            "parameters": [
                {"name": "target", "value": ctx.target.name},
                {"name": "profile", "value": ctx.profile.name},
            ],
            "attachments": attachments,
        }
        (results / f"{test_id}-result.json").write_text(json.dumps(document, indent=1), encoding="utf-8")
    env = {
        "target": ctx.target.name,
        "environment": ctx.target.environment,
        "profile": ctx.profile.name,
        "verdict": run.decision.value,
        "harness": _version(),
    }
    (results / "environment.properties").write_text(
        redact("".join(f"{k}={v}\n" for k, v in env.items())), encoding="utf-8"
    )
