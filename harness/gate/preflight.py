"""Preflight (guide 1 "verify storage service availability / connectivity", 2 "provision character_db", "set up
monitoring"): every part of the target answers, the storage backend names the Storage Service healthy,
``character_db`` exists, and the metrics the alert rules read are exported. Read-only."""

from __future__ import annotations

import time

import httpx
import psycopg

from ..contracts import STORAGE_SERVICE, violations
from ..errors import HarnessError
from ..http_client import new_client
from ..load.latency import exports, parse_exposition
from ..load.thresholds import target_rules
from ..redaction import redact
from ..verdict import CheckResult, Finding, failed, inconclusive, passed, skipped
from .context import GateContext

PROBE_TIMEOUT_S = 5.0


def _get(client: httpx.Client, url: str) -> tuple[int | None, str, object]:
    try:
        response = client.get(url)
    except httpx.HTTPError as exc:
        return None, redact(f"{type(exc).__name__}: {exc}".splitlines()[0]), None
    try:
        body: object = response.json()
    except ValueError:
        body = None
    return response.status_code, response.text, body


def _client(ctx: GateContext) -> httpx.Client:
    t = ctx.target.timeouts
    return new_client(
        timeout=httpx.Timeout(min(t.read, PROBE_TIMEOUT_S), connect=min(t.connect, PROBE_TIMEOUT_S)),
        headers=ctx.target.auth.headers(),
    )


def reachable(ctx: GateContext) -> CheckResult:
    """Every part answers: each backend's /health, the Storage Service's /health, the source database, and
    Prometheus when the target names one. An unreachable part means the gate cannot decide."""
    target, started = ctx.target, time.monotonic()
    down: list[Finding] = []
    up: list[str] = []
    missed: list[str] = []  # the parts that did not answer (``parts_needed`` names the checks they stop)

    def answer(part: str, url: str, ok: tuple[int, ...] = (200,)) -> None:
        status, text, _ = _get(client, url)
        if status in ok:
            up.append(part)
        else:
            missed.append(part)
            down.append(Finding(f"{part} {url}", text[:200] if status is None else f"HTTP {status}"))

    with _client(ctx) as client:
        for name, backend in target.backends.items():
            # 503 is an answer (degraded): the storage_health check judges it
            answer(f"{name} backend", f"{backend.url}/health", (200, 503))
        if target.destination is not None:
            answer("Storage Service", f"{target.destination.url}/health")
        if target.prometheus is not None:
            answer("Prometheus", f"{target.prometheus.url}/-/ready")
    if target.source is not None:
        try:
            with psycopg.connect(target.source.dsn, connect_timeout=int(PROBE_TIMEOUT_S)) as conn:
                conn.execute("SELECT 1")
            up.append("source database")
        except psycopg.Error as exc:
            missed.append("source database")
            down.append(Finding("source database", redact(str(exc).strip().splitlines()[0] if str(exc) else "error")))
    elapsed = time.monotonic() - started
    if down:
        return inconclusive(
            "preflight.reachable",
            "unreachable: " + "; ".join(f.describe() for f in down),
            findings=tuple(down),
            evidence={"answered": up, "unanswered": missed},
            elapsed_s=elapsed,
        )
    return passed("preflight.reachable", "answered: " + ", ".join(up), figure=f"{len(up)} parts", elapsed_s=elapsed)


def parts_needed(ctx: GateContext, check: str) -> tuple[str, ...]:
    """The parts (as ``reachable`` names them) a preflight check talks to: when one of them did not answer, the
    check is not run, since what it would get is not the service's answer (a 404 of some other server, or
    nothing) and it would be a failure of the wrong thing."""
    backends = tuple(f"{name} backend" for name in ctx.target.backends)
    return {
        "preflight.storage_health": ("storage backend",) if "storage" in ctx.target.backends else (),
        "preflight.character_db": ("Storage Service",),
        "preflight.metrics": backends,
        "preflight.security": ("Storage Service", *backends),
    }.get(check, ())


