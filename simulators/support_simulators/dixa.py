"""Dixa Analytics API simulator: catalogues, filter values, metric and record data.

Shapes follow Dixa's Analytics API reference (vendor-docs/dixa-analytics-api.txt):

- GET  /v1/analytics/metrics, /v1/analytics/records: the catalogues (paged);
- GET  /v1/analytics/metrics/{metricId}, /v1/analytics/records/{recordId}: one description;
- GET  /v1/analytics/filter/{filterAttribute}: the values a filter takes (paged);
- POST /v1/analytics/metrics: one metric's aggregates for a period;
- POST /v1/analytics/records: a record's rows for a period (paged: the same body again with
  the `pageKey` from `meta.next` in the query string).

Auth is the raw token in `Authorization` (no "Bearer"); a wrong token gets 401. Dixa's
published rate limit, 10 requests/s with bursts of 4 per token, is enforced with 429 and
Retry-After (one bucket: the simulator serves one token) unless the caller sets
`Faults.rate_limit` itself (0 turns it off).

Data: seeded, deterministic conversations generated per UTC day from 2024-01-01. Every record
id and every metric is derived from the same conversations, so metrics agree with the records
they are computed from, and both honour the documented filters. The records use every
documented field `_type` (and, by default, one `_type` the docs do not list, as Dixa may add
types); nullable fields are left out of a record's `fields` when empty. Rows whose primary
timestamp is after the simulator's clock are not served.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import random
import re
import statistics
import typing as t
import uuid
import zoneinfo
from dataclasses import dataclass, field

from support_simulators.dixa_exports import DixaExports, ExportQueryError
from support_simulators.framework import (
    Faults,
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
)

UTC = dt.timezone.utc
DEFAULT_API_TOKEN = "dixa-demo-token"
DATASET_START = dt.date(2024, 1, 1)
DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
#: Dixa's published limit per API token (docs.dixa.io, API standards and rules).
RATE_LIMIT, RATE_BURST = 10.0, 4

# ---- reference data ------------------------------------------------------------------

_CHANNELS = [
    ("EMAIL", "Email"),
    ("PSTN_PHONE", "Phone"),
    ("WIDGET_CHAT", "Chat"),
    ("MESSENGER", "Messenger"),
    ("WHATSAPP", "WhatsApp"),
    ("CONTACT_FORM", "Contact Form"),
    ("CALLBACK", "Callback"),
]
_CHANNEL_WEIGHTS = [30, 20, 25, 8, 7, 6, 4]
_DIRECTIONS = [("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")]
_CONTACT_POINTS = {
    "EMAIL": ["support@acme.example", "billing@acme.example"],
    "CONTACT_FORM": ["support@acme.example"],
    "PSTN_PHONE": ["+4511223344", "+4422334455"],
    "CALLBACK": ["+4511223344"],
    "WIDGET_CHAT": ["acme.example chat"],
    "MESSENGER": ["Acme on Messenger"],
    "WHATSAPP": ["+4599887766"],
}
_QUEUE_NAMES = ["General", "Billing", "Technical", "VIP", "Returns"]
_AGENT_NAMES = [
    "Jane Smith",
    "Ravi Patel",
    "Ana Souza",
    "Lee Min",
    "Omar Haddad",
    "Greta Berg",
    "Tom Okafor",
    "Ines Duarte",
]
_TAG_NAMES = ["refund", "bug", "shipping", "vip", "feedback", "password", "invoice"]
_CLOSED_BY = [("Agent", "Agent"), ("Enduser", "End user"), ("Unknown", "Unknown")]
_RATING_TYPES = [("CSAT", "Customer satisfaction"), ("THUMBS", "Thumbs up/down")]
_PRESENCE = [
    ("Working", "Working"),
    ("Away", "Away"),
    ("Lunch", "On lunch break"),
    ("Offline", "Offline"),
]


def _uuid(namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dixa-sim:{namespace}:{name}"))


QUEUES = [(_uuid("queue", n), n) for n in _QUEUE_NAMES]
AGENTS = [(_uuid("agent", n), n) for n in _AGENT_NAMES]
TAGS = [(_uuid("tag", n), n) for n in _TAG_NAMES]


def _filter(attribute: str) -> dict[str, str]:
    return {"filterAttribute": attribute, "description": f"Used to filter by the {attribute}"}


def _meta(name: str, description: str, nullable: bool) -> dict[str, t.Any]:
    return {"field": name, "description": description, "nullable": nullable}


_CONVERSATION_FILTERS = ["queue_id", "channel", "initial_direction", "tag_id", "contact_point"]
_AGENT_CONVERSATION_FILTERS = ["agent_id", *_CONVERSATION_FILTERS]

#: The records catalogue: id -> (description, filters, fieldsMetadata, related metric ids).
RECORDS: dict[str, dict[str, t.Any]] = {
    "conversations": {
        "description": "Created conversations",
        "filters": _CONVERSATION_FILTERS,
        "fieldsMetadata": [
            _meta("csid", "Conversation ID", False),
            _meta(
                "initial_direction", "Direction of the first message (Inbound or Outbound)", False
            ),
            _meta("initial_channel", "Channel the conversation started in", False),
            _meta("contact_point", "Email address or phone number the customer contacted", True),
            _meta("queue_id", "The queue the conversation was first offered in", True),
            _meta("tags", "Tags on the conversation", True),
            _meta("is_reopened", "Whether the conversation was reopened after closing", False),
        ],
        "relatedMetricIds": ["created_conversations"],
    },
    "closed_conversations": {
        "description": "Closed conversation data",
        "filters": _AGENT_CONVERSATION_FILTERS,
        "fieldsMetadata": [
            _meta("closed_at", "Timestamp of when the conversation was closed", False),
            _meta("conversation_id", "Conversation ID", False),
            _meta("agent_id", "The agent closing the conversation", True),
            _meta(
                "queue_id",
                "The queue which the conversation was part of when the conversation was closed",
                True,
            ),
            _meta("closed_by", "User closing the conversation (Agent, Enduser or Unknown)", False),
            _meta("created_at", "When the conversation was created", False),
            _meta("handling_duration", "Seconds agents spent handling the conversation", True),
        ],
        "relatedMetricIds": ["closed_conversations", "handling_time"],
    },
    "ratings": {
        "description": "Conversation Ratings",
        "filters": _AGENT_CONVERSATION_FILTERS,
        "fieldsMetadata": [
            _meta("conversation_id", "Conversation ID", False),
            _meta("agent_id", "The agent assigned to the conversation", True),
            _meta(
                "queue_id",
                "The queue which the conversation was part of when the conversation was offered",
                True,
            ),
            _meta("rating_type", "Kind of rating survey", False),
            _meta("rating_score", "Score given by the customer (1-5)", False),
            _meta("rating_comment", "The customer's comment", True),
        ],
        "relatedMetricIds": ["csat", "rating_score"],
    },
    "first_response_times": {
        "description": "Time to first agent response per conversation",
        "filters": ["agent_id", "queue_id", "channel", "initial_direction"],
        "fieldsMetadata": [
            _meta("conversation_id", "Conversation ID", False),
            _meta("agent_id", "The agent who answered first", True),
            _meta("first_response_at", "When the first agent response was sent", False),
            _meta("response_time", "Seconds from creation to first response", False),
            _meta("business_hours_delay", "Delay counted in business hours only", True),
        ],
        "relatedMetricIds": ["first_response_time"],
    },
    "agent_presence": {
        "description": "Agent presence status periods",
        "filters": ["agent_id"],
        "fieldsMetadata": [
            _meta("agent_id", "The agent", False),
            _meta("status", "Presence status", False),
            _meta("ended_at", "When the status period ended", False),
            _meta("duration", "Seconds in the status", False),
        ],
        "relatedMetricIds": ["agent_presence_duration"],
    },
}

#: The metrics catalogue: id -> (description, record the metric is computed from, measures,
#: value field).
METRICS: dict[str, dict[str, t.Any]] = {
    "created_conversations": {
        "description": "Number of created conversations",
        "record": "conversations",
        "measures": {"Count": "Conversations created"},
        "value": None,
    },
    "closed_conversations": {
        "description": "Closed conversation data",
        "record": "closed_conversations",
        "measures": {"Count": "Conversation closed count"},
        "value": None,
    },
    "handling_time": {
        "description": "Seconds agents spent handling closed conversations",
        "record": "closed_conversations",
        "measures": {"Sum": "Total handling time", "Average": "Average handling time"},
        "value": "handling_duration",
    },
    "csat": {
        "description": "(Number of satisfied customers (4 and 5)/ Number of survey responses) "
        "x 100 = "
        "% of satisfied customers",
        "record": "ratings",
        "measures": {"Percentage": "Calculated Percentage"},
        "value": "rating_score",
    },
    "rating_score": {
        "description": "Rating scores given by customers",
        "record": "ratings",
        "measures": {
            "Average": "Average score",
            "Min": "Lowest score",
            "Max": "Highest score",
            "StdDev": "Standard deviation of scores",
        },
        "value": "rating_score",
    },
    "first_response_time": {
        "description": "Seconds from creation to the first agent response",
        "record": "first_response_times",
        "measures": {"Average": "Average", "Min": "Fastest", "Max": "Slowest", "Sum": "Total"},
        "value": "response_time",
    },
    "agent_presence_duration": {
        "description": "Seconds agents spent in each presence status",
        "record": "agent_presence",
        "measures": {"AgentPresenceDuration": "Duration per presence status"},
        "value": "duration",
    },
}

PRESETS = (
    "Today",
    "Yesterday",
    "ThisWeek",
    "PreviousWeek",
    "ThisMonth",
    "PreviousMonth",
    "ThisQuarter",
    "PreviousQuarter",
    "ThisYear",
)


def _iso_ms(moment: dt.datetime) -> str:
    """Dixa's timestamp style: UTC, milliseconds, 'Z'."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


