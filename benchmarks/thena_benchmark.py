"""tap-thena throughput and memory against its simulator (a benchmark: it prints figures).

Compares the tap (its real CLI, whole process, stdout to a pipe) with a plain
`requests` + `json` loop over the same endpoint and the same 7-day windows. Two plain
loops are shown: "fetch+parse" only decodes each response; "fetch+parse+emit" also
writes every record as a JSON line, the least any extractor must do. The runs are
interleaved so that other load on the machine hits all three alike, and CPU seconds
(the client's own, not the simulator's) are shown beside wall time because they
barely depend on that load. Peak memory is the tap's maximum RSS for a small and a
large export: it should not grow with the export size.

    python benchmarks/thena_benchmark.py [--per-day 150] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]

from served import served  # noqa: E402
from verdict import check  # noqa: E402

from support_simulators.thena import DEFAULT_API_KEY, ThenaSimulator  # noqa: E402
from support_taps.windows import ceil_day, date_windows  # noqa: E402

UTC = dt.timezone.utc
WINDOW = dt.timedelta(days=7)


def plain_loop(
    url: str, start: dt.datetime, end: dt.datetime, emit: bool
) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds, records."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = _plain_loop(url, start, end, emit)
    return time.perf_counter() - wall, time.process_time() - cpu, count


def _plain_loop(url: str, start: dt.datetime, end: dt.datetime, emit: bool) -> int:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {DEFAULT_API_KEY}"}
    count = 0
    with open(os.devnull, "w") as sink:
        for window in date_windows(start, end, WINDOW):
            # Exact windows for this simulator (inclusive end_date): the plain loop gets the
            # cheapest requests; the tap asks one day more because the docs don't say.
            last_day = ceil_day(window.end).date() - dt.timedelta(days=1)
            params = {
                "start_date": window.start.date().isoformat(),
                "end_date": last_day.isoformat(),
            }
            response = session.get(
                f"{url}/v1/requests/exports", params=params, headers=headers, timeout=60
            )
            response.raise_for_status()
            for record in json.loads(response.content):
                if emit:
                    sink.write(json.dumps(record) + "\n")
                count += 1
    return count


# The same tap with the SDK's defaults where ours differ: its JSON message writer,
# recursive type conformance and its own record step (for comparison only).
SDK_DEFAULTS_TAP = """
from singer_sdk import RESTStream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.tap_base import SingerWriter
from tap_thena.streams import RequestsStream
from tap_thena.tap import TapThena

class Requests(RequestsStream):
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.RECURSIVE
    _generate_record_messages = RESTStream._generate_record_messages

class Tap(TapThena):
    message_writer_class = SingerWriter
    def discover_streams(self):
        return [Requests(self)]

