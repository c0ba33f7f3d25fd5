"""Deletes reach the warehouse: a tag deleted in Dixa (or an action in Thankful) between two
`meltano run <tap> target-postgres` is hard-deleted in PostgreSQL (target-postgres
`hard_delete: true`) or marked with `_sdc_deleted_at` (its default, soft delete), through the
ACTIVATE_VERSION message the tap sends with `emit_activate_version_messages`; and a run that
fails midway removes nothing.

The same real PostgreSQL and Meltano as test_meltano_postgres.py (tests/kit_postgres.py).
"""

from __future__ import annotations

import typing as t

import pytest
from kit_postgres import failure, meltano_run, table_columns, unique

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import Fault
from support_simulators.thankful import ThankfulSimulator

pytestmark = pytest.mark.slow

TAP = "tap-dixa"
#: Only the lists the test is about (Meltano's select extra, from the environment).
SELECT = '["tags.*", "teams.*", "team_members.*"]'


@pytest.fixture
def dixa():
    with DixaSimulator() as sim:
        yield sim


def _settings(sim: DixaSimulator, **more) -> dict:
    return {
        "api_url": sim.url,
        "exports_api_url": sim.url,
        "end_date": "2025-06-05",
        "emit_activate_version_messages": True,
        **more,
    }


def _run(env: dict, sim: DixaSimulator, schema: str, suffix: str, **settings):
    return meltano_run(
        {**env, "TAP_DIXA__SELECT": SELECT},
        TAP,
        schema=schema,
        suffix=suffix,
        tap_settings=_settings(sim, **settings),
    )


def _rows(postgres, schema: str, table: str, key: str = "id") -> dict[t.Any, object]:
    """key -> `_sdc_deleted_at` of every row in the table."""
    assert "_sdc_deleted_at" in table_columns(postgres, schema, table)
    with postgres.connect("warehouse") as con:
        return dict(
            con.execute(f'select {key}, _sdc_deleted_at from "{schema}"."{table}"').fetchall()
        )


@pytest.mark.parametrize("hard", [True, False], ids=["hard-delete", "soft-delete"])
def test_a_tag_deleted_at_dixa_is_deleted_in_the_warehouse(
    postgres, meltano_env, installed, dixa, hard
):
    schema, suffix = unique("deletes"), unique("job")
    env = {**meltano_env, "TARGET_POSTGRES_HARD_DELETE": "true" if hard else "false"}
    first = _run(env, dixa, schema, suffix)
    assert first.returncode == 0, failure(first)
    tags = _rows(postgres, schema, "tags")
    assert set(tags) == {t["id"] for t in dixa.directory.listing("tags")}
    assert set(tags.values()) == {None}

    gone = sorted(tags)[3]
    dixa.delete("tags", gone)
    member = dixa.directory.team_members(dixa.directory.listing("teams")[0]["id"])[0]["id"]
    dixa.delete("agents", member)  # and with the agent, its team memberships
    second = _run(env, dixa, schema, suffix)
    assert second.returncode == 0, failure(second)

    tags = _rows(postgres, schema, "tags")
    kept = {t["id"] for t in dixa.directory.listing("tags")}
    with postgres.connect("warehouse") as con:
        members = con.execute(
            f'select team_id, id, _sdc_deleted_at from "{schema}"."team_members"'
        ).fetchall()
    listed = {
        (team["id"], m["id"])
        for team in dixa.directory.listing("teams")
        for m in dixa.directory.team_members(team["id"]) or []
    }
    if hard:
        assert set(tags) == kept and set(tags.values()) == {None}
        assert {(team, agent) for team, agent, _ in members} == listed
    else:
        assert set(tags) == kept | {gone}
        assert tags[gone] is not None  # marked deleted, kept for history
        assert {tag for tag, deleted in tags.items() if deleted is None} == kept
        live = {(team, agent) for team, agent, deleted in members if deleted is None}
        assert live == listed
        assert {agent for _, agent, deleted in members if deleted is not None} == {member}


def test_a_run_failing_midway_deletes_nothing(postgres, meltano_env, installed, dixa):
    """The tags in pages of three; the second run fails on its second page, after the first
    page's rows went out. The SDK would have sent ACTIVATE_VERSION before the first row, and
    target-postgres would have deleted every tag then; sent after the last row, it never is."""
    schema, suffix = unique("failed"), unique("job")
    env = {**meltano_env, "TARGET_POSTGRES_HARD_DELETE": "true"}
    first = _run(env, dixa, schema, suffix, page_limit=3)
    assert first.returncode == 0, failure(first)
    everything = set(_rows(postgres, schema, "tags"))
    assert len(everything) == 7

    dixa.faults.add(Fault(status=500, skip=1, path_prefix="/v1/tags"))
    failed = _run(env, dixa, schema, suffix, page_limit=3, max_retries=0)
    assert failed.returncode != 0
    assert "HTTP 500" in failed.stdout + failed.stderr
    assert set(_rows(postgres, schema, "tags")) == everything

    dixa.delete("tags", sorted(everything)[0])
    third = _run(env, dixa, schema, suffix, page_limit=3)
    assert third.returncode == 0, failure(third)
    assert set(_rows(postgres, schema, "tags")) == everything - {sorted(everything)[0]}


@pytest.mark.parametrize("hard", [True, False], ids=["hard-delete", "soft-delete"])
def test_an_action_deleted_at_thankful_is_deleted_in_the_warehouse(
    postgres, meltano_env, installed, hard
):
    schema, suffix = unique("deletes"), unique("job")
    env = {
        **meltano_env,
        "TAP_THANKFUL__SELECT": '["actions.*"]',
        "TARGET_POSTGRES_HARD_DELETE": "true" if hard else "false",
    }
    with ThankfulSimulator() as sim:
        settings = {
            "api_url": f"{sim.url}/api/v1",
            "end_date": "2025-01-03",
            "emit_activate_version_messages": True,
        }

        def run():
            done = meltano_run(
                env, "tap-thankful", schema=schema, suffix=suffix, tap_settings=settings
            )
            assert done.returncode == 0, failure(done)
            return _rows(postgres, schema, "actions", key="action_id")

        listed = {a.id for a in sim.dataset.actions}
        assert run() == dict.fromkeys(listed)
        gone = sorted(listed)[1]
        sim.delete("actions", str(gone))
        actions = run()

    kept = listed - {gone}
    if hard:
        assert actions == dict.fromkeys(kept)
    else:
        assert set(actions) == listed and actions[gone] is not None
        assert {action for action, deleted in actions.items() if deleted is None} == kept
