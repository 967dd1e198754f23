"""The README's fault tables are what ``harness up --list-faults`` prints, fault for fault."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_fault_table_is_the_list_faults_output() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "harness", "up", "--list-faults"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    listed = [tuple(line.strip().split("  ", 1)) for line in printed.splitlines() if line.startswith("  ")]
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Fault injection") :]
    section = section[: section.index("\n## ")]
    table = [(m.group(1), m.group(2).strip()) for m in re.finditer(r"^\| `([^`]+)` \| (.+) \|$", section, re.MULTILINE)]
    assert table == listed
