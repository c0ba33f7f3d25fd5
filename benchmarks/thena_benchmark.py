"""tap-thena throughput and memory against its simulator (a benchmark: it prints figures).

Compares the tap (its real CLI, stdout to /dev/null) with a plain `requests` + `json`
loop over the same endpoint and the same 7-day windows. Two plain loops are shown:
"fetch+parse" only decodes each response; "fetch+parse+emit" also writes every
record as a JSON line, the least any extractor does. The ratio that counts is the
tap against fetch+parse+emit. Peak memory is the tap's maximum RSS for a small and
a large export: it should not grow with the export size.

    python benchmarks/thena_benchmark.py [--per-day 150] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "taps"))

from support_simulators.thena import DEFAULT_API_KEY, ThenaSimulator  # noqa: E402
from support_taps.windows import ceil_day, date_windows  # noqa: E402

UTC = dt.timezone.utc
WINDOW = dt.timedelta(days=7)


def _serve(port_queue: multiprocessing.Queue, per_day: int) -> None:
    sim = ThenaSimulator(requests_per_day=per_day, port=0).start()
    port_queue.put(sim.port)
    while True:
        time.sleep(3600)


def plain_loop(url: str, start: dt.datetime, end: dt.datetime, emit: bool) -> int:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    count = 0
    with open(os.devnull, "w") as sink:
        for window in date_windows(start, end, WINDOW):
            # Exact windows for this simulator (inclusive end_date): the plain loop gets the
            # cheapest requests; the tap asks one day more because the docs don't say.
            last_day = ceil_day(window.end).date() - dt.timedelta(days=1)
            params = {"start_date": window.start.date().isoformat(), "end_date": last_day.isoformat()}
            response = session.get(f"{url}/v1/requests/exports", params=params, headers=headers, timeout=60)
            response.raise_for_status()
            for record in json.loads(response.content):
                if emit:
                    sink.write(json.dumps(record) + "\n")
                count += 1
    return count


def run_tap(url: str, start: dt.datetime, end: dt.datetime) -> tuple[float, int, int]:
    """Wall seconds, records, peak RSS (KiB) of one tap run, measured by a fresh wrapper process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump({"api_key": DEFAULT_API_KEY, "api_url": url, "start_date": start.isoformat(),
                   "end_date": end.isoformat(), "window_days": 7}, config)
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run([sys.executable, '-m', 'tap_thena', '--config', sys.argv[1]],"
        " stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)\n"
        "seconds = time.perf_counter() - t\n"
        "records = p.stdout.count(b'\"type\":\"RECORD\"')\n"
        "print(seconds, records, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, config.name], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "taps")})
    os.unlink(config.name)
    seconds, records, rss = out.stdout.split()
    return float(seconds), int(records), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-day", type=int, default=150, help="requests a weekday in the simulator")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(queue, args.per_day), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{queue.get(timeout=30)}"
    start, end = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)
    try:
        total = plain_loop(url, start, end, emit=False)  # warm the simulator's cache
        print(f"tap-thena benchmark: {total:,} requests over {start.date()}..{end.date()} "
              f"in {WINDOW.days}-day windows; median of {args.repeat} runs\n")

        def median_rate(fn) -> float:
            rates = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                n = fn()
                rates.append(n / (time.perf_counter() - t))
            return statistics.median(rates)

        parse_only = median_rate(lambda: plain_loop(url, start, end, emit=False))
        parse_emit = median_rate(lambda: plain_loop(url, start, end, emit=True))
        tap_runs = [run_tap(url, start, end) for _ in range(args.repeat)]
        assert all(r[1] == total for r in tap_runs), f"tap emitted {[r[1] for r in tap_runs]}, expected {total}"
        tap_rate = statistics.median(total / r[0] for r in tap_runs)

        print(f"  plain loop, fetch+parse        {parse_only:>10,.0f} records/s")
        print(f"  plain loop, fetch+parse+emit   {parse_emit:>10,.0f} records/s")
        print(f"  tap-thena (CLI, whole process) {tap_rate:>10,.0f} records/s")
        print(f"  ratio tap / fetch+parse+emit   {tap_rate / parse_emit:>10.2f}   (target >= 0.5)")
        print(f"  ratio tap / fetch+parse        {tap_rate / parse_only:>10.2f}")

        small_end = start + dt.timedelta(days=60)
        _, small_n, small_rss = run_tap(url, start, small_end)
        _, large_n, large_rss = run_tap(url, start, end)
        print("\n  peak memory (max RSS of the tap process)")
        print(f"    {small_n:>8,} records: {small_rss / 1024:6.1f} MiB")
        print(f"    {large_n:>8,} records: {large_rss / 1024:6.1f} MiB   ({large_n / small_n:.0f}x the records)")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
