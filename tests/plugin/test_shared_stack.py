"""The local target is one stack per run, shared by xdist workers, and nothing is left behind."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from .conftest import ROOT, run_pytest

pytestmark = pytest.mark.slow

PROBE = """
import json, os
def test_where(target, backend):
    with open({out!r}, "a") as fh:
        fh.write(json.dumps([os.environ.get("PYTEST_XDIST_WORKER", "main"), target.backends[backend].url,
                            os.environ.get("PYTEST_XDIST_TESTRUNUID")]) + "\\n")
"""


def test_one_stack_for_all_workers(tmp_path: Path) -> None:
    out = tmp_path / "seen.jsonl"
    probe_dir = ROOT / "suites" / "_probe_tmp"
    probe_dir.mkdir()
    try:
        (probe_dir / "test_where.py").write_text(PROBE.format(out=str(out)))
        for i in range(3):
            (probe_dir / f"test_where_{i}.py").write_text(PROBE.format(out=str(out)))
        run_id = uuid.uuid4().hex  # xdist's run id, which names the shared stack's directory
        result = run_pytest(str(probe_dir), "-n", "2", "--testrunuid", run_id, "--alluredir", str(tmp_path / "allure"))
        assert result.returncode == 0, result.stdout[-3000:]
        assert "harness: target local (dev, the embedded default), backends: legacy, storage" in result.stdout
    finally:
        shutil.rmtree(probe_dir)  # with the __pycache__ the runs may have written
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    workers = {w for w, _, _ in rows}
    legacy_urls = {u for _, u, _ in rows if u}
    assert {uid for _, _, uid in rows} == {run_id}
    assert workers == {"gw0", "gw1"}, workers
    assert len(legacy_urls) == 2, f"one legacy and one storage URL for both workers, got {legacy_urls}"
    # only this run's directories: other runs on the machine may be using theirs
    left = list(Path(tempfile.gettempdir()).glob(f"harness-run-{run_id}*"))
    assert left == [], "the run left its shared-stack directory behind"
