"""What a full run of tap-dixa must deliver from the simulator's data (the tap's keys, own code)."""

from __future__ import annotations

import datetime as dt
import typing as t
import zoneinfo

from support_simulators.dixa.analytics import filter_attributes, instant, local_midnight
from support_simulators.dixa.catalogue import METRICS, RECORDS
from support_simulators.dixa.dataset import SimRecord
from support_simulators.dixa.exports import ms
from support_simulators.framework.dataset import UTC, setting_time

if t.TYPE_CHECKING:
    from support_simulators.dixa.simulator import DixaSimulator

Keys = dict[str, tuple[tuple[str, ...], set[tuple]]]
_UTC_ZONE = zoneinfo.ZoneInfo("UTC")


def primary_keys(sim: DixaSimulator, tap_config: t.Mapping[str, t.Any]) -> Keys:
    """Keys per stream for a full run of tap-dixa with `tap_config` (every stream selected)."""
    start, end = config_range(sim, tap_config)
    filters = [
        (f["attribute"], {str(v) for v in f["values"]}) for f in tap_config.get("filters") or []
    ]
    out: Keys = {
        "metrics_catalogue": (("id",), {(m,) for m in METRICS}),
        "records_catalogue": (("id",), {(r,) for r in RECORDS}),
        "filter_values": (
            ("filterAttribute", "value"),
            {(a, v["value"]) for a, vs in filter_attributes().items() for v in vs},
        ),
    }
    for record_id in tap_config.get("record_ids") or list(RECORDS):
        rows = sim.select(record_id, start, end, filters)
        out[f"records_{record_id}"] = (
            record_key_columns(record_id),
            {record_key(record_id, r) for r in rows},
        )
    out["metric_values"] = (
        ("metric_id", "day", "measure", "status"),
        _metric_keys(sim, tap_config, filters),
    )
    out.update(export_keys(sim, start, end))
    return out


def _metric_keys(
    sim: DixaSimulator, tap_config: t.Mapping[str, t.Any], filters: list[tuple[str, set[str]]]
) -> set[tuple]:
    zone = zoneinfo.ZoneInfo(tap_config.get("timezone") or "UTC")
    keys: set[tuple] = set()
    for metric_id in tap_config.get("metric_ids") or list(METRICS):
        for day, day_start, day_end in metric_days(sim, tap_config, zone):
            for aggregate in sim.aggregates(metric_id, day_start, day_end, filters):
                if aggregate["_type"] == "AgentPresenceDurationValue":
                    keys.update(
                        (metric_id, day, aggregate["measure"], v["status"]["status"])
                        for v in aggregate["value"]
                    )
                else:
                    keys.add((metric_id, day, aggregate["measure"], "all"))
    return keys


def export_keys(sim: DixaSimulator, start: dt.datetime, end: dt.datetime) -> Keys:
    """Keys of the Exports API streams and the reference lists for a run over [start, end)."""
    exports = sim.exports
    low, high = ms(start), ms(end)
    now = ms(sim.now())
    conversations, messages, notes = set(), set(), set()
    day = start.date() - dt.timedelta(days=7)
    days = {day + dt.timedelta(days=n) for n in range((end.date() - day).days + 1)}
    for each in sorted(days | exports.edited_days()):
        for conversation in exports.conversations_created(each):
            if low <= conversation["updated_at"] < high:
                conversations.add((conversation["id"],))
                # Notes are read for each conversation the run reads.
                notes.update((n["id"],) for n in exports.notes_of(conversation))
            if conversation["updated_at"] <= now:
                messages.update(
                    (m["id"],)
                    for m in exports.messages_of(
                        conversation["id"],
                        conversation["created_at"],
                        conversation["closed_at"],
                    )
                    if low <= m["created_at"] < high
                )
    directory = sim.directory
    listed = {
        stream: (("id",), {(o["id"],) for o in directory.listing(path)})
        for stream, path in LIST_STREAMS.items()
    }
    teams = [team["id"] for team in directory.listing("teams")]
    queues = [queue["id"] for queue in directory.listing("queues")]
    return {
        "conversations": (("id",), conversations),
        "messages": (("id",), messages),
        "notes": (("id",), notes),
        "activity_logs": (("id",), {(e["id"],) for e in exports.activity_log(start, end)}),
        **listed,
        "team_members": (
            ("team_id", "id"),
            {(team, m["id"]) for team in teams for m in directory.team_members(team) or []},
        ),
        "queue_members": (
            ("queue_id", "agentId"),
            {
                (queue, member["agentId"])
                for queue in queues
                for member in directory.queue_members(queue) or []
            },
        ),
    }


#: The tap's list streams and the path under /v1/ each reads.
LIST_STREAMS = {
    "agents": "agents",
    "end_users": "endusers",
    "queues": "queues",
    "tags": "tags",
    "teams": "teams",
    "custom_attributes": "custom-attributes",
}


def config_range(
    sim: DixaSimulator, tap_config: t.Mapping[str, t.Any]
) -> tuple[dt.datetime, dt.datetime]:
    """The run's [start_date, end_date or now), in UTC."""

    def utc(value: t.Any) -> dt.datetime:
        return setting_time(value).astimezone(UTC)

    end = utc(tap_config["end_date"]) if tap_config.get("end_date") else sim.now()
    return utc(tap_config["start_date"]), min(end, sim.now())


def metric_days(
    sim: DixaSimulator, tap_config: t.Mapping[str, t.Any], zone: zoneinfo.ZoneInfo
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """Calendar days in `zone` from start_date's date to end_date's date (exclusive), up to
    today."""
    first = dt.date.fromisoformat(str(tap_config["start_date"])[:10])
    last = sim.now().astimezone(zone).date() + dt.timedelta(days=1)
    if tap_config.get("end_date"):
        last = min(last, dt.date.fromisoformat(str(tap_config["end_date"])[:10]))
    days = []
    day = first
    while day < last:
        nxt = day + dt.timedelta(days=1)
        days.append((day.isoformat(), local_midnight(day, zone), local_midnight(nxt, zone)))
        day = nxt
    return days


def record_key_columns(record_id: str) -> tuple[str, ...]:
    """What tap-dixa keys a record by: its own id (a conversation id, else an agent id), with
    the primary timestamp unless the record has one row per conversation; never a measure."""
    listed = [m["field"] for m in RECORDS[record_id]["fieldsMetadata"]]
    conversation = next((n for n in ("conversation_id", "csid") if n in listed), None)
    if conversation:
        one_row = record_id in ("conversations", "first_response_times")
        return (conversation,) if one_row else (conversation, "primary_timestamp")
    if "agent_id" in listed:
        return ("agent_id", "primary_timestamp")
    ids = [
        m["field"]
        for m in RECORDS[record_id]["fieldsMetadata"]
        if not m["nullable"] and (m["field"] == "id" or m["field"].endswith("_id"))
    ]
    return ("primary_timestamp", *ids)


def record_key(record_id: str, row: SimRecord) -> tuple:
    """A row's key as tap-dixa writes it (timestamps as ISO 8601 UTC strings)."""
    by_name = {f["name"]: f["field"] for f in row.fields}
    key: list[t.Any] = []
    for column in record_key_columns(record_id):
        if column == "primary_timestamp":
            key.append(row.timestamp.isoformat())
            continue
        value = by_name[column]
        if value["_type"] == "TimestampField":
            key.append(instant(value["timestamp"], _UTC_ZONE).isoformat())
        elif value["_type"] == "InstantField":
            key.append(instant(value["value"], _UTC_ZONE).isoformat())
        else:
            key.append(value.get("value"))
    return tuple(key)
