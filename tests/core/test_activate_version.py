"""ACTIVATE_VERSION for full-table streams (`emit_activate_version_messages`): sent once per
stream after its last record (and its children's), never before the first, and not at all by
a run that fails; in BATCH mode at the start, as the SDK sends it.

A target acts on ACTIVATE_VERSION at once (target-postgres deletes or marks deleted every row of
an older version): sent first, as the SDK does, a run failing midway would leave the table
without the rows it had not sent again yet. tests/integration/test_deletes_postgres.py shows
what lands in PostgreSQL.
"""

from __future__ import annotations

import json
import typing as t

import pytest
from singer_sdk import typing as th

from support_taps.settings import COMMON_SETTINGS, FULL_TABLE_SETTINGS, START_END_SETTINGS
from support_taps.stream import SupportStream
from support_taps.tap import SupportTap

TEAMS = [{"id": "t1"}, {"id": "t2"}, {"id": "t3"}]
MEMBERS = {"t1": ["a", "b"], "t2": ["c"], "t3": []}


class TeamsStream(SupportStream):
    name = "teams"
    path = "/teams"
    primary_keys = ("id",)
    replication_key = None
    schema: t.ClassVar[dict] = th.PropertiesList(th.Property("id", th.StringType)).to_dict()
    #: Fail after this many records (None: never).
    fail_after: t.ClassVar[int | None] = None

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        for n, team in enumerate(TEAMS):
            if self.fail_after is not None and n == self.fail_after:
                raise RuntimeError("the vendor went away")
            yield dict(team)

    def get_child_context(self, record: dict, context: t.Mapping | None) -> dict:
        return {"team_id": record["id"]}


class TeamMembersStream(SupportStream):
    name = "team_members"
    path = "/teams/{team_id}/agents"
    primary_keys = ("team_id", "id")
    replication_key = None
    parent_stream_type = TeamsStream
    state_partitioning_keys: t.ClassVar[list[str]] = []
    schema: t.ClassVar[dict] = th.PropertiesList(
        th.Property("team_id", th.StringType), th.Property("id", th.StringType)
    ).to_dict()

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        team = (context or {})["team_id"]
        for member in MEMBERS[team]:
            yield {"team_id": team, "id": member}


class FullTableTap(SupportTap):
    name = "tap-full-table"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, default="http://127.0.0.1:9"),
        *START_END_SETTINGS,
        *FULL_TABLE_SETTINGS,
        *COMMON_SETTINGS,
    ).to_dict()

    def discover_streams(self) -> list[SupportStream]:
        return [TeamsStream(self), TeamMembersStream(self)]


def _run(capsys: pytest.CaptureFixture[str], **config: t.Any) -> list[dict]:
    """The run's Singer messages, in order (also when it fails: `failed` says why)."""
    tap = FullTableTap(config={"start_date": "2025-01-01", **config}, parse_env_config=False)
    capsys.readouterr()
    failed: Exception | None = None
    try:
        tap.sync_all()
    except RuntimeError as exc:
        failed = exc
    # Records still in the writer's buffer (a process's exit flushes them).
    tap.message_writer.flush()
    out = capsys.readouterr().out
    messages = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [*messages, {"type": "FAILED", "error": str(failed)}] if failed else messages


def _kinds(messages: list[dict], stream: str) -> list[str]:
    return [m["type"] for m in messages if m.get("stream") == stream]


def test_activation_follows_the_last_record_once_per_stream(capsys):
    messages = _run(capsys, emit_activate_version_messages=True)
    for stream, count in (("teams", 3), ("team_members", 3)):
        kinds = _kinds(messages, stream)
        assert kinds.count("ACTIVATE_VERSION") == 1, stream
        assert kinds.index("ACTIVATE_VERSION") > max(
            i for i, kind in enumerate(kinds) if kind == "RECORD"
        ), stream
        assert kinds.count("RECORD") == count
        versions = {m["version"] for m in messages if m.get("stream") == stream and "version" in m}
        assert len(versions) == 1, f"{stream}: records and activation carry one version"
    # The children's activation comes after every team was read, not after the first team.
    positions = {id(m): n for n, m in enumerate(messages)}
    last_team = max(
        positions[id(m)] for m in messages if m.get("stream") == "teams" and m["type"] == "RECORD"
    )
    activation = next(
        positions[id(m)]
        for m in messages
        if m.get("stream") == "team_members" and m["type"] == "ACTIVATE_VERSION"
    )
    assert activation > last_team


def test_a_failed_run_sends_no_activation(capsys, monkeypatch):
    monkeypatch.setattr(TeamsStream, "fail_after", 2)
    messages = _run(capsys, emit_activate_version_messages=True)
    assert messages[-1] == {"type": "FAILED", "error": "the vendor went away"}
    assert [m for m in messages if m["type"] == "RECORD"]  # rows went out before the failure
    assert [m for m in messages if m["type"] == "ACTIVATE_VERSION"] == []


def test_no_activation_unless_asked(capsys):
    messages = _run(capsys)
    assert [m for m in messages if m["type"] == "ACTIVATE_VERSION"] == []


def test_batch_mode_keeps_the_sdk_timing(capsys, tmp_path):
    batch = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": f"file://{tmp_path}", "prefix": "batch-"},
    }
    messages = _run(capsys, emit_activate_version_messages=True, batch_config=batch)
    kinds = _kinds(messages, "teams")
    # Batch files carry no version: activating after them would remove what they loaded.
    assert kinds.index("ACTIVATE_VERSION") < kinds.index("BATCH")
