"""Data parity at scale: `python bench/data_compare.py [--sizes 10000,100000] [--million] [--diffs 100]`.

For each size it starts the embedded default with that many characters (their campaigns, items and spells;
seeded and loaded on the reference's bulk path unless ``--python-seed``), runs the checksums-first compare on
the equal data, changes ``--diffs`` characters in the destination (a name, the version kept), then measures,
each in a fresh child process so its peak RSS is its own:

- floor: merely reading both sides (the same readers and page prefetching, records drained in key order);
- compare: the record-by-record compare, every record read (``--no-checksums``), and the default compare
  (range checksums first, only mismatching ranges read);
- at the smallest size, a whole-list DeepDiff of the same data (both sides read into lists in canonical form,
  then ``DeepDiff(list, list)``), and the in-memory step alone on the same lists (``==`` per record, DeepDiff on
  the ones that differ).

Prints records/s, the ratios and peak RSS of each child, and ends with issue 12's goals as this run measured
them: full read compare / the independent floor <= 1.1 at 100,000; >= 20x whole-list DeepDiff at 10,000;
at 1,000,000 equal data < 10 s and 100 changes < 30 s; peak RSS < 200 MB (``--million`` adds that size,
which takes a long time to seed and migrate). One run, one machine: compare the ratios.
Each size runs ``--rounds`` rounds (default 3), keeping the fastest of each measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

import httpx

CHILD_TIMEOUT_S = 3600
DEEPDIFF_MAX = 20_000


def _rss_mb() -> float:
    """Peak RSS of this process since its exec: VmHWM. (``ru_maxrss`` survives exec on Linux, so a child would
    report the size of the parent it was forked from, which holds the seeded data.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: the best there is


def child(kind: str, dsn: str, url: str, database: str) -> dict[str, Any]:
    from harness.data.canonical import Canonicalizer
    from harness.data.compare import CompareOptions, compare, explain
    from harness.data.readers import DestinationReader, SourceReader
    from harness.data.settings import parse_compare_settings

    settings = parse_compare_settings({})
    # the DSN and the token come through the environment: a child's command line is visible in `ps`
    dsn = os.environ["BENCH_SOURCE_DSN"]
    source = SourceReader(dsn)
    destination = DestinationReader(
        url, database, headers={"Authorization": f"Bearer {os.environ['BENCH_STORAGE_TOKEN']}"}
    )
    started = time.perf_counter()
    out: dict[str, Any] = {"kind": kind}
    if kind == "floor":
        records = 0
        for collection in settings.collections:
            src, dst = source.read(collection), destination.read(collection)
            s, d = next(src, None), next(dst, None)
            while s is not None or d is not None:  # in key order, as the merge-join consumes them
                if d is None or (s is not None and s[0] < d[0]):
                    s, records = next(src, None), records + 1
                elif s is None or d[0] < s[0]:
                    d, records = next(dst, None), records + 1
                else:
                    s, d, records = next(src, None), next(dst, None), records + 1
        out["records"] = records  # keys, as the compare counts them
    elif kind == "raw-floor":
        out["records"] = _raw_floor(settings, dsn, url, database, os.environ["BENCH_STORAGE_TOKEN"])
    elif kind in ("compare", "compare-checksums"):
        report = compare(source, destination, settings, CompareOptions(checksums=kind == "compare-checksums"))
        out["differences"] = sum(c.differences for c in report.collections)
        out["verdict"] = report.verdict
        out["records"] = sum(c.covered for c in report.collections)
        out["read"] = sum(c.covered - c.by_checksum for c in report.collections)  # records read, not settled
    elif kind == "deepdiff":
        from deepdiff import DeepDiff

        canon_s = Canonicalizer(settings, "characters", "source")
        canon_d = Canonicalizer(settings, "characters", "destination")
        a = [canon_s(raw) for _, raw in source.read("characters")]
        b = [canon_d(raw) for _, raw in destination.read("characters")]
        out["read_s"] = time.perf_counter() - started
        t = time.perf_counter()
        whole = DeepDiff(a, b)
        out["deepdiff_s"] = time.perf_counter() - t
        out["deepdiff_changes"] = sum(len(v) for v in whole.values())
        t = time.perf_counter()
        explained = [explain(x, y) for x, y in zip(a, b, strict=True) if x != y]
        out["per_record_s"] = time.perf_counter() - t
        out["per_record_changes"] = len(explained)
        out["records"] = len(a) + len(b)
    out["seconds"] = time.perf_counter() - started
    out["peak_rss_mb"] = _rss_mb()
    source.close()
    destination.close()
    return out


def _raw_floor(settings: Any, dsn: str, url: str, database: str, token: str) -> int:
    """The independent floor: the fastest plain reads of the same rows, both sides at once: a psycopg COPY of the
    declared queries' rows in key order, and a bare keep-alive HTTP loop over the listing pages (bytes, no JSON
    decoding). Returns the rows read on the source side."""
    import threading

    import psycopg
    from psycopg import sql

    from harness.data.readers import embedded

    rows = [0]

    def source() -> None:
        with psycopg.connect(dsn) as conn, conn.cursor() as cur:
            for m in settings.mapping.values():
                query = sql.SQL("COPY (SELECT q.key, q.document FROM ({}) AS q ORDER BY {}) TO STDOUT").format(
                    embedded(m.source_query()), m.key_order(sql.SQL("q.key"))
                )
                with cur.copy(query) as copy:
                    for block in copy:
                        rows[0] += bytes(block).count(b"\n")

    def destination() -> None:
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            for m in settings.mapping.values():
                base, after = f"{url}/databases/{database}/collections/{m.destination}/records", None
                while True:
                    page = client.get(base, params={"limit": 5000, **({"after": after} if after else {})}).content
                    marker = page.rfind(b'"next_after":')
                    tail = page[marker + 13 :].strip(b" }\n")
                    if marker < 0 or tail.startswith(b"null"):
                        break
                    after = tail.strip(b'"').decode()

    threads = [threading.Thread(target=source), threading.Thread(target=destination)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows[0]


def run_child(kind: str, info: Any, before: str | None = None) -> dict[str, Any]:
    """One measurement in a fresh process; ``before``: with the harness of that directory (an export of an
    earlier commit) first on the path, for a before/after in one run."""
    env = {**os.environ, "BENCH_SOURCE_DSN": info.reader_dsn, "BENCH_STORAGE_TOKEN": info.storage_read_token}
    if before:
        env["PYTHONPATH"] = before
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, "-", info.storage_service_url, info.storage_database],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {kind} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def inject_differences(info: Any, count: int) -> None:
    """Change the name of ``count`` characters spread over the key space (every n-th), keeping their version."""
    base = f"{info.storage_service_url}/databases/{info.storage_database}/collections/characters"
    with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {info.storage_write_token}"}) as client:
        total = client.get(f"{base}/summary").json()["count"]
        step = max(1, total // max(count, 1))
        after, seen, changed = None, 0, []
        while len(changed) < count:
            params = {"limit": 5000, **({"after": after} if after else {})}
            body = client.get(f"{base}/records", params=params).json()
            for item in body["items"]:
                if seen % step == 0 and len(changed) < count:
                    item["document"]["name"] += " (changed)"
                    changed.append(item)
                seen += 1
            after = body["next_after"]
            if after is None:
                break
        client.post(f"{base}/batch", json={"records": changed}).raise_for_status()


def bench_size(
    n: int, diffs: int, rounds: int, with_deepdiff: bool, bulk: bool, before: str | None = None
) -> dict[str, Any]:
    """Floor and compares alternate for ``rounds`` rounds; the fastest of each is kept (the machine is shared,
    so the minimum is the figure least disturbed by others), with the highest peak RSS seen."""
    from harness.embedded import EmbeddedStack

    t = time.perf_counter()
    with EmbeddedStack(characters=n, seed=42, bulk=bulk) as info:
        setup = time.perf_counter() - t
        result: dict[str, Any] = {"characters": n, "setup_s": setup, "timings": info.timings}
        print(f"  {n:>9,} stack ready in {setup:.1f} s {info.timings}", flush=True)
        # equal data first: the checksums-first compare settles it from range checksums, reading nothing
        for label, code in [("checksums-equal", None)] + ([("checksums-equal-before", before)] if before else []):
            equal = [run_child("compare-checksums", info, code) for _ in range(rounds)]
            for run in equal:
                print(f"  {n:>9,} {label:<22} {json.dumps(run)}", flush=True)
            result[label] = {
                **min(equal, key=lambda r: r["seconds"]),
                "peak_rss_mb": max(r["peak_rss_mb"] for r in equal),
            }
            result.setdefault("all", {})[label] = [round(r["seconds"], 2) for r in equal]
        inject_differences(info, diffs)
        kinds = ["raw-floor", "floor", "compare", "compare-checksums"]
        if before:
            kinds.append("compare-checksums-before")
        for round_no in range(rounds):
            for kind in kinds + (["deepdiff"] if with_deepdiff and round_no == 0 else []):
                if kind.endswith("-before"):
                    run = run_child(kind.removesuffix("-before"), info, before)
                else:
                    run = run_child(kind, info)
                print(f"  {n:>9,} {kind:<18} {json.dumps(run)}", flush=True)
                best = result.get(kind)
                if best is None or run["seconds"] < best["seconds"]:
                    result[kind] = {**run, "peak_rss_mb": max(run["peak_rss_mb"], (best or run)["peak_rss_mb"])}
                else:
                    best["peak_rss_mb"] = max(best["peak_rss_mb"], run["peak_rss_mb"])
                result.setdefault("all", {}).setdefault(kind, []).append(round(run["seconds"], 2))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="characters per run, comma-separated")
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 characters (slow)")
    parser.add_argument("--diffs", type=int, default=100, help="characters changed in the destination per size")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size, the fastest kept (default 3)")
    parser.add_argument(
        "--python-seed",
        action="store_true",
        help="seed and migrate the way `harness up` does (Python rows, export, HTTP import: ~13 min at 1M) instead"
        " of the reference's bulk path (set-based SQL, COPY into the Storage Service's tables)",
    )
    parser.add_argument(
        "--before",
        metavar="DIR",
        help="also run the checksums-first compares with the harness of DIR (e.g. `git archive` of an earlier"
        " commit, unpacked) first on PYTHONPATH, and print after / before",
    )
    parser.add_argument("--child", nargs=4, metavar=("KIND", "DSN", "URL", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    sizes = sorted({int(s) for s in args.sizes.split(",")} | ({1_000_000} if args.million else set()))
    # whole-list DeepDiff once, at the smallest size up to DEEPDIFF_MAX (it grows quadratically)
    deepdiff_at = sizes[0] if sizes[0] <= DEEPDIFF_MAX else None
    results = [
        bench_size(
            n, args.diffs, args.rounds, with_deepdiff=n == deepdiff_at, bulk=not args.python_seed, before=args.before
        )
        for n in sizes
    ]

    print(
        "\ncharacters  floor s  compare s  ratio  records/s  checksums-first s  peak RSS MB (floor/compare/checksums)"
    )
    for r in results:
        floor, full, quick = r["floor"], r["compare"], r["compare-checksums"]
        print(
            f"{r['characters']:>10,}  {floor['seconds']:7.2f}  {full['seconds']:9.2f}  "
            f"{full['seconds'] / floor['seconds']:5.2f}  {full['records'] / full['seconds']:9,.0f}  "
            f"{quick['seconds']:17.2f}  {floor['peak_rss_mb']:.0f}/{full['peak_rss_mb']:.0f}/{quick['peak_rss_mb']:.0f}"
            f"   ({full['differences']} differences found, {args.diffs} injected;"
            f" checksums-first read {quick.get('read', '?')} records)"
        )
        raw = r["raw-floor"]["seconds"]
        print(
            f"{'':>10}  independent floor (COPY + bare HTTP, in parallel) {raw:.2f} s:"
            f" compare / it = {full['seconds'] / raw:.2f}"
        )
        eq = r["checksums-equal"]
        print(
            f"{'':>10}  checksums first on equal data {eq['seconds']:.2f} s (read {eq.get('read', '?')} records,"
            f" peak RSS {eq['peak_rss_mb']:.0f} MB); with {args.diffs} changes {quick['seconds']:.2f} s"
            f" (read {quick.get('read', '?')} of {quick['records']:,}); raw-floor peak RSS"
            f" {r['raw-floor']['peak_rss_mb']:.0f} MB; setup {r['setup_s']:.0f} s"
        )
        if "compare-checksums-before" in r:
            was, was_eq = r["compare-checksums-before"], r["checksums-equal-before"]
            print(
                f"{'':>10}  checksums first, before -> after: equal data {was_eq['seconds']:.2f} ->"
                f" {eq['seconds']:.2f} s"
                f" (x{was_eq['seconds'] / eq['seconds']:.2f}); with {args.diffs} changes {was['seconds']:.2f} ->"
                f" {quick['seconds']:.2f} s (x{was['seconds'] / quick['seconds']:.2f}); peak RSS"
                f" {was['peak_rss_mb']:.0f} -> {quick['peak_rss_mb']:.0f} MB"
            )
        print(f"{'':>10}  all rounds (s): {r['all']}")
    first = results[0]
    if "deepdiff" in first:
        dd, full = first["deepdiff"], first["compare"]
        whole = dd["read_s"] + dd["deepdiff_s"]
        print(f"\nat {first['characters']:,} characters, {args.diffs} changed:")
        print(
            f"  whole-list DeepDiff          {dd['deepdiff_s']:.2f} s (+ {dd['read_s']:.2f} s reading) "
            f"= {whole:.2f} s, peak RSS {dd['peak_rss_mb']:.0f} MB"
        )
        print(
            f"  compare (every record read)  {full['seconds']:.2f} s  -> "
            f"{whole / full['seconds']:.1f}x faster end to end"
        )
        print(
            f"  compare (checksums first)    {first['compare-checksums']['seconds']:.2f} s  -> "
            f"{whole / first['compare-checksums']['seconds']:.1f}x faster end to end"
        )
        print(
            f"  in-memory step alone         {dd['per_record_s']:.3f} s vs DeepDiff {dd['deepdiff_s']:.2f} s  -> "
            f"{dd['deepdiff_s'] / max(dd['per_record_s'], 1e-9):.0f}x"
        )
    print("\ngoals (issue 12), as measured in this run:")
    for line in goal_lines(results):
        print(f"  {line}")


def goal_lines(results: list[dict[str, Any]]) -> list[str]:
    """Each goal of issue 12 this run measured, with its figure and whether it is met (sizes not run: left out)."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    by_size = {r["characters"]: r for r in results}
    lines = []
    if 100_000 in by_size:
        r = by_size[100_000]
        ratio = r["compare"]["seconds"] / r["raw-floor"]["seconds"]
        lines.append(f"full read compare / independent floor at 100,000: {ratio:.2f} (<= 1.1: {verdict(ratio <= 1.1)})")
    if 10_000 in by_size and "deepdiff" in by_size[10_000]:
        r = by_size[10_000]
        speedup = (r["deepdiff"]["read_s"] + r["deepdiff"]["deepdiff_s"]) / r["compare"]["seconds"]
        lines.append(f"vs whole-list DeepDiff at 10,000: {speedup:.1f}x (>= 20x: {verdict(speedup >= 20)})")
    if 1_000_000 in by_size:
        r = by_size[1_000_000]
        equal, changed = r["checksums-equal"]["seconds"], r["compare-checksums"]["seconds"]
        lines.append(f"equal data at 1,000,000: {equal:.1f} s (< 10 s: {verdict(equal < 10)})")
        lines.append(f"100 changes among 1,000,000: {changed:.1f} s (< 30 s: {verdict(changed < 30)})")
    peak = max(
        (r[k]["peak_rss_mb"] for r in results for k in ("floor", "compare", "compare-checksums", "checksums-equal")),
        default=0.0,
    )
    largest = max(by_size) if by_size else 0
    lines.append(f"peak RSS of any child up to {largest:,}: {peak:.0f} MB (< 200 MB: {verdict(peak < 200)})")
    return lines


if __name__ == "__main__":
    main()
