"""CPU a ``harness`` command costs before it does anything: ``python bench/cli_start.py [--rounds 5]``.

Runs ``harness --help``, ``harness gate --plan`` (parser, targets file, plan; nothing sent) and a bad-input
command, each ``--rounds`` times in a fresh interpreter, against a bare ``python -c pass``, and prints the best
user+system CPU time of each and its ratio to the bare interpreter (CPU, not wall time: the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

COMMANDS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "harness --help": [sys.executable, "-m", "harness", "--help"],
    "harness gate --plan": [sys.executable, "-m", "harness", "gate", "--plan"],
    "harness gate --only nope (exit 2)": [sys.executable, "-m", "harness", "gate", "--only", "nope"],
}


def cpu_seconds(cmd: list[str]) -> float:
    before = os.times()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, timeout=120)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    best = {name: min(cpu_seconds(cmd) for _ in range(args.rounds)) for name, cmd in COMMANDS.items()}
    floor = best["python -c pass (floor)"] or 0.01
    for name, seconds in best.items():
        print(f"{name:<36} {seconds:6.2f} s CPU  {seconds / floor:5.1f}x the bare interpreter")


if __name__ == "__main__":
    main()
