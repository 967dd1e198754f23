"""Run one instance of the alternative implementation: ``python -m alt_impl.serve legacy|storage`` (from ``tests/``).

Binds 127.0.0.1 port 0 itself, prints ``{"port": N}`` and serves under the path prefix until SIGTERM or until its
parent dies."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from .app import create_app, http_error
from .store import Store

PREFIX = "/character"


def _watch_parent() -> None:
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", choices=("legacy", "storage"))
    parser.add_argument("--characters", type=int, default=40)
    parser.add_argument("--campaigns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    store = Store()
    store.seed(args.characters, args.campaigns, args.seed)
    app = Starlette(
        routes=[Mount(PREFIX, app=create_app(args.backend, store))], exception_handlers={HTTPException: http_error}
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no Nagle stalls
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)  # before the port is reported: a client that connects at once is queued, not refused
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    threading.Thread(target=_watch_parent, daemon=True).start()
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
