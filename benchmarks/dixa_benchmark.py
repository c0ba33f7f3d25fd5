"""tap-dixa benchmark: a paced backfill against Dixa's rate limit, and raw throughput.

1. Backfill: `tap-dixa` (its CLI, every stream) against the simulator enforcing Dixa's limit of
   10 requests/s with bursts of 4. Prints the wall time beside the floor that limit sets for the
   same number of requests, (requests - 4) / 10 s: no client can be faster. Target: within 1.3x.
2. Exports backfill: a year of `conversations` and `messages` (only those selected), beside the
   floor: the fewest requests Dixa's 31-day rule allows, timed as a plain requests+json loop, or
   the rate limit's floor for them, whichever is longer. Target: within 1.2x.
3. Throughput: the record streams only, with the simulator's rate limit and the tap's pacer off,
   beside a plain loop (requests + json, the same POSTs and pages, fields flattened to values) over
   the same data. Prints records per second for both.

    .venv/bin/python benchmarks/dixa_benchmark.py [--days 30] [--throughput-days 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from served import Served, served
from verdict import check

from support_simulators.dixa.catalogue import RECORDS
from support_simulators.dixa.simulator import RATE_BURST, RATE_LIMIT, DixaSimulator
from support_simulators.framework import Faults

TOKEN = "benchmark-token"
START = dt.date(2025, 3, 3)


def tap_config(sim: Served, start: dt.date, end: dt.date, **settings: object) -> dict:
    """The tap's settings for [start, end) against `sim` (both of its APIs)."""
    return {
        "api_token": TOKEN,
        "api_url": sim.url,
        "exports_api_url": sim.url,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        **settings,
    }


def tap_dixa(tmp: str, *args: str) -> Path:
    """`tap-dixa` (its CLI) with the config in `tmp` and `args`; the file its output went to.

    A file, not a pipe: reading a pipe would take this process's time (and the time of the
    simulator, were it served from here), where a real target reads elsewhere."""
    output, errors = Path(tmp, "output.jsonl"), Path(tmp, "stderr.log")
    with output.open("wb") as stdout, errors.open("wb") as stderr:
        done = subprocess.run(
            [sys.executable, "-m", "tap_dixa", "--config", f"{tmp}/config.json", *args],
            stdout=stdout,
            stderr=stderr,
            check=False,
        )
    if done.returncode != 0:
        sys.exit(f"tap-dixa failed:\n{errors.read_text()[-2000:]}")
    return output


def records_in(output: Path) -> int:
    """The RECORD messages in a tap's output."""
    with output.open("rb") as lines:
        return sum(1 for line in lines if line.startswith(b'{"type":"RECORD"'))


def backfill(days: int) -> float:
    with served(lambda: DixaSimulator(api_token=TOKEN)) as sim:
        end = START + dt.timedelta(days=days)
        config = tap_config(sim, START, end, timezone="Europe/Copenhagen")
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "config.json").write_text(json.dumps(config))
            started = time.perf_counter()
            output = tap_dixa(tmp)
            wall = time.perf_counter() - started
            records = records_in(output)
        requests_made = sim.requests_made()
        refused = sim.requests_made(status=429)
    floor = max(0, requests_made - RATE_BURST) / RATE_LIMIT
    print(
        f"Backfill of {days} days, every stream: {records} records in {requests_made} requests "
        f"({refused} answered 429)."
    )
    print(
        f"  wall time {wall:.1f}s (process start included); rate-limit floor {floor:.1f}s; "
        f"ratio {wall / floor:.2f}x"
    )
    return wall / floor


EXPORT_START = dt.date(2024, 3, 1)


