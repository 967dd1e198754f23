"""``pytest`` as the console script (what `tox`, CONTRIBUTING's fast tier and a user's shell run) collects every
test: unlike ``python -m pytest`` it does not put the working directory on ``sys.path``, so a test that imports
``suites`` as a top-level package fails to collect there and only there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def test_the_pytest_script_collects_every_test() -> None:
    script = Path(sys.executable).with_name("pytest")
    assert script.exists(), f"no pytest script beside {sys.executable}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_"))}
    done = subprocess.run(
        [str(script), "--collect-only", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "error" not in done.stdout.splitlines()[-1], done.stdout[-3000:]
