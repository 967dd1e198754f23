# mypy: disable-error-code="untyped-decorator,no-untyped-call"
"""The locust side of the harness: options, host from the target, threshold evaluation, verdict, exit code,
the web UI tab and the rollout load shape. Only locustfiles import this module (importing locust monkey-patches
the process with gevent); everything it judges with lives in the locust-free modules next to it.

Evaluation runs on the master or the local runner only (worker stats are deltas reset every report): once a
second it takes a snapshot of the cumulative per-endpoint counters locust already keeps and advances each alert
rule's state, so no code runs per request.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from typing import Any

import gevent  # type: ignore[import-untyped]
import psutil  # type: ignore[import-untyped]
from locust import FastHttpUser, LoadTestShape, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from ..config.model import BACKENDS, LOCAL, Target, Timeouts
from ..config.run import resolve_run
from ..errors import HarnessError
from ..http_client import new_client
from ..redaction import redact
from .rules import RuleSet, load_rules
from .runner import check_load_allowed
from .thresholds import EndpointSummary, RunSummary, ThresholdConfig, threshold_config
from .traffic import OWNER_PREFIX, run_owner, sweep
from .verdict import EXIT_INVALID, Verdict, build_verdict
from .window import TICK_S, Counters, Snapshot, WindowEvaluator, labels_of

log = logging.getLogger("harness.load")
CPU_INTERVAL_S = 5.0  # as locust's own CPU monitor
SHAPES = ("hold", "ramp", "step")


class _State:
    """Per-process plugin state (one locust Environment per process)."""

    target: Target | None = None
    backend: str | None = None  # the target's backend the host is, as resolved at init
    config: ThresholdConfig | None = None
    rules: RuleSet | None = None
    evaluator: WindowEvaluator | None = None
    started: float | None = None
    stopped: float | None = None
    max_cpu: float | None = None
    verdict: Verdict | None = None
    greenlet: Any = None
    error: str | None = None
    evaluation_error: str | None = None  # the evaluation greenlet died of this before the run ended
    owner: str = ""
    writes: bool = True  # False on a production target without --allow-writes: the load only reads
    process: Any = None  # psutil.Process of this (local) load generator
    cpu_since: float | None = None
    workers: int = 0


STATE = _State()


@events.init_command_line_parser.add_listener
def _add_options(parser: Any, **_: Any) -> None:
    def ui(*args: Any, **kwargs: Any) -> None:  # shown in the web UI's start form
        parser.add_argument(*args, include_in_web_ui=True, **kwargs)

    def cli(*args: Any, **kwargs: Any) -> None:
        parser.add_argument(*args, include_in_web_ui=False, **kwargs)

    # target, backend and the rules' timing are resolved once, at init (the host, the evaluator): the web UI's
    # start form does not offer them, since a value changed there was ignored while the verdict named it
    cli("--target", default="", help="harness target (harness.toml); its backend URL is the host unless --host is set")
    cli("--backend", default="storage", choices=list(BACKENDS), help="which backend of the target to load")
    cli("--rules", default=None, help="Prometheus alert rule file (default: the shipped contracts/alert-rules.yaml)")
    cli("--rule-window", default=None, help="evaluate every rule over this range window instead of its own, e.g. 30s")
    cli("--rule-for", default=None, help="use this `for` duration instead of each rule's own, e.g. 15s")
    cli("--p95-ms", type=float, default=None, help="extra threshold: p95 over the run (ms)")
    cli("--p99-ms", type=float, default=None, help="extra threshold: p99 over the run (ms)")
    cli("--min-rps", type=float, default=None, help="extra threshold: achieved requests/s over the run")
    cli("--max-generator-cpu", type=float, default=None, help="generator CPU %% that invalidates the run (90)")
    cli("--abort-on-breach", action="store_true", default=False, help="stop the test as soon as a rule fires")
    cli("--verdict", default="reports/load-verdict", help="verdict files: PREFIX.json and PREFIX.txt")
    cli("--no-thresholds", action="store_true", default=False, help="plain locust: no evaluation, no verdict")
    ui("--load-shape", default="hold", choices=list(SHAPES),
       help="hold: -u users all along; ramp: reach -u over the first quarter of --run-time, then hold; "
       "step: -u in --shape-steps equal steps over --run-time")  # fmt: skip
    cli("--shape-steps", type=int, default=4, help="steps of --load-shape step (default 4)")
    cli("--run-owner", default="", help="owner tag of this run's synthetic records (default: random)")
    cli("--allow-writes", action="store_true", default=False, help="on a production target, also create/update/delete")
    cli(
        "--allow-load", action="store_true", default=False, help="send load to a target whose environment is production"
    )


def _resolve_target(options: Any) -> Target | None:
    """Locust's init is an entry point like a CLI command: ``--target`` > ``HARNESS_TARGET`` > the file's
    ``default_target`` > local (``None``: the host is the URL). A child of ``harness load`` is always given the
    target its parent resolved, by name."""
    return resolve_run(target=getattr(options, "target", "") or None).named


def _configure(environment: Environment) -> None:
    options: Any = environment.parsed_options
    if options.headless and options.num_users is not None and options.num_users < 1:
        # the load shapes read `-u` and made 0 one user: a run of no users would prove nothing
        raise HarnessError(f"locust: -u/--users must be at least 1, got {options.num_users}")
    STATE.target = _resolve_target(options)
    check_load_allowed(STATE.target, allow_load=bool(options.allow_load))
    if STATE.target is not None and not environment.host:
        backend = options.backend
        if backend not in STATE.target.backends:
            raise HarnessError(f"target {STATE.target.name!r} has no {backend} backend; choose --backend")
        environment.host = STATE.target.backends[backend].url
    STATE.backend = options.backend if STATE.target is not None else None
    if getattr(options, "target", "") == LOCAL and not environment.host:
        raise HarnessError(
            "target 'local' has no fixed URL: run `harness load run --target local` (it starts the embedded "
            "default) or `harness up` and pass --host"
        )
    timeouts = STATE.target.timeouts if STATE.target else Timeouts()
    headers = STATE.target.auth.headers() if STATE.target else {}
    for user_class in environment.user_classes:  # explicit timeouts and the target's auth on every user
        if issubclass(user_class, FastHttpUser):
            user_class.connection_timeout = timeouts.connect
            user_class.network_timeout = timeouts.read
            user_class.default_headers = {**(user_class.default_headers or {}), **headers}
    log.info("harness: load goes to %s", redact(environment.host or "(no host)"))
    if options.run_owner and not options.run_owner.startswith(OWNER_PREFIX):
        # the sweep after the run deletes by this tag: only the load's own may be one
        raise HarnessError(f"--run-owner must start with {OWNER_PREFIX!r}, got {options.run_owner!r}")
    STATE.owner = options.run_owner or run_owner()
    STATE.writes = STATE.target is None or not STATE.target.is_production or bool(options.allow_writes)
    if STATE.target is not None and not STATE.writes:
        log.warning("target %r is production: the load only reads (--allow-writes adds writes)", STATE.target.name)
    if options.no_thresholds:
        return
    run_options = {k: getattr(options, k) for k in ("p95_ms", "p99_ms", "min_rps") if getattr(options, k) is not None}
    STATE.config = threshold_config(
        STATE.target.thresholds if STATE.target else None,
        target=STATE.target.name if STATE.target else LOCAL,
        rules=options.rules,
        window=options.rule_window,
        for_=options.rule_for,
        max_generator_cpu=options.max_generator_cpu,
        run_options=run_options,
    )
    rules = STATE.config.apply_timing(load_rules(STATE.config.rules_path))
    STATE.rules = rules
    STATE.evaluator = WindowEvaluator(rules.thresholds)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    try:
        _configure(environment)
    except HarnessError as exc:
        STATE.error = str(exc)
        log.error("harness: error: %s", exc)
        environment.process_exit_code = 2
        # stop now, before any load is sent: quitting the runner later let a headless run send load first, and a
        # master with --processes waited for ever for its workers, which refuse the same options and quit. The
        # workers it forked may not have connected yet (they retry for minutes, holding the output open): they
        # have sent nothing, so they are stopped first
        if isinstance(environment.runner, MasterRunner):
            for child in psutil.Process().children():
                child.kill()
        sys.exit(2)
    if isinstance(environment.runner, WorkerRunner) or STATE.evaluator is None:
        return
    if environment.web_ui is not None:
        _extend_web_ui(environment)


def _snapshot(environment: Environment) -> Snapshot:
    assert STATE.started is not None
    stats = environment.runner.stats if environment.runner else environment.stats
    series = {
        labels_of(e.method or "", e.name): Counters(e.num_requests, e.num_failures, e.total_response_time / 1000.0)
        for e in list(stats.entries.values())
    }
    return Snapshot(time.monotonic() - STATE.started, series)


def _generator_cpu(environment: Environment) -> float | None:
    """The load generators' CPU %: the workers' own reports on a master (locust measures them every 5 s), this
    process measured over the same 5 s on a local runner (locust's first reading comes only after 10 s)."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        usages = [float(c.cpu_usage) for c in runner.clients.values()]
        return max(usages) if usages else None
    now = time.monotonic()
    if STATE.cpu_since is None or now - STATE.cpu_since < CPU_INTERVAL_S:
        return None
    STATE.cpu_since = now
    return float(STATE.process.cpu_percent())


def _tick(environment: Environment) -> None:
    evaluator = STATE.evaluator
    assert evaluator is not None
    evaluator.add(_snapshot(environment))
    if isinstance(environment.runner, MasterRunner):  # workers leave the list when they quit: keep the count
        STATE.workers = max(STATE.workers, len(environment.runner.clients))
    cpu = _generator_cpu(environment)
    if cpu is not None and not math.isnan(cpu):
        STATE.max_cpu = cpu if STATE.max_cpu is None else max(STATE.max_cpu, cpu)


def _evaluate_loop(environment: Environment) -> None:
    while True:
        gevent.sleep(TICK_S)
        _tick(environment)
        options: Any = environment.parsed_options
        if options.abort_on_breach and any(s.first_firing_t is not None for s in STATE.evaluator.states):  # type: ignore[union-attr]
            log.error("harness: a threshold fired and --abort-on-breach is set: stopping the test")
            gevent.spawn(environment.runner.quit)  # type: ignore[union-attr]
            return


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner) or STATE.evaluator is None:
        return
    STATE.evaluator.reset()
    STATE.started, STATE.stopped, STATE.max_cpu, STATE.verdict = time.monotonic(), None, None, None
    STATE.evaluation_error = None
    STATE.workers = 0
    STATE.process = psutil.Process()
    STATE.process.cpu_percent()  # the baseline: psutil's first reading is meaningless
    STATE.cpu_since = STATE.started
    _tick(environment)
    STATE.greenlet = gevent.spawn(_evaluate_loop, environment)


