"""Thena streams."""

from __future__ import annotations

import datetime as dt
import typing as t

import requests
from singer_sdk import StreamSchema

from support_taps.client import window_context, window_of
from support_taps.normalize import to_integer, to_number, to_text, to_text_list, to_utc_iso
from support_taps.schemas import schema_directory
from support_taps.windows import ceil_day
from tap_thena.client import ThenaStream

THENA_SCHEMAS = schema_directory("thena")

_DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")


def _datetime(value: object) -> str | None:
    return to_utc_iso(value, _DATE_FORMATS)


#: How each exported field becomes its schema type.
REQUEST_FIELDS: dict[str, t.Callable[[object], object]] = {
    "request_id": to_integer,
    "created_datetime": _datetime,
    "workspace_name": to_text,
    "slack_channel": to_text,
    "customer_name": to_text,
    "requestor_email": to_text,
    "request_title": to_text,
    "request_summary": to_text,
    "sentiment": to_text,
    "urgency": to_text,
    "status": to_text,
    "assigned_on": _datetime,
    "owner": to_text,
    "assigned_to_user_email": to_text,
    "first_response_time": _datetime,
    "number_of_replies": to_integer,
    "closed_by": to_text,
    "feedback": to_text,
    "csat_score": to_number,
    "closed_datetime": _datetime,
    "resolution_time_hours": to_number,
    "on_hold_on": _datetime,
    "on_hold_by": to_text,
    "on_hold_by_user_email": to_text,
    "ai_tags": to_text_list,
    "slack_thread_link": to_text,
    "internal_thread_slack_link": to_text,
}


class RequestsStream(ThenaStream):
    """Support requests, from the requests export, by creation date.

    The export filters on the creation date only, so each run asks again for the
    last `lookback_days` of creation dates: requests assigned, closed or rated since
    the previous run land again with their new values (targets upsert on request_id).
    """

    name = "requests"
    path = "/v1/requests/exports"
    primary_keys = ("request_id",)
    replication_key = "created_datetime"
    schema = StreamSchema(THENA_SCHEMAS)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.window_size = dt.timedelta(days=int(self.config.get("window_days", 7)))
        self.lookback = dt.timedelta(days=int(self.config.get("lookback_days", 30)))
        self._unknown_fields: set[str] = set()

    def get_url_params(self, context: t.Mapping | None, next_page_token: None) -> dict[str, str]:
        window = window_of(context or {})
        # Whether end_date is inclusive is not published. Asking up to the day the
        # window ends (the next midnight for a partial day) covers both readings;
        # get_records keeps only requests created inside the window.
        return {
            "start_date": window.start.date().isoformat(),
            "end_date": ceil_day(window.end).date().isoformat(),
        }

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        rows = self.expect_list(self.decode_json(response), response)
        fields = REQUEST_FIELDS
        for raw in rows:
            record = {}
            for key, value in raw.items():
                convert = fields.get(key)
                if convert is None:
                    self._note_unknown_field(key)
                    continue
                record[key] = convert(value)
            yield record

    def _note_unknown_field(self, key: str) -> None:
        if key not in self._unknown_fields:
            self._unknown_fields.add(key)
            self.logger.warning(
                "Thena sent a field the schema does not know, %r; it is left out. "
                "(The export is in beta and may add fields.)",
                key,
            )

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        for window in self.date_windows(context):
            lower, upper = window.start.isoformat(), window.end.isoformat()
            for record in self.request_records(window_context(window)):
                created = record.get("created_datetime")
                # ISO strings in one offset (+00:00) compare like the instants they name.
                if created is not None and not (lower <= created < upper):
                    continue  # belongs to a neighbouring window, which emits it
                if record.get("request_id") is None:
                    self.logger.warning("Skipping a Thena request without a request_id: %s", record)
                    continue
                yield record
            self.checkpoint(context, window.end)
