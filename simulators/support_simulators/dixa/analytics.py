"""Dixa's Analytics API: data queries (period, filters, aggregations), record rows, metrics.

- GET  /v1/analytics/metrics, /v1/analytics/records: the catalogues (paged);
- GET  /v1/analytics/metrics/{metricId}, /v1/analytics/records/{recordId}: one description;
- GET  /v1/analytics/filter/{filterAttribute}: the values a filter takes (paged);
- POST /v1/analytics/metrics: one metric's aggregates for a period;
- POST /v1/analytics/records: a record's rows for a period (paged: the same body again with
  the `pageKey` from `meta.next` in the query string).
"""

from __future__ import annotations

import datetime as dt
import statistics
import typing as t
import zoneinfo
from dataclasses import dataclass

from support_simulators.dixa.catalogue import METRICS, RECORDS
from support_simulators.dixa.dataset import (
    AGENTS,
    CHANNELS,
    CONTACT_POINTS,
    DIRECTIONS,
    QUEUES,
    TAGS,
    DixaDataset,
    SimRecord,
)
from support_simulators.framework.dataset import UTC

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


class BadRequest(Exception):
    """A query Dixa answers with 400 (the message is Dixa's)."""


def _zone(name: t.Any) -> zoneinfo.ZoneInfo:
    if not isinstance(name, str) or not name:
        raise BadRequest("Invalid value for: body (missing timezone)")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"Invalid value for: body (unknown timezone {name!r})") from None


def instant(value: t.Any, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid value for: body (bad date-time {value!r})") from None
    return (parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed).astimezone(UTC)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
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
    return local_midnight(days[0], zone), local_midnight(days[1], zone)


def matches(facts: dict[str, t.Any], filters: list[tuple[str, set[str]]]) -> bool:
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


def filter_attributes() -> dict[str, list[dict[str, str]]]:
    """Every filter attribute and its values (with labels)."""
    contact_points = sorted({cp for cps in CONTACT_POINTS.values() for cp in cps})
    return {
        "agent_id": [{"value": i, "label": n} for i, n in AGENTS],
        "queue_id": [{"value": i, "label": n} for i, n in QUEUES],
        "channel": [{"value": v, "label": label} for v, label in CHANNELS],
        "initial_direction": [{"value": v, "label": label} for v, label in DIRECTIONS],
        "tag_id": [{"value": i, "label": n} for i, n in TAGS],
        "contact_point": [{"value": cp, "label": cp} for cp in contact_points],
    }


# ---- a data query's body ---------------------------------------------------------------


def parse_query(
    body: t.Any, known: t.Mapping[str, t.Any], *, metric: bool, now: dt.datetime
) -> DataQuery:
    """The query a POST body asks (`known`: the catalogue its id must be in)."""
    if not isinstance(body, dict) or not isinstance(body.get("id"), str):
        raise BadRequest("Invalid value for: body (missing id)")
    if body["id"] not in known:
        raise BadRequest(f"Invalid value extracted from request context: unknown id {body['id']!r}")
    start, end = _period(body, now)
    filters = _filters(body.get("filters") or [])
    aggregations = body.get("aggregations") if metric else None
    if aggregations is not None and not isinstance(aggregations, list):
        raise BadRequest("Invalid value for: body (aggregations must be a list)")
    return DataQuery(body["id"], start, end, filters, aggregations)


def _period(body: dict[str, t.Any], now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    zone = _zone(body.get("timezone"))
    period = body.get("periodFilter")
    if not isinstance(period, dict):
        raise BadRequest("Invalid value for: body (missing periodFilter)")
    if period.get("_type") == "Interval":
        return instant(period.get("start"), zone), instant(period.get("end"), zone)
    if period.get("_type") == "Preset":
        return preset_period(str((period.get("value") or {}).get("_type")), zone, now)
    raise BadRequest("Invalid value for: body (periodFilter must be an Interval or a Preset)")


def _filters(items: list[t.Any]) -> list[tuple[str, set[str]]]:
    filters = []
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("attribute"), str)
            or not isinstance(item.get("values"), list)
        ):
            raise BadRequest("Invalid value for: body (a filter needs attribute and values)")
        filters.append((item["attribute"], {str(v) for v in item["values"]}))
    return filters


# ---- rows and aggregates ---------------------------------------------------------------


def select(
    dataset: DixaDataset,
    record_id: str,
    start: dt.datetime,
    end: dt.datetime,
    filters: t.Iterable[tuple[str, set[str]]],
    now: dt.datetime,
) -> list[SimRecord]:
    """Rows of a record id in [start, end) (capped at now) passing the filters the record
    supports."""
    supported = set(RECORDS[record_id]["filters"])
    relevant = [(a, v) for a, v in filters if a in supported]
    return [r for r in dataset.rows(record_id, start, min(end, now)) if matches(r.facts, relevant)]


def aggregate(
    metric_id: str, rows: list[SimRecord], aggregations: list[str] | None = None
) -> list[dict]:
    """The metric's aggregates over `rows` (its record's), one per measure asked (all if none)."""
    spec = METRICS[metric_id]
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
    return [_aggregate(measure, rows, values) for measure in measures]


def _aggregate(measure: str, rows: list[SimRecord], values: list[float]) -> dict[str, t.Any]:
    if measure == "Count":
        return {"value": len(rows), "measure": measure, "_type": "LongAggregateValue"}
    if measure == "AgentPresenceDuration":
        return {
            "value": _per_status(rows),
            "measure": measure,
            "_type": "AgentPresenceDurationValue",
        }
    return {"value": _measure(measure, values), "measure": measure, "_type": "DoubleAggregateValue"}


def _per_status(rows: list[SimRecord]) -> list[dict[str, t.Any]]:
    per_status: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r.values["status"], r.values["status_description"])
        per_status[key] = per_status.get(key, 0) + r.values["duration"]
    return [
        {"value": v, "status": {"status": s, "description": d}}
        for (s, d), v in sorted(per_status.items())
    ]


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
