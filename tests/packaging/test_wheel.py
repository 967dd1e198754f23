"""A built wheel is a working harness: installed into a fresh virtual environment and run from a directory
outside the checkout, it lists the faults, loads the contract and runs the shipped locustfile. Dependencies are
not installed again: the new environment reads them from this one's site-packages (a ``.pth`` line), while
the harness itself comes from the wheel only."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {
    "harness/py.typed",
    "reference_system/py.typed",
    "service_contracts/character-service.openapi.yaml",
    "service_contracts/storage-service.openapi.yaml",
    "service_contracts/alert-rules.yaml",
    "service_contracts/schemathesis.toml",
    "service_contracts/harness-targets.schema.json",
    "harness/locustfiles/character_service.py",
    "harness/suites/smoke/test_smoke.py",
    "harness/suites/data/conftest.py",
    "reference_system/serve.py",
}

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, *, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "HARNESS_CONFIG")}
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0 or not check, (
        f"{cmd}: exit {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the source tree (a build leaves build/ and *.egg-info behind)."""
    source = tmp_path_factory.mktemp("source") / "tree"
    junk = shutil.ignore_patterns(
        ".git", ".venv", ".tox", "build", "dist", "reports", "*.egg-info", "__pycache__", ".*_cache"
    )
    shutil.copytree(ROOT, source, symlinks=True, ignore=junk)
    out = tmp_path_factory.mktemp("wheel")
    _run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)], source)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel installed and this environment's packages (not the harness) visible."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], env_dir.parent)
    python = env_dir / "bin" / "python"
    new_site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env_dir).stdout.strip()
    )
    # a plain path line: this environment's .pth files (the editable harness's finder among them) are not run
    (new_site / "project-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        env_dir,
    )
    return env_dir


def test_the_wheel_carries_the_shipped_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert names >= SHIPPED, sorted(SHIPPED - names)


def test_harness_up_lists_the_faults_outside_the_checkout(venv: Path, tmp_path: Path) -> None:
    result = _run([str(venv / "bin" / "harness"), "up", "--list-faults"], tmp_path)
    assert "storage_outage" in result.stdout and "latency" in result.stdout


def test_the_contract_loads_from_the_installed_wheel(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import harness, reference_system.contract as rc\n"
        "from harness import resources\n"
        "from harness.fuzz.contract import load_contract\n"
        "schema = load_contract()\n"
        "print(harness.__file__)\n"
        "print(resources.character_service_contract())\n"
        "print(len(list(schema.get_all_operations())), len(rc.load_contract()['paths']))\n"
    )
    harness_file, contract, counts = _run([str(venv / "bin" / "python"), "-c", probe], tmp_path).stdout.split("\n")[:3]
    assert Path(harness_file).is_relative_to(venv) and Path(contract).is_relative_to(venv)
    operations, paths = (int(n) for n in counts.split())
    assert operations >= 10 and paths >= 4
    assert (tmp_path / "reports" / "schemathesis").is_dir()  # the report directory, under the working directory


class _AnyAnswer(BaseHTTPRequestHandler):
    """A loopback server that answers every request with an empty listing: enough for a run to be judged."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"items": [], "next_cursor": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_shipped_locustfile_runs(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    locustfile = _run([python, "-c", "from harness import resources; print(resources.locustfile())"], tmp_path)
    assert Path(locustfile.stdout.strip()).is_relative_to(venv)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnyAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        command = [
            python, "-m", "locust", "-f", locustfile.stdout.strip(), "--headless", "--host",
            f"http://127.0.0.1:{server.server_port}", "-u", "2", "-r", "2", "--run-time", "2s", "--stop-timeout", "1",
            "--verdict", str(tmp_path / "verdict"), "--only-summary",
        ]  # fmt: skip
        result = _run(command, tmp_path, check=False, timeout=60)
    finally:
        server.shutdown()
        server.server_close()
    # the harness plugin judged the run (a 2 s run is too short for the rules' windows: invalid, exit 4)
    verdict = json.loads((tmp_path / "verdict.json").read_text())
    assert result.returncode == verdict["exit_code"], result.stderr[-2000:]
    assert verdict["run"]["requests"] > 0 and Path(verdict["rules_file"]).is_relative_to(venv)


def test_the_gate_plans_from_the_installed_wheel_with_its_suites(venv: Path, tmp_path: Path) -> None:
    probe = "from harness import resources; print(resources.suites_dir())"
    suites = Path(_run([str(venv / "bin" / "python"), "-c", probe], tmp_path).stdout.strip())
    assert suites.is_relative_to(venv) and (suites / "api").is_dir()
    plan = _run([str(venv / "bin" / "harness"), "gate", "--plan"], tmp_path)
    assert "26 of 26 checks run" in plan.stdout
