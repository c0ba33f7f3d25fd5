"""The Dixa simulator's data: seeded conversations per UTC day and the record rows made from them.

Every record id and every metric is derived from the same conversations, so metrics agree with
the records they are computed from, and the Exports API tells the same story. The records use
every documented field `_type` (and, by default, one `_type` the docs do not list, as Dixa may
add types); nullable fields are left out of a record's `fields` when empty.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import typing as t
import uuid
from dataclasses import dataclass, field

from support_simulators.dixa.catalogue import RECORDS
from support_simulators.framework.dataset import (
    AGENT_NAMES,
    DATASET_START,
    UTC,
    DailyDataset,
    midnight,
)

# ---- reference data ------------------------------------------------------------------

CHANNELS = [
    ("EMAIL", "Email"),
    ("PSTN_PHONE", "Phone"),
    ("WIDGET_CHAT", "Chat"),
    ("MESSENGER", "Messenger"),
    ("WHATSAPP", "WhatsApp"),
    ("CONTACT_FORM", "Contact Form"),
    ("CALLBACK", "Callback"),
]
_CHANNEL_WEIGHTS = [30, 20, 25, 8, 7, 6, 4]
DIRECTIONS = [("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")]
CONTACT_POINTS = {
    "EMAIL": ["support@acme.example", "billing@acme.example"],
    "CONTACT_FORM": ["support@acme.example"],
    "PSTN_PHONE": ["+4511223344", "+4422334455"],
    "CALLBACK": ["+4511223344"],
    "WIDGET_CHAT": ["acme.example chat"],
    "MESSENGER": ["Acme on Messenger"],
    "WHATSAPP": ["+4599887766"],
}
_QUEUE_NAMES = ["General", "Billing", "Technical", "VIP", "Returns"]
_TAG_NAMES = ["refund", "bug", "shipping", "vip", "feedback", "password", "invoice"]
_CLOSED_BY = [("Agent", "Agent"), ("Enduser", "End user"), ("Unknown", "Unknown")]
_RATING_TYPES = [("CSAT", "Customer satisfaction"), ("THUMBS", "Thumbs up/down")]
_PRESENCE = [
    ("Working", "Working"),
    ("Away", "Away"),
    ("Lunch", "On lunch break"),
    ("Offline", "Offline"),
]


def dixa_id(kind: str, name: t.Any) -> str:
    """A stable UUID for a simulated Dixa object (queue, agent, tag, end user, ...)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dixa-sim:{kind}:{name}"))


QUEUES = [(dixa_id("queue", n), n) for n in _QUEUE_NAMES]
AGENTS = [(dixa_id("agent", n), n) for n in AGENT_NAMES[:8]]
TAGS = [(dixa_id("tag", n), n) for n in _TAG_NAMES]


def iso_ms(moment: dt.datetime) -> str:
    """Dixa's timestamp style: UTC, milliseconds, 'Z'."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


# ---- records -------------------------------------------------------------------------


@dataclass
class SimRecord:
    """One row of a record id: the API's JSON plus what filters and metrics need."""

    record_id: str
    timestamp: dt.datetime  # the primary timestamp (millisecond precision, UTC)
    primary_name: str
    fields: list[dict[str, t.Any]]
    facts: dict[str, t.Any]  # filter attribute -> value (or list of values)
    values: dict[str, t.Any] = field(
        default_factory=dict
    )  # plain values, for metrics and expected keys

    def to_json(self) -> dict[str, t.Any]:
        return {
            "primaryTimestampField": {
                "name": self.primary_name,
                "timestamp": iso_ms(self.timestamp),
            },
            "fields": self.fields,
        }


def _string(value: str, label: str | None = None) -> dict[str, t.Any]:
    out: dict[str, t.Any] = {"value": value, "_type": "StringField"}
    if label is not None:
        out = {"value": value, "label": label, "_type": "StringField"}
    return out


def _uuid_field(value: str, label: str | None) -> dict[str, t.Any]:
    return (
        {"value": value, "label": label, "_type": "UUIDField"}
        if label
        else {"value": value, "_type": "UUIDField"}
    )


def _long(name: str, value: int) -> dict[str, t.Any]:
    return {"name": name, "field": {"value": value, "_type": "LongField"}}


