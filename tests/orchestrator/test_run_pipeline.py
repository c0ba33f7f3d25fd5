"""How a pipeline's step runs `meltano run` (support_orchestrator.definitions.run_pipeline),
against a stand-in `meltano` that answers as a script says."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from dagster import Failure

from support_orchestrator import definitions
from support_orchestrator.project import Pipeline

#: psycopg's words when target-postgres loses the race to create a schema.
LOST_RACE = (
    "psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "
    '"pg_namespace_nspname_index"'
)


@pytest.fixture
def meltano(tmp_path, monkeypatch):
    """A `meltano` that prints and exits as answers[n] says on its n-th call, and counts."""
    answers_file, calls = tmp_path / "answers", tmp_path / "calls"
    script = tmp_path / "meltano"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, pathlib, sys\n"
        f"calls = pathlib.Path({str(calls)!r})\n"
        "n = len(calls.read_text().splitlines()) if calls.exists() else 0\n"
        "with calls.open('a') as log:\n"
        "    log.write(' '.join(sys.argv[1:]) + '\\n')\n"
        f"text, code = json.loads(pathlib.Path({str(answers_file)!r}).read_text())[n]\n"
        "print(text)\n"
        "sys.exit(code)\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("SUPPORT_ORCHESTRATOR_MELTANO", str(script))
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setattr(definitions, "CREATE_RACE_PAUSE", (0.0, 0.01))

    def answer(*answers: tuple[str, int]) -> Path:
        answers_file.write_text(json.dumps(answers))
        return calls

    return answer


def _run(force: bool = False) -> list[str]:
    logged: list[str] = []
    definitions.run_pipeline(Pipeline("tap-dixa--acme", "tap-dixa"), force=force, log=logged.append)
    return logged


def test_a_run_that_lost_the_race_to_create_its_schema_runs_again_at_once(meltano):
    calls = meltano(
        (f"Traceback...\n{LOST_RACE}\nDETAIL: Key (nspname)=(tap_dixa) exists.", 1), ("", 0)
    )
    logged = _run()
    assert calls.read_text().splitlines() == ["run tap-dixa--acme target-postgres"] * 2
    assert any("created the same schema or table at the same moment" in line for line in logged)


def test_a_race_lost_three_times_is_left_to_the_retry_policy(meltano):
    calls = meltano(*[(LOST_RACE, 1)] * 4)
    with pytest.raises(Failure) as failure:
        _run()
    assert len(calls.read_text().splitlines()) == definitions.CREATE_RACE_RERUNS + 1
    assert failure.value.allow_retries is not False
    assert "`meltano run` exited 1" in failure.value.description


def test_any_other_failure_is_not_run_again_in_the_step(meltano):
    calls = meltano(("ERROR tap-dixa: Dixa refused the API token (HTTP 401)", 1), ("", 0))
    with pytest.raises(Failure):
        _run()
    assert len(calls.read_text().splitlines()) == 1


def test_a_pipeline_already_running_is_refused_and_not_retried(meltano):
    calls = meltano(("Another 'x' pipeline is already running", 1))
    with pytest.raises(Failure) as failure:
        _run()
    assert failure.value.allow_retries is False
    assert len(calls.read_text().splitlines()) == 1
