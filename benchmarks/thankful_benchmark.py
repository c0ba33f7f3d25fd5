"""tap-thankful: requests and wall time of a 365-day backfill, beside the API's minimum.

Thankful's endpoints answer one period per request, so daily facts cost one request
per day for each per-day endpoint (/tickets, /handoffs, /savings) plus one /actions:
365 x 3 + 1 = 1,096 requests for a year. The tap must not ask more (one /tickets
answer feeds four streams), and its wall time should be close to the requests'
latency floor (requests x latency, asked one after the other).

The simulator runs in its own process with a realistic latency per answer (20 ms by
default); the tap runs as its CLI, stdout counted, then discarded.

    python benchmarks/thankful_benchmark.py [--days 365] [--latency 0.02]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]

from served import served  # noqa: E402
from verdict import check  # noqa: E402

from support_simulators.framework import Faults  # noqa: E402
from support_simulators.thankful import DEFAULT_API_KEY, ThankfulSimulator  # noqa: E402

PER_DAY_ENDPOINTS = ("tickets", "handoffs", "savings")
START = dt.date(2025, 1, 1)


def control(url: str, action: str) -> dict:
    method = requests.get if action == "stats" else requests.post
    return method(f"{url}/_simulator/{action}", timeout=30).json()


def run_tap(url: str, days: int) -> tuple[float, Counter, int]:
    """Wall seconds, records per stream, peak RSS (KiB) of one tap run, measured by a wrapper
    process."""
    end = START + dt.timedelta(days=days)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump(
            {
                "api_key": DEFAULT_API_KEY,
                "api_url": f"{url}/api/v1",
                "start_date": START.isoformat(),
                "end_date": end.isoformat(),
            },
            config,
        )
    wrapper = (
        "import json, resource, subprocess, sys, time, collections\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run([sys.executable, '-m', 'tap_thankful', '--config', sys.argv[1]],"
        " stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)\n"
        "seconds = time.perf_counter() - t\n"
        "records = collections.Counter(json.loads(line)['stream'] for line in p.stdout.splitlines()"
        ' if b\'"type":"RECORD"\' in line)\n'
        "print(json.dumps([seconds, records, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, config.name],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    os.unlink(config.name)
    seconds, records, rss = json.loads(out.stdout)
    return seconds, Counter(records), rss


def requests_by_endpoint(url: str) -> Counter:
    counts: Counter = Counter()
    for key, n in control(url, "stats")["requests"].items():
        _, path, status = key.split(" ")
        counts[(path.rsplit("/", 1)[-1], status)] += n
    return counts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument(
        "--latency", type=float, default=0.02, help="seconds the simulator adds to each answer"
    )
    args = parser.parse_args()

    with served(
        lambda: ThankfulSimulator(port=0, faults=Faults(latency=args.latency))
    ) as simulator:
        url = simulator.url
        minimum = args.days * len(PER_DAY_ENDPOINTS) + 1
        print(
            f"tap-thankful benchmark: {args.days}-day backfill from {START}, simulator latency "
            f"{args.latency * 1000:.0f} ms per answer\n"
        )

        seconds, records, rss = run_tap(url, args.days)
        by_endpoint = requests_by_endpoint(url)
        asked = sum(by_endpoint.values())
        failed = sum(n for (_, status), n in by_endpoint.items() if status != "200")
        floor = minimum * args.latency

        print("  requests")
        for endpoint in (*PER_DAY_ENDPOINTS, "actions"):
            expected = 1 if endpoint == "actions" else args.days
            print(
                f"    /{endpoint:<10} {by_endpoint[(endpoint, '200')]:>6,}   (minimum {expected:,})"
            )
        print(
            f"    {'total':<11} {asked:>6,}   "
            f"(API minimum {args.days} days x {len(PER_DAY_ENDPOINTS)} "
            f"per-day endpoints + 1 = {minimum:,}; non-200: {failed})"
        )
        print(
            f"    {'':<11} {'':>6}   (four streams each asking /tickets would need "
            f"{args.days * (len(PER_DAY_ENDPOINTS) + 3) + 1:,})"
        )
        print("\n  wall time")
        print(f"    tap (CLI, whole process)   {seconds:8.1f} s")
        print(
            f"    latency floor              {floor:8.1f} s   "
            f"({minimum:,} requests x {args.latency * 1000:.0f} ms)"
        )
        print(f"    overhead per request       {(seconds - floor) / max(asked, 1) * 1000:8.1f} ms")
        print(f"    most requests open at once {control(url, 'stats')['peak_open_requests']:8}")
        print(
            f"\n  records: {sum(records.values()):,} "
            f"({', '.join(f'{s} {n:,}' for s, n in sorted(records.items()))})"
        )

        control(url, "reset")
        _, _, small_rss = run_tap(url, 30)
        print(
            "\n  peak memory (max RSS of the tap process): "
            f"30 days {small_rss / 1024:.1f} MiB, {args.days} days {rss / 1024:.1f} MiB"
        )
        print()
        ok = check(
            "tap-thankful", f"{args.days} days, wall / latency floor", seconds / floor, at_most=1.2
        )
        ok &= check("tap-thankful", "requests / API minimum", asked / minimum, at_most=1.0)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