def _timestamp(name: str, moment: dt.datetime) -> dict[str, t.Any]:
    return {
        "name": name,
        "field": {"name": name, "timestamp": iso_ms(moment), "_type": "TimestampField"},
    }


def _whole_ms(moment: dt.datetime) -> dt.datetime:
    """Dixa's precision: milliseconds."""
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


@dataclass(frozen=True)
class _Conversation:
    """What a conversation's rows share: drawn first, in this order."""

    csid: int
    created: dt.datetime
    channel: tuple[str, str]
    direction: tuple[str, str]
    contact_point: str | None
    queue: tuple[str, str] | None
    agent: tuple[str, str] | None
    tags: list[tuple[str, str]] | None
    facts: dict[str, t.Any]

    @classmethod
    def draw(cls, rng: random.Random, csid: int, created: dt.datetime) -> _Conversation:
        channel = rng.choices(CHANNELS, _CHANNEL_WEIGHTS)[0]
        direction = DIRECTIONS[0] if rng.random() < 0.85 else DIRECTIONS[1]
        contact_point = rng.choice(CONTACT_POINTS[channel[0]]) if rng.random() < 0.95 else None
        queue = rng.choice(QUEUES) if rng.random() < 0.9 else None
        agent = rng.choice(AGENTS) if rng.random() < 0.92 else None
        tags = rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2])) if rng.random() < 0.9 else None
        facts = {
            "channel": channel[0],
            "initial_direction": direction[0],
            "contact_point": contact_point,
            "queue_id": queue[0] if queue else None,
            "agent_id": agent[0] if agent else None,
            "tag_id": [tag[0] for tag in tags] if tags else [],
        }
        return cls(csid, created, channel, direction, contact_point, queue, agent, tags, facts)

    def origin(self) -> list[dict[str, t.Any]]:
        """The fields saying where the conversation came from."""
        fields = [
            {"name": "initial_direction", "field": _string(*self.direction)},
            {"name": "initial_channel", "field": _string(*self.channel)},
        ]
        if self.contact_point:
            fields.append(
                {"name": "contact_point", "field": _string(self.contact_point, self.contact_point)}
            )
        return fields

    def handler(self, *, queue_label: bool = True) -> list[dict[str, t.Any]]:
        """The agent and queue fields (each left out when there is none)."""
        fields = []
        if self.agent:
            fields.append({"name": "agent_id", "field": _uuid_field(*self.agent)})
        if self.queue:
            label = self.queue[1] if queue_label else None
            fields.append({"name": "queue_id", "field": _uuid_field(self.queue[0], label)})
        return fields


