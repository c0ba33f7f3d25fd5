"""Dixa's Exports API: conversations and messages.

The Exports API (`https://exports.dixa.io`) has no paging: a query answers every object at once,
and no query may span more than 31 days. Streams ask in windows of `export_window_days` (at most
31) on `updated_at` (messages: `created_at`), in epoch milliseconds, and keep each object whose
stamp falls in the window's half-open range [start, end): the query is widened by a millisecond
at the start so either reading of Dixa's bounds (inclusive or not) returns it, and the range
filter drops what belongs to the neighbouring window. So no conversation falls between windows
or lands twice.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

import requests
from singer_sdk import StreamSchema
from singer_sdk.authenticators import BearerTokenAuthenticator

from support_taps.errors import response_place
from support_taps.normalize import InstantOutOfRange, from_epoch_ms, newest_only, to_utc_iso
from support_taps.windowed import WindowedStream, window_of
from support_taps.windows import DateWindow
from tap_dixa.client import DIXA_SCHEMAS, DixaStream

UTC = dt.timezone.utc
#: Dixa: "no query can span more than 1 month (31 days)".
MAX_EXPORT_DAYS = 31
_MS = dt.timedelta(milliseconds=1)


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def instant_of(value: t.Any) -> str | None:
    """Dixa's epoch milliseconds as ISO 8601 UTC (None stays None; text is read as ISO text);
    InstantOutOfRange for a number no date-time holds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return to_utc_iso(value)
    return from_epoch_ms(value)


def _number_or_none(value: t.Any) -> float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def export_days(config: t.Mapping[str, t.Any]) -> dt.timedelta:
    """`export_window_days`, never over Dixa's 31 days."""
    return dt.timedelta(days=min(int(config["export_window_days"]), MAX_EXPORT_DAYS))


