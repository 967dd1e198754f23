"""One reference service in a child process on loopback: started, waited for, stopped, restarted."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..errors import StackError
from ..http_client import new_client


class ServiceProcess:
    def __init__(self, name: str, service: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.service = service
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise StackError(f"{self.name} has not been started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, port: int | None = None, timeout: float = 30.0) -> None:
        """Start the child and wait until it has bound its port (a previous port when restarting)."""
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "reference_system.serve", self.service, "--port", str(port or self.port or 0)]
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
        assert self._proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.1)
            if ready:
                line = self._proc.stdout.readline()
                break
            if self._proc.poll() is not None:
                break
        if not line:
            self.stop()
            raise StackError(f"{self.name} did not start: {self.log_tail()}")
        self.port = int(json.loads(line)["port"])

    def wait_healthy(self, timeout: float = 30.0, accept: frozenset[int] = frozenset({200})) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with new_client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.running():
                    raise StackError(f"{self.name} exited: {self.log_tail()}")
                try:
                    response = client.get(f"{self.url}/health")
                    if response.status_code in accept:
                        return
                    last = f"HTTP {response.status_code} {response.text[:200]}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.05)
        raise StackError(f"{self.name} at {self.url} was not healthy within {timeout:.0f} s ({last})")

    def stop(self, timeout: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            if proc and proc.stdout:
                proc.stdout.close()
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        if proc.stdout:
            proc.stdout.close()

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"
