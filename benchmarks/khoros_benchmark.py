"""tap-khoros-care benchmark: a one-year backfill of every report type, and a million-row download.

    python benchmarks/khoros_benchmark.py [--scale 10] [--months 12] [--rows 1000000]
        [--max-concurrent 20]

1. Backfill: every report type over `--months` months against the simulator, with the
   tap's defaults (windows of three calendar months, the largest Khoros accepts; the
   conversation stream runs CREATED and CLOSED per window; `timeInterval` one day, so
   Team Performance Interval needs no split). Khoros allows about 20 requests a minute
   and jobs take "from seconds to many minutes"; time runs `--scale` times faster: the
   tap's `requests_per_minute` is 20 x scale and the simulator's job latencies are
   10-90 s / scale. The floor is what no client can beat with the fewest jobs Khoros
   allows: every job needs at least a start, one status check and a download request
   (3 per job) at the request rate, and nothing finishes before the slowest job's
   latency. Targets: wall time within 1.2x of the floor, and under 30 minutes at real
   speed. The simulator's volume (40 conversations a day) is scaled down with time too
   (40 / scale a day, at least one), so that generating and parsing rows, which do not
   get faster with the scale, take the share of the run they would take at real speed
   (row throughput is measured on its own in part 2).
2. Memory: one window of `incoming_post` holding `--rows` rows (generated on the fly by
   the simulator), JSON and CSV; the tap's peak RSS is read from the kernel
   (`wait4` rusage of the tap process). Target: under 200 MB.

The tap runs as a subprocess (`python -m tap_khoros_care`), as Meltano runs it; its
Singer output is counted and discarded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import typing as t
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from verdict import check  # noqa: E402

from support_simulators.khoros import KhorosSimulator  # noqa: E402
from support_simulators.khoros.reports import REPORT_TYPES  # noqa: E402

USER, PASSWORD, COMPANY_KEY = "bench-user", "bench-password-1234", "bench-company-key-5678"
REAL_RATE_PER_MINUTE = 20
REAL_LATENCY = (10.0, 90.0)  # seconds, an assumption: "from seconds to many minutes"
REQUESTS_PER_JOB = 3  # start, one status check, download (the pre-signed GET is another host's)
#: Months of history the simulator keeps and the tap asks within: the benchmark's dates are
#: fixed, older than the 18 months Khoros keeps from today.
HISTORY_MONTHS = 36


def simulator(**kwargs: t.Any) -> KhorosSimulator:
    """The simulator with the benchmark's credentials."""
    return KhorosSimulator(
        username=USER,
        password=PASSWORD,
        company_key=COMPANY_KEY,
        history_months=HISTORY_MONTHS,
        **kwargs,
    )


def tap_config(sim: KhorosSimulator, **settings: t.Any) -> dict:
    """The tap's settings against `sim`."""
    return {
        "username": USER,
        "password": PASSWORD,
        "company_key": COMPANY_KEY,
        "api_url": sim.api_url,
        "history_months": HISTORY_MONTHS,
        **settings,
    }


def run_tap(config: dict, stream: str | None = None) -> tuple[float, int, int, int, str, float]:
    """Run the tap; return (seconds, records (of `stream` only, if given), peak RSS in bytes,
    exit code, stderr tail, CPU seconds)."""
    prefix = b'{"type":"RECORD"' + (b',"stream":"%s"' % stream.encode() if stream else b"")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "config.json")
        path.write_text(json.dumps(config))
        err_path = Path(tmp, "stderr.txt")
        with err_path.open("w") as err:
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-m", "tap_khoros_care", "--config", str(path)],
                stdout=subprocess.PIPE,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "0"},
            )
            counts = {"records": 0}

            def count() -> None:
                assert process.stdout is not None
                for line in process.stdout:
                    if line.startswith(prefix):
                        counts["records"] += 1

            reader = threading.Thread(target=count)
            reader.start()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.monotonic() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            reader.join()
        tail = err_path.read_text()[-2000:]
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, counts["records"], usage.ru_maxrss * 1024, process.returncode, tail, cpu


