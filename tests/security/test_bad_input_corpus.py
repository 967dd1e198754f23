"""Bad input, every kind at once: each malformed targets file, export, rule file, HAR recording, out-of-range
option, URL without a scheme, a port that accepts and never answers, a service that does not speak HTTP and one
that answers HTML is answered with one line on stderr and exit status 2, within its timeout, never a traceback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOSED = "http://127.0.0.1:9"  # nothing listens on the discard port here
TIMEOUT_S = 60.0  # the slowest case: a destination that never answers, with its read timeout of 2 s and retries


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    config: str | None = None  # the targets file's text; {blackhole}, {garbage}, {html}, {json} are the servers' URLs
    files: tuple[tuple[str, str | bytes], ...] = ()  # (name, content) written beside it
    env: tuple[tuple[str, str], ...] = ()


def target(extra: str = "", backend: str = CLOSED, destination: str = "", source: str = "") -> str:
    text = f'[targets.t]\nenvironment = "dev"\n[targets.t.backends.storage]\nurl = "{backend}"\n'
    text += "[targets.t.timeouts]\nconnect = 2\nread = 2\n"
    if source:
        text += f'[targets.t.source]\ndsn = "{source}"\n'
    if destination:  # the data reads' own timeout, 30 s unless declared
        text += f'[targets.t.destination]\nurl = "{destination}"\nread_timeout = 2\n'
    return text + extra


VERIFY = ("data", "verify", "--target", "t")
LATENCY = ("check-latency", "--target", "t", "--source", "metrics")
GATE_PLAN = ("gate", "--target", "t", "--plan")
DEST_REFS = ("data", "check-refs", "--target", "t", "--side", "destination")
MANIFEST = json.dumps({"format": "x", "collections": {"characters": {"count": 5}}})

CASES: dict[str, Case] = {
    # --- targets files
    "toml syntax": Case(VERIFY, "[targets.t\nenvironment = dev"),
    "unknown top-level key": Case(VERIFY, "[targetz.t]\n"),
    "misspelt target key": Case(VERIFY, target("enviroment = 'dev'\n")),
    "no environment": Case(VERIFY, '[targets.t.backends.storage]\nurl = "http://127.0.0.1:9"\n'),
    "unknown environment": Case(VERIFY, target().replace('"dev"', '"prod"')),
    "backend url without scheme": Case(VERIFY, target(backend="127.0.0.1:8001")),
    "unknown backend name": Case(VERIFY, target().replace("backends.storage", "backends.new")),
    "destination url without scheme": Case(VERIFY, target(destination="storage:8000")),
    "timeout not a number": Case(VERIFY, target().replace("connect = 2", 'connect = "fast"')),
    "timeout zero": Case(VERIFY, target().replace("read = 2", "read = 0")),
    "timeout nan": Case(LATENCY, target().replace("connect = 2", "connect = nan")),
    "timeout inf": Case(LATENCY, target().replace("read = 2", "read = inf")),
    "data read timeout nan": Case(
        DEST_REFS, target(destination=CLOSED).replace("read_timeout = 2", "read_timeout = nan")
    ),
    "data read timeout negative": Case(
        VERIFY, target(destination=CLOSED).replace("read_timeout = 2", "read_timeout = -1")
    ),
    "unknown security key": Case(VERIFY, target("[targets.t.security]\nread_tokn = 'x'\n")),
    "token from an unset variable": Case(VERIFY, target(destination=CLOSED) + 'token = "${HARNESS_NO_SUCH_VAR}"\n'),
    "default target unknown": Case(VERIFY, 'default_target = "nope"\n' + target()),
    "a target named local": Case(VERIFY, '[targets.local]\nenvironment = "dev"\n'),
    "targets file that is binary": Case(VERIFY, "\x00\x01\x02 not text"),
    "compare section typo": Case(VERIFY, target("[targets.t.compare]\nsegment_sise = 10\n")),
    "thresholds wrong type": Case(VERIFY, target("[targets.t.thresholds]\np95_ms = 'fast'\n")),
    "gate profile unknown": Case(VERIFY, target("[targets.t.gate]\nprofile = 'medium'\n")),
    "gate report_only names no phase": Case(GATE_PLAN, target("[targets.t.gate]\nreport_only = ['smok']\n")),
    "gate skip names no check": Case(GATE_PLAN, target("[targets.t.gate]\nskip = ['data.nope']\n")),
    "gate budget of no phase": Case(GATE_PLAN, target("[targets.t.gate]\nbudgets = {dta = 10}\n")),
    "gate --reports is a file": Case(
        ("gate", "--target", "t", "--reports", "f.txt"), target(), files=(("f.txt", "x"),)
    ),
    "gate --reports under a file": Case(
        ("gate", "--target", "t", "--reports", "f.txt/sub"), target(), files=(("f.txt", "x"),)
    ),
    "unknown --target": Case(("data", "verify", "--target", "nosuch"), target()),
    "HARNESS_CONFIG names no file": Case(VERIFY, None, env=(("HARNESS_CONFIG", "/nonexistent/harness.toml"),)),
    "target without a source": Case(VERIFY, target(destination=CLOSED)),
    # --- export files
    "export file missing": Case(("data", "validate-export", "missing.jsonl")),
    "export schema file missing": Case(
        ("data", "validate-export", "x.jsonl", "--schema", "characters=nope.json"), files=(("x.jsonl", "{}\n"),)
    ),
    "snapshot file not JSON": Case(
        ("data", "compare", "--target", "t", "--against-snapshot", "s.json"),
        target(destination=CLOSED, source="postgresql://u:pw@127.0.0.1:9/db"),
        files=(("s.json", "{broken"),),
    ),
    "snapshot file missing": Case(
        ("data", "compare", "--target", "t", "--against-snapshot", "nope.json"),
        target(destination=CLOSED, source="postgresql://u:pw@127.0.0.1:9/db"),
    ),
    "snapshot file binary": Case(
        ("data", "compare", "--target", "t", "--against-snapshot", "s.json"),
        target(destination=CLOSED, source="postgresql://u:pw@127.0.0.1:9/db"),
        files=(("s.json", b"\xff\xfe\x00\x01"),),
    ),
    # --- rule files
    "rule file missing": Case(("check-latency", "--target", "t", "--rules", "missing.yaml"), target()),
    "rule file not YAML": Case(
        ("check-latency", "--target", "t", "--rules", "r.yaml"), target(), files=(("r.yaml", "groups: [\n"),)
    ),
    "rule file without groups": Case(
        ("check-latency", "--target", "t", "--rules", "r.yaml"), target(), files=(("r.yaml", "rules: 5\n"),)
    ),
    # --- HAR recordings
    "recording missing": Case(("differential", "replay", "missing.har", "--target", "t"), target()),
    "recording not JSON": Case(
        ("differential", "replay", "r.har", "--target", "t"), target(), files=(("r.har", "{not json"),)
    ),
    "recording without entries": Case(
        ("differential", "replay", "r.har", "--target", "t"), target(), files=(("r.har", '{"log": {}}'),)
    ),
    # --- numeric options out of range
    "negative characters": Case(("up", "--characters", "-1")),
    "fault latency negative": Case(("up", "--fault", "latency=-1")),
    "fault error rate above 1": Case(("up", "--fault", "error_rate=2")),
    "unknown fault": Case(("up", "--fault", "lantecy=1")),
    "sample above 1": Case(("data", "compare", "--target", "t", "--sample", "2"), target(destination=CLOSED)),
    "max diffs negative": Case(("data", "compare", "--target", "t", "--max-diffs", "-1"), target(destination=CLOSED)),
    "time limit negative": Case(("data", "compare", "--target", "t", "--time-limit", "-5"), target(destination=CLOSED)),
    "zero users": Case(("load", "run", "--target", "t", "--users", "0"), target()),
    "run time not a duration": Case(("load", "run", "--target", "t", "--run-time", "soon"), target()),
    "negative spawn rate": Case(("load", "run", "--target", "t", "--spawn-rate", "-1"), target()),
    "spawn rate nan": Case(("load", "run", "--target", "t", "--spawn-rate", "nan"), target()),
    "run time zero": Case(("load", "run", "--target", "t", "--run-time", "0s"), target()),
    "compare run time zero": Case(("load", "compare", "--target", "t", "--run-time", "0s"), target()),
    "rule window not a duration": Case(("load", "run", "--target", "t", "--rule-window", "xyz"), target()),
    "rule for not a duration": Case(("load", "run", "--target", "t", "--rule-for", "xyz"), target()),
    "rule window zero": Case(("load", "compare", "--target", "t", "--rule-window", "0"), target()),
    "rule for under the sampling interval": Case(("load", "run", "--target", "t", "--rule-for", "500ms"), target()),
    "rule window of one sample": Case(("load", "run", "--target", "t", "--rule-window", "1s"), target()),
    "zero processes": Case(("load", "run", "--target", "t", "--processes", "0"), target()),
    "negative processes": Case(("load", "run", "--target", "t", "--processes", "-1"), target()),
    "latency window zero": Case((*LATENCY, "--window", "0s"), target()),
    # --- options argparse itself refuses: one line too, not the whole usage before it
    "no command": Case(()),
    "unknown command": Case(("nosuch",)),
    "unknown option": Case(("data", "compare", "--bogus")),
    "option of the wrong type": Case(("data", "compare", "--jobs", "x")),
    "option without its value": Case(("load", "run", "--users")),
    "choice not offered": Case(("gate", "--profile", "nope")),
    # --- URLs and services
    "pg dsn that is not a DSN": Case(("up", "--pg-dsn", "not a dsn at all")),
    "pg dsn to a closed port": Case(("up", "--pg-dsn", "postgresql://u:pw@127.0.0.1:9/db")),
    "destination closed port": Case(DEST_REFS, target(destination=CLOSED)),
    "differential backends closed": Case(
        ("differential", "run", "--target", "t"), target(f'[targets.t.backends.legacy]\nurl = "{CLOSED}"\n')
    ),
    "destination accepts and never answers": Case(DEST_REFS, target(destination="{blackhole}")),
    "destination that is not HTTP": Case(DEST_REFS, target(destination="{garbage}")),
    "destination that answers HTML": Case(DEST_REFS, target(destination="{html}")),
    "prometheus that answers other JSON": Case(
        ("check-latency", "--target", "t"), target('[targets.t.prometheus]\nurl = "{json}"\n')
    ),
    "prometheus that answers a result without series": Case(
        ("check-latency", "--target", "t"), target('[targets.t.prometheus]\nurl = "{json}/partial"\n')
    ),
    "source that accepts and never answers": Case(
        ("data", "check-refs", "--target", "t", "--side", "source"),
        target(source="postgresql://u:pw@{blackhole_hostport}/db"),
    ),
}


class _FixedAnswer(BaseHTTPRequestHandler):
    """Answers every GET 200 with ``body(path)`` as ``content_type`` (here: an HTML site)."""

    content_type = "text/html"

    def body(self, path: str) -> bytes:
        return b"<html><body>It works!</body></html>"

    def do_GET(self) -> None:
        body = self.body(self.path)
        self.send_response(200)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Json(_FixedAnswer):
    """JSON that is not Prometheus's query API: a list, or (under /partial) a success without a result."""

    content_type = "application/json"

    def body(self, path: str) -> bytes:
        return json.dumps({"status": "success", "data": {}} if path.startswith("/partial") else [{"ok": True}]).encode()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """A port that accepts and never answers, one that speaks something else than HTTP, and an HTML site."""
    blackhole = socket.create_server(("127.0.0.1", 0))  # listening: the kernel accepts, nobody ever answers
    garbage = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def babble() -> None:
        garbage.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = garbage.accept()
            except OSError:
                continue
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\x00\x01\x02\xff")
            conn.close()

    threading.Thread(target=babble, daemon=True).start()
    html = ThreadingHTTPServer(("127.0.0.1", 0), _FixedAnswer)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    json_site = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    threading.Thread(target=json_site.serve_forever, daemon=True).start()
    try:
        yield {
            "blackhole": f"http://127.0.0.1:{blackhole.getsockname()[1]}",
            "blackhole_hostport": f"127.0.0.1:{blackhole.getsockname()[1]}",
            "garbage": f"http://127.0.0.1:{garbage.getsockname()[1]}",
            "html": f"http://127.0.0.1:{html.server_address[1]}",
            "json": f"http://127.0.0.1:{json_site.server_address[1]}",
        }
    finally:
        stop.set()
        html.shutdown()
        html.server_close()
        json_site.shutdown()
        json_site.server_close()
        blackhole.close()
        garbage.close()


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_and_exit_2(name: str, servers: dict[str, str], tmp_path: Path) -> None:
    case = CASES[name]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    if case.config is not None:
        config = tmp_path / "harness.toml"
        text = case.config
        for key, url in servers.items():
            text = text.replace("{" + key + "}", url)
        config.write_text(text)
        env["HARNESS_CONFIG"] = str(config)
    for file_name, content in case.files:
        path = tmp_path / file_name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    env.update(dict(case.env))
    result = subprocess.run(
        [sys.executable, "-m", "harness", *case.args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, f"exit {result.returncode}: {result.stderr[-1500:]}{result.stdout[-500:]}"
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "error" in lines[0], lines[0]
    assert not lines[0].startswith("usage:"), lines[0]
