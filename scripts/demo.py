"""The demo (`make demo`): every tap, against its simulator, into DuckDB; then what landed.

1. installs the extractors and target-duckdb with Meltano (from this repository, no Hub);
2. starts the vendor simulators, each on a free port (so the demo runs beside simulators a user
   started with `support-simulators serve`, and beside the tests), and points the `simulators`
   environment of meltano.yml at them (environment variables override its URLs);
3. runs `meltano run --full-refresh <tap> target-duckdb` for each tap;
4. stops the simulators and prints the rows per table.

Quiet by default: one line per tap (its outcome, records, requests, retries), the
warnings of the run, and the tables loaded; the full output of every command goes to
output/logs/. `--verbose` (`make demo VERBOSE=1`) shows it all as it happens.

    python scripts/demo.py [--duckdb PATH] [--logs DIR] [--taps tap-thena ...] [--summary out.json]
                           [--verbose]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

from support_simulators.registry import DEMO_PORTS, available, simulator_class
from support_taps.progress import spoken_duration

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: Which simulator serves which tap.
SIMULATOR_OF = {
    "tap-thena": "thena",
    "tap-thankful": "thankful",
    "tap-dixa": "dixa",
    "tap-xenioo": "xenioo",
    "tap-khoros-care": "khoros",
}


def demo_taps() -> list[str]:
    """Extractors declared in meltano.yml whose simulator is installed, in file order."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    declared = [p["name"] for p in project["plugins"]["extractors"]]
    sims = set(available())
    return [name for name in declared if SIMULATOR_OF.get(name) in sims]


def simulator_config(tap: str) -> dict:
    """The tap's config in the `simulators` environment of meltano.yml."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    env = next(e for e in project["environments"] if e["name"] == "simulators")
    return next(p for p in env["config"]["plugins"]["extractors"] if p["name"] == tap).get(
        "config", {}
    )


def simulator_urls(process: subprocess.Popen, names: list[str]) -> dict[str, str]:
    """Each simulator's URL, as `support-simulators serve` prints it once it listens."""
    urls = {}
    for _ in names:
        line = process.stdout.readline() if process.stdout else ""
        match = _LISTENING.match(line.strip())
        if not match:
            raise SystemExit("The simulators did not start; see the log above.")
        urls[match["name"]] = match["url"]
    return urls


def url_settings(tap: str, url: str) -> dict[str, str]:
    """Environment variables pointing the tap's `simulators` config at its simulator's `url`:
    each setting there that names the simulator's demo URL."""
    demo_url = f"http://127.0.0.1:{DEMO_PORTS[SIMULATOR_OF[tap]]}"
    prefix = tap.upper().replace("-", "_")
    return {
        f"{prefix}_{name.upper()}": value.replace(demo_url, url)
        for name, value in simulator_config(tap).items()
        if isinstance(value, str) and value.startswith(demo_url)
    }


_LISTENING = re.compile(r"^(?P<name>\w+) simulator listening on (?P<url>http://\S+)$")
#: Where the quiet demo writes the full output of each command, by default.
LOGS = ROOT / "output" / "logs"
_WARNING = re.compile(
    r"\bWARNING\b|level=warning|\[warning\s*\]|\"level\": ?\"warning\"", re.IGNORECASE
)
_TOTALS = re.compile(
    r"Run (?P<outcome>\w+): (?P<streams>\d+) streams, (?P<records>[\d,]+) records, "
    r"(?P<requests>[\d,]+) requests, (?P<retries>[\d,]+) retries"
)
#: A line Meltano parsed from a tap's structured log: time, level, plugin, message, key=value...
_MELTANO_WARNING = re.compile(
    r"^\S+\s+\[warning\s*\]\s+(?P<plugin>\S+)\s+(?P<message>.*?)(\s+\w+=\S+)*$"
)
_MAX_WARNINGS = 8


def meltano(*args: str, env: dict, verbose: bool = True, log: Path | None = None) -> str:
    """Run a meltano command; verbose: its output as it comes; quiet: into `log`, returned."""
    command = [str(BIN / "meltano"), *args]
    if verbose:
        print("+ meltano " + " ".join(args), flush=True)
        subprocess.run(command, cwd=ROOT, env=env, check=True)
        return ""
    assert log is not None
    log.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    log.write_text(done.stdout)
    if done.returncode != 0:
        tail = "\n".join(done.stdout.splitlines()[-25:])
        print(
            f"  `meltano {' '.join(args)}` failed; the last lines of {log}:\n{tail}",
            file=sys.stderr,
        )
        raise subprocess.CalledProcessError(done.returncode, command)
    return done.stdout


