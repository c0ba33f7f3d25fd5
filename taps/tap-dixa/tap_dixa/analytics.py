"""Dixa's Analytics API (`/v1/analytics/...`): the metrics and records catalogues, filter values,
metric values and one stream per record id."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
import zoneinfo
from dataclasses import dataclass
from functools import cached_property

import requests
from singer_sdk import StreamSchema

from support_taps.accounts import ACCOUNT_KEY
from support_taps.errors import UnparseableResponse, VendorAPIError, body_snippet, endpoint_of
from support_taps.normalize import to_number, to_text, to_utc_iso
from support_taps.windowed import WindowedStream, window_context, window_of
from support_taps.windows import DateWindow
from tap_dixa.client import DIXA_SCHEMAS, DixaStream
from tap_dixa.fields import (
    CONVERSATION_IDS,
    FIELD_TYPES,
    PRIMARY_TIMESTAMP,
    RAW,
    Column,
)

if t.TYPE_CHECKING:
    from tap_dixa.tap import TapDixa

UTC = dt.timezone.utc


@dataclass(frozen=True)
class DixaCatalogue:
    """What Dixa's catalogue endpoints said, by id."""

    metrics: dict[str, dict[str, t.Any]]
    records: dict[str, dict[str, t.Any]]

    @property
    def filter_attributes(self) -> list[str]:
        """Every filter attribute any metric or record mentions, in first-seen order."""
        seen: dict[str, None] = {}
        for entry in [*self.metrics.values(), *self.records.values()]:
            seen.update(dict.fromkeys(supported_filters(entry)))
        return list(seen)


def supported_filters(entry: t.Mapping[str, t.Any]) -> list[str]:
    """Filter attributes a catalogue entry lists."""
    return [
        f.get("filterAttribute") for f in entry.get("filters") or [] if f.get("filterAttribute")
    ]


