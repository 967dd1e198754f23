"""Run the harness locustfile headless in a child process (never ``import locust`` here: it monkey-patches the
process with gevent) and read back the verdict it wrote. Used by ``harness load run``, ``harness load compare``
and the tests. Every run is bounded: run time + stop timeout + a margin, then the child is killed."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import resources
from ..config import Target
from ..config.model import BACKENDS, LoadCompareSettings
from ..durations import parse_duration
from ..errors import ConfigError, HarnessError
from ..redaction import redact
from .compare import Comparison, compare_runs, pool

DEFAULT_LOCUSTFILE = resources.locustfile()
STOP_TIMEOUT_S = 5
MARGIN_S = 60


@dataclass(frozen=True)
class LocustRun:
    exit_code: int
    verdict: dict[str, Any] | None  # the verdict JSON, None when locust wrote none
    verdict_path: Path
    output: str  # locust's stderr (its log), for error messages and the tests

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output.strip().splitlines()[-lines:])

    def error(self) -> str | None:
        """The child's own one-line reason when it refused its options (exit 2, no verdict): the harness plugin's
        ``harness: error: ...`` log line, else argparse's ``...: error: ...`` (a locust option); else None."""
        if self.verdict is not None or self.exit_code != 2:
            return None
        lines = self.output.splitlines()
        for line in lines:
            if "harness: error: " in line:
                return line.split("harness: error: ", 1)[1].strip()
        for line in lines:
            found = re.match(r"^\S+: error: (.+)$", line.strip())
            if found:
                return f"locust: {found.group(1)}"
        return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def locust_command(
    host: str,
    *,
    verdict_prefix: str | Path,
    users: int = 10,
    spawn_rate: float = 10,
    run_time: str = "60s",
    processes: int | None = None,
    locustfile: str | Path = DEFAULT_LOCUSTFILE,
    html: str | Path | None = None,
    csv: str | Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
        "-u", str(users), "-r", str(spawn_rate), "--run-time", run_time, "--stop-timeout", str(STOP_TIMEOUT_S),
        "--verdict", str(verdict_prefix), "--only-summary",
    ]  # fmt: skip
    if processes:
        # locust's master binds 5557 by default: two runs with local workers at once (parallel tests, a gate beside
        # a load run) would collide, so the master and its forked workers meet on a free loopback port instead
        port = free_port()
        cmd += ["--processes", str(processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
        cmd += ["--master-host", "127.0.0.1", "--master-port", str(port)]
    if html:
        cmd += ["--html", str(html)]
    if csv:
        cmd += ["--csv", str(csv)]
    return cmd + list(extra)


def check_load_allowed(target: Target | None, *, allow_load: bool) -> None:
    """Load goes to any URL a target names; a production target only when the user says so (``--allow-load``;
    its write cycle also needs ``--allow-writes``, which the locustfile enforces)."""
    if target is not None and target.is_production and not allow_load:
        raise ConfigError(
            f"target {target.name!r} is production: pass --allow-load to send load to it "
            "(it then only reads; --allow-writes adds the write cycle)"
        )


def run_locust(
    host: str, *, verdict_prefix: str | Path, run_time: str = "60s", announce: str = "", **kwargs: Any
) -> LocustRun:
    """Run one headless load against ``host`` (any URL: callers check ``check_load_allowed`` for the target);
    says where the load goes before it starts (``announce`` adds the target and backend); raises HarnessError
    if locust cannot start or overruns."""
    users = kwargs.get("users", 10)
    limit = parse_duration(run_time, "--run-time") + STOP_TIMEOUT_S + MARGIN_S  # bad input: before any output
    spawn_rate = kwargs.get("spawn_rate")
    if users < 1 or (spawn_rate is not None and not 0 < spawn_rate < math.inf):  # nan too
        raise ConfigError(
            f"--users must be at least 1 and --spawn-rate a finite number above 0 (got {users} and {spawn_rate})"
        )
    where = f" ({announce})" if announce else ""
    print(f"harness load: {users} user(s) for {run_time} -> {redact(host)}{where}", file=sys.stderr, flush=True)
    prefix = Path(verdict_prefix)
    json_path = prefix.with_name(prefix.name + ".json")
    json_path.unlink(missing_ok=True)
    cmd = locust_command(host, verdict_prefix=prefix, run_time=run_time, **kwargs)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # a process group of its own: an interrupt, an overrun or a worker left behind reaches every process locust
    # started (with --processes, killing the master alone left its forked workers sending load)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        raise HarnessError(
            f"locust did not finish within {limit:.0f} s; see its log by running: {' '.join(cmd)}"
        ) from None
    except BaseException:  # Ctrl-C, SIGTERM: locust stops its users (they delete their records), then it ends
        _stop_group(proc)
        raise
    _signal_group(proc, signal.SIGKILL)  # anything of the run still there (the master has exited)
    verdict = json.loads(json_path.read_text(encoding="utf-8")) if json_path.is_file() else None
    return LocustRun(proc.returncode, verdict, json_path, stderr + stdout)


def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to the run's process group (locust shuts down: its users stop and run their clean-up; SIGINT may be
    ignored, in a child of a background job); SIGKILL after a grace."""
    _signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=STOP_TIMEOUT_S + 10)
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=10)


def compare_backends(
    target: Target,
    settings: LoadCompareSettings,
    *,
    prefix_of: Callable[[str, int], Path],
    extra: Sequence[str] = (),
    processes: int | None = None,
) -> Comparison:
    """``harness load compare`` and the gate's ``performance.compare``: the same load on each backend in turn,
    ``settings.rounds`` times alternating (a shared machine's drift falls on both alike), the rounds pooled per
    backend and compared. ``prefix_of(backend, round)`` names each run's files; a run that wrote no verdict
    raises ``ConfigError`` with the tail of its log."""
    verdicts: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
    for round_ in range(1, settings.rounds + 1):
        for backend in BACKENDS:
            run = run_locust(
                target.backends[backend].url,
                verdict_prefix=prefix_of(backend, round_),
                users=settings.users,
                run_time=settings.run_time,
                processes=processes,
                extra=["--backend", backend, *extra],
                announce=f"target {target.name} ({target.environment}), {backend} backend, "
                f"round {round_} of {settings.rounds}",
            )
            if run.verdict is None:
                raise ConfigError(
                    run.error() or f"the {backend} run wrote no verdict (exit {run.exit_code}): {run.tail(3)}"
                )
            verdicts[backend].append(run.verdict)
    return compare_runs(pool(verdicts["legacy"]), pool(verdicts["storage"]), settings)