Tap.cli()
"""


def run_tap(
    url: str, start: dt.datetime, end: dt.datetime, sdk_defaults: bool = False
) -> tuple[float, float, int, int]:
    """Wall seconds, CPU seconds, records, peak RSS (KiB) of one tap run, measured by a fresh
    wrapper process."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as config:
        json.dump(
            {
                "api_key": DEFAULT_API_KEY,
                "api_url": url,
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "window_days": 7,
            },
            config,
        )
    # The tap's output goes to a file, as the plain loop's goes to /dev/null: reading it from a
    # pipe would put a third busy process (the reader) on the machine beside tap and simulator.
    wrapper = (
        "import resource, subprocess, sys, tempfile, time\n"
        "cmd = ['-c', sys.argv[2]] if len(sys.argv) > 2 else ['-m', 'tap_thena']\n"
        "with tempfile.TemporaryFile() as out:\n"
        "    t = time.perf_counter()\n"
        "    subprocess.run([sys.executable, *cmd, '--config', sys.argv[1]],"
        " stdout=out, stderr=subprocess.DEVNULL, check=True)\n"
        "    seconds = time.perf_counter() - t\n"
        "    out.seek(0)\n"
        '    records = sum(line.count(b\'"type":"RECORD"\') for line in out)\n'
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(seconds, usage.ru_utime + usage.ru_stime, records, usage.ru_maxrss)\n"
    )
    extra = [SDK_DEFAULTS_TAP] if sdk_defaults else []
    out = subprocess.run(
        [sys.executable, "-c", wrapper, config.name, *extra],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    os.unlink(config.name)
    seconds, cpu, records, rss = out.stdout.split()
    return float(seconds), float(cpu), int(records), int(rss)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--per-day", type=int, default=150, help="requests a weekday in the simulator"
    )
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with served(lambda: ThenaSimulator(requests_per_day=args.per_day, port=0)) as simulator:
        url = simulator.url
        start, end = dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2026, 1, 1, tzinfo=UTC)
        total = plain_loop(url, start, end, emit=False)[2]  # warm the simulator's cache
        print(
            f"tap-thena benchmark: {total:,} requests over {start.date()}..{end.date()} "
            f"in {WINDOW.days}-day windows; median of {args.repeat} interleaved runs\n"
        )

        runs: dict[str, list[tuple[float, float]]] = {"parse": [], "emit": [], "tap": [], "sdk": []}
        for _ in range(args.repeat):
            wall, cpu, _n = plain_loop(url, start, end, emit=False)
            runs["parse"].append((wall, cpu))
            wall, cpu, _n = plain_loop(url, start, end, emit=True)
            runs["emit"].append((wall, cpu))
            wall, cpu, emitted, _rss = run_tap(url, start, end)
            assert emitted == total, f"tap emitted {emitted:,} records, expected {total:,}"
            runs["tap"].append((wall, cpu))
            wall, cpu, emitted, _rss = run_tap(url, start, end, sdk_defaults=True)
            assert emitted == total, (
                f"SDK-defaults tap emitted {emitted:,} records, expected {total:,}"
            )
            runs["sdk"].append((wall, cpu))

        def rate(name: str, which: int) -> float:
            return statistics.median(total / r[which] for r in runs[name])

        print(f"  {'':40}{'records/s (wall)':>18}{'records per CPU-s':>20}")
        for name, label in (
            ("parse", "plain loop, fetch+parse"),
            ("emit", "plain loop, fetch+parse+emit"),
            ("tap", "tap-thena (CLI, whole process)"),
            ("sdk", "  the same, SDK defaults"),
        ):
            print(f"  {label:<40}{rate(name, 0):>18,.0f}{rate(name, 1):>20,.0f}")
        for tap, tap_label in (("tap", "tap"), ("sdk", "SDK defaults")):
            for name, label in (("emit", "fetch+parse+emit"), ("parse", "fetch+parse")):
                line = f"ratio {tap_label} / {label}"
                print(
                    f"  {line:<40}{rate(tap, 0) / rate(name, 0):>18.2f}"
                    f"{rate(tap, 1) / rate(name, 1):>20.2f}"
                )

        small_end = start + dt.timedelta(days=60)
        _, _, small_n, small_rss = run_tap(url, start, small_end)
        _, _, large_n, large_rss = run_tap(url, start, end)
        print("\n  peak memory (max RSS of the tap process)")
        print(f"    {small_n:>8,} records: {small_rss / 1024:6.1f} MiB")
        print(
            f"    {large_n:>8,} records: {large_rss / 1024:6.1f} MiB   "
            f"({large_n / small_n:.0f}x the records)"
        )
        print()
        ok = check(
            "tap-thena",
            "whole process / plain fetch+parse+emit loop (records/s, wall)",
            rate("tap", 0) / rate("emit", 0),
            at_least=0.6,
        )
        ok &= check(
            "tap-thena",
            f"peak RSS, {large_n:,} / {small_n:,} records",
            large_rss / small_rss,
            at_most=1.2,
        )
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
