"""Dixa's main API (`/v1/...` on `api_url`): the conversations' activity log, by date; the lists
of agents, end users, queues, tags, teams and custom attribute definitions, in full; each team's
and queue's members; and the internal notes of each conversation the run reads."""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

import requests
from singer_sdk import StreamSchema

from support_taps.compat import PROGRESS_MARKERS, SchemaOncePerRun
from support_taps.errors import endpoint_of, response_place
from support_taps.normalize import newest_only, to_utc_iso
from support_taps.windowed import WindowedStream, window_of
from tap_dixa.client import DIXA_SCHEMAS, DixaStream
from tap_dixa.exports import ConversationsStream, export_days

#: Dixa's deprecated `activityType` is the published `_type` with this suffix
#: ("ConversationAssignedActivityType" for "ConversationAssigned", in Dixa's example).
DEPRECATED_TYPE_SUFFIX = "ActivityType"


class MainApiStream(DixaStream):
    """A stream of Dixa's main API: objects with an `id` in the `data` envelope, paged with
    `meta.next`, on the Analytics API's host and token."""

    primary_keys: tuple[str, ...] = ("id",)
    schema = StreamSchema(DIXA_SCHEMAS)

    def instant(self, raw: t.Mapping[str, t.Any], name: str, response: requests.Response) -> t.Any:
        """`raw[name]`, an ISO 8601 date-time, in UTC. A value that does not read as one is
        null in its column, with one warning (the row keeps it in `raw`)."""
        value = raw.get(name)
        moment = to_utc_iso(value)
        if moment is None and value not in (None, ""):
            self.warn_once(
                ("instant", name),
                "Dixa sent `%s` values that are not ISO 8601 date-times for %s (e.g. %r); the "
                "column is null for them, `raw` keeps them.",
                name,
                endpoint_of(response),
                str(value)[:40],
            )
        return moment


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
            moment = to_utc_iso(stamp)
            if moment is None:  # the replication key: a row without a moment cannot be placed
                raise self.unexpected_shape(
                    response_place(response, ", `activityTimestamp`"),
                    "an ISO 8601 date-time",
                    stamp,
                )
            author = raw.get("author")
            attributes = raw.get("attributes")
            deprecated = raw.get("activityType", raw.get("activity_type"))
            yield {
                "id": str(raw["id"]),
                "conversationId": raw.get("conversationId", raw.get("conversation_id")),
                "activityTimestamp": moment,
                "_type": raw.get("_type") or published_type(deprecated),
                "activityType": deprecated,
                "author": author if isinstance(author, dict) else None,
                "attributes": attributes if isinstance(attributes, dict) else None,
                "raw": raw,
            }


def published_type(deprecated: t.Any) -> str | None:
    """The `_type` an entry that carries only the deprecated `activityType` stands for."""
    if not isinstance(deprecated, str) or not deprecated:
        return None
    return deprecated.removesuffix(DEPRECATED_TYPE_SUFFIX) or deprecated


class ListStream(MainApiStream):
    """A list of Dixa's main API (agents, end users, queues, tags, teams, custom attribute
    definitions), every page, in full: a column per published field, as sent."""

    replication_key: str | None = None
    #: Fields Dixa sends as ISO 8601 date-times, normalised to UTC.
    instants: t.ClassVar[tuple[str, ...]] = ()
    #: Fields Dixa's reference publishes as integers (see `published_integer`).
    published_integers: t.ClassVar[tuple[str, ...]] = ()
    #: The entry's own id.
    id_field: t.ClassVar[str] = "id"

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        for raw in self.data_objects(response, f"an entry of {self.name}"):
            if raw.get(self.id_field) is None:
                raise self.unexpected_shape(
                    response, f"{self.name} entries with `{self.id_field}`", raw
                )
            yield self.row(raw, response)

    def row(self, raw: dict[str, t.Any], response: requests.Response) -> dict[str, t.Any]:
        record = {name: raw.get(name) for name in self.schema["properties"] if name != "raw"}
        record[self.id_field] = str(raw[self.id_field])
        for name in self.instants:
            record[name] = self.instant(raw, name, response)
        for name in self.published_integers:
            record[name] = self.published_integer(name, raw.get(name))
        record["raw"] = raw
        return record


class AgentsStream(ListStream):
    name, path, instants = "agents", "/v1/agents", ("createdAt",)


class EndUsersStream(ListStream):
    name, path, instants = "end_users", "/v1/endusers", ("createdAt",)


class QueuesStream(ListStream):
    name, path = "queues", "/v1/queues"

    def get_child_context(self, record: dict, context: t.Mapping | None) -> dict:
        return {"queue_id": record["id"]}


class TagsStream(ListStream):
    name, path = "tags", "/v1/tags"


class TeamsStream(ListStream):
    name, path = "teams", "/v1/teams"

    def get_child_context(self, record: dict, context: t.Mapping | None) -> dict:
        return {"team_id": record["id"]}