def tap_outcome(tap: str, output: str, seconds: float) -> str:
    """The quiet demo's line for one pipeline, from the tap's end-of-run summary."""
    totals = _TOTALS.search(output)
    if not totals:
        return f"{tap}: loaded in {spoken_duration(seconds)}"
    return (
        f"{tap}: {totals['outcome']} in {spoken_duration(seconds)}, "
        f"{totals['records']} records from {totals['streams']} streams, "
        f"{totals['requests']} requests, {totals['retries']} retries"
    )


def warnings_in(output: str) -> list[str]:
    """The warning lines of a run's output, each once, in order (Meltano's time stamp and
    plugin name taken off the lines it parsed from the tap's structured log)."""
    seen: dict[str, None] = {}
    for line in output.splitlines():
        if _WARNING.search(line):
            parsed = _MELTANO_WARNING.match(line.strip())
            shown = f"{parsed['plugin']}: {parsed['message']}" if parsed else line.strip()
            seen.setdefault(shown, None)
    return list(seen)


def labelled(tap: str, warning: str) -> str:
    """A warning the tap's simulator causes on purpose, with why (see `deliberate_oddities`)."""
    for pattern, why in simulator_class(SIMULATOR_OF[tap]).deliberate_oddities:
        if re.search(pattern, warning):
            return f"{warning} [on purpose: {why}]"
    return warning


def table_counts(path: Path) -> dict[str, int]:
    import duckdb

    counts = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog', 'main') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            counts[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duckdb", type=Path, default=ROOT / "output" / "warehouse.duckdb")
    parser.add_argument(
        "--logs", type=Path, default=LOGS, help="where the quiet demo writes each command's output"
    )
    parser.add_argument("--taps", nargs="*", help="default: every tap with a simulator")
    parser.add_argument("--summary", type=Path, help="write the row counts here as JSON")
    parser.add_argument(
        "--verbose", action="store_true", help="show the output of every command as it comes"
    )
    args = parser.parse_args(argv)
    verbose, logs = args.verbose, args.logs

    taps = args.taps or demo_taps()
    args.duckdb.parent.mkdir(parents=True, exist_ok=True)
    for stale in (args.duckdb, args.duckdb.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    env = {
        **os.environ,
        "TARGET_DUCKDB_FILEPATH": str(args.duckdb.resolve()),
        "MELTANO_ENVIRONMENT": "simulators",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }

    if not verbose:
        print(
            f"Installing {', '.join(taps)} and target-duckdb with Meltano "
            f"(log: {logs / 'install.log'})...",
            flush=True,
        )
    meltano("install", *taps, "target-duckdb", env=env, verbose=verbose, log=logs / "install.log")

    names = [SIMULATOR_OF[tap] for tap in taps]
    logs.mkdir(parents=True, exist_ok=True)
    sim_log = None if verbose else (logs / "simulators.log").open("w")
    simulators = subprocess.Popen(
        [sys.executable, "-m", "support_simulators", "serve", *(f"{name}:0" for name in names)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=sim_log,
        text=True,
    )
    failed = []
    try:
        urls = simulator_urls(simulators, names)
        if verbose:
            for name, url in urls.items():
                print(f"{name} simulator listening on {url}", flush=True)
        for tap in taps:
            env.update(url_settings(tap, urls[SIMULATOR_OF[tap]]))
        for tap in taps:
            started = time.monotonic()
            try:
                output = meltano(
                    "run",
                    "--full-refresh",
                    tap,
                    "target-duckdb",
                    env=env,
                    verbose=verbose,
                    log=logs / f"{tap}.log",
                )
            except subprocess.CalledProcessError:
                failed.append(tap)
                if not verbose:
                    print(f"{tap}: FAILED (log: {logs / f'{tap}.log'})", flush=True)
                continue
            if not verbose:
                print(tap_outcome(tap, output, time.monotonic() - started), flush=True)
                found = warnings_in(output)
                for line in found[:_MAX_WARNINGS]:
                    print(f"  warning: {labelled(tap, line)}")
                if len(found) > _MAX_WARNINGS:
                    more = len(found) - _MAX_WARNINGS
                    print(f"  ... {more} more warnings in {logs / f'{tap}.log'}")
    finally:
        simulators.terminate()
        simulators.wait(timeout=30)
        if sim_log is not None:
            sim_log.close()

    counts = table_counts(args.duckdb) if args.duckdb.exists() else {}
    print(f"\nWhat landed in {args.duckdb}:")
    width = max([len(t) for t in counts] + [10])
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>9,} rows")
    if args.summary:
        args.summary.write_text(json.dumps({"tables": counts, "failed": failed}, indent=2))
    if failed:
        where = "the log above" if verbose else f"the logs in {logs}"
        print(f"\nThese pipelines failed: {', '.join(failed)} (see {where}).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
