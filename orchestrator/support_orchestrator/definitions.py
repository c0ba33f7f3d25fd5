"""Dagster definitions for a Meltano project: every tap-and-account pipeline, found in it.

- one job per pipeline (`run_tap_dixa__acme`: `meltano run tap-dixa--acme <loader>`), to run or
  schedule one account on its own;
- `fanout`: every pipeline at once, as independent ops on Dagster's multiprocess executor,
  at most `max_concurrent` at a time and at most `limit` per vendor (ops are tagged `vendor`);
  both are run config of the executor, so a run may change them without new code;
- a nightly schedule of `fanout` and of each pipeline's job (stopped until you start one).

A failed pipeline is retried by RETRY_POLICY; one that lost a race to create its tap's schema
or tables (accounts of a tap starting together on an empty warehouse) runs again at once,
within its step (CREATE_RACE). A pipeline Meltano refuses to start because a
run of it is already going (same state id: another worker, another machine) fails at once,
without retries: the running one owns its state. Meltano's system database
(`MELTANO_DATABASE_URI`, on PostgreSQL) holds every pipeline's state and that record of
running jobs, for every worker.

Settings, from the environment of the code location:
  MELTANO_PROJECT_ROOT           the Meltano project (default: the working directory)
  SUPPORT_ORCHESTRATOR_LOADER    the loader every pipeline runs into (default: target-postgres)
  SUPPORT_ORCHESTRATOR_MELTANO   the `meltano` executable (default: beside this Python, or PATH)

    dagster dev -m support_orchestrator.definitions
    dagster job execute -m support_orchestrator.definitions -j fanout
"""

import collections
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import typing as t
from pathlib import Path

from dagster import (
    Backoff,
    Config,
    DefaultScheduleStatus,
    Definitions,
    Failure,
    Jitter,
    OpDefinition,
    OpExecutionContext,
    RetryPolicy,
    ScheduleDefinition,
    job,
    multiprocess_executor,
    op,
)

from support_orchestrator.project import Pipeline, pipelines, project_root

