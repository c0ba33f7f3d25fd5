"""Thankful's base streams: `X-API-Key` auth, the documented filters, and UTC-day windows."""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterator
from functools import cached_property

import requests
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from support_taps.errors import describe_shape
from support_taps.windowed import WindowedStream
from support_taps.windows import DateWindow, floor_day, parse_utc
from tap_thankful.payloads import check_answer

if t.TYPE_CHECKING:
    from tap_thankful.tap import TapThankful

UTC = dt.timezone.utc
ONE_DAY = dt.timedelta(days=1)
#: The columns recording the status and channel filters a row was asked with.
FILTER_COLUMNS = ("filter_statuses", "filter_channels")


#: `filter_statuses`/`filter_channels` of rows asked without that filter: a word, because a key
#: column is NOT NULL and CSV loads read "" as NULL.
ALL = "all"


def filter_value(ids: t.Iterable[int] | None) -> str:
    """A filter setting as the rows record it and `ss`/`fs` send it: the ids ascending, joined
    by commas ("1,2,5"), or "all"."""
    chosen = sorted(set(ids or ()))
    return ",".join(str(v) for v in chosen) if chosen else ALL


def day_stamp(day: dt.datetime) -> str:
    """The `day` key of every row: the UTC date (a DATE column in the warehouse).

    Bookmarks stay instants ("the end of the last complete day", as the shared core
    writes them). A date sorts before any instant of its own midnight, so the SDK's
    "largest value seen" marker never passes a checkpoint it should not.
    """
    return day.date().isoformat()


class ThankfulStream(WindowedStream):
    vendor = "Thankful"
    credential_settings = ("api_key",)
    url_settings = ("api_url",)

    @property
    def tap(self) -> TapThankful:
        """The tap of this run, with Thankful's shared `ticket_days` and `action_filters`."""
        return t.cast("TapThankful", super().tap)

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator:
        return APIKeyAuthenticator(key="X-API-Key", value=self.config["api_key"], location="header")

    def get_new_paginator(self) -> None:
        # Every endpoint answers a period in one response; nothing to page.
        return None

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        request = super().get_http_request(page=page)
        # Send `s=2019-05-20T00:00:00Z` and `ss=1,2,5` literally, as the docs write them.
        request.safe_query_chars = ",:"
        return request

    def read(self, convert: t.Callable[[t.Any], t.Any], value: t.Any, field: str) -> t.Any:
        """`convert(value)`; a value that was sent but cannot be read is named once per field
        and shape.

        Its column is null and the value as sent stays in the row's `raw`.
        """
        converted = convert(value)
        if converted is None and value is not None:
            shape = describe_shape(value, text_pattern=True)
            self.warn_once(
                ("unreadable", field, shape),
                "Thankful sent %s as `%s`, which the tap cannot read; the column is null "
                "and the value as sent is kept in `raw`.",
                shape,
                field,
            )
        return converted

    def parse_response(self, response: requests.Response) -> t.Iterable[t.Any]:
        # The payload as one item, checked against the shape Thankful publishes for the
        # endpoint (payloads.SHAPES); the streams turn it into rows.
        payload = self.decode_json(response)
        check_answer(payload, self.path, response)
        yield payload


