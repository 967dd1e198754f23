"""``harness differential run`` (the state machine against a target's two backends) and ``harness differential
replay`` (a recording replayed against one backend). Exit codes: 0 the backends agree, 1 they do not, 2 bad
input. Both write, so a production target needs ``--allow-writes`` (replay then sends only safe methods)."""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..config import Target
from ..config.model import BACKENDS, DifferentialSettings
from ..config.run import resolve_run
from ..errors import ConfigError, TargetUnreachable
from ..redaction import redact


def register(sub: Any) -> None:
    parser = sub.add_parser("differential", help="hold the two backends of a target against each other")
    commands = parser.add_subparsers(dest="differential_command", required=True)
    run = commands.add_parser("run", help="one random sequence of operations on both backends, answers compared")
    _common(run)
    run.add_argument("--profile", help="fuzz profile: ci (default) or nightly; env HARNESS_FUZZ_PROFILE")
    run.set_defaults(func=_cmd_run)
    rep = commands.add_parser("replay", help="replay a recording (HAR or .jsonl) against a backend and diff")
    rep.add_argument("recording", type=Path, help="a HAR file (schemathesis writes one) or harness .jsonl")
    _common(rep)
    rep.add_argument("--to", dest="to_backend", choices=BACKENDS, default="storage", help="backend to replay on")
    rep.add_argument("--json", type=Path, help="also write the summary as JSON here")
    rep.set_defaults(func=_cmd_replay)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="target name (default: HARNESS_TARGET, the file's default, or local)")
    parser.add_argument("--allow-writes", action="store_true", default=None, help="needed on a production target")
    parser.add_argument("--characters", type=int, default=30, help="characters seeded into a local target")
    parser.add_argument("--noise", action="append", default=[], help="declare a noise field (repeatable)")


def _declared(args: argparse.Namespace, section: DifferentialSettings) -> tuple[str, ...]:
    """Noise fields: ``[targets.NAME.differential] noise = ["field", ...]`` (checked by the loader) and every
    ``--noise``."""
    return (*section.noise, *args.noise)


@contextlib.contextmanager
def _answering(target: Target) -> Iterator[None]:
    """A backend that does not answer (refused, timed out, not HTTP) is one line naming it, exit 2, as every other
    command reports an unreachable target: never an httpx traceback."""
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        try:
            url = str(exc.request.url)
        except RuntimeError:  # an error raised without its request
            url = ""
        names = [b for b, backend in target.backends.items() if url.startswith(backend.url)]
        where = f"targets.{target.name}.backends.{names[0]}.url" if names else f"targets.{target.name}'s URLs"
        raise TargetUnreachable(
            f"target {target.name!r}: {redact(url) or 'a backend'} did not answer ({type(exc).__name__}); "
            f"check {where} or that the service runs"
        ) from None


def _cmd_run(args: argparse.Namespace) -> int:
    from ..fuzz.profiles import select_profile
    from ..targets import open_target
    from .machine import Divergence, run_differential

    run = resolve_run(target=args.target, allow_writes=args.allow_writes)
    profile = select_profile(args.profile)
    print(profile.describe())
    with open_target(run, characters=args.characters) as target:
        if target.is_production and not run.allow_writes:
            raise ConfigError(f"target {target.name!r} is production: differential run writes; pass --allow-writes")
        missing = [b for b in BACKENDS if b not in target.backends]
        if missing:
            raise ConfigError(f"target {target.name!r} has no {', '.join(missing)} backend to compare")
        clients = {b: target.client(b) for b in BACKENDS}
        try:
            with _answering(target):
                report = run_differential(clients, profile, declared_noise=_declared(args, target.differential))
        except Divergence as found:
            print(found)
            return 1
        finally:
            for client in clients.values():
                client.close()
    print(report.summary())
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from ..fuzz.contract import CONTRACT
    from ..targets import open_target
    from .noise import Noise, learn_noise
    from .replay import OperationNames, read_recording, replay
    from .strategies import SAMPLE_CAMPAIGN, SAMPLE_CHARACTER

    exchanges = read_recording(args.recording)  # bad input fails before a stack is started
    operations = OperationNames(yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))["paths"])
    run = resolve_run(target=args.target, allow_writes=args.allow_writes)
    with open_target(run, characters=args.characters) as target:
        if args.to_backend not in target.backends:
            raise ConfigError(f"target {target.name!r} has no {args.to_backend} backend")
        writes = run.allow_writes or not target.is_production
        with target.client(args.to_backend) as client, _answering(target):
            noise = Noise.declare(_declared(args, target.differential))
            if writes:  # learning creates (and deletes) two probe resources
                samples = [("campaign", "/campaigns", SAMPLE_CAMPAIGN), ("character", "/characters", SAMPLE_CHARACTER)]
                noise = noise | learn_noise(client, samples)
            summary = replay(exchanges, client, noise=noise, operations=operations, allow_writes=writes)
    print(noise.describe())
    print(summary.table(("recorded", args.to_backend)))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0 if summary.ok else 1