def _summary(environment: Environment) -> RunSummary:
    stats = environment.runner.stats  # type: ignore[union-attr]

    def entry(e: Any, method: str, name: str) -> EndpointSummary:
        return EndpointSummary(
            method, name, e.num_requests, e.num_failures, float(e.total_response_time), dict(e.response_times)
        )

    assert STATE.started is not None
    end = STATE.stopped if STATE.stopped is not None else time.monotonic()
    return RunSummary(
        duration_s=max(end - STATE.started, 1e-9),
        total=entry(stats.total, "", "Aggregated"),
        endpoints=tuple(entry(e, e.method or "", e.name) for e in stats.entries.values()),
        max_generator_cpu=STATE.max_cpu,
        workers=STATE.workers,
        evaluation_error=STATE.evaluation_error,
    )


def _finish(environment: Environment) -> Verdict | None:
    if STATE.evaluator is None or STATE.started is None or STATE.config is None or STATE.rules is None:
        return None
    if STATE.greenlet is not None:
        if STATE.greenlet.dead and STATE.greenlet.exception is not None:
            error = STATE.greenlet.exception
            STATE.evaluation_error = redact(f"{type(error).__name__}: {error}")
        STATE.greenlet.kill(block=False)
        STATE.greenlet = None
    _tick(environment)
    options: Any = environment.parsed_options
    extra = {
        "target": STATE.target.name if STATE.target else (options.target or None),
        "backend": STATE.backend,
        "host": environment.host,
        "locust": {"users": options.num_users, "load_shape": options.load_shape, "processes": options.processes},
    }
    verdict = build_verdict(STATE.config, STATE.rules, STATE.evaluator.states, _summary(environment), extra)
    STATE.verdict = verdict
    verdict.write(options.verdict)
    return verdict