class DixaDataset(DailyDataset[dict[str, list[SimRecord]]]):
    """Deterministic conversations per UTC day and the record rows derived from them."""

    empty = dict
    #: Days after a conversation's creation that its rows may be stamped (closing, rating).
    MAX_LAG_DAYS = 3
    #: Measured values Dixa may revise after the fact; identities never change.
    MEASURES = ("handling_duration", "rating_score", "response_time", "duration")
    #: A day's csids: FIRST_CSID + day number × CSIDS_PER_DAY + n.
    FIRST_CSID, CSIDS_PER_DAY = 180_000, 1000

    def __init__(
        self,
        seed: int = 7,
        conversations_per_day: int = 40,
        novel_field_type: bool = True,
        start: dt.date = DATASET_START,
    ) -> None:
        super().__init__(seed, start)
        self.per_day, self.novel_field_type = conversations_per_day, novel_field_type
        #: How many times Dixa has revised its measured values (0: as first computed).
        self.revision = 0

    def revise(self) -> None:
        """Dixa recomputes its measures: every measured value changes, every id stays."""
        self.revision += 1
        self.forget()

    def _revised(self, rows: dict[str, list[SimRecord]]) -> dict[str, list[SimRecord]]:
        for records in rows.values():
            for record in records:
                for item in record.fields:
                    if item["name"] in self.MEASURES and isinstance(
                        item["field"].get("value"), (int, float)
                    ):
                        old = item["field"]["value"]
                        new = (
                            (old % 5) + 1 if item["name"] == "rating_score" else old + self.revision
                        )
                        item["field"] = {**item["field"], "value": new}
                        if item["name"] in record.values:
                            record.values[item["name"]] = new
        return rows

    def day_of(self, csid: int) -> dt.date:
        """The day a conversation was created, from its csid."""
        return self.start + dt.timedelta(days=(csid - self.FIRST_CSID) // self.CSIDS_PER_DAY)

    def rows(self, record_id: str, start: dt.datetime, end: dt.datetime) -> list[SimRecord]:
        """Rows of `record_id` whose primary timestamp is in [start, end), oldest first."""
        first = (start.astimezone(UTC) - dt.timedelta(days=self.MAX_LAG_DAYS)).date()
        last = end.astimezone(UTC).date()
        out: list[SimRecord] = []
        day = max(first, self.start)
        while day <= last:
            out.extend(r for r in self.day(day).get(record_id, ()) if start <= r.timestamp < end)
            day += dt.timedelta(days=1)
        out.sort(key=lambda r: (r.timestamp, json.dumps(r.values, sort_keys=True, default=str)))
        return out

    # ---- a day's rows: every draw from the day's generator, in a fixed order ------------

    def generate(self, day: dt.date) -> dict[str, list[SimRecord]]:
        """Rows of every record id from the conversations created (and presence) on `day`."""
        rng = self.rng(day)
        first_csid = self.FIRST_CSID + (day - self.start).days * self.CSIDS_PER_DAY
        out: dict[str, list[SimRecord]] = {rid: [] for rid in RECORDS}
        for n, moment in enumerate(self.arrivals(rng, day, self.per_day, 0.4)):
            created = _whole_ms(moment + dt.timedelta(milliseconds=rng.randrange(1000)))
            self._conversation(rng, first_csid + n, created, out)
        self._presence(rng, midnight(day), day.weekday() >= 5, out)
        return self._revised(out) if self.revision else out

    def _conversation(
        self, rng: random.Random, csid: int, created: dt.datetime, out: dict[str, list[SimRecord]]
    ) -> None:
        c = _Conversation.draw(rng, csid, created)
        out["conversations"].append(self._created(rng, c))
        first_response, row = self._first_response(rng, c)
        out["first_response_times"].append(row)
        closed, row = self._closed(rng, c, first_response)
        out["closed_conversations"].append(row)
        if rng.random() < 0.6:
            out["ratings"].append(self._rating(rng, c, closed))

    @staticmethod
    def _created(rng: random.Random, c: _Conversation) -> SimRecord:
        fields = [_long("csid", c.csid), *c.origin()]
        if c.queue:
            fields.append({"name": "queue_id", "field": _uuid_field(*c.queue)})
        if c.tags is not None:
            fields.append(
                {
                    "name": "tags",
                    "field": {"values": [tag[1] for tag in c.tags], "_type": "ListField"},
                }
            )
        reopened = rng.random() < 0.07
        fields.append(
            {"name": "is_reopened", "field": {"value": reopened, "_type": "BooleanField"}}
        )
        return SimRecord(
            "conversations", c.created, "created_at", fields, c.facts, {"csid": c.csid}
        )

    def _first_response(
        self, rng: random.Random, c: _Conversation
    ) -> tuple[dt.datetime, SimRecord]:
        first_response = _whole_ms(
            c.created
            + dt.timedelta(seconds=rng.randint(30, 6 * 3600), milliseconds=rng.randrange(1000))
        )
        response_time = round((first_response - c.created).total_seconds(), 3)
        fields = [_long("conversation_id", c.csid)]
        if c.agent:
            fields.append({"name": "agent_id", "field": _uuid_field(*c.agent)})
        fields.append(
            {
                "name": "first_response_at",
                "field": {"value": iso_ms(first_response), "_type": "InstantField"},
            }
        )
        fields.append(
            {"name": "response_time", "field": {"value": response_time, "_type": "DoubleField"}}
        )
        if self.novel_field_type and rng.random() < 0.8:
            minutes = max(1, int(response_time // 60) // 2)
            # Not a documented `_type`: Dixa says new types may appear.
            fields.append(
                {
                    "name": "business_hours_delay",
                    "field": {
                        "value": f"PT{minutes}M",
                        "unit": "ISO8601",
                        "_type": "DurationField",
                    },
                }
            )
        values = {"conversation_id": c.csid, "response_time": response_time}
        record = SimRecord("first_response_times", c.created, "created_at", fields, c.facts, values)
        return first_response, record

    @staticmethod
    def _closed(
        rng: random.Random, c: _Conversation, first_response: dt.datetime
    ) -> tuple[dt.datetime, SimRecord]:
        closed = _whole_ms(
            first_response
            + dt.timedelta(minutes=rng.randint(5, 2 * 24 * 60), milliseconds=rng.randrange(1000))
        )
        closed_by, closed_by_label = rng.choices(_CLOSED_BY, [80, 15, 5])[0]
        handling = round(rng.uniform(60, 3600), 2) if c.agent else None
        fields = [
            _timestamp("closed_at", closed),
            _long("conversation_id", c.csid),
            *c.handler(),
            {"name": "closed_by", "field": _string(closed_by, closed_by_label)},
            _timestamp("created_at", c.created),
        ]
        if handling is not None:
            fields.append(
                {"name": "handling_duration", "field": {"value": handling, "_type": "DoubleField"}}
            )
        # Dixa's published closed_conversations rows carry these, which its fieldsMetadata
        # does not list (vendor-docs/dixa-analytics-api.txt, "Get Metric Records Data").
        fields += [_long("csid", c.csid), *c.origin()]
        values = {
            "conversation_id": c.csid,
            "closed_by": closed_by,
            "closed_at": closed,
            "created_at": c.created,
            "handling_duration": handling,
        }
        return closed, SimRecord(
            "closed_conversations", closed, "closed_at", fields, c.facts, values
        )

    @staticmethod
    def _rating(rng: random.Random, c: _Conversation, closed: dt.datetime) -> SimRecord:
        rated = _whole_ms(
            closed + dt.timedelta(minutes=rng.randint(1, 600), milliseconds=rng.randrange(1000))
        )
        rating_type, rating_label = rng.choices(_RATING_TYPES, [85, 15])[0]
        score = rng.choices([1, 2, 3, 4, 5], [6, 6, 13, 30, 45])[0]
        fields = [
            _long("conversation_id", c.csid),
            *c.handler(queue_label=False),  # the queue's label is optional
            {"name": "rating_type", "field": _string(rating_type, rating_label)},
            {"name": "rating_score", "field": {"value": score, "_type": "IntField"}},
        ]
        if rng.random() < 0.3:
            comment = rng.choice(
                ["Quick and helpful", "Took too long", "Great support!", "Still not fixed"]
            )
            fields.append({"name": "rating_comment", "field": _string(comment)})
        values = {"conversation_id": c.csid, "rating_type": rating_type, "rating_score": score}
        return SimRecord("ratings", rated, "rated_at", fields, c.facts, values)

    @staticmethod
    def _presence(
        rng: random.Random,
        day_start: dt.datetime,
        weekend: bool,
        out: dict[str, list[SimRecord]],
    ) -> None:
        for agent_id, agent_name in AGENTS:
            if weekend and rng.random() < 0.7:
                continue
            cursor = day_start + dt.timedelta(hours=rng.randint(6, 9), minutes=rng.randrange(60))
            for _ in range(rng.randint(3, 6)):
                status, label = rng.choices(_PRESENCE[:3], [70, 20, 10])[0]
                duration = rng.randint(10 * 60, 3 * 3600)
                ended = cursor + dt.timedelta(seconds=duration)
                if ended.date() != day_start.date():
                    break
                fields = [
                    {"name": "agent_id", "field": _uuid_field(agent_id, agent_name)},
                    {"name": "status", "field": _string(status, label)},
                    {
                        "name": "ended_at",
                        "field": {"value": iso_ms(ended), "_type": "InstantField"},
                    },
                    {"name": "duration", "field": {"value": duration, "_type": "LongField"}},
                ]
                values = {
                    "agent_id": agent_id,
                    "status": status,
                    "status_description": label,
                    "duration": duration,
                }
                out["agent_presence"].append(
                    SimRecord(
                        "agent_presence",
                        cursor,
                        "started_at",
                        fields,
                        {"agent_id": agent_id},
                        values,
                    )
                )
                cursor = ended + dt.timedelta(minutes=rng.randint(0, 30))
