"""The orchestrator (orchestrator/, Dagster) runs every tap-and-account pipeline of a Meltano
project in parallel into a real PostgreSQL, Meltano's state there too (scripts/fanout.py sets
it up: one simulator per account, each with its own data seed).

- five taps × three accounts, 15 pipelines in one `fanout` run: every key of every account
  lands exactly once, in one table set per tap, and no account's rows carry another's id;
- a pipeline killed mid-run (Dagster, Meltano, tap and target) and run again lands exactly;
- a second run of a pipeline that is running is refused, not retried, and the first lands.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from fanout import (
    LOADER,
    SIMULATORS,
    dagster_job,
    environment,
    fanout_config,
    simulated_accounts,
    write_project,
)
from kit_postgres import landing_problems

pytestmark = pytest.mark.slow


def _schema(tap: str) -> str:
    return tap.replace("-", "_")


def _expected(account) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
    """What the account's simulator served, keyed as the tables are: `_account_id` first."""
    return account.simulator.expected_primary_keys(account.tap_config())


def _landing_problems(postgres, accounts) -> list[str]:
    problems = []
    for account in accounts:
        problems += landing_problems(
            postgres,
            _schema(account.tap),
            _expected(account),
            label=f"{account.plugin} ",
            account=account.name,
        )
    return problems


def _log(path) -> str:
    return path.read_text()[-4000:] if path.exists() else "(no log)"


@pytest.mark.timeout(1800)  # minutes on a busy 2-core machine
def test_fifteen_pipelines_in_parallel_land_every_key_of_every_account_once(
    postgres, installed, tmp_path
):
    with simulated_accounts(SIMULATORS, per_tap=3, prefix="acct") as accounts:
        assert len(accounts) == 15
        for tap in SIMULATORS:  # the seeds make the accounts' data differ: mixing would show
            served = [
                {stream: {key[1:] for key in keys} for stream, (_, keys) in _expected(a).items()}
                for a in accounts
                if a.tap == tap
            ]
            assert served[0] != served[1], f"{tap}: accounts 1 and 2 hold the same data"
        project = write_project(tmp_path / "project", accounts)
        env = environment(project, postgres, accounts)
        run = dagster_job(env, "fanout", fanout_config(6, 3), log=tmp_path / "fanout.log")
        assert run.returncode == 0, _log(tmp_path / "fanout.log")
        problems = _landing_problems(postgres, accounts)
        assert not problems, "; ".join(problems[:20])
        # Every row of a tap's tables belongs to one of the tap's accounts.
        with postgres.connect("warehouse") as con:
            for tap in SIMULATORS:
                names = {a.name for a in accounts if a.tap == tap}
                tables = con.execute(
                    "select table_name from information_schema.columns "
                    "where table_schema = %s and column_name = '_account_id'",
                    (_schema(tap),),
                ).fetchall()
                assert tables, f"{tap}: no table with _account_id"
                for (table,) in tables:
                    found = {
                        row[0]
                        for row in con.execute(
                            f'select distinct _account_id from "{_schema(tap)}"."{table}"'
                        ).fetchall()
                    }
                    assert found <= names, f"{tap}.{table}: rows of {found - names}"


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds}s for {what}"
        time.sleep(0.3)


def _state_id(account) -> str:
    return f"simulators:{account.plugin}-to-{LOADER}"


def _has_bookmark(postgres, account) -> bool:
    with postgres.connect("meltano") as con:
        row = con.execute(
            "select completed_state, partial_state from state where state_id = %s",
            (_state_id(account),),
        ).fetchone()
    return bool(row) and "bookmarks" in str(row)


def _running(postgres, account) -> int:
    with postgres.connect("meltano") as con:
        return con.execute(
            "select count(*) from runs where job_name = %s and state = 'RUNNING'",
            (_state_id(account),),
        ).fetchone()[0]


def test_a_pipeline_killed_midway_and_run_again_lands_every_key_once(postgres, installed, tmp_path):
    with simulated_accounts(["tap-thena"], per_tap=1, prefix="killed") as accounts:
        (account,) = accounts
        account.simulator.faults.latency = 0.3  # a run of some seconds: a middle to kill it in
        project = write_project(tmp_path / "project", accounts)
        env = {**environment(project, postgres, accounts), "TARGET_POSTGRES_BATCH_SIZE_ROWS": "20"}
        job = "run_tap_thena__killed1"
        first = dagster_job(env, job, log=tmp_path / "killed.log", background=True)
        try:
            _wait(
                lambda: first.poll() is not None or _has_bookmark(postgres, account),
                400,
                "a stored state with a bookmark",
            )
            assert first.poll() is None, "ended before the kill:\n" + _log(tmp_path / "killed.log")
            os.killpg(first.pid, signal.SIGKILL)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        account.simulator.faults.latency = 0.0
        # Meltano counts the killed run as going until its heartbeat is stale (5 minutes):
        # the operator who knows it is dead reruns with `force`.
        again = dagster_job(
            env,
            job,
            {"ops": {"tap_thena__killed1": {"config": {"force": True}}}},
            log=tmp_path / "again.log",
        )
        assert again.returncode == 0, _log(tmp_path / "again.log")
        problems = _landing_problems(postgres, accounts)
        assert not problems, "; ".join(problems)


def test_a_second_run_of_a_running_pipeline_is_refused_and_not_retried(
    postgres, installed, tmp_path
):
    with simulated_accounts(["tap-thena"], per_tap=1, prefix="twice") as accounts:
        (account,) = accounts
        account.simulator.faults.latency = 6.0  # the first run lasts while the second starts
        project = write_project(tmp_path / "project", accounts)
        env = environment(project, postgres, accounts)
        job = "run_tap_thena__twice1"
        first = dagster_job(env, job, log=tmp_path / "first.log", background=True)
        try:
            _wait(
                lambda: first.poll() is not None or _running(postgres, account) == 1,
                400,
                "the first run to be recorded as running",
            )
            assert first.poll() is None, _log(tmp_path / "first.log")
            second = dagster_job(env, job, log=tmp_path / "second.log")
            said = (tmp_path / "second.log").read_text()
            assert second.returncode != 0, said[-3000:]
            assert "refused, a run of this pipeline is already going" in said, said[-3000:]
            assert "STEP_UP_FOR_RETRY" not in said
            account.simulator.faults.latency = 0.0
            assert first.wait(timeout=600) == 0, _log(tmp_path / "first.log")
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
                first.wait()
        problems = _landing_problems(postgres, accounts)
        assert not problems, "; ".join(problems)
