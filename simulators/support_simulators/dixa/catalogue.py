"""Dixa's Analytics catalogues: the record ids and metrics served, as Dixa describes them.

Shapes follow Dixa's Analytics API reference (vendor-docs/dixa-analytics-api.txt).
"""

from __future__ import annotations

import typing as t


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


def metric_entry(metric_id: str) -> dict[str, t.Any]:
    """A metric as the metrics catalogue lists it."""
    spec = METRICS[metric_id]
    return {
        "id": metric_id,
        "description": spec["description"],
        "filters": [_filter(a) for a in RECORDS[spec["record"]]["filters"]],
        "aggregations": [{"measure": m, "description": d} for m, d in spec["measures"].items()],
        "relatedRecordIds": [spec["record"]],
    }


def record_entry(record_id: str) -> dict[str, t.Any]:
    """A record id as the records catalogue lists it."""
    spec = RECORDS[record_id]
    return {
        "id": record_id,
        "description": spec["description"],
        "filters": [_filter(a) for a in spec["filters"]],
        "relatedMetricIds": spec["relatedMetricIds"],
        "fieldsMetadata": spec["fieldsMetadata"],
    }
