"""Every ``harness`` command builds the whole argument parser and reads the targets file before it does anything:
neither may import the heavy libraries only a command's work needs (psycopg, httpx, hypothesis, deepdiff,
jsonschema, pytest, locust), or every command, bad input and ``--help`` included, starts about 1.5 s of CPU
later. Checked in a fresh interpreter, since this one may have imported anything."""

import subprocess
import sys

HEAVY = ("psycopg", "httpx", "hypothesis", "deepdiff", "jsonschema", "pytest", "locust", "gevent", "schemathesis")


def test_parsing_and_reading_the_targets_file_import_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import harness.cli\n"
        "from harness.config.loader import parse_config\n"
        "harness.cli.build_parser().parse_args(['gate', '--plan'])\n"
        'parse_config(\'[targets.t]\\nenvironment = "dev"\\n[targets.t.source]\\ndsn = "postgresql://h/db"\\n\''
        ", 'harness.toml', {})\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"
