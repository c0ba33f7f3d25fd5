"""The demo (`make demo`): every tap, against its simulator, into DuckDB; then what landed.

1. installs the extractors and target-duckdb with Meltano (from this repository, no Hub);
2. starts the vendor simulators on their demo ports (see meltano.yml, environment `simulators`);
3. runs `meltano run --full-refresh <tap> target-duckdb` for each tap;
4. stops the simulators and prints the rows per table.

    python scripts/demo.py [--duckdb PATH] [--taps tap-thena ...] [--summary out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

from support_simulators.registry import DEMO_PORTS, available

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
    return next(p for p in env["config"]["plugins"]["extractors"] if p["name"] == tap).get("config", {})


def wait_for_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"The simulator on port {port} did not start within {seconds:.0f}s.")


def meltano(*args: str, env: dict) -> None:
    command = [str(BIN / "meltano"), *args]
    print("+ meltano " + " ".join(args), flush=True)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def table_counts(path: Path) -> dict[str, int]:
    import duckdb

    counts = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('information_schema', 'pg_catalog', 'main') order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            counts[f"{schema}.{table}"] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duckdb", type=Path, default=ROOT / "output" / "warehouse.duckdb")
    parser.add_argument("--taps", nargs="*", help="default: every tap with a simulator")
    parser.add_argument("--summary", type=Path, help="write the row counts here as JSON")
    args = parser.parse_args(argv)

    taps = args.taps or demo_taps()
    args.duckdb.parent.mkdir(parents=True, exist_ok=True)
    for stale in (args.duckdb, args.duckdb.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    env = {**os.environ, "TARGET_DUCKDB_FILEPATH": str(args.duckdb.resolve()),
           "MELTANO_ENVIRONMENT": "simulators", "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}

    meltano("install", *taps, "target-duckdb", env=env)

    names = [SIMULATOR_OF[tap] for tap in taps]
    for name in names:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", DEMO_PORTS[name])) == 0:
                raise SystemExit(f"Port {DEMO_PORTS[name]} for the {name} simulator is already in use "
                                 "(another demo or simulator running?); stop it and try again.")
    simulators = subprocess.Popen([sys.executable, "-m", "support_simulators", "serve", *names],
                                  cwd=ROOT, env=env)
    failed = []
    try:
        for name in names:
            wait_for_port(DEMO_PORTS[name])
        if simulators.poll() is not None:
            raise SystemExit("The simulators exited before the pipelines ran; see the log above.")
        for tap in taps:
            try:
                meltano("run", "--full-refresh", tap, "target-duckdb", env=env)
            except subprocess.CalledProcessError:
                failed.append(tap)
    finally:
        simulators.terminate()
        simulators.wait(timeout=30)

    counts = table_counts(args.duckdb) if args.duckdb.exists() else {}
    print(f"\nWhat landed in {args.duckdb}:")
    width = max([len(t) for t in counts] + [10])
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>9,} rows")
    if args.summary:
        args.summary.write_text(json.dumps({"tables": counts, "failed": failed}, indent=2))
    if failed:
        print(f"\nThese pipelines failed: {', '.join(failed)} (see the log above).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