def storage_health(ctx: GateContext) -> CheckResult:
    """The storage backend's /health names the Storage Service healthy (the contract's Health schema)."""
    backend = ctx.target.backends.get("storage")
    if backend is None:
        return skipped("preflight.storage_health", "the target has no storage backend")
    with _client(ctx) as client:
        status, text, body = _get(client, f"{backend.url}/health")
    if status is None:
        return inconclusive("preflight.storage_health", f"the storage backend did not answer: {text}")
    service = body.get("storage_service") if isinstance(body, dict) else None
    state = service.get("status") if isinstance(service, dict) else None
    evidence = {"status_code": status, "health": body}
    if status == 200 and state == "ok":
        return passed(
            "preflight.storage_health",
            "the storage backend reports the Storage Service ok",
            figure="ok",
            limit="ok",
            evidence=evidence,
        )
    detail = service.get("detail") if isinstance(service, dict) else None
    return failed(
        "preflight.storage_health",
        f"the storage backend's /health answered {status} with Storage Service {state or 'not named'}"
        + (f" ({detail})" if detail else ""),
        figure=str(state),
        limit="ok",
        findings=(Finding("GET /health on the storage backend", f"HTTP {status}, storage_service {state}"),),
        evidence=evidence,
    )


def database_provisioned(ctx: GateContext) -> CheckResult:
    """``character_db`` exists in the Storage Service (guide 2 "provision character_db")."""
    dest = ctx.target.destination
    if dest is None:
        return skipped("preflight.character_db", "the target names no [destination] (Storage Service)")
    with new_client(timeout=PROBE_TIMEOUT_S, headers=dest.headers()) as client:  # the harness's read token
        status, text, body = _get(client, f"{dest.url}/databases/{dest.database}")
    if status is None:
        return inconclusive("preflight.character_db", f"the Storage Service did not answer: {text}")
    if status == 200:
        # the contract's Database, naming this one: a 200 of some other server (a catch-all page) shows nothing
        wrong = violations(body, "Database", STORAGE_SERVICE) if isinstance(body, dict) else ["not a JSON object"]
        name = body.get("name") if isinstance(body, dict) else None
        if not wrong and name != dest.database:
            wrong = [f"name {name!r}"]
        if wrong:
            return inconclusive(
                "preflight.character_db",
                f"GET /databases/{dest.database} answered 200 but not with the database ({wrong[0]}): is"
                f" [targets.{ctx.target.name}.destination] url the Storage Service?",
                evidence={"status_code": status, "body": text[:200]},
            )
        return passed("preflight.character_db", f"database {dest.database} exists", evidence={"database": body})
    if status == 404:
        return failed(
            "preflight.character_db",
            f"database {dest.database} does not exist in the Storage Service",
            findings=(Finding(f"GET /databases/{dest.database}", "HTTP 404"),),
        )
    return inconclusive(
        "preflight.character_db", f"GET /databases/{dest.database} answered HTTP {status}: {text[:200]}"
    )


def metrics_exported(ctx: GateContext) -> CheckResult:
    """The guide's metrics (the ones the run's alert rules read) appear on each backend's /metrics."""
    try:
        rules = target_rules(ctx.target.thresholds)
    except HarnessError:  # a bad rule file is the performance phase's to report
        return inconclusive("preflight.metrics", "the alert rules could not be read (see performance)")
    metric_names = rules.metric_names()
    missing: list[Finding] = []
    seen: dict[str, list[str]] = {}
    with _client(ctx) as client:
        for name, backend in ctx.target.backends.items():
            status, text, _ = _get(client, f"{backend.url}/metrics")
            if status is None:
                return inconclusive("preflight.metrics", f"GET /metrics on {name} did not answer: {text[:200]}")
            if status != 200:
                missing.append(Finding(f"GET /metrics on {name}", f"HTTP {status}"))
                continue
            # by exact name (a namespaced myco_character_service_errors_total is not what the rules read)
            try:
                families = parse_exposition(text)
            except HarnessError:
                missing.append(Finding(f"GET /metrics on {name}", "not Prometheus text format"))
                continue
            present = [m for m in metric_names if exports(families, m)]
            seen[name] = present
            missing.extend(Finding(f"{m} on {name}", "not exported") for m in metric_names if m not in present)
    if not metric_names:
        return inconclusive("preflight.metrics", "the alert rules name no metric to look for")
    if missing:
        return failed(
            "preflight.metrics",
            "missing: " + ", ".join(f.what for f in missing) + f" (read by the alert rules of {rules.path}; a "
            f"deployment that names its metrics otherwise declares its rules: [targets.{ctx.target.name}.thresholds] "
            "rules = FILE)",
            findings=tuple(missing),
            evidence={"exported": seen},
        )
    return passed(
        "preflight.metrics",
        f"{len(metric_names)} metrics exported on every backend",
        figure=", ".join(metric_names),
        evidence={"exported": seen},
    )
