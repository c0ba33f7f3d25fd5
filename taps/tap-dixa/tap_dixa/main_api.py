"""Dixa's main API (`/v1/...` on `api_url`): the conversations' activity log, by date, and the
lists of agents, end users, queues, tags and teams, in full."""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

import requests
from singer_sdk import StreamSchema

from support_taps.normalize import to_utc_iso
from support_taps.windowed import WindowedStream, window_of
from tap_dixa.client import DIXA_SCHEMAS, DixaStream
from tap_dixa.exports import export_days


class MainApiStream(DixaStream):
    """A stream of Dixa's main API: objects with an `id` in the `data` envelope, paged with
    `meta.next`, on the Analytics API's host and token."""

    primary_keys = ("id",)
    schema = StreamSchema(DIXA_SCHEMAS)


class ActivityLogsStream(MainApiStream, WindowedStream):
    """`GET /v1/conversations/activitylog` (Dixa's main API): every conversation activity, by
    date (`fromDatetime`/`toDatetime`), paged with `meta.next`."""

    name = "activity_logs"
    path = "/v1/conversations/activitylog"
    replication_key = "activityTimestamp"
    window_setting = "export_window_days"
    lookback_setting = "export_lookback_minutes"
    lookback_unit = "minutes"
    align_to_days = False
    window_field = "activityTimestamp"

    @cached_property
    def window_size(self) -> dt.timedelta:
        return export_days(self.config)

    def get_url_params(self, context: t.Mapping | None, next_page_token: t.Any) -> dict[str, t.Any]:
        params = super().get_url_params(context, next_page_token)
        window = window_of(context)
        params.setdefault("fromDatetime", window.start.isoformat().replace("+00:00", "Z"))
        params.setdefault("toDatetime", window.end.isoformat().replace("+00:00", "Z"))
        return params

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        for raw in self.data_objects(response, "an activity log entry"):
            # Dixa's older Integrations API spells these in snake_case; accept both.
            stamp = raw.get("activityTimestamp", raw.get("activity_timestamp"))
            if raw.get("id") is None or stamp is None:
                raise self.unexpected_shape(
                    response, "activity log entries with `id` and `activityTimestamp`", raw
                )
            author = raw.get("author")
            yield {
                "id": str(raw["id"]),
                "conversationId": raw.get("conversationId", raw.get("conversation_id")),
                "activityTimestamp": to_utc_iso(stamp),
                "activityType": raw.get("activityType", raw.get("activity_type")),
                "author": author if isinstance(author, dict) else None,
                "attributes": raw.get("attributes")
                if isinstance(raw.get("attributes"), dict)
                else None,
                "raw": raw,
            }


class ListStream(MainApiStream):
    """A list of Dixa's main API (agents, end users, queues, tags, teams), every page, in full."""

    replication_key = None
    #: Fields Dixa sends as ISO 8601 date-times, normalised to UTC.
    instants: t.ClassVar[tuple[str, ...]] = ()

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        for raw in self.data_objects(response, f"an entry of the {self.name} list"):
            if raw.get("id") is None:
                raise self.unexpected_shape(response, f"{self.name} entries with `id`", raw)
            record = {name: raw.get(name) for name in self.schema["properties"] if name != "raw"}
            record["id"] = str(raw["id"])
            for name in self.instants:
                record[name] = to_utc_iso(raw.get(name))
            record["raw"] = raw
            yield record


class AgentsStream(ListStream):
    name, path, instants = "agents", "/v1/agents", ("createdAt",)


class EndUsersStream(ListStream):
    name, path, instants = "end_users", "/v1/endusers", ("createdAt",)


class QueuesStream(ListStream):
    name, path = "queues", "/v1/queues"


class TagsStream(ListStream):
    name, path = "tags", "/v1/tags"


class TeamsStream(ListStream):
    name, path = "teams", "/v1/teams"


MAIN_API_STREAMS = (
    ActivityLogsStream,
    AgentsStream,
    EndUsersStream,
    QueuesStream,
    TagsStream,
    TeamsStream,
)