class AnalyticsStream(DixaStream):
    """A stream of Dixa's Analytics API: Dixa's catalogue (read by the tap), the `timezone`
    every query is asked in, Interval periods and the configured filters."""

    @property
    def dixa_tap(self) -> TapDixa:
        """The tap of this run, with Dixa's catalogue and the selected ids."""
        return t.cast("TapDixa", self.tap)

    @property
    def timezone(self) -> str:
        return str(self.config["timezone"])

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def filters_for(self, supported: t.Iterable[str]) -> list[dict[str, t.Any]]:
        """The configured `filters` whose attribute this metric or record supports."""
        supported = set(supported)
        return [
            {"attribute": f["attribute"], "values": list(f["values"])}
            for f in self.config.get("filters") or []
            if f["attribute"] in supported
        ]

    @staticmethod
    def interval(window: DateWindow) -> dict[str, str]:
        """Dixa's `periodFilter` for a window: an Interval, in UTC."""
        return {"_type": "Interval", "start": _iso(window.start), "end": _iso(window.end)}


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _text_list(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []


def _objects(value: object, keys: tuple[str, ...]) -> list[dict[str, t.Any]]:
    """A list of objects reduced to the documented keys (others are left out)."""
    if not isinstance(value, list):
        return []
    return [{key: item.get(key) for key in keys} for item in value if isinstance(item, dict)]


# ---- catalogues ------------------------------------------------------------------------


class CatalogueStream(AnalyticsStream):
    """A catalogue endpoint. Discovery reads it first; the sync emits what discovery read."""

    primary_keys = ("id",)
    replication_key = None
    schema = StreamSchema(DIXA_SCHEMAS)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetched: list[dict] | None = None

    def fetch(self) -> list[dict]:
        """Read the whole catalogue now (every page) and keep it for this run."""
        self.fetched = list(self.request_records(None))
        return self.fetched

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        # Discovery read the catalogue moments ago in this same run; ask again only if it did not.
        yield from self.fetched if self.fetched is not None else self.request_records(context)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        for entry in self.data_objects(response, f"an entry of `data` ({self.name})"):
            if entry.get("id"):
                yield {**self.row(entry), "raw": entry}

    def row(self, entry: dict) -> dict:
        raise NotImplementedError


class MetricsCatalogueStream(CatalogueStream):
    """Metrics Catalogue: every metric id with its filters, measures and related records."""

    name = "metrics_catalogue"
    path = "/v1/analytics/metrics"

    def row(self, entry: dict) -> dict:
        return {
            "id": str(entry["id"]),
            "description": to_text(entry.get("description")),
            "filters": _objects(entry.get("filters"), ("filterAttribute", "description")),
            "aggregations": _objects(entry.get("aggregations"), ("measure", "description")),
            "relatedRecordIds": _text_list(entry.get("relatedRecordIds")),
        }


class RecordsCatalogueStream(CatalogueStream):
    """Metric Records Catalogue: every record id with its filters, fields and related metrics."""

    name = "records_catalogue"
    path = "/v1/analytics/records"

    def row(self, entry: dict) -> dict:
        return {
            "id": str(entry["id"]),
            "description": to_text(entry.get("description")),
            "filters": _objects(entry.get("filters"), ("filterAttribute", "description")),
            "fieldsMetadata": _objects(
                entry.get("fieldsMetadata"), ("field", "description", "nullable")
            ),
            "relatedMetricIds": _text_list(entry.get("relatedMetricIds")),
        }


class FilterAttributeRejected(VendorAPIError):
    """Dixa answered 400 for one filter attribute."""


class FilterValuesStream(AnalyticsStream):
    """Filter values: every value (and label) of every filter attribute the catalogues mention."""

    name = "filter_values"
    path = "/v1/analytics/filter/{filterAttribute}"
    primary_keys = ("filterAttribute", "value")
    replication_key = None
    schema = StreamSchema(DIXA_SCHEMAS)

    @property
    def partitions(self) -> list[dict]:
        return [
            {"filterAttribute": attribute}
            for attribute in self.dixa_tap.dixa_catalogue.filter_attributes
        ]

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        attribute = (context or {}).get("filterAttribute")
        if attribute is None:
            msg = "filter_values is partitioned by attribute: its context needs `filterAttribute`."
            raise ValueError(msg)
        try:
            for item in self.request_records(context):
                yield {"filterAttribute": attribute, **item}
        except FilterAttributeRejected as exc:
            # A catalogue naming an attribute the filter endpoint refuses is Dixa's inconsistency;
            # the other attributes (and streams) are still worth having.
            self.logger.warning("Skipping filter attribute %r: %s", attribute, exc)

    def validate_response(self, response: requests.Response) -> None:
        if response.status_code == 400:
            msg = (
                f"Dixa rejected {endpoint_of(response)} with HTTP 400: "
                f"{body_snippet(response.content)}"
            )
            raise FilterAttributeRejected(msg)
        super().validate_response(response)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        for item in self.data_objects(response, "a filter value in `data`"):
            if item.get("value") is not None:
                yield {
                    "value": str(item["value"]),
                    "label": to_text(item.get("label")),
                    "raw": item,
                }


# ---- metric values ---------------------------------------------------------------------


#: `status` of measures that are not split by presence status. The status is part of the key,
#: and targets load keys as NOT NULL (an empty string becomes NULL in a CSV load), so it is a word.
ALL_STATUSES = "all"
UNKNOWN_STATUS = "unknown"


class MetricValuesStream(AnalyticsStream, WindowedStream):
    """Per metric, per calendar day in `timezone` and per measure, the aggregate value.

    Each day is one `POST /v1/analytics/metrics` with an Interval from that day's local
    midnight to the next, asking for every measure the catalogue lists for the metric.
    AgentPresenceDuration answers a list of per-status durations: one row per status.
    """

    name = "metric_values"
    path = "/v1/analytics/metrics"
    http_method = "POST"
    payload_as_json = True
    primary_keys = ("metric_id", "day", "measure", "status")
    replication_key = "period_start"
    schema = StreamSchema(DIXA_SCHEMAS)

    lookback_setting = "lookback_days"

    def get_new_paginator(self) -> None:
        return None  # one aggregate per request

    @property
    def partitions(self) -> list[dict]:
        return [{"metric_id": metric_id} for metric_id in self.dixa_tap.selected_metric_ids]

    def windows(self, context: t.Mapping | None) -> list[DateWindow]:
        """Calendar days in `timezone` (the core's local days): from start_date's date, or
        the bookmarked day minus the lookback, through today."""
        days = self.local_day_windows(context, self.zone)
        if days:
            self.logger.info(
                "Metric %s: asking %d days from %s.",
                _metric_id(context),
                len(days),
                days[0].start.astimezone(self.zone).date(),
            )
        return days

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> t.Iterable[dict]:
        base = {
            "metric_id": _metric_id(context),
            "day": window.start.astimezone(self.zone).date().isoformat(),
            "timezone": self.timezone,
            "period_start": window.start.isoformat(),
            "period_end": window.end.isoformat(),
        }
        for row in super().window_records(window, context):
            row.update(base)
            yield row

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime:
        # Today is still filling up: bookmark "now", so the next run asks for today again.
        return min(window.end, self.tap.run_started)

    def prepare_request_payload(self, context: t.Mapping | None, next_page_token: t.Any) -> dict:
        metric_id = _metric_id(context)
        metric = self.dixa_tap.dixa_catalogue.metrics[metric_id]
        window = window_of(context)
        return {
            "id": metric_id,
            "periodFilter": self.interval(window),
            "timezone": self.timezone,
            "filters": self.filters_for(supported_filters(metric)),
            "aggregations": [
                a["measure"] for a in metric.get("aggregations") or [] if a.get("measure")
            ],
        }

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        data = self.expect_shape(self.data_of(response), dict, "`data`", response)
        aggregates = data.get("aggregates")
        if data and "id" not in data and aggregates is None:  # an error in a 200, not an answer
            raise self.unexpected_shape(
                response, "`data` as published, an object with `id` and `aggregates`", data
            )
        if aggregates is None:
            return
        for aggregate in self.expect_shape(aggregates, list, "`data.aggregates`", response):
            self.expect_shape(aggregate, dict, "an aggregate in `data.aggregates`", response)
            kind = aggregate.get("_type")
            measure = str(aggregate.get("measure"))
            value = aggregate.get("value")
            if isinstance(value, list):  # AgentPresenceDurationValue: one value per presence status
                for item in value:
                    self.expect_shape(item, dict, f"a per-status value of {kind}", response)
                    status = item.get("status") or {}
                    if not isinstance(status, dict):
                        status = {"status": status}
                    yield {
                        "measure": measure,
                        "status": str(status.get("status") or UNKNOWN_STATUS),
                        "status_description": to_text(status.get("description")),
                        "value": to_number(item.get("value")),
                        "value_type": kind,
                        "raw": aggregate,
                    }
                continue
            if kind not in ("LongAggregateValue", "DoubleAggregateValue"):
                self.warn_once(
                    ("type", kind),
                    "Dixa sent an aggregate `_type` this tap does not know, %r (metric %s); "
                    "its value is kept when it is a number.",
                    kind,
                    data.get("id"),
                )
            yield {
                "measure": measure,
                "status": ALL_STATUSES,
                "status_description": None,
                "value": to_number(value),
                "value_type": kind,
                "raw": aggregate,
            }


def _metric_id(context: t.Mapping | None) -> str:
    """The metric of a `metric_values` partition."""
    if not context or "metric_id" not in context:
        msg = "metric_values is partitioned by metric: its context needs a `metric_id`."
        raise ValueError(msg)
    return str(context["metric_id"])


# ---- records ---------------------------------------------------------------------------


def record_stream_name(record_id: str) -> str:
    return "records_" + re.sub(r"[^A-Za-z0-9_]", "_", record_id)


#: Record ids with at most one row per conversation, so the conversation id alone is the key.
#: Elsewhere a conversation has several rows over time (closed again after reopening, rated
#: more than once), told apart by the primary timestamp.
ONE_ROW_PER_CONVERSATION = frozenset({"conversations", "first_response_times"})


def record_identity(entry: t.Mapping[str, t.Any], field_names: t.Iterable[str]) -> tuple[str, ...]:
    """A record id's primary key: the record's own id, plus the primary timestamp where the id
    alone is not unique. Never a measured value: a revised duration or score must update the
    row it revises, not add a second one.

    - a conversation id (`conversation_id` or `csid`): alone for record ids with one row per
      conversation, else with the primary timestamp;
    - else `agent_id` with the primary timestamp (an agent's presence periods, for example);
    - else the primary timestamp and every non-nullable field named `id` or `*_id`.
    """
    names = list(dict.fromkeys(field_names))
    listed = [m.get("field") for m in entry.get("fieldsMetadata") or []]
    conversation = next((n for n in CONVERSATION_IDS if n in listed), None) or next(
        (n for n in CONVERSATION_IDS if n in names), None
    )
    if conversation:
        return (
            (conversation,)
            if entry.get("id") in ONE_ROW_PER_CONVERSATION
            else (conversation, PRIMARY_TIMESTAMP)
        )
    if "agent_id" in names:
        return ("agent_id", PRIMARY_TIMESTAMP)
    ids = [
        m["field"]
        for m in entry.get("fieldsMetadata") or []
        if m.get("nullable") is False
        and (m.get("field") == "id" or str(m.get("field")).endswith("_id"))
    ]
    return (PRIMARY_TIMESTAMP, *ids)


#: How a keyless row's error says it had no primary timestamp either.
NO_PRIMARY_TIMESTAMP = " and no primaryTimestampField.timestamp"


class RecordStream(AnalyticsStream, WindowedStream):
    """One Dixa record id (`POST /v1/analytics/records`), incremental on its primary timestamp.

    Asked in windows of `window_days` with an Interval period filter; each window is paged with
    the pageKey from `meta.next` (same body, new pageKey), and the bookmark moves to the window's
    end once its rows are out. The key is the record's own id (see `record_identity`); `raw`
    keeps each row whole, so a field this catalog has no column for still lands.
    """

    path = "/v1/analytics/records"
    http_method = "POST"
    payload_as_json = True
    replication_key = PRIMARY_TIMESTAMP
    window_setting = "window_days"
    lookback_setting = "lookback_days"
    # A row on the inclusive end of the Interval belongs to the next window, which emits it.
    window_field = PRIMARY_TIMESTAMP

    def __init__(
        self,
        tap: TapDixa,
        entry: t.Mapping[str, t.Any],
        schema: dict[str, t.Any],
        *,
        check_keys: bool = True,
    ) -> None:
        self.record_id = str(entry["id"])
        self.entry = entry
        properties = schema.get("properties", {})
        primary_keys = tuple(k for k in record_identity(entry, properties) if k in properties)
        super().__init__(tap, name=record_stream_name(self.record_id), schema=schema)
        self.primary_keys = primary_keys
        self.check_keys = check_keys
        self.columns = {
            name: Column(name, spec, f"{name}_label" if f"{name}_label" in properties else None)
            for name, spec in properties.items()
            if name not in (PRIMARY_TIMESTAMP, RAW) and not self._is_label(name, properties)
        }
        self._empty = dict.fromkeys(properties)

    @staticmethod
    def _is_label(name: str, properties: t.Mapping[str, t.Any]) -> bool:
        return name.endswith("_label") and name[: -len("_label")] in properties

    def prepare_request_payload(self, context: t.Mapping | None, next_page_token: t.Any) -> dict:
        window = window_of(context)
        # The same body for every page of a window: only the pageKey in the query string changes.
        return {
            "id": self.record_id,
            "periodFilter": self.interval(window),
            "timezone": self.timezone,
            "filters": self.filters_for(supported_filters(self.entry)),
        }

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        what = f"`data` of record {self.record_id}"
        for raw in self.expect_shape(self.data_of(response), list, what, response):
            yield self.to_record(self.checked_row(raw, response), response)

    def checked_row(self, raw: t.Any, response: requests.Response) -> dict[str, t.Any]:
        """A row in the documented shape, or an error naming the endpoint and what came instead."""
        # The common case checked at once, without the messages each check would need to fail.
        if isinstance(raw, dict):
            fields = raw.get("fields", [])
            if (
                isinstance(raw.get("primaryTimestampField"), dict)
                and isinstance(fields, list)
                and all(
                    isinstance(item, dict)
                    and isinstance(item.get("name"), str)
                    and (item.get("field") is None or isinstance(item.get("field"), dict))
                    for item in fields
                )
            ):
                return raw
        where = f"record {self.record_id}"
        self.expect_shape(raw, dict, f"a row of {where}", response)
        primary = raw.get("primaryTimestampField")
        self.expect_shape(primary, dict, f"`primaryTimestampField` of a row of {where}", response)
        for item in self.expect_shape(
            raw.get("fields", []), list, f"`fields` of a row of {where}", response
        ):
            self.expect_shape(item, dict, f"an entry of `fields` of {where}", response)
            self.expect_shape(item.get("name"), str, f"the `name` of a field of {where}", response)
            field = item.get("field")
            if field is not None:
                self.expect_shape(field, dict, f"field {item['name']!r} of {where}", response)
        return t.cast("dict[str, t.Any]", raw)

    def to_record(
        self, raw: dict[str, t.Any], response: requests.Response | None = None
    ) -> dict[str, t.Any]:
        primary = raw.get("primaryTimestampField") or {}
        record = dict(self._empty)
        record[PRIMARY_TIMESTAMP] = to_utc_iso(primary.get("timestamp"))
        record[RAW] = raw
        columns = self.columns
        fields = {item.get("name"): item.get("field") for item in raw.get("fields") or []}
        for name, field in fields.items():
            column = columns.get(name)
            if column is None:
                self.warn_once(
                    ("field", name),
                    "Dixa sent a field %r for record %s that this catalog has no column "
                    "for; it is kept in `raw` (run discovery again to make it a column).",
                    name,
                    self.record_id,
                )
                continue
            if not isinstance(field, dict):
                continue
            value, fits = column.convert(field)
            kind = field.get("_type")
            if kind not in FIELD_TYPES and fits:
                self.warn_once(
                    ("type", kind),
                    "Dixa sent a field `_type` this tap does not know, %r (record %s, "
                    "field %s); the field is kept as JSON.",
                    kind,
                    self.record_id,
                    name,
                )
            if not fits:
                self.warn_once(
                    ("fit", name, kind),
                    "Field %s of record %s came as %s, which does not fit its "
                    "column (%s, from discovery); left empty (it is in `raw`). Run discovery "
                    "again to retype it.",
                    name,
                    self.record_id,
                    kind,
                    column.kind,
                )
            record[name] = value
            if column.label is not None:
                record[column.label] = to_text(field.get("label"))
        self._fill_conversation_id(record, fields)
        if self.check_keys:
            missing = [
                k
                for k in dict.fromkeys((PRIMARY_TIMESTAMP, *self.primary_keys))
                if k != ACCOUNT_KEY and record.get(k) is None  # the core adds it after parsing
            ]
            if missing:
                endpoint = endpoint_of(response) if response is not None else self.path
                msg = (
                    f"Dixa sent a row of record {self.record_id} for {endpoint} without its key "
                    f"{', '.join(missing)}: the row has fields "
                    f"[{', '.join(sorted(map(str, fields)))}]"
                    f"{'' if primary.get('timestamp') else NO_PRIMARY_TIMESTAMP}."
                )
                raise UnparseableResponse(msg)
        return record

    def _fill_conversation_id(
        self, record: dict[str, t.Any], fields: t.Mapping[str, t.Any]
    ) -> None:
        """A conversation id column left empty takes the row's other name for it (`csid` for
        `conversation_id` and back): Dixa's docs name the same id both ways for one record."""
        for name in CONVERSATION_IDS:
            column = self.columns.get(name)
            if column is None or record.get(name) is not None:
                continue
            for alias in CONVERSATION_IDS:
                field = fields.get(alias)
                if alias != name and isinstance(field, dict):
                    value, fits = column.convert(field)
                    if fits and value is not None:
                        record[name] = value
                        break

    def warn_once(self, about: t.Hashable, message: str, *args: t.Any) -> None:
        if self.check_keys:  # not discovery's sample: the stream the run builds says it, once
            super().warn_once(about, message, *args)

    def sample_types(self, start: dt.datetime, end: dt.datetime, size: int) -> dict[str, set[str]]:
        """The `_type`s of each field (listed in fieldsMetadata or not) in one page of up to
        `size` rows from [start, end)."""
        observed: dict[str, set[str]] = {}
        context = {**window_context(DateWindow(start, end)), "page_limit": size}
        for count, record in enumerate(self.request_records(context), start=1):
            for item in record[RAW].get("fields") or []:
                field = item.get("field")
                if item.get("name") and isinstance(field, dict) and field.get("_type"):
                    observed.setdefault(item["name"], set()).add(str(field["_type"]))
            if count >= size:
                break  # one page is enough; do not follow meta.next
        return observed