class CustomAttributesStream(ListStream):
    """`GET /v1/custom-attributes`: the definitions the conversations' `custom_fields` name by
    `attribute_id` (and end users' by `id`), in one answer."""

    name, path = "custom_attributes", "/v1/custom-attributes"
    instants = ("createdAt", "updatedAt")
    paged = False


class _ParentGone(Exception):
    """A parent listed moments ago answers 404 for its children: deleted in between."""


class ChildStream(SchemaOncePerRun, ListStream):
    """A list Dixa answers per parent object (a team's members, a conversation's notes), in
    one piece (Dixa's reference publishes no paging for them; a `meta.next` would be followed),
    each row with its parent's id (`parent_key`): Dixa's own where it sends one of that type
    (notes carry `csid`), else the parent's it was asked for (`raw` keeps what Dixa sent).

    Synced once per parent record (the SDK's parent-child contexts), with one SCHEMA message
    per run. A parent that answers 404 was deleted since it was listed: one warning, no rows."""

    #: One state for the stream, not one per parent.
    state_partitioning_keys: t.ClassVar[list[str]] = []
    paged = False
    #: The context key (and column) naming the parent, and what the parent is, for messages.
    parent_key: t.ClassVar[str] = ""
    parent_kind: t.ClassVar[str] = ""
    #: The field saying which of two versions of an object is newer (None: Dixa sends none).
    version_field: t.ClassVar[str | None] = None

    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 404 and not response.history:
            raise _ParentGone(endpoint_of(response))
        super().validate_response(response)

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        if self.replication_key:
            # What is read again is the parent's choice (its bookmark), not this stream's: its
            # bookmark is the newest value seen, kept at the end (the SDK's progress markers),
            # and an interrupted run resumes with its parent. Said so in the state, instead of
            # the SDK's warning that an unsorted stream cannot resume.
            self.get_context_state(context).setdefault(
                PROGRESS_MARKERS, {"Note": f"Read with each {self.parent_kind} the run reads."}
            )
        try:
            yield from super().get_records(context)
        except _ParentGone as gone:
            self.warn_once(
                ("gone", (context or {}).get(self.parent_key)),
                "Dixa answered 404 for %s: the %s was listed moments ago and deleted since; it "
                "has no %s in this run.",
                gone,
                self.parent_kind,
                self.name,
            )

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        # The export's newest-only rule, per answer: a key sent twice lands once. Dixa
        # publishes no update stamp for these objects (`version_field`), so of two versions
        # the later one sent is kept, as an upserting target would.
        records, dropped = newest_only(
            super().parse_response(response),
            key=lambda record: tuple(repr(record.get(name)) for name in self.primary_keys),
            version=lambda record: record.get(self.version_field) if self.version_field else None,
        )
        if dropped:
            self.warn_once(
                ("duplicate",),
                "Dixa's %s sent the same %s more than once in one answer; it is emitted once (%s).",
                endpoint_of(response),
                " and ".join(f"`{name}`" for name in self.primary_keys),
                f"its newest version, by `{self.version_field}`"
                if self.version_field
                else "the later one sent",
            )
        return records

    def row(self, raw: dict[str, t.Any], response: requests.Response) -> dict[str, t.Any]:
        record = super().row(raw, response)
        asked = (self.request_context(response) or {})[self.parent_key]
        if type(record.get(self.parent_key)) is not type(asked):
            record[self.parent_key] = asked
        return record


class TeamMembersStream(ChildStream):
    """`GET /v1/teams/{teamId}/agents`: each team's agents, keyed by team and agent (an agent
    may be in several teams; Dixa publishes no id for a membership)."""

    name, path = "team_members", "/v1/teams/{team_id}/agents"
    primary_keys = ("team_id", "id")
    parent_stream_type = TeamsStream
    parent_key, parent_kind = "team_id", "team"


class QueueMembersStream(ChildStream):
    """`GET /v1/queues/{queueId}/members`: each queue's agents and their priority in it, keyed
    by queue and agent (Dixa publishes no id for a membership)."""

    name, path = "queue_members", "/v1/queues/{queue_id}/members"
    primary_keys = ("queue_id", "agentId")
    id_field = "agentId"
    published_integers = ("priority",)
    parent_stream_type = QueuesStream
    parent_key, parent_kind = "queue_id", "queue"


class NotesStream(ChildStream):
    """`GET /v1/conversations/{csid}/notes`: the internal notes of every conversation the run
    reads from the Exports API (those updated since the bookmark), one request each.

    Incremental through its parent: a conversation's notes are asked when the conversation is
    exported again, so notes added without changing the conversation's `updated_at` arrive
    with its next change (Dixa does not publish whether a note changes it)."""

    name, path = "notes", "/v1/conversations/{csid}/notes"
    replication_key = "createdAt"
    instants = ("createdAt",)
    parent_stream_type = ConversationsStream
    parent_key, parent_kind = "csid", "conversation"


MAIN_API_STREAMS = (
    ActivityLogsStream,
    AgentsStream,
    EndUsersStream,
    QueuesStream,
    TagsStream,
    TeamsStream,
    CustomAttributesStream,
    TeamMembersStream,
    QueueMembersStream,
    NotesStream,
)