class ExportStream(DixaStream, WindowedStream):
    """A stream of Dixa's Exports API (`exports_api_url`): a GET in windows on `updated_at`
    (epoch milliseconds), the token as a Bearer token, one answer per window (no paging)."""

    url_settings = ("exports_api_url",)
    api_url_setting = "exports_api_url"
    replication_key = "updated_at"
    schema = StreamSchema(DIXA_SCHEMAS)
    #: Top-level fields Dixa sends as epoch milliseconds, typed as date-time here.
    instants: t.ClassVar[tuple[str, ...]] = ()
    #: Whether the published model's `id` is an integer (then anything else is refused).
    integer_id: t.ClassVar[bool] = False
    id_name: t.ClassVar[str] = "`id`"
    #: The field windows are cut on, in the object, and the export's filter for it.
    window_field = "updated_at"
    export_filter: t.ClassVar[str] = "updated"
    window_setting = "export_window_days"
    lookback_setting = "export_lookback_minutes"
    lookback_unit = "minutes"
    align_to_days = False
    # An export answers a whole window at once and Dixa spends most of a backfill building
    # those answers: reading window k+1 while window k's records go out overlaps the two
    # (benchmarks/dixa_benchmark.py). Two windows are read ahead, so Dixa builds the next
    # answer while the tap reads one: two requests open at once. The Exports API publishes no
    # limit of its own; two stay within the per-token bursts of 4 Dixa publishes for its APIs,
    # the pacer still holds the rate, and a 429 is retried.
    prefetch_windows = True
    prefetch_depth = 2

    @cached_property
    def window_size(self) -> dt.timedelta:
        # The query spans start-1ms to end: a full 31 days at most, as Dixa allows.
        return export_days(self.config) - _MS

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        # The Exports API takes the same token as a Bearer token (Dixa's Exports API guide).
        return BearerTokenAuthenticator(token=self.config["api_token"])

    def get_new_paginator(self) -> None:
        return None  # no paging: one answer per window

    def get_url_params(self, context: t.Mapping | None, next_page_token: t.Any) -> dict[str, t.Any]:
        window = window_of(context)
        return {
            f"{self.export_filter}_after": epoch_ms(window.start) - 1,
            f"{self.export_filter}_before": epoch_ms(window.end),
        }

    def window_filter(self, window: DateWindow) -> t.Callable[[t.Mapping[str, t.Any]], bool]:
        """The objects whose epoch-millisecond stamp is in [start, end): the query asked from a
        millisecond before the start, and may include its end."""
        low, high = epoch_ms(window.start), epoch_ms(window.end)
        field = self.window_field

        def inside(record: t.Mapping[str, t.Any]) -> bool:
            return bool(low <= record["raw"][field] < high)

        return inside

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        payload = self.decode_json(response)
        self.expect_shape(payload, list, "the export (Dixa sends a JSON array)", response)
        for raw in self._newest(payload, response):
            yield self.to_record(raw)

    def _newest(self, payload: list, response: requests.Response) -> t.Iterable[dict]:
        """The export's objects, checked, each id once: its newest version (by `updated_at`;
        the later one sent, on a tie), so an upserting target never keeps an older one.
        Windows run in `updated_at` order, so a later window never holds an older version."""
        rows, dropped = newest_only(
            self._checked(payload, response),
            # Any JSON value: 1 is not "1".
            key=lambda raw: (type(raw["id"]).__name__, repr(raw["id"])),
            version=lambda raw: _number_or_none(raw.get("updated_at")),
        )
        if dropped:
            self.warn_once(
                ("duplicate",),
                "Dixa's %s export sent an id more than once in one answer; only its newest "
                "version (by `updated_at`) is emitted.",
                self.name,
            )
        return rows

    def _checked(self, payload: list, response: requests.Response) -> t.Iterator[dict]:
        for raw in payload:
            self.expect_shape(raw, dict, f"an object of the {self.name} export", response)
            for key in ("id", self.window_field):
                if raw.get(key) is None:
                    raise self.unexpected_shape(response, f"{self.name} objects with `{key}`", raw)
            if self.integer_id and (isinstance(raw["id"], bool) or not isinstance(raw["id"], int)):
                # Refused here, where the id is read: 1, "1" and "REQ-1" would share one key,
                # and the id goes on into the child streams' requests (`notes`).
                raise self.unexpected_shape(
                    response_place(response, ", `id`"),
                    f"the {self.id_name} as a number, as the {self.published_model} publishes "
                    "it (text is refused, not read as a number: two objects would share a key)",
                    raw["id"],
                )
            stamp = raw[self.window_field]
            if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
                raise self.unexpected_shape(
                    response_place(response, f", `{self.window_field}`"),
                    "epoch milliseconds (a number)",
                    stamp,
                )
            try:
                from_epoch_ms(stamp)
            except InstantOutOfRange:
                # The field windows are cut on: without it the object belongs to no window.
                raise self.unexpected_shape(
                    response_place(response, f", `{self.window_field}`"),
                    "epoch milliseconds of a date-time (years 1 to 9999)",
                    stamp,
                ) from None
            yield raw

    @cached_property
    def columns(self) -> tuple[str, ...]:
        """The typed columns, in schema order (read once, not per object)."""
        return tuple(name for name in self.schema["properties"] if name != "raw")

    def to_record(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        get = raw.get
        record = {name: get(name) for name in self.columns}
        for name in self.instants:
            try:
                record[name] = instant_of(raw.get(name))
            except InstantOutOfRange:
                # Dixa publishes no range for its other instants: the row lands, `raw` keeps
                # the number.
                self.warn_once(
                    ("instant", name),
                    "Dixa's %s export sent `%s` as epoch milliseconds outside years 1 to 9999; "
                    "it lands as null (the number is in `raw`). Further such values are not "
                    "reported.",
                    self.name,
                    name,
                )
                record[name] = None
        record["raw"] = raw
        return record


class ConversationsStream(ExportStream):
    """`GET /v1/conversation_export`: every conversation that changed, with all its fields; the
    parent of `notes` (each conversation read is asked for its internal notes)."""

    name = "conversations"
    path = "/v1/conversation_export"
    primary_keys = ("id",)
    integer_id = True
    id_name = "conversation id (`id`, the csid)"
    instants = (
        "created_at",
        "updated_at",
        "queued_at",
        "closed_at",
        "assigned_at",
        "last_message_created_at",
        "anonymized_at",
    )
    #: Integers in the published Exports API model that peers type otherwise: `transfer_time`
    #: (an instant here before; an integer for both peers, "time taken" for one) and the
    #: ratings' `rating_*_timestamp` (epoch milliseconds; strings for two of them in singer-io).
    #: Kept as the integers Dixa sends; anything else is null in the column, with a warning.
    published_integers: t.ClassVar[tuple[str, ...]] = ("transfer_time",)
    published_model = "Exports API model"

    def to_record(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        record = super().to_record(raw)
        for name in self.published_integers:
            record[name] = self.published_integer(name, record.get(name))
        ratings = record.get("ratings")
        if isinstance(ratings, list):
            record["ratings"] = [self._rating(rating) for rating in ratings]
        return record

    def _rating(self, rating: t.Any) -> t.Any:
        if not isinstance(rating, dict):
            return rating
        return {
            name: self.published_integer(f"ratings[].{name}", value)
            if name.startswith("rating_") and name.endswith("_timestamp")
            else value
            for name, value in rating.items()
        }

    def get_child_context(self, record: dict, context: t.Mapping | None) -> dict:
        return {"csid": record["id"]}


class MessagesStream(ExportStream):
    """`GET /v1/message_export`: every message, windowed on its own `created_at` (the published
    filters are `created_after`/`created_before`), keyed by message id, with its conversation's
    `csid`; no internal notes (those are the conversation's `conversation_wrapup_notes`)."""

    name = "messages"
    path = "/v1/message_export"
    primary_keys = ("id",)
    replication_key = "created_at"
    instants = ("created_at",)
    window_field = "created_at"
    export_filter = "created"

    def to_record(self, raw: dict[str, t.Any]) -> dict[str, t.Any]:
        record = super().to_record(raw)
        # Dixa's published sample sends `to` as one string; other readings, a list: one shape.
        if isinstance(record.get("to"), str):
            record["to"] = [record["to"]]
        return record


EXPORT_STREAMS = (ConversationsStream, MessagesStream)