class ThankfulDayStream(ThankfulStream):
    """A stream of facts per UTC day: each day is asked alone (s = 00:00:00, e = 23:59:59).

    Thankful's endpoints summarise "the period s..e"; asked per day, every answer is
    a fact a warehouse can upsert on (day, ...) and sum. The bookmark is the end of
    the last complete day, never later: today is emitted and asked again next run,
    and each run also asks again for `lookback_days` before the bookmark, because
    the vendor revises recent days.
    """

    replication_key = "day"
    lookback_setting = "lookback_days"
    # The next two days are asked while this day's records go out, so requests overlap each
    # other's latency and the tap's own work. Thankful publishes no rate limit: two requests
    # open at a time is what we chose as polite (a browser opens six per host), and no more.
    prefetch_windows = True
    prefetch_depth = 2
    #: Key columns after `day` (and `filter_action_id` when `action_ids` is set).
    row_keys: t.ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # One request per action id (see TapThankful): the rows of each carry it in
        # `filter_action_id`, which then belongs in the key. The status and channel filters
        # are always in the key: figures asked with other filters are other facts, and a
        # filter changed later must not overwrite (or mix with) the earlier ones.
        scope = ("filter_action_id",) if self.config.get("action_ids") else ()
        self.primary_keys = ("day", *scope, *FILTER_COLUMNS, *self.row_keys)

    @cached_property
    def filters(self) -> dict[str, str]:
        """The status and channel filters in effect, as every row records them."""
        return {
            "filter_statuses": filter_value(self.config.get("statuses")),
            "filter_channels": filter_value(self.config.get("channels")),
        }

    def missing_id(self, where: str, column: str, entry: t.Mapping[str, t.Any]) -> t.NoReturn:
        """An entry without the id Thankful's published examples give every entry of `where`:
        an error naming it and the fields found (the id is the row's key; nothing is skipped)."""
        self.missing_key(where, (column,), entry, published=True, keyed_by=column)
        raise AssertionError(where)  # missing_key raises for a published key

    # ---- the days of this run ----------------------------------------------------------

    def is_complete(self, day: dt.datetime) -> bool:
        """Whether the day had ended when the run started (only then may state pass it)."""
        return day + ONE_DAY <= self.tap.run_started

    def scopes(self) -> list[int | None]:
        """The `a` values to ask each day: each configured action id, or None for all."""
        return self.tap.action_filters

    def day_contexts(self, window: DateWindow) -> Iterator[dict[str, t.Any]]:
        """The request contexts of one day: one per action filter."""
        day = floor_day(window.start)
        for scope in self.scopes():
            yield {"day": day_stamp(day), "filter_action_id": scope}

    # ---- requests -----------------------------------------------------------------------

    def get_url_params(self, context: t.Mapping | None, next_page_token: None) -> dict[str, str]:
        params: dict[str, str] = {}
        if context and context.get("day"):
            day = parse_utc(context["day"])
            params["s"] = day.strftime("%Y-%m-%dT00:00:00Z")
            params["e"] = day.strftime("%Y-%m-%dT23:59:59Z")
        if context and context.get("filter_action_id") is not None:
            params["a"] = str(context["filter_action_id"])
        if self.config.get("statuses"):
            params["ss"] = self.filters["filter_statuses"]
        if self.config.get("channels"):
            params["fs"] = self.filters["filter_channels"]
        return params

    def fetch(self, context: t.Mapping) -> t.Any:
        """The one payload of this stream's endpoint for a day context."""
        return next(iter(self.request_records(dict(context))))

    # ---- standalone day streams (their own endpoint) --------------------------------------

    def rows(self, payload: t.Any, context: t.Mapping) -> t.Iterable[dict]:
        """The stream's rows from its endpoint's payload for one day and filter."""
        raise NotImplementedError

    def windows(self, context: t.Mapping | None) -> t.Iterable[DateWindow]:
        self.scopes()  # /actions (for `action_ids`) asked here, before a prefetch worker starts
        return super().windows(context)

    def window_answer(
        self, window: DateWindow, context: t.Mapping | None
    ) -> list[tuple[dict[str, t.Any], t.Any]]:
        """The day's answers, one per action filter (read ahead, in the prefetch worker)."""
        return [(day_context, self.fetch(day_context)) for day_context in self.day_contexts(window)]

    def answer_records(
        self, window: DateWindow, answer: t.Any, context: t.Mapping | None
    ) -> t.Iterable[dict]:
        """The rows of one day: those of each action filter's answer."""
        for day_context, payload in answer:
            yield from self.rows(payload, day_context)

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> t.Iterable[dict]:
        return self.answer_records(window, self.window_answer(window, context), context)

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime | None:
        """The end of the day, once the day is complete; today stays to be asked again."""
        day = floor_day(window.start)
        return day + ONE_DAY if self.is_complete(day) else None
