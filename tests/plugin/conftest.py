from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_pytest(
    *args: str, config: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run pytest as a user would, from the repository root, in a fresh process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_XDIST"))}
    full_env.pop("PYTEST_CURRENT_TEST", None)
    if config is not None:
        full_env["HARNESS_CONFIG"] = str(config)
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def backends_targets(path: Path, urls: dict[str, str], name: str = "faulty") -> Path:
    """A targets file whose default target ``name`` (staging) has these backend URLs and nothing else."""
    lines = [f'default_target = "{name}"', f"[targets.{name}]", 'environment = "staging"']
    for backend, url in urls.items():
        lines += [f"[targets.{name}.backends.{backend}]", f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