# ---- dataset -------------------------------------------------------------------------


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
                "timestamp": _iso_ms(self.timestamp),
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


def _ms(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)


class DixaDataset:
    """Deterministic conversations per UTC day and the record rows derived from them."""

    #: Days after a conversation's creation that its rows may be stamped (closing, rating).
    MAX_LAG_DAYS = 3

    def __init__(
        self,
        seed: int = 7,
        conversations_per_day: int = 40,
        novel_field_type: bool = True,
        start: dt.date = DATASET_START,
    ) -> None:
        self.seed, self.per_day, self.novel_field_type, self.start = (
            seed,
            conversations_per_day,
            novel_field_type,
            start,
        )
        self._cache: dict[dt.date, dict[str, list[SimRecord]]] = {}
        #: How many times Dixa has revised its measured values (0: as first computed).
        self.revision = 0

    #: Measured values Dixa may revise after the fact; identities never change.
    MEASURES = ("handling_duration", "rating_score", "response_time", "duration")

    def revise(self) -> None:
        """Dixa recomputes its measures: every measured value changes, every id stays."""
        self.revision += 1
        self._cache.clear()

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

    def day(self, day: dt.date) -> dict[str, list[SimRecord]]:
        """Rows of every record id generated from conversations created (or presence) on `day`."""
        if day < self.start:
            return {}
        rows = self._cache.get(day)
        if rows is None:
            if len(self._cache) > 2000:
                self._cache.clear()
            rows = self._cache[day] = (
                self._revised(self._generate(day)) if self.revision else self._generate(day)
            )
        return rows

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

    def _generate(self, day: dt.date) -> dict[str, list[SimRecord]]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        weekend = day.weekday() >= 5
        mean = self.per_day * (0.4 if weekend else 1.0)
        count = max(0, int(rng.gauss(mean, mean * 0.15)))
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        day_index = (day - self.start).days
        out: dict[str, list[SimRecord]] = {rid: [] for rid in RECORDS}
        for n, second in enumerate(sorted(rng.randrange(86_400) for _ in range(count))):
            created = _ms(midnight + dt.timedelta(seconds=second, milliseconds=rng.randrange(1000)))
            self._conversation(rng, 180_000 + day_index * 1000 + n, created, out)
        self._presence(rng, midnight, weekend, out)
        return out

    def _conversation(
        self, rng: random.Random, csid: int, created: dt.datetime, out: dict[str, list[SimRecord]]
    ) -> None:
        channel, channel_label = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
        direction, direction_label = _DIRECTIONS[0] if rng.random() < 0.85 else _DIRECTIONS[1]
        contact_point = rng.choice(_CONTACT_POINTS[channel]) if rng.random() < 0.95 else None
        queue = rng.choice(QUEUES) if rng.random() < 0.9 else None
        agent = rng.choice(AGENTS) if rng.random() < 0.92 else None
        tags = rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2])) if rng.random() < 0.9 else None
        facts = {
            "channel": channel,
            "initial_direction": direction,
            "contact_point": contact_point,
            "queue_id": queue[0] if queue else None,
            "agent_id": agent[0] if agent else None,
            "tag_id": [tag[0] for tag in tags] if tags else [],
        }

        fields = [
            {"name": "csid", "field": {"value": csid, "_type": "LongField"}},
            {"name": "initial_direction", "field": _string(direction, direction_label)},
            {"name": "initial_channel", "field": _string(channel, channel_label)},
        ]
        if contact_point:
            fields.append({"name": "contact_point", "field": _string(contact_point, contact_point)})
        if queue:
            fields.append({"name": "queue_id", "field": _uuid_field(queue[0], queue[1])})
        if tags is not None:
            fields.append(
                {
                    "name": "tags",
                    "field": {"values": [tag[1] for tag in tags], "_type": "ListField"},
                }
            )
        reopened = rng.random() < 0.07
        fields.append(
            {"name": "is_reopened", "field": {"value": reopened, "_type": "BooleanField"}}
        )
        out["conversations"].append(
            SimRecord("conversations", created, "created_at", fields, facts, {"csid": csid})
        )

        first_response = _ms(
            created
            + dt.timedelta(seconds=rng.randint(30, 6 * 3600), milliseconds=rng.randrange(1000))
        )
        response_time = round((first_response - created).total_seconds(), 3)
        fields = [{"name": "conversation_id", "field": {"value": csid, "_type": "LongField"}}]
        if agent:
            fields.append({"name": "agent_id", "field": _uuid_field(agent[0], agent[1])})
        fields.append(
            {
                "name": "first_response_at",
                "field": {"value": _iso_ms(first_response), "_type": "InstantField"},
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
        out["first_response_times"].append(
            SimRecord(
                "first_response_times",
                created,
                "created_at",
                fields,
                facts,
                {"conversation_id": csid, "response_time": response_time},
            )
        )

        closed = _ms(
            first_response
            + dt.timedelta(minutes=rng.randint(5, 2 * 24 * 60), milliseconds=rng.randrange(1000))
        )
        closed_by, closed_by_label = rng.choices(_CLOSED_BY, [80, 15, 5])[0]
        handling = round(rng.uniform(60, 3600), 2) if agent else None
        fields = [
            {
                "name": "closed_at",
                "field": {
                    "name": "closed_at",
                    "timestamp": _iso_ms(closed),
                    "_type": "TimestampField",
                },
            },
            {"name": "conversation_id", "field": {"value": csid, "_type": "LongField"}},
        ]
        if agent:
            fields.append({"name": "agent_id", "field": _uuid_field(agent[0], agent[1])})
        if queue:
            fields.append({"name": "queue_id", "field": _uuid_field(queue[0], queue[1])})
        fields.append({"name": "closed_by", "field": _string(closed_by, closed_by_label)})
        fields.append(
            {
                "name": "created_at",
                "field": {
                    "name": "created_at",
                    "timestamp": _iso_ms(created),
                    "_type": "TimestampField",
                },
            }
        )
        if handling is not None:
            fields.append(
                {"name": "handling_duration", "field": {"value": handling, "_type": "DoubleField"}}
            )
        # Dixa's published closed_conversations rows carry these, which its fieldsMetadata
        # does not list (vendor-docs/dixa-analytics-api.txt, "Get Metric Records Data").
        fields.append({"name": "csid", "field": {"value": csid, "_type": "LongField"}})
        fields.append({"name": "initial_direction", "field": _string(direction, direction_label)})
        fields.append({"name": "initial_channel", "field": _string(channel, channel_label)})
        if contact_point:
            fields.append({"name": "contact_point", "field": _string(contact_point, contact_point)})
        out["closed_conversations"].append(
            SimRecord(
                "closed_conversations",
                closed,
                "closed_at",
                fields,
                facts,
                {
                    "conversation_id": csid,
                    "closed_by": closed_by,
                    "closed_at": closed,
                    "created_at": created,
                    "handling_duration": handling,
                },
            )
        )

        if rng.random() < 0.6:
            rated = _ms(
                closed + dt.timedelta(minutes=rng.randint(1, 600), milliseconds=rng.randrange(1000))
            )
            rating_type, rating_label = rng.choices(_RATING_TYPES, [85, 15])[0]
            score = rng.choices([1, 2, 3, 4, 5], [6, 6, 13, 30, 45])[0]
            fields = [{"name": "conversation_id", "field": {"value": csid, "_type": "LongField"}}]
            if agent:
                fields.append({"name": "agent_id", "field": _uuid_field(agent[0], agent[1])})
            if queue:
                fields.append(
                    {"name": "queue_id", "field": _uuid_field(queue[0], None)}
                )  # label is optional
            fields.append({"name": "rating_type", "field": _string(rating_type, rating_label)})
            fields.append({"name": "rating_score", "field": {"value": score, "_type": "IntField"}})
            if rng.random() < 0.3:
                comment = rng.choice(
                    ["Quick and helpful", "Took too long", "Great support!", "Still not fixed"]
                )
                fields.append({"name": "rating_comment", "field": _string(comment)})
            out["ratings"].append(
                SimRecord(
                    "ratings",
                    rated,
                    "rated_at",
                    fields,
                    facts,
                    {"conversation_id": csid, "rating_type": rating_type, "rating_score": score},
                )
            )

    def _presence(
        self,
        rng: random.Random,
        midnight: dt.datetime,
        weekend: bool,
        out: dict[str, list[SimRecord]],
    ) -> None:
        for agent_id, agent_name in AGENTS:
            if weekend and rng.random() < 0.7:
                continue
            cursor = midnight + dt.timedelta(hours=rng.randint(6, 9), minutes=rng.randrange(60))
            for _ in range(rng.randint(3, 6)):
                status, label = rng.choices(_PRESENCE[:3], [70, 20, 10])[0]
                duration = rng.randint(10 * 60, 3 * 3600)
                ended = cursor + dt.timedelta(seconds=duration)
                if ended.date() != midnight.date():
                    break
                fields = [
                    {"name": "agent_id", "field": _uuid_field(agent_id, agent_name)},
                    {"name": "status", "field": _string(status, label)},
                    {
                        "name": "ended_at",
                        "field": {"value": _iso_ms(ended), "_type": "InstantField"},
                    },
                    {"name": "duration", "field": {"value": duration, "_type": "LongField"}},
                ]
                out["agent_presence"].append(
                    SimRecord(
                        "agent_presence",
                        cursor,
                        "started_at",
                        fields,
                        {"agent_id": agent_id},
                        {
                            "agent_id": agent_id,
                            "status": status,
                            "status_description": label,
                            "duration": duration,
                        },
                    )
                )
                cursor = ended + dt.timedelta(minutes=rng.randint(0, 30))


# ---- periods and filters -------------------------------------------------------------


class BadRequest(Exception):
    pass


def _zone(name: t.Any) -> zoneinfo.ZoneInfo:
    if not isinstance(name, str) or not name:
        raise BadRequest("Invalid value for: body (missing timezone)")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"Invalid value for: body (unknown timezone {name!r})") from None


def _instant(value: t.Any, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid value for: body (bad date-time {value!r})") from None
    return (parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed).astimezone(UTC)


def _local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _month_start(day: dt.date, months_back: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 - months_back
    return dt.date(index // 12, index % 12 + 1, 1)


def preset_period(
    preset: str, zone: zoneinfo.ZoneInfo, now: dt.datetime
) -> tuple[dt.datetime, dt.datetime]:
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    quarter = _month_start(today, (today.month - 1) % 3)
    days = {
        "Today": (today, today + dt.timedelta(days=1)),
        "Yesterday": (today - dt.timedelta(days=1), today),
        "ThisWeek": (monday, monday + dt.timedelta(days=7)),
        "PreviousWeek": (monday - dt.timedelta(days=7), monday),
        "ThisMonth": (
            _month_start(today),
            _month_start(_month_start(today) + dt.timedelta(days=31)),
        ),
        "PreviousMonth": (_month_start(today, 1), _month_start(today)),
        "ThisQuarter": (quarter, _month_start(quarter + dt.timedelta(days=95))),
        "PreviousQuarter": (_month_start(quarter, 3), quarter),
        "ThisYear": (dt.date(today.year, 1, 1), dt.date(today.year + 1, 1, 1)),
    }.get(preset)
    if days is None:
        raise BadRequest(f"Invalid value for: body (unknown preset {preset!r})")
    return _local_midnight(days[0], zone), _local_midnight(days[1], zone)


def _matches(facts: dict[str, t.Any], filters: list[tuple[str, set[str]]]) -> bool:
    for attribute, values in filters:
        if attribute not in facts:  # not relevant for this record: ignored, as Dixa documents
            continue
        have = facts[attribute]
        if isinstance(have, list):
            if not values.intersection(have):
                return False
        elif have not in values:
            return False
    return True


@dataclass(frozen=True)
class DataQuery:
    id: str
    start: dt.datetime
    end: dt.datetime
    filters: list[tuple[str, set[str]]]
    aggregations: list[str] | None


# ---- the simulator -------------------------------------------------------------------


class DixaSimulator(VendorSimulator):
    name = "dixa"

    def __init__(
        self,
        *,
        api_token: str = DEFAULT_API_TOKEN,
        conversations_per_day: int = 40,
        novel_field_type: bool = True,
        now: dt.datetime | None = None,
        default_page_limit: int = DEFAULT_PAGE_LIMIT,
        faults: Faults | None = None,
        **kwargs: t.Any,
    ) -> None:
        faults = faults or Faults()
        if faults.rate_limit is None:  # Dixa's own limit unless the caller chose one (0: off)
            faults.rate_limit, faults.burst = RATE_LIMIT, RATE_BURST
        self.api_token = api_token
        self.fixed_now = now
        self.default_page_limit = default_page_limit
        #: Answer an empty page (which still links `meta.next` to the rows) before every page, as
        #: Dixa may when it filters a page empty.
        self.empty_pages = False
        #: Link the second page back to the first (A -> B -> A), a paging cycle.
        self.page_cycle = False
        super().__init__(faults=faults, **kwargs)
        #: Every data query received: (path, pageKey or None, parsed JSON body), for inspection.
        self.queries: list[tuple[str, str | None, t.Any]] = []
        self.dataset = DixaDataset(
            seed=self.seed,
            conversations_per_day=conversations_per_day,
            novel_field_type=novel_field_type,
        )
        self.exports = DixaExports(self.dataset, AGENTS, QUEUES, TAGS, self.now)

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def default_faults(self) -> Faults:
        return Faults(rate_limit=RATE_LIMIT, burst=RATE_BURST)  # Dixa's published limit

    def routes(self):
        yield "GET", re.compile(r"/v1/analytics/metrics"), self.metrics_catalogue
        yield "GET", re.compile(r"/v1/analytics/records"), self.records_catalogue
        yield "GET", re.compile(r"/v1/analytics/metrics/(?P<id>[^/]+)"), self.metric_description
        yield "GET", re.compile(r"/v1/analytics/records/(?P<id>[^/]+)"), self.record_description
        yield "GET", re.compile(r"/v1/analytics/filter/(?P<attribute>[^/]+)"), self.filter_values
        yield "POST", re.compile(r"/v1/analytics/metrics"), self.metric_data
        yield "POST", re.compile(r"/v1/analytics/records"), self.records_data
        # The Exports API (exports.dixa.io) and the main API's lists (dev.dixa.io), on one port.
        yield "GET", re.compile(r"/v1/conversation_export"), self.conversation_export
        yield "GET", re.compile(r"/v1/message_export"), self.message_export
        yield "GET", re.compile(r"/v1/conversations/activitylog"), self.activity_log
        for path, lister in (
            ("agents", "agent_list"),
            ("endusers", "end_user_list"),
            ("queues", "queue_list"),
            ("tags", "tag_list"),
            ("teams", "team_list"),
        ):
            yield "GET", re.compile(rf"/v1/{path}"), self._lister(path, lister)

    def authorized(self, request: SimRequest) -> SimResponse | None:
        # The Exports API takes the token as a Bearer token; the main API takes it bare.
        bearer = request.path in ("/v1/conversation_export", "/v1/message_export")
        if request.headers.get("Authorization") == (
            f"Bearer {self.api_token}" if bearer else self.api_token
        ):
            return None
        return json_response({"message": "Unauthorized"}, 401)

    def reset_log(self) -> None:
        super().reset_log()
        with self._log_lock:
            self.queries.clear()

    def data_queries(
        self, kind: str, data_id: str | None = None, *, first_pages: bool = False
    ) -> list[dict]:
        """Bodies of the metric ("metrics") or record ("records") queries received, oldest first."""
        return [
            body
            for path, key, body in list(self.queries)
            if path.endswith(kind)
            and (data_id is None or body.get("id") == data_id)
            and not (first_pages and key is not None)
        ]

    # ---- catalogue ---------------------------------------------------------------------

    @staticmethod
    def metric_entry(metric_id: str) -> dict[str, t.Any]:
        spec = METRICS[metric_id]
        return {
            "id": metric_id,
            "description": spec["description"],
            "filters": [_filter(a) for a in RECORDS[spec["record"]]["filters"]],
            "aggregations": [{"measure": m, "description": d} for m, d in spec["measures"].items()],
            "relatedRecordIds": [spec["record"]],
        }

    @staticmethod
    def record_entry(record_id: str) -> dict[str, t.Any]:
        spec = RECORDS[record_id]
        return {
            "id": record_id,
            "description": spec["description"],
            "filters": [_filter(a) for a in spec["filters"]],
            "relatedMetricIds": spec["relatedMetricIds"],
            "fieldsMetadata": spec["fieldsMetadata"],
        }

    def filter_attributes(self) -> dict[str, list[dict[str, str]]]:
        """Every filter attribute and its values (with labels)."""
        contact_points = sorted({cp for cps in _CONTACT_POINTS.values() for cp in cps})
        return {
            "agent_id": [{"value": i, "label": n} for i, n in AGENTS],
            "queue_id": [{"value": i, "label": n} for i, n in QUEUES],
            "channel": [{"value": v, "label": label} for v, label in _CHANNELS],
            "initial_direction": [{"value": v, "label": label} for v, label in _DIRECTIONS],
            "tag_id": [{"value": i, "label": n} for i, n in TAGS],
            "contact_point": [{"value": cp, "label": cp} for cp in contact_points],
        }

    def metrics_catalogue(self, request: SimRequest) -> SimResponse:
        return self._paged(request, [self.metric_entry(m) for m in METRICS], b"metrics")

    def records_catalogue(self, request: SimRequest) -> SimResponse:
        return self._paged(request, [self.record_entry(r) for r in RECORDS], b"records")

    def metric_description(self, request: SimRequest) -> SimResponse:
        metric_id = request.match["id"]
        if metric_id not in METRICS:
            return json_response(
                {
                    "message": "Invalid value extracted from request context: "
                    f"unknown metric {metric_id!r}"
                },
                400,
            )
        return json_response({"data": self.metric_entry(metric_id)})

    def record_description(self, request: SimRequest) -> SimResponse:
        record_id = request.match["id"]
        if record_id not in RECORDS:
            return json_response(
                {
                    "message": "Invalid value extracted from request context: "
                    f"unknown record {record_id!r}"
                },
                400,
            )
        return json_response({"data": self.record_entry(record_id)})

    def filter_values(self, request: SimRequest) -> SimResponse:
        attribute = request.match["attribute"]
        values = self.filter_attributes().get(attribute)
        if values is None:
            return json_response(
                {
                    "message": "Invalid value extracted from request context: "
                    f"unknown filter {attribute!r}"
                },
                400,
            )
        return self._paged(request, values, attribute.encode())

    # ---- data --------------------------------------------------------------------------

    def _query(
        self, request: SimRequest, known: t.Mapping[str, t.Any], *, metric: bool
    ) -> DataQuery:
        try:
            body = request.json()
        except ValueError:
            raise BadRequest("Invalid value for: body (not JSON)") from None
        with self._log_lock:
            self.queries.append((request.path, request.arg("pageKey"), body))
        if not isinstance(body, dict) or not isinstance(body.get("id"), str):
            raise BadRequest("Invalid value for: body (missing id)")
        if body["id"] not in known:
            raise BadRequest(
                f"Invalid value extracted from request context: unknown id {body['id']!r}"
            )
        zone = _zone(body.get("timezone"))
        period = body.get("periodFilter")
        if not isinstance(period, dict):
            raise BadRequest("Invalid value for: body (missing periodFilter)")
        if period.get("_type") == "Interval":
            start, end = _instant(period.get("start"), zone), _instant(period.get("end"), zone)
        elif period.get("_type") == "Preset":
            start, end = preset_period(
                str((period.get("value") or {}).get("_type")), zone, self.now()
            )
        else:
            raise BadRequest(
                "Invalid value for: body (periodFilter must be an Interval or a Preset)"
            )
        filters = []
        for item in body.get("filters") or []:
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("attribute"), str)
                or not isinstance(item.get("values"), list)
            ):
                raise BadRequest("Invalid value for: body (a filter needs attribute and values)")
            filters.append((item["attribute"], {str(v) for v in item["values"]}))
        aggregations = body.get("aggregations") if metric else None
        if aggregations is not None and not isinstance(aggregations, list):
            raise BadRequest("Invalid value for: body (aggregations must be a list)")
        return DataQuery(body["id"], start, end, filters, aggregations)

    def select(
        self,
        record_id: str,
        start: dt.datetime,
        end: dt.datetime,
        filters: list[tuple[str, set[str]]] = (),
    ) -> list[SimRecord]:
        """Rows of a record id in [start, end) (capped at now) passing the filters the record
        supports."""
        supported = set(RECORDS[record_id]["filters"])
        relevant = [(a, v) for a, v in filters if a in supported]
        end = min(end, self.now())
        return [r for r in self.dataset.rows(record_id, start, end) if _matches(r.facts, relevant)]

    def records_data(self, request: SimRequest) -> SimResponse:
        try:
            query = self._query(request, RECORDS, metric=False)
        except BadRequest as exc:
            return json_response({"message": str(exc)}, 400)
        rows = self.select(query.id, query.start, query.end, query.filters)
        return self._paged(request, rows, request.body, encode=SimRecord.to_json)

    def aggregates(
        self,
        metric_id: str,
        start: dt.datetime,
        end: dt.datetime,
        filters: list[tuple[str, set[str]]] = (),
        aggregations: list[str] | None = None,
    ) -> list[dict]:
        spec = METRICS[metric_id]
        rows = self.select(spec["record"], start, end, filters)
        measures = (
            list(spec["measures"])
            if not aggregations
            else [m for m in aggregations if m in spec["measures"]]
        )
        values = [
            r.values[spec["value"]]
            for r in rows
            if spec["value"] and r.values.get(spec["value"]) is not None
        ]
        out = []
        for measure in measures:
            if measure == "Count":
                out.append({"value": len(rows), "measure": measure, "_type": "LongAggregateValue"})
            elif measure == "AgentPresenceDuration":
                per_status: dict[tuple[str, str], int] = {}
                for r in rows:
                    key = (r.values["status"], r.values["status_description"])
                    per_status[key] = per_status.get(key, 0) + r.values["duration"]
                out.append(
                    {
                        "value": [
                            {"value": v, "status": {"status": s, "description": d}}
                            for (s, d), v in sorted(per_status.items())
                        ],
                        "measure": measure,
                        "_type": "AgentPresenceDurationValue",
                    }
                )
            else:
                out.append(
                    {
                        "value": self._measure(measure, values),
                        "measure": measure,
                        "_type": "DoubleAggregateValue",
                    }
                )
        return out

    @staticmethod
    def _measure(measure: str, values: list[float]) -> float | None:
        if not values:
            return None
        if measure == "Percentage":  # share of satisfied customers (4 and 5)
            return round(100 * sum(1 for v in values if v >= 4) / len(values), 4)
        if measure == "StdDev":
            return round(statistics.pstdev(values), 4)
        return round(
            {"Sum": sum, "Min": min, "Max": max, "Average": statistics.fmean}[measure](values), 4
        )

    def metric_data(self, request: SimRequest) -> SimResponse:
        try:
            query = self._query(request, METRICS, metric=True)
        except BadRequest as exc:
            return json_response({"message": str(exc)}, 400)
        unknown = [m for m in (query.aggregations or []) if m not in METRICS[query.id]["measures"]]
        if unknown:
            return json_response(
                {
                    "message": f"Invalid value for: body (aggregations {unknown} not supported by "
                    f"{query.id})"
                },
                400,
            )
        aggregates = self.aggregates(
            query.id, query.start, query.end, query.filters, query.aggregations
        )
        return json_response({"data": {"id": query.id, "aggregates": aggregates}})

    # ---- Exports API and reference lists ----------------------------------------------

    def conversation_export(self, request: SimRequest) -> SimResponse:
        return self._export(request, messages=False)

    def message_export(self, request: SimRequest) -> SimResponse:
        return self._export(request, messages=True)

    def _export(self, request: SimRequest, *, messages: bool) -> SimResponse:
        try:
            return json_response(self.exports.export(request.query, messages=messages))
        except ExportQueryError as exc:
            return json_response({"message": str(exc)}, 400)

    def _lister(self, scope: str, lister: str) -> t.Callable[[SimRequest], SimResponse]:
        return lambda request: self._paged(request, getattr(self.exports, lister)(), scope.encode())

    def activity_log(self, request: SimRequest) -> SimResponse:
        try:
            start = _instant(request.arg("fromDatetime"), zoneinfo.ZoneInfo("UTC"))
            end = _instant(request.arg("toDatetime"), zoneinfo.ZoneInfo("UTC"))
        except BadRequest:
            return json_response(
                {"message": "Invalid value for: query parameter fromDatetime/toDatetime"}, 400
            )
        scope = f"activitylog:{request.arg('fromDatetime')}:{request.arg('toDatetime')}".encode()
        return self._paged(request, self.exports.activity_log(start, min(end, self.now())), scope)

    # ---- paging ------------------------------------------------------------------------

    def _paged(
        self, request: SimRequest, items: list, scope: bytes, encode: t.Callable | None = None
    ) -> SimResponse:
        """One page of `items` with `meta.previous`/`meta.next` links carrying an opaque pageKey.

        The pageKey is bound to `scope` (the request body for POSTs): reusing it with another
        request is a 400, as changing a request between pages would be.
        """
        digest = hashlib.sha1(scope).hexdigest()[:12]
        limit_text = request.arg("pageLimit")
        offset = 0
        limit = self.default_page_limit
        key = request.arg("pageKey")
        padded = False
        if key is not None:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(key.encode()))
                offset, limit, scope_digest = int(decoded["o"]), int(decoded["l"]), decoded["s"]
                padded = bool(decoded.get("e"))
            except (ValueError, KeyError, TypeError):
                return json_response({"message": "Invalid value for: query parameter pageKey"}, 400)
            if scope_digest != digest:
                return json_response(
                    {
                        "message": "Invalid value for: query parameter pageKey "
                        "(it belongs to another request)"
                    },
                    400,
                )
        if limit_text is not None:
            try:
                limit = int(limit_text)
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_PAGE_LIMIT:
                return json_response(
                    {"message": "Invalid value for: query parameter pageLimit"}, 400
                )
        page = items[offset : offset + limit]
        host = request.headers.get("Host") or f"{self.host}:{self.port}"

        def link(at: int, padded: bool = False) -> str:
            token = {"o": at, "l": limit, "s": digest, **({"e": 1} if padded else {})}
            encoded = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
            extra = f"&pageLimit={limit_text}" if limit_text is not None else ""
            return f"http://{host}{request.path}?pageKey={encoded}{extra}"

        if self.empty_pages and not padded and offset < max(1, len(items)):
            return json_response(
                {"data": [], "meta": {"previous": None, "next": link(offset, padded=True)}}
            )
        following = offset + limit
        if self.page_cycle and offset > 0:
            following = 0  # back to the first page
        meta = {
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "next": link(following) if offset + limit < len(items) else None,
        }
        data = [encode(item) for item in page] if encode else page
        return json_response({"data": data, "meta": meta})

    # ---- what a full tap run must deliver ---------------------------------------------

    def expected_primary_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        """Keys per stream for a full run of tap-dixa with `tap_config` (every stream selected)."""
        start, end = self._config_range(tap_config)
        zone = zoneinfo.ZoneInfo(tap_config.get("timezone") or "UTC")
        filters = [
            (f["attribute"], {str(v) for v in f["values"]}) for f in tap_config.get("filters") or []
        ]
        record_ids = tap_config.get("record_ids") or list(RECORDS)
        metric_ids = tap_config.get("metric_ids") or list(METRICS)
        out: dict[str, tuple[tuple[str, ...], set[tuple]]] = {
            "metrics_catalogue": (("id",), {(m,) for m in METRICS}),
            "records_catalogue": (("id",), {(r,) for r in RECORDS}),
            "filter_values": (
                ("filterAttribute", "value"),
                {(a, v["value"]) for a, vs in self.filter_attributes().items() for v in vs},
            ),
        }
        for record_id in record_ids:
            keys = self.record_key_columns(record_id)
            rows = self.select(record_id, start, end, filters)
            out[f"records_{record_id}"] = (keys, {self.record_key(record_id, r) for r in rows})
        metric_keys: set[tuple] = set()
        for metric_id in metric_ids:
            for day, day_start, day_end in self.metric_days(tap_config, zone):
                for aggregate in self.aggregates(metric_id, day_start, day_end, filters):
                    if aggregate["_type"] == "AgentPresenceDurationValue":
                        metric_keys.update(
                            (metric_id, day, aggregate["measure"], v["status"]["status"])
                            for v in aggregate["value"]
                        )
                    else:
                        metric_keys.add((metric_id, day, aggregate["measure"], "all"))
        out["metric_values"] = (("metric_id", "day", "measure", "status"), metric_keys)
        out.update(self.expected_export_keys(start, end))
        return out

    def expected_export_keys(
        self, start: dt.datetime, end: dt.datetime
    ) -> dict[str, tuple[tuple[str, ...], set]]:
        """Keys of the Exports API streams and the reference lists for a run over [start, end)."""
        low, high = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        now = int(self.now().timestamp() * 1000)
        conversations, messages = set(), set()
        day = start.date() - dt.timedelta(days=7)
        days = {day + dt.timedelta(days=n) for n in range((end.date() - day).days + 1)}
        days |= {
            self.dataset.start + dt.timedelta(days=(c - 180_000) // 1000)
            for c in self.exports.updates
        }
        for each in sorted(days):
            for conversation in self.exports.conversations_created(each):
                if low <= conversation["updated_at"] < high:
                    conversations.add((conversation["id"],))
                if conversation["updated_at"] <= now:
                    messages.update(
                        (m["id"],)
                        for m in self.exports.messages_of(
                            conversation["id"],
                            conversation["created_at"],
                            conversation["closed_at"],
                        )
                        if low <= m["created_at"] < high
                    )
        return {
            "conversations": (("id",), conversations),
            "messages": (("id",), messages),
            "activity_logs": (("id",), {(e["id"],) for e in self.exports.activity_log(start, end)}),
            "agents": (("id",), {(a["id"],) for a in self.exports.agent_list()}),
            "end_users": (("id",), {(a["id"],) for a in self.exports.end_user_list()}),
            "queues": (("id",), {(a["id"],) for a in self.exports.queue_list()}),
            "tags": (("id",), {(a["id"],) for a in self.exports.tag_list()}),
            "teams": (("id",), {(a["id"],) for a in self.exports.team_list()}),
        }

    def _config_range(self, tap_config: t.Mapping[str, t.Any]) -> tuple[dt.datetime, dt.datetime]:
        def utc(value: str) -> dt.datetime:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        end = utc(tap_config["end_date"]) if tap_config.get("end_date") else self.now()
        return utc(tap_config["start_date"]), min(end, self.now())

    def metric_days(
        self, tap_config: t.Mapping[str, t.Any], zone: zoneinfo.ZoneInfo
    ) -> list[tuple[str, dt.datetime, dt.datetime]]:
        """Calendar days in `zone` from start_date's date to end_date's date (exclusive), up to
        today."""
        first = dt.date.fromisoformat(str(tap_config["start_date"])[:10])
        today = self.now().astimezone(zone).date()
        last = today + dt.timedelta(days=1)
        if tap_config.get("end_date"):
            last = min(last, dt.date.fromisoformat(str(tap_config["end_date"])[:10]))
        days = []
        day = first
        while day < last:
            nxt = day + dt.timedelta(days=1)
            days.append((day.isoformat(), _local_midnight(day, zone), _local_midnight(nxt, zone)))
            day = nxt
        return days

    @staticmethod
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

    @staticmethod
    def record_key(record_id: str, row: SimRecord) -> tuple:
        """A row's key as tap-dixa writes it (timestamps as ISO 8601 UTC strings)."""
        by_name = {f["name"]: f["field"] for f in row.fields}
        key: list[t.Any] = []
        for column in DixaSimulator.record_key_columns(record_id):
            if column == "primary_timestamp":
                key.append(row.timestamp.isoformat())
                continue
            value = by_name[column]
            if value["_type"] == "TimestampField":
                key.append(_instant(value["timestamp"], zoneinfo.ZoneInfo("UTC")).isoformat())
            elif value["_type"] == "InstantField":
                key.append(_instant(value["value"], zoneinfo.ZoneInfo("UTC")).isoformat())
            else:
                key.append(value.get("value"))
        return tuple(key)
