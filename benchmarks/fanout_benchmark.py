"""The orchestrated fan-out: 15 pipelines (five taps × three accounts) in parallel against one
after another (a benchmark: it prints figures).

Both runs are the orchestrator's `fanout` job (scripts/fanout.py sets up PostgreSQL, one
simulator per account and the Meltano project), first with `max_concurrent` 1, then with the
given concurrency; each run loads into a fresh warehouse and a fresh Meltano system database
(no state: both start from nothing). The target: parallel at least twice as fast as serial
on two cores (most of a pipeline's wall time is waiting: Meltano's start-up aside, the
simulators' answers and the target's commits).

    python benchmarks/fanout_benchmark.py [--accounts 3] [--max-concurrent 4] [--per-vendor 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from fanout import (  # noqa: E402
    SIMULATORS,
    dagster_job,
    embedded_postgres,
    environment,
    fanout_config,
    install,
    simulated_accounts,
    write_project,
)

TARGET_SPEEDUP = 2.0


def timed_run(accounts_per_tap: int, max_concurrent: int, per_vendor: int) -> float:
    with (
        tempfile.TemporaryDirectory() as folder,
        embedded_postgres() as pg,
        simulated_accounts(SIMULATORS, accounts_per_tap) as accounts,
    ):
        project = write_project(Path(folder) / "project", accounts)
        env = environment(project, pg, accounts)
        started = time.monotonic()
        run = dagster_job(
            env,
            "fanout",
            fanout_config(max_concurrent, per_vendor),
            log=Path(folder) / "fanout.log",
        )
        seconds = time.monotonic() - started
        if run.returncode != 0:
            tail = (Path(folder) / "fanout.log").read_text()[-3000:]
            raise SystemExit(f"the fan-out failed (exit {run.returncode}):\n{tail}")
        return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3, help="accounts per tap")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--per-vendor", type=int, default=2)
    args = parser.parse_args()
    pipelines = args.accounts * len(SIMULATORS)
    with tempfile.TemporaryDirectory() as folder, embedded_postgres() as pg:
        install(environment(Path(folder), pg, []))
    serial = timed_run(args.accounts, 1, 1)
    parallel = timed_run(args.accounts, args.max_concurrent, args.per_vendor)
    print(f"{pipelines} pipelines, one after another:  {serial:6.0f} s")
    print(
        f"{pipelines} pipelines, in parallel (max_concurrent {args.max_concurrent}, "
        f"{args.per_vendor} per vendor): {parallel:6.0f} s"
    )
    speedup = serial / parallel
    verdict = "meets" if speedup >= TARGET_SPEEDUP else "misses"
    print(f"speed-up {speedup:.1f}x (target: at least {TARGET_SPEEDUP:.1f}x: {verdict} it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
