"""Only locustfiles import locust: the harness CLI and every other load module stay free of gevent's
monkey-patching (checked in a fresh interpreter, since this one may have imported anything)."""

import subprocess
import sys


def test_cli_and_load_library_do_not_import_locust() -> None:
    code = (
        "import sys\n"
        "import harness.cli, harness.load.cli, harness.load.latency, harness.load.compare, harness.load.runner\n"
        "harness.cli.build_parser()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"