def backfill(
    args: argparse.Namespace, months: int, max_running_jobs: int | None = None
) -> tuple[float, float, int]:
    """(wall / floor, minutes at real speed, records) of a backfill of `months` months; with
    `max_running_jobs`, the simulator refuses a job start beyond that many (429)."""
    latency = (REAL_LATENCY[0] / args.scale, REAL_LATENCY[1] / args.scale)
    rate = REAL_RATE_PER_MINUTE * args.scale
    start = dt.date(2025, 1, 1)
    end = dt.date(
        start.year + (start.month - 1 + months) // 12,
        (start.month - 1 + months) % 12 + 1,
        1,
    )
    per_day = max(1, round(40 / args.scale))
    with simulator(
        job_latency=latency, conversations_per_day=per_day, max_running_jobs=max_running_jobs
    ) as sim:
        config = tap_config(
            sim,
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            requests_per_minute=rate,
            poll_interval=5 / args.scale,
            max_poll_interval=60 / args.scale,
            timeInterval=86400000,
        )
        if args.max_concurrent is not None:
            config["max_concurrent_reports"] = args.max_concurrent
        seconds, records, rss, code, tail, cpu = run_tap(config)
        if code != 0:
            raise SystemExit(f"the backfill failed:\n{tail}")
        print(f"  tap CPU {cpu:.1f} s")
        windows = -(-months // 3)  # three-month windows: the fewest jobs Khoros allows
        fewest = windows * (len(REPORT_TYPES) + 1)  # conversation runs two reports per window
        jobs = sim.stats.started
        api_requests = len(sim.calls("/api/public/"))
        status_checks = len([c for c in sim.calls("/api/public/") if c.path.endswith("/status")])
        floor_requests = REQUESTS_PER_JOB * fewest / (rate / 60)
        floor = max(floor_requests, latency[1])
        print(
            f"Backfill: {months} months x {len(REPORT_TYPES)} report types: {jobs} jobs "
            f"(fewest Khoros allows: {fewest}), {records:,} records ({per_day} conversations a day)"
        )
        print(
            f"  time scale 1:{args.scale:g} -> {rate:g} requests/min, "
            f"job latency {latency[0]:.3f}-{latency[1]:.3f} s, "
            f"max_concurrent_reports {args.max_concurrent or 'default'}"
        )
        print(
            f"  API requests: {api_requests} ({status_checks} status checks; "
            f"minimum {REQUESTS_PER_JOB * fewest}); most jobs running at once "
            f"{sim.stats.peak_running}"
            + (
                f" (the simulator accepts {max_running_jobs}; {sim.stats.refused} starts "
                "refused with 429)"
                if max_running_jobs
                else ""
            )
        )
        print(f"  wall time {seconds:6.1f} s   floor {floor:6.1f} s   ratio {seconds / floor:.2f}x")
        real = seconds * args.scale / 60
        print(
            f"  at Khoros's real rate (20/min) that is {real:.0f} min "
            f"(floor {floor * args.scale / 60:.0f} min); peak RSS {rss / 2**20:.0f} MB"
        )
        return seconds / floor, real, records


def memory(args: argparse.Namespace) -> dict[str, tuple[float, float]]:
    """Per format: (rows per second, peak RSS in MB) of the million-row download."""
    figures = {}
    for fmt in ("json", "csv"):
        with simulator(job_latency=(0.1, 0.1), bulk_rows={"incoming_post": args.rows}) as sim:
            config = tap_config(
                sim,
                start_date="2025-03-01",
                end_date="2025-03-02",
                report_types=["incoming_post"],
                report_format=fmt,
                requests_per_minute=6000,
                poll_interval=0.1,
            )
            served = time.process_time()  # this process: the simulator making the file
            # The report's rows only (the tap also lists the few `teams`).
            seconds, records, rss, code, tail, cpu = run_tap(config, "incoming_post")
            served = time.process_time() - served
            if code != 0:
                raise SystemExit(f"the {fmt} download failed:\n{tail}")
            if records != args.rows:
                raise SystemExit(f"the {fmt} download gave {records} records, expected {args.rows}")
            print(
                f"Download of {records:,} rows ({fmt}): {seconds:5.1f} s "
                f"({records / seconds:,.0f} rows/s), "
                f"tap CPU {cpu:.1f} s ({records / cpu:,.0f} rows per CPU-second), simulator CPU "
                f"{served:.1f} s, peak RSS {rss / 2**20:.0f} MB"
            )
            figures[fmt] = (records / seconds, rss / 2**20)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=10, help="how many times faster than real time"
    )
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=None,
        help="the tap's max_concurrent_reports (default: the tap's own default)",
    )
    parser.add_argument("--skip-backfill", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    ok = True
    name = "tap-khoros-care"
    if not args.skip_backfill:
        ratio, real_minutes, _ = backfill(args, args.months)
        print("Back-off: one window at the defaults, then with a simulator that runs at most 4")
        _, _, records = backfill(args, 3)
        _, _, held_back = backfill(args, 3, max_running_jobs=4)
        print()
        ok &= check(name, f"{args.months} months of 13 reports, wall / floor", ratio, at_most=1.2)
        ok &= check(name, "the same at Khoros's real rate", real_minutes, at_most=30, unit=" min")
        ok &= check(
            name, "back-off run, records missing or doubled", abs(records - held_back), at_most=0
        )
    if not args.skip_memory:
        figures = memory(args)
        print()
        for fmt, (rate, peak) in figures.items():
            ok &= check(name, f"1M-row download ({fmt}), rows/s", rate, at_least=50_000, digits=0)
            ok &= check(name, f"1M-row download ({fmt}), peak RSS", peak, at_most=200, unit=" MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
