"""Run one reference service in this process: ``python -m reference_system.serve character|storage``.

Configuration comes the way a deployment gives it, from the environment (``DATABASE_URL``,
``USE_STORAGE_SERVICE``, ``STORAGE_SERVICE_URL``, ``STORAGE_DATABASE``, ``STORAGE_TOKEN``, ``STORAGE_TOKENS``,
``HARNESS_FAULTS``), so DSNs and tokens never appear in a process listing. The service binds its socket itself
(``--port 0`` picks a free one), prints ``{"port": N}`` on standard output, then serves until SIGTERM/SIGINT, or
until its parent dies.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time

import uvicorn
from starlette.applications import Starlette


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def build_character_app() -> Starlette:
    from .character_app import create_app
    from .faults import FaultSet, parse_faults

    use_storage = _truthy(os.environ.get("USE_STORAGE_SERVICE"))
    backend = "storage" if use_storage else "legacy"
    faults = FaultSet.for_backend(parse_faults([os.environ.get("HARNESS_FAULTS", "")]), backend)
    if use_storage:
        from .storage_client import HttpStorageClient
        from .storage_repository import StorageRepository

        client = HttpStorageClient(
            os.environ["STORAGE_SERVICE_URL"],
            os.environ.get("STORAGE_DATABASE", "character_db"),
            token=os.environ.get("STORAGE_TOKEN") or None,
            invalidate_on_write="stale_cache" not in faults,
        )
        return create_app(StorageRepository(client), faults)
    from .legacy_repository import LegacyRepository

    return create_app(LegacyRepository(os.environ["DATABASE_URL"]), faults)


def build_storage_app() -> Starlette:
    """Access control is on unless ``STORAGE_TOKENS`` is absent (a service behind its own gateway)."""
    from .access import AccessControl, AccessFaults
    from .faults import parse_faults
    from .storage_app import create_app

    access = None
    if "STORAGE_TOKENS" in os.environ:
        faults = {f.name: f for f in parse_faults([os.environ.get("HARNESS_FAULTS", "")])}
        reader_can_write = faults.get("reader_can_write")
        access = AccessControl(
            os.environ["STORAGE_TOKENS"],
            AccessFaults(
                open_storage="open_storage" in faults,
                cross_database="cross_database" in faults,
                reader_can_write=reader_can_write is not None and reader_can_write.value in ("storage", "both"),
            ),
        )
    return create_app(os.environ["DATABASE_URL"], access)


def _watch_parent() -> None:
    """Stop when the launcher dies, so a killed ``harness up`` leaves no service behind."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit TCP_NODELAY. Without it, every response after the first on a kept-alive
    # connection waited ~40 ms (Nagle's algorithm against the client's delayed ACK): 44 ms per request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_system.serve")
    parser.add_argument("service", choices=["character", "storage"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    app = build_character_app() if args.service == "character" else build_storage_app()
    sock = listening_socket(args.host, args.port)
    threading.Thread(target=_watch_parent, daemon=True).start()
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