def export_plain_loop(url: str, start: dt.date, end: dt.date) -> tuple[int, int]:
    """The fewest requests Dixa's 31-day rule allows for conversations and messages over
    [start, end), with nothing but requests and json: (requests, objects)."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    low = int(dt.datetime.combine(start, dt.time(), dt.timezone.utc).timestamp() * 1000)
    high = int(dt.datetime.combine(end, dt.time(), dt.timezone.utc).timestamp() * 1000)
    span = 31 * 86_400_000 - 1
    made = objects = 0
    for path in ("/v1/conversation_export", "/v1/message_export"):
        after = low
        while after < high:
            before = min(after + span, high)
            field = "created" if path == "/v1/message_export" else "updated"
            params = {f"{field}_after": after - 1, f"{field}_before": before}
            objects += len(session.get(f"{url}{path}", params=params).json())
            made += 1
            after = before
    return made, objects


def export_backfill(days: int, repeat: int) -> tuple[float, float]:
    """One year (by default) of conversations and messages through the Exports API: the
    median of `repeat` runs, each timed beside a plain loop run just before it (so that other
    load on the machine hits both alike)."""
    end = EXPORT_START + dt.timedelta(days=days)
    with served(lambda: DixaSimulator(api_token=TOKEN)) as sim:
        config = tap_config(sim, EXPORT_START, end)
        minimum, _ = export_plain_loop(
            sim.url, EXPORT_START, end
        )  # also warms the simulator's cache
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "config.json").write_text(json.dumps(config))
            catalog = json.loads(tap_dixa(tmp, "--discover").read_text())
            for stream in catalog["streams"]:
                for entry in stream["metadata"]:
                    if entry["breadcrumb"] == []:
                        entry["metadata"]["selected"] = stream["tap_stream_id"] in (
                            "conversations",
                            "messages",
                        )
            Path(tmp, "catalog.json").write_text(json.dumps(catalog))
            pairs = []
            for _ in range(repeat):
                started = time.perf_counter()
                export_plain_loop(sim.url, EXPORT_START, end)
                plain = time.perf_counter() - started
                sim.reset()
                started = time.perf_counter()
                output = tap_dixa(tmp, "--catalog", f"{tmp}/catalog.json")
                pairs.append((time.perf_counter() - started, plain))
            wall, plain = sorted(pairs, key=lambda pair: pair[0] / pair[1])[len(pairs) // 2]
            records = records_in(output)
        made = sim.requests_made()
    started = time.perf_counter()  # what any run costs before its first request
    subprocess.run([sys.executable, "-m", "tap_dixa", "--about"], capture_output=True, check=True)
    startup = time.perf_counter() - started
    rate_floor = max(0, made - RATE_BURST) / RATE_LIMIT
    floor = max(rate_floor, plain)
    print(
        f"Exports backfill of {days} days, conversations + messages (median of {repeat} runs, "
        f"each beside a plain loop run): {records} records "
        f"in {made} requests "
        f"(the 31-day rule allows no fewer than {minimum})."
    )
    print(
        f"  wall time {wall:.1f}s (process start included); floor {floor:.1f}s = max(rate limit "
        f"{rate_floor:.1f}s, the same {minimum} requests with a plain loop {plain:.1f}s); "
        f"ratio {wall / floor:.2f}x;"
    )
    print(
        f"  without the {startup:.1f}s process start (`tap-dixa --about`): {wall - startup:.1f}s, "
        f"ratio {(wall - startup) / floor:.2f}x"
    )
    return wall / floor, (wall - startup) / floor


def _flatten(row: dict) -> dict:
    out = {"primary_timestamp": row["primaryTimestampField"]["timestamp"]}
    for item in row["fields"]:
        field = item["field"]
        out[item["name"]] = field.get("value", field.get("values", field.get("timestamp")))
        if "label" in field:
            out[item["name"] + "_label"] = field["label"]
    return out


def plain_loop(url: str, start: dt.date, end: dt.date, page_limit: int) -> int:
    """The same record queries as the tap (7-day windows, every page), with nothing but requests."""
    session = requests.Session()
    session.headers["Authorization"] = TOKEN
    count = 0
    for record_id in RECORDS:
        day = start
        while day < end:
            upper = min(day + dt.timedelta(days=7), end)
            body = {
                "id": record_id,
                "timezone": "UTC",
                "filters": [],
                "periodFilter": {
                    "_type": "Interval",
                    "start": f"{day}T00:00:00Z",
                    "end": f"{upper}T00:00:00Z",
                },
            }
            params: dict = {"pageLimit": page_limit}
            while True:
                payload = session.post(
                    f"{url}/v1/analytics/records", json=body, params=params
                ).json()
                for row in payload["data"]:
                    _flatten(row)
                    count += 1
                following = (payload.get("meta") or {}).get("next")
                if not following:
                    break
                params = {**dict(parse_qsl(urlsplit(following).query)), "pageLimit": page_limit}
            day = upper
    return count


def throughput(days: int, repeat: int) -> float:
    """Records/s of the tap beside the plain loop: the median of `repeat` interleaved pairs."""
    from tap_dixa.tap import TapDixa

    page_limit = 1000
    end = START + dt.timedelta(days=days)
    with served(
        lambda: DixaSimulator(
            api_token=TOKEN, conversations_per_day=400, faults=Faults(rate_limit=0)
        )
    ) as sim:
        # Warm the simulator's per-day cache so both sides are served at the same speed.
        plain_loop(sim.url, START, end, page_limit)

        config = tap_config(sim, START, end, page_limit=page_limit)
        TapDixa.requests_per_second = None  # measure the tap, not its pacing
        catalog = TapDixa(config=config).catalog_dict
        for stream in catalog["streams"]:
            for entry in stream["metadata"]:
                if entry["breadcrumb"] == []:
                    entry["metadata"]["selected"] = (
                        stream["tap_stream_id"].startswith("records_")
                        and stream["tap_stream_id"] != "records_catalogue"
                    )
        pairs = []
        for _ in range(repeat):
            started = time.perf_counter()
            plain = plain_loop(sim.url, START, end, page_limit)
            plain_seconds = time.perf_counter() - started
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # the tap writes Singer messages to stdout
            try:
                tap = TapDixa(config=config, catalog=catalog)
                started = time.perf_counter()
                tap.sync_all()
                pairs.append((time.perf_counter() - started, plain_seconds))
            finally:
                sys.stdout.flush()
                os.dup2(saved, 1)
                os.close(devnull)
        tap_seconds, plain_seconds = sorted(pairs, key=lambda pair: pair[1] / pair[0])[
            len(pairs) // 2
        ]
    print(
        f"Throughput, record streams only, no rate limit, {plain} records over {days} days "
        f"(median of {repeat} interleaved runs):"
    )
    print(f"  tap-dixa   {plain / tap_seconds:9.0f} records/s ({tap_seconds:.1f}s)")
    print(f"  plain loop {plain / plain_seconds:9.0f} records/s ({plain_seconds:.1f}s)")
    return plain_seconds / tap_seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=30, help="days in the paced backfill")
    parser.add_argument(
        "--throughput-days", type=int, default=30, help="days in the throughput comparison"
    )
    parser.add_argument(
        "--export-days", type=int, default=365, help="days in the Exports API backfill"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of the timed comparisons")
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    paced = backfill(args.days)
    exports, _ = export_backfill(args.export_days, args.repeat)
    records = throughput(args.throughput_days, args.repeat)
    print()
    ok = check("tap-dixa", f"{args.days}-day backfill, wall / rate-limit floor", paced, at_most=1.3)
    ok &= check(
        "tap-dixa",
        f"exports, {args.export_days} days, wall / floor, process start included",
        exports,
        at_most=1.2,
    )
    ok &= check(
        "tap-dixa", "analytics records, tap / plain loop (records/s)", records, at_least=1.0
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
