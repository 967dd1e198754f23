"""Start-up of the embedded default: `python bench/stack_startup.py [--characters 10000]`.

Prints the phases of `harness up` (PostgreSQL, seeding, migration, total), the seeding and migration rates, and
the total as a share of the issue's 30 s budget. One run, one machine: compare the shares, not the seconds."""

from __future__ import annotations

import argparse
import time

from harness.embedded import EmbeddedStack

BUDGET_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--characters", type=int, default=10_000)
    parser.add_argument("--bulk", action="store_true", help="set-based seeding and a direct bulk load (the bench's)")
    args = parser.parse_args()
    started = time.perf_counter()
    with EmbeddedStack(characters=args.characters, seed=42, bulk=args.bulk) as info:
        healthy = time.perf_counter() - started
        t = info.timings
    stopped = time.perf_counter() - started - healthy
    n = args.characters
    print(f"characters            {n}")
    print(f"postgres ready        {t['postgres_s']:.2f} s")
    print(f"seeding               {t['seed_s']:.2f} s  ({n / t['seed_s']:,.0f} characters/s)")
    print(f"migration             {t['migrate_s']:.2f} s  ({n / t['migrate_s']:,.0f} characters/s, export + import)")
    print(f"healthy after         {healthy:.2f} s  = {healthy / BUDGET_S:.0%} of the {BUDGET_S:.0f} s budget")
    print(f"stopped in            {stopped:.2f} s")


if __name__ == "__main__":
    main()
