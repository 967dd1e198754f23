"""The ``harness`` command: a thin shell over the library. Every HarnessError becomes one line on stderr and
exit status 2; a check that fails exits 1. Anything else is a bug in the harness: one line naming it and exit
status 70 (EX_SOFTWARE), never 1 (NO-GO, different); ``HARNESS_DEBUG=1`` prints its traceback too."""

from __future__ import annotations

import argparse
import os
import select
import shutil
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

from .errors import HarnessError
from .redaction import redact

EXIT_INTERNAL = 70  # EX_SOFTWARE: the harness failed, whatever the system under test would have answered
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader left (`harness ... | head -1`)


def _cmd_up(args: argparse.Namespace) -> int:
    from .embedded import EmbeddedStack

    if args.list_faults:
        from reference_system.faults import describe

        print(describe())
        return 0
    faults = list(args.fault or [])
    if os.environ.get("HARNESS_FAULTS"):
        faults.insert(0, os.environ["HARNESS_FAULTS"])
    pg_dsn = args.pg_dsn or os.environ.get("HARNESS_PG_DSN") or None
    stop = threading.Event()

    started = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not started.is_set():
            started.set()  # a second signal must not cut the clean-up short
            raise KeyboardInterrupt  # mid-start: stop at once; start() removes what it had made
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.watch_pid:
        threading.Thread(target=_watch_pid, args=(args.watch_pid, stop), daemon=True).start()
    stack = EmbeddedStack(characters=args.characters, seed=args.seed, pg_dsn=pg_dsn, faults=faults)
    control = None
    try:
        stack.start()
        from .embedded.control import ControlServer

        control = ControlServer(stack)
        control.start()
        started.set()
        info = stack.with_control_url(control.url)
        if args.json:
            print(info.to_json(), flush=True)
        else:
            print(f"legacy backend         {info.legacy_url}")
            print(f"storage backend        {info.storage_url}")
            print(f"Storage Service        {info.storage_service_url} (database {info.storage_database})")
            print(f"source DSN             {redact(info.source_dsn)}")
            print(f"reader DSN             {redact(info.reader_dsn)} (read-only, the data checks')")
            print("storage tokens         read, write, admin, other database, operator: *** (--json prints them)")
            print(f"PostgreSQL             {redact(info.postgres)}")
            print(f"control API            {info.control_url} (POST /storage-service/stop|start)")
            print(
                f"seeded                 {info.characters} characters (seed {info.seed}) in "
                f"{info.timings['total_s']:.1f} s"
            )
            if info.faults:
                print(f"faults                 {', '.join(info.faults)}")
            print("Ready. Ctrl-C stops everything.", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        if control is not None:
            control.stop()
        stack.stop()
        if args.remove_on_exit and control is not None:
            # the run directory of the pytest run that asked for this stack (its info.json holds the secrets);
            # a start that failed leaves it, with the log the run reports from
            shutil.rmtree(args.remove_on_exit, ignore_errors=True)
    if not args.json:
        print("stopped", flush=True)
    return 0


def _watch_pid(pid: int, stop: threading.Event) -> None:
    """Stop when the process that asked for the stack is gone (a killed pytest leaves nothing behind)."""
    while not stop.wait(0.5):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
        except PermissionError:
            pass


class OneLineErrorParser(argparse.ArgumentParser):
    """Bad options get one line that says what to fix, as every other bad input does (argparse's own error
    prints the whole usage first, which hides the line that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"harness: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="harness",
        description="Validation and load-test harness for the Character Service's move to the Storage Service.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the embedded default (reference system) and wait for Ctrl-C")
    up.add_argument("--characters", type=int, default=1000, help="characters to seed (default 1000)")
    up.add_argument("--seed", type=int, default=42, help="seed of the generated data (default 42)")
    up.add_argument(
        "--pg-dsn",
        help="use this PostgreSQL instead of an embedded one (env HARNESS_PG_DSN); "
        "the stack creates and drops databases of its own there",
    )
    up.add_argument(
        "--fault",
        action="append",
        metavar="NAME[=VALUE]",
        help="inject a fault (repeatable; env HARNESS_FAULTS, comma-separated); see --list-faults",
    )
    up.add_argument("--list-faults", action="store_true", help="list the faults and exit")
    up.add_argument("--json", action="store_true", help="print the URLs and DSNs as one JSON object once healthy")
    up.add_argument("--watch-pid", type=int, help=argparse.SUPPRESS)  # stop when this process exits
    up.add_argument("--remove-on-exit", help=argparse.SUPPRESS)  # a directory to remove when the stack stops
    up.set_defaults(func=_cmd_up)
    from .data.cli import register as register_data

    register_data(sub)
    from .load.cli import register as register_load

    register_load(sub)
    from .differential.cli import register as register_differential

    register_differential(sub)
    from .gate.cli import register as register_gate

    register_gate(sub)
    return parser


def _terminate_as_interrupt(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up short
    raise KeyboardInterrupt  # SIGTERM runs the same clean-up as Ctrl-C: stacks stopped, children ended


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it; then it is pointed at /dev/null, so the interpreter's
    last flush of what is still buffered cannot fail again (``Exception ignored ... BrokenPipeError``)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by something without a descriptor (tests)
        return False
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    if not any(events & select.POLLERR for _, events in poller.poll(0)):
        return False  # a broken pipe elsewhere (a child's stdin): a bug like any other
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)  # `harness up` installs its own
    try:
        return int(args.func(args))
    except HarnessError as exc:
        print(f"harness: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: neither a verdict (0, 1, 3, 4) nor bad input (2)
        if isinstance(exc, BrokenPipeError) and _stdout_reader_gone():
            return EXIT_BROKEN_PIPE  # not a bug: the reader had what it wanted; nothing to say, nowhere to say it
        if os.environ.get("HARNESS_DEBUG"):
            traceback.print_exc()
        hint = "" if os.environ.get("HARNESS_DEBUG") else "; run again with HARNESS_DEBUG=1 for the traceback"
        message = redact(" ".join(str(exc).split()))
        print(
            f"harness: internal error: {type(exc).__name__}: {message} (a bug in the harness: please report it{hint})",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
