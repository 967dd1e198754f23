"""Start the alternative implementation as a deployment the harness has never seen: two instances (legacy and
storage) on loopback, described by a generated targets file with a named, non-local ``staging`` target."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .serve import PREFIX

ROOT = Path(__file__).resolve().parents[2]
TARGET = "alt"
# What this deployment does differently from the reference, declared the way a user declares it for theirs.
SUITE_SETTINGS = """
[targets.alt.suites]
metrics = ["charsvc_http_requests_total", "charsvc_http_server_errors_total", "charsvc_http_request_seconds_bucket"]
storage_metrics = ["charsvc_storage_cache_lookups_total"]
"""


@dataclass(frozen=True)
class AltDeployment:
    urls: dict[str, str]  # backend -> base URL (with the path prefix)
    config: Path  # the generated harness.toml

    def count(self) -> dict[str, dict[str, int]]:
        """Records per collection per backend, read through the API (every page)."""
        counts: dict[str, dict[str, int]] = {}
        for backend, url in self.urls.items():
            with httpx.Client(base_url=url, timeout=10) as http:
                counts[backend] = {c: count_records(http, f"/{c}") for c in ("campaigns", "characters")}
        return counts


def count_records(http: httpx.Client, path: str, max_pages: int = 500) -> int:
    total, cursor = 0, None
    for _ in range(max_pages):
        page = http.get(path, params={"limit": 200, **({"cursor": cursor} if cursor else {})}).raise_for_status().json()
        total += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total
    raise AssertionError(f"{path}: more than {max_pages} pages")


def targets_file(path: Path, urls: dict[str, str], *, environment: str = "staging", extra: str = "") -> Path:
    lines = [f'default_target = "{TARGET}"', f"[targets.{TARGET}]", f'environment = "{environment}"']
    for backend, url in urls.items():
        lines += [f"[targets.{TARGET}.backends.{backend}]", f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n" + SUITE_SETTINGS + extra, encoding="utf-8")
    return path


def _start(backend: str, args: list[str], log: Path) -> tuple[subprocess.Popen[str], int]:
    with log.open("w") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "alt_impl.serve", backend, *args],
            cwd=ROOT / "tests", stdout=subprocess.PIPE, stderr=errors, text=True,
        )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        process.stdout.close()
        raise RuntimeError(f"alt {backend} did not start: {log.read_text()[-2000:]}")
    port: int = json.loads(line)["port"]
    return process, port


def _healthy(url: str) -> bool:
    """Healthy yet? A connection that fails (the server died, or an older serve.py that reported its port
    before listening) is "not yet", until the deadline."""
    try:
        return httpx.get(f"{url}/health", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def alt_deployment(directory: Path, *, characters: int = 40, seed: int = 3, extra: str = "") -> Iterator[AltDeployment]:
    processes: list[subprocess.Popen[str]] = []
    try:
        urls: dict[str, str] = {}
        for backend in ("legacy", "storage"):
            args = ["--characters", str(characters), "--seed", str(seed)]
            process, port = _start(backend, args, directory / f"alt-{backend}.log")
            processes.append(process)
            urls[backend] = f"http://127.0.0.1:{port}{PREFIX}"
        deadline = time.monotonic() + 30
        for url in urls.values():
            while not _healthy(url):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not healthy")
                time.sleep(0.1)
        yield AltDeployment(urls, targets_file(directory / "harness.toml", urls, extra=extra))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout:
                process.stdout.close()


def describe(deployment: AltDeployment) -> dict[str, Any]:
    return {"urls": deployment.urls, "config": str(deployment.config)}
