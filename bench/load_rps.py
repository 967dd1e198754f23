"""Benchmark: requests per second of the harness locustfile (threshold evaluation on) against a bare FastHttpUser
locustfile, both hitting the same endpoint of the same server with one locust process. Target: ratio >= 0.90.

    .venv/bin/python bench/load_rps.py [--seconds 10] [--rounds 2] [--users 20]

The server is a minimal keep-alive HTTP server on loopback (a fixed JSON answer) in its own process, so the load
generator, not the server, is the bottleneck: the figure is the harness's overhead on the generator. Runs
alternate (bare, harness, bare, harness, ...) so drift on a shared machine hits both alike; the ratio is of the
summed requests per second (the median of the per-round ratios is printed too).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import resources

ID = "00000000-0000-4000-8000-000000000001"
BODY = f'{{"items":[{{"id":"{ID}","owner":"seed"}}],"next_cursor":null,"id":"{ID}"}}'.encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)

BARE = f"""
from locust import FastHttpUser, constant, task

class Bare(FastHttpUser):
    wait_time = constant(0)

    @task
    def get_character(self):
        self.client.get("/characters/{ID}", name="/characters/{{character_id}}")
"""

# the harness locustfile's own user and plugin (thresholds, verdict, UI tab), restricted to the same endpoint;
# imported as a module so locust does not also pick up its classes
HARNESS = f"""
import sys
sys.path.insert(0, {str(resources.locustfile().parent)!r})
from locust import constant
import character_service as harness_locustfile

class Harness(harness_locustfile.CharacterServiceUser):
    wait_time = constant(0)

# after the class statement: locust's metaclass would add the base class's tasks to a `tasks` given in the body
Harness.tasks = [harness_locustfile.CharacterServiceUser.get_character]
"""


async def _serve(port: int) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rps(locustfile: Path, host: str, seconds: int, users: int, out: Path, extra: list[str]) -> float:
    cmd = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host, "-u", str(users),
        "-r", str(users), "--run-time", f"{seconds}s", "--csv", str(out), "--only-summary", "--stop-timeout", "2",
        *extra,
    ]  # fmt: skip
    subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    with open(f"{out}_stats.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return float(row["Requests/s"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6, help="length of each run (default 6)")
    parser.add_argument("--rounds", type=int, default=5, help="bare/harness pairs (default 5)")
    parser.add_argument("--users", type=int, default=20, help="locust users (default 20)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # internal: run the server on this port
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        time.sleep(1.0)
        host = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            bare, harness = work / "bare.py", work / "harness_user.py"
            bare.write_text(BARE)
            harness.write_text(HARNESS)
            # the harness run evaluates the alert rules over windows that fit the run, as a real short run would
            harness_extra = ["--rule-window", f"{max(args.seconds // 3, 1)}s", "--rule-for", "1s",
                             "--verdict", str(work / "verdict")]  # fmt: skip
            results: dict[str, list[float]] = {"bare": [], "harness": []}
            for i in range(args.rounds):
                results["bare"].append(_rps(bare, host, args.seconds, args.users, work / f"b{i}", []))
                results["harness"].append(_rps(harness, host, args.seconds, args.users, work / f"h{i}", harness_extra))
                print(
                    f"round {i + 1}: bare {results['bare'][-1]:.0f} req/s, harness {results['harness'][-1]:.0f} req/s"
                )
            verdict = (work / "verdict.txt").read_text().splitlines()[0] if (work / "verdict.txt").exists() else "-"
    finally:
        server.terminate()
        server.wait(timeout=10)
    bare_rps, harness_rps = sum(results["bare"]), sum(results["harness"])
    ratio = harness_rps / bare_rps if bare_rps else 0.0
    pairs = sorted(h / b for h, b in zip(results["harness"], results["bare"], strict=True) if b)
    median = pairs[len(pairs) // 2] if pairs else 0.0
    print(f"harness locustfile (thresholds on) / bare FastHttpUser: {ratio:.3f} (target >= 0.90); "
          f"median of the {len(pairs)} round ratios {median:.3f}")  # fmt: skip
    print(f"  mean req/s: bare {bare_rps / args.rounds:.0f}, harness {harness_rps / args.rounds:.0f}; last {verdict}")
    return 0 if ratio >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