#: Meltano's words when a run of the same state id is going (meltano run, 4.x).
ALREADY_RUNNING = "pipeline is already running"
#: Retries of a failed pipeline: the taps already retry each request (429, 5xx, timeouts)
#: within a run, so a run that fails has met something longer (an outage, a deploy): wait
#: minutes, not seconds. Each retry resumes from the pipeline's last state.
RETRY_POLICY = RetryPolicy(
    max_retries=2, delay=120, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
#: What PostgreSQL says to the loser when accounts of one tap, starting together on an empty
#: warehouse, create the tap's schema or tables at the same moment (target-postgres's CREATE
#: SCHEMA/TABLE IF NOT EXISTS race on the catalogue's unique indexes). The winner has created
#: them, so the loser runs again at once (it resumes from its state) rather than waiting for
#: RETRY_POLICY's minutes.
CREATE_RACE = re.compile(r"UniqueViolation.*(pg_namespace_nspname_index|pg_type_typname_nsp_index)")
#: Immediate runs after a lost race (a third loss is left to RETRY_POLICY), each after a short
#: random pause so that two losers do not meet again.
CREATE_RACE_RERUNS = 2
CREATE_RACE_PAUSE = (1.0, 5.0)
#: Defaults of `fanout`'s executor; a run's config may change both.
MAX_CONCURRENT = 4
PER_VENDOR = 2
#: How long a stopped pipeline gets to end its run (the taps write a last state on SIGTERM).
STOP_GRACE_SECONDS = 60
#: Lines of a failed run's output quoted in the failure.
TAIL_LINES = 40


class PipelineConfig(Config):
    #: `meltano run --force`: after a worker died mid-run, Meltano counts the run as going
    #: for 5 minutes (until its heartbeat is stale); an operator who knows it is dead sets this.
    force: bool = False


def meltano_executable() -> str:
    configured = os.environ.get("SUPPORT_ORCHESTRATOR_MELTANO")
    if configured:
        return configured
    beside = Path(sys.executable).parent / "meltano"
    return str(beside) if beside.exists() else (shutil.which("meltano") or "meltano")


def loader() -> str:
    return os.environ.get("SUPPORT_ORCHESTRATOR_LOADER") or "target-postgres"


def run_pipeline(pipeline: Pipeline, *, force: bool, log: t.Callable[[str], None]) -> None:
    """`meltano run` of `pipeline`; its output to stdout (Dagster keeps it as the step's log).

    A run that lost the race to create its tap's schema or tables (CREATE_RACE) runs again at
    once, up to CREATE_RACE_RERUNS times.

    Raises Failure: retriable, quoting the end of the output, or not retriable when Meltano
    refused the run because the same pipeline is running.
    """
    for rerun in range(CREATE_RACE_RERUNS + 1):
        code, output, raced = _meltano_run(pipeline, force=force, log=log)
        if code == 0:
            return
        if rerun == CREATE_RACE_RERUNS or not raced:
            break
        pause = random.uniform(*CREATE_RACE_PAUSE)
        log(
            f"{pipeline.extractor}: another pipeline created the same schema or table at the "
            f"same moment (PostgreSQL's UniqueViolation); running again in {pause:.0f} s, "
            "from the pipeline's state"
        )
        time.sleep(pause)
    if ALREADY_RUNNING in output:
        raise Failure(
            description=(
                f"{pipeline.extractor}: refused, a run of this pipeline is already going "
                "(Meltano's record of running jobs); not retried"
            ),
            allow_retries=False,
        )
    raise Failure(
        description=f"{pipeline.extractor}: `meltano run` exited {code}",
        metadata={"output": output},
    )


def _meltano_run(
    pipeline: Pipeline, *, force: bool, log: t.Callable[[str], None]
) -> tuple[int, str, bool]:
    """One `meltano run`: its exit status, the last TAIL_LINES of its output, and whether it
    lost a race to create its schema or tables (CREATE_RACE, in any line)."""
    command = [meltano_executable(), "run", *(["--force"] if force else []), pipeline.extractor]
    command.append(loader())
    log(f"{' '.join(command)} (project {project_root()})")
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    process = subprocess.Popen(
        command,
        cwd=project_root(),
        env=pipeline.environment(dict(os.environ)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    try:
        assert process.stdout is not None
        raced = False
        for line in process.stdout:
            sys.stdout.write(line)
            tail.append(line.rstrip("\n"))
            raced = raced or CREATE_RACE.search(line) is not None
        code = process.wait()
    finally:
        if process.poll() is None:  # the step was stopped (run terminated): stop meltano too
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return code, "\n".join(tail), raced


def pipeline_op(pipeline: Pipeline) -> OpDefinition:
    @op(
        name=pipeline.name,
        description=f"meltano run {pipeline.extractor} <loader>",
        tags={"vendor": pipeline.tap, "account": pipeline.account},
        retry_policy=RETRY_POLICY,
    )
    def run(context: OpExecutionContext, config: PipelineConfig) -> None:
        run_pipeline(pipeline, force=config.force, log=context.log.info)

    return run


def build(root: Path) -> Definitions:
    found = pipelines(root)
    ops = [pipeline_op(p) for p in found]
    fanout_executor = multiprocess_executor.configured(
        {
            "max_concurrent": MAX_CONCURRENT,
            "tag_concurrency_limits": [
                {"key": "vendor", "value": {"applyLimitPerUniqueValue": True}, "limit": PER_VENDOR}
            ],
        }
    )

    @job(
        name="fanout",
        description="Every pipeline of the Meltano project, in parallel, limited per vendor.",
        executor_def=fanout_executor,
    )
    def fanout() -> None:
        for run in ops:
            run()

    singles = [
        job(name=f"run_{p.name}", description=f"meltano run {p.extractor}", tags={"vendor": p.tap})(
            _single(run)
        )
        for p, run in zip(found, ops, strict=True)
    ]
    # Nightly, stopped until started: `fanout` (one machine), or each pipeline's own job (many
    # machines: each run goes where the instance's run launcher puts it).
    nightly = [
        ScheduleDefinition(
            name=f"nightly_{each.name}",
            job=each,
            cron_schedule="0 1 * * *",
            default_status=DefaultScheduleStatus.STOPPED,
        )
        for each in (fanout, *singles)
    ]
    return Definitions(jobs=[fanout, *singles], schedules=nightly)


def _single(run: OpDefinition) -> t.Callable[[], None]:
    def graph() -> None:
        run()

    return graph


defs = build(project_root())