@events.test_stop.add_listener
def _on_test_stop(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if STATE.started is not None:
        STATE.stopped = time.monotonic()
        _finish(environment)
    _sweep(environment)


def _sweep(environment: Environment) -> None:
    """Remove what the run's write cycles left: a user stopped while its create was under way (the run's end,
    --stop-timeout, an interrupt) never learnt the id, so its on_stop could not delete it."""
    if not STATE.writes or not environment.host:
        return
    timeouts = STATE.target.timeouts if STATE.target else Timeouts()
    headers = STATE.target.auth.headers() if STATE.target else {}
    with new_client(base_url=environment.host, timeout=timeouts.httpx(), headers=headers) as client:
        removed = sweep(client, STATE.owner)
    if removed:
        log.info("harness: removed %d record(s) of owner %s that stopped write cycles left", removed, STATE.owner)


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    if STATE.error:
        environment.process_exit_code = max(environment.process_exit_code or 0, 2)
        return
    _sweep(environment)  # again: a create the stop interrupted may have been stored only after the first sweep
    if STATE.evaluator is None:
        return  # --no-thresholds
    if STATE.started is None:
        verdict_code = EXIT_INVALID  # the test never started
        log.error("harness: the test never started: no verdict")
    else:
        verdict = _finish(environment)  # again: a master has the workers' final reports only now
        assert verdict is not None
        for line in verdict.table().splitlines():
            log.info("%s", line)
        verdict_code = verdict.exit_code
    # never overwrite another plugin's non-zero exit code
    environment.process_exit_code = max(environment.process_exit_code or 0, verdict_code)


# --- web UI ------------------------------------------------------------------------------------------------------

TABLE = [
    {"key": "name", "title": "Threshold"},
    {"key": "condition", "title": "Fires when"},
    {"key": "window", "title": "Window"},
    {"key": "for", "title": "For"},
    {"key": "value", "title": "Value"},
    {"key": "series", "title": "Worst series"},
    {"key": "status", "title": "Status"},
]


def thresholds_rows() -> list[dict[str, Any]]:
    """The rows of the Thresholds tab: each rule live, then the verdict once the test has stopped."""
    rows: list[dict[str, Any]] = []
    if STATE.evaluator is not None:
        for state in STATE.evaluator.states:
            row = state.live()
            row["value"] = "-" if row["value"] is None else f"{row['value']:.4g}"
            row["series"] = row["series"] or "-"
            rows.append(row)
    for n in STATE.rules.not_evaluated if STATE.rules else ():
        rows.append({"name": n.name, "condition": n.expr, "window": "", "for": "", "value": "-",
                     "series": n.reason, "status": "not evaluated"})  # fmt: skip
    if STATE.verdict is not None:
        rows.append({"name": "VERDICT", "condition": "", "window": "", "for": "", "value": "",
                     "series": STATE.verdict.headline(), "status": STATE.verdict.status})  # fmt: skip
    return rows


def _extend_web_ui(environment: Environment) -> None:
    import json

    from flask import Blueprint, jsonify, request

    web_ui = environment.web_ui
    assert web_ui is not None
    web_ui.template_args["extended_tabs"] = [{"title": "Thresholds", "key": "thresholds"}]
    web_ui.template_args["extended_tables"] = [{"key": "thresholds", "structure": TABLE}]
    blueprint = Blueprint("harness_thresholds", __name__)

    @blueprint.route("/harness/thresholds")
    def thresholds() -> Any:
        return jsonify(
            {
                "rules_file": STATE.rules.path if STATE.rules else None,
                "rows": thresholds_rows(),
                "verdict": STATE.verdict.to_dict() if STATE.verdict else None,
            }
        )

    app: Any = web_ui.app

    @app.after_request
    def add_thresholds(response: Any) -> Any:
        if request.path == "/stats/requests" and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": "thresholds", "data": thresholds_rows()}]
            response.set_data(json.dumps(data))
        return response

    app.register_blueprint(blueprint)


# --- load shape --------------------------------------------------------------------------------------------------


class RolloutShape(LoadTestShape):
    """Rollout rehearsal shapes chosen by ``--load-shape``, built from the usual -u, -r and --run-time."""

    use_common_options = True

    def tick(self) -> tuple[int, float] | None:
        runner = self.runner
        assert runner is not None
        options: Any = runner.environment.parsed_options
        users = int(options.num_users or 1)
        rate = float(options.spawn_rate or 1)
        run_time = float(options.run_time or 0)
        now = self.get_run_time()
        if run_time and now >= run_time:
            return None
        horizon = run_time or 60.0  # the schedule's length when no --run-time is given
        shape = getattr(options, "load_shape", "hold")
        if shape == "ramp":
            return users, max(users / (horizon / 4), 0.1)
        if shape == "step":
            steps = max(int(options.shape_steps), 1)
            step = min(int(now // (horizon / steps)), steps - 1)
            return max(1, math.ceil(users * (step + 1) / steps)), float(users)
        return users, rate
