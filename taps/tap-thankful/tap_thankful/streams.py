"""Thankful streams: the action names, and every analytics endpoint as facts per UTC day.

How one `/tickets` answer per day feeds four streams
----------------------------------------------------
`/tickets` returns, for a period, the four `TicketsOverTime` series, their totals
and changes, `TopActions` and `Recommendations`: four streams' worth of facts. The
SDK syncs streams one after the other, so four independent streams would ask for
every day four times, and a cache shared between them would have to hold every
day of the range until the last of them had read it.

Instead `tickets_over_time` is the parent of `ticket_totals`, `top_actions` and
`recommendations`. It asks for one day, puts the answer in the tap's one-day store
(`TapThankful.ticket_days`), and yields the day's row; the SDK then syncs each
selected child with that day's context before the parent resumes, and the parent
drops the answer. Each day is fetched once per run and at most one day's answer
(per action filter) is held. The SDK's own rules make this work whatever is
selected: a parent whose children are selected is synced even when it is not
selected itself (it then emits nothing and keeps no bookmark), and children are
only synced when selected.

Each stream keeps its own bookmark (children have `state_partitioning_keys = []`,
so one bookmark per stream, not one per day). A run starts the parent at the
earliest first day of the selected streams among the four, so a stream selected
for the first time gets its history even when the others are up to date; a child
skips the days before its own first day. The one caveat: a stream map that drops
a `tickets_over_time` row also stops its children for that day, as the SDK only
syncs children of the parent records it keeps.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

from singer_sdk import StreamSchema

from support_taps.compat import SchemaOncePerRun
from support_taps.errors import describe_shape, unexpected_shape
from support_taps.normalize import to_integer, to_number, to_utc_iso
from support_taps.schemas import schema_directory
from support_taps.windows import DateWindow, floor_day, parse_utc
from tap_thankful.client import ONE_DAY, ThankfulDayStream, ThankfulStream

THANKFUL_SCHEMAS = schema_directory("thankful", __package__)


def text_as_sent(value: object) -> str | None:
    """The value as text, as Thankful sent it: no placeholder is taken for null (an action
    may be called "NA"); a number or boolean becomes its text."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


class ActionsStream(ThankfulStream):
    """Action ids and names (`/actions`), the dimension the per-action facts join to."""

    name = "actions"
    path = "/actions"
    primary_keys = ("action_id",)
    replication_key = None
    schema = StreamSchema(THANKFUL_SCHEMAS)

    @cached_property
    def actions(self) -> list[dict]:
        """The `/actions` rows, fetched once per run (also validates `action_ids`)."""
        return list(self.rows(next(iter(self.request_records(None)))))

    @property
    def action_names(self) -> dict[int, str | None]:
        return {row["action_id"]: row["name"] for row in self.actions}

    def rows(self, payload: dict) -> t.Iterator[dict]:
        for key, value in payload.items():
            action_id = to_integer(key)
            if action_id is None:
                # Thankful's example maps action ids to names: the id is the published key.
                raise unexpected_shape(
                    self.vendor,
                    "GET /actions",
                    "action ids (numbers) as keys",
                    key,
                    "The endpoint maps action ids to names; no action is skipped.",
                    text_pattern=True,
                )
            yield {"action_id": action_id, "name": text_as_sent(value), "raw": {key: value}}

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        yield from self.actions


class TicketsOverTimeStream(ThankfulDayStream):
    """The four `TicketsOverTime` series of `/tickets`, one row per day."""

    name = "tickets_over_time"
    path = "/tickets"
    schema = StreamSchema(THANKFUL_SCHEMAS)

    SERIES = (
        ("Received", "received"),
        ("Captured", "captured"),
        ("Transferred", "transferred"),
        ("Resolved", "resolved"),
    )

    def sync_range_start(self, context: t.Mapping | None) -> dt.datetime:
        """The earliest start among this stream (if selected) and its selected children, each
        by the core's rule: a stream selected for the first time gets its history while the
        others keep their bookmarks."""
        starts = [
            t.cast("TicketsChildStream", child).sync_range_start(None)
            for child in self.child_streams
            if child.selected
        ]
        if self.selected:
            starts.append(super().sync_range_start(context))
        return min(starts)

    def answer_records(
        self, window: DateWindow, answer: t.Any, context: t.Mapping | None
    ) -> t.Iterable[dict]:
        """The day's row of each action filter; each answer is held for the children while
        the SDK syncs them with that row (in the main thread), then dropped."""
        store = self.tap.ticket_days
        for day_context, payload in answer:
            key = (day_context["day"], day_context["filter_action_id"])
            store[key] = payload
            try:
                # The SDK syncs the children with this row's context (get_child_context)
                # before asking for the next row.
                yield self.series_row(payload, day_context)
            finally:
                store.pop(key, None)

    def get_child_context(self, record: dict, context: t.Mapping | None) -> dict[str, t.Any]:
        """The row's day and action filter (the key of its answer in `ticket_days`), and
        whether the row closes a complete day: the children bookmark the day only then."""
        day, scope = record["day"], record["filter_action_id"]
        # The last action filter asked (day_contexts) closes the day; the filters are distinct.
        closes_day = scope == self.scopes()[-1] and self.is_complete(parse_utc(day))
        return {"day": day, "filter_action_id": scope, "closes_day": closes_day}

    def series_row(self, payload: dict, context: t.Mapping) -> dict:
        day = parse_utc(context["day"])
        series = payload.get("TicketsOverTime") or {}
        row = {
            "day": context["day"],
            "filter_action_id": context["filter_action_id"],
            **self.filters,
        }
        for vendor_name, column in self.SERIES:
            row[column] = self._day_total(series.get(vendor_name), day)
        row["raw"] = payload.get("TicketsOverTime")
        return row

    def _day_total(self, points: object, day: dt.datetime) -> int | float | None:
        """The sum of a series' points inside the day (None when the day has none).

        Granularity is not published: one midnight point per day is what the API
        sends, but finer points would be summed, and points outside the day ignored.
        """
        if not isinstance(points, list):
            return None
        total: int | float | None = None
        upper = day + ONE_DAY
        for point in points:
            if not isinstance(point, dict):
                continue
            created = self.read(to_utc_iso, point.get("CreatedAt"), "CreatedAt")
            value = self.read(to_number, point.get("Val"), "Val")
            if created is None or value is None:
                continue
            if not (day <= parse_utc(created) < upper):
                self.warn_once(
                    ("point outside the day",),
                    "Thankful sent a TicketsOverTime point outside the day asked for "
                    "(%s for %s); such points are ignored.",
                    created,
                    day.date(),
                )
                continue
            total = value if total is None else total + value
        return total


class TicketsChildStream(SchemaOncePerRun, ThankfulDayStream):
    """A stream built from the same `/tickets` answer as `tickets_over_time`, day by day."""

    parent_stream_type = TicketsOverTimeStream
    prefetch_windows = False  # its day's answer is the parent's, already read
    # One bookmark for the stream, not one state partition per day.
    state_partitioning_keys: t.ClassVar[list[str]] = []
    schema = StreamSchema(THANKFUL_SCHEMAS)

    def windows(self, context: t.Mapping | None) -> list[DateWindow]:
        """The one day the parent synced this child for, unless it is before this stream's
        own start (the parent starts at the earliest start of the streams it feeds)."""
        assert context is not None, "synced by tickets_over_time with a day context"
        day = parse_utc(context["day"])
        if day < floor_day(self.sync_range_start(None)):  # the stream's one bookmark
            return []  # asked for another stream's sake; this one already has it
        return [DateWindow(day, day + ONE_DAY)]

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> t.Iterable[dict]:
        assert context is not None
        payload = self.tap.ticket_days[(context["day"], context["filter_action_id"])]
        return self.rows(payload, context)

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime | None:
        # The parent says which row closes a complete day (the last action filter's).
        return window.end if context and context.get("closes_day") else None

    def checkpoint(self, context: t.Mapping | None, bookmark: dt.datetime) -> None:
        # One bookmark for the stream, whichever day's context fed it.
        super().checkpoint(None, bookmark)


class TicketTotalsStream(TicketsChildStream):
    """The totals and percent changes `/tickets` returns for each day."""

    name = "ticket_totals"

    def rows(self, payload: dict, context: t.Mapping) -> t.Iterable[dict]:
        series = payload.get("TicketsOverTime") or {}
        period = payload.get("Period") or {}
        yield {
            "day": context["day"],
            "filter_action_id": context["filter_action_id"],
            **self.filters,
            "received_total": self.read(to_integer, series.get("ReceivedTotal"), "ReceivedTotal"),
            "captured_total": self.read(to_integer, series.get("CapturedTotal"), "CapturedTotal"),
            "transferred_total": self.read(
                to_integer, series.get("TransferredTotal"), "TransferredTotal"
            ),
            "resolved_total": self.read(to_integer, series.get("ResolvedTotal"), "ResolvedTotal"),
            "received_change": self.read(to_number, series.get("ReceivedChange"), "ReceivedChange"),
            "captured_change": self.read(to_number, series.get("CapturedChange"), "CapturedChange"),
            "transferred_change": self.read(
                to_number, series.get("TransferredChange"), "TransferredChange"
            ),
            "resolved_change": self.read(to_number, series.get("ResolvedChange"), "ResolvedChange"),
            "period_start": self.read(to_utc_iso, period.get("Start"), "Start"),
            "period_end": self.read(to_utc_iso, period.get("End"), "End"),
            "period_min": self.read(to_utc_iso, period.get("Min"), "Min"),
            "raw": payload,
        }


def _listed(payload: dict, key: str) -> list[dict]:
    # The answer's shape was checked when it arrived (payloads.SHAPES): a list of objects or null.
    return payload.get(key) or []


class TopActionsStream(TicketsChildStream):
    """Per day and action, the `TopActions` counts and whether the action is enabled."""

    name = "top_actions"
    row_keys = ("action_id",)

    def rows(self, payload: dict, context: t.Mapping) -> t.Iterable[dict]:
        seen: set[int] = set()
        for item in _listed(payload, "TopActions"):
            action_id = to_integer(item.get("ID"))
            if action_id is None:
                self.missing_id(f"TopActions of /tickets for {context['day']}", "ID", item)
            if action_id in seen:
                self.logger.warning(
                    "Skipping a TopActions entry without a new action ID on %s: %s",
                    context["day"],
                    describe_shape(item),
                )
                continue
            seen.add(action_id)
            yield {
                "day": context["day"],
                "filter_action_id": context["filter_action_id"],
                **self.filters,
                "action_id": action_id,
                "name": text_as_sent(item.get("Name")),
                "capture": self.read(to_integer, item.get("Capture"), "Capture"),
                "resolve": self.read(to_integer, item.get("Resolve"), "Resolve"),
                "pending": self.read(to_integer, item.get("Pending"), "Pending"),
                "transfer": self.read(to_integer, item.get("Transfer"), "Transfer"),
                "handoff": self.read(to_integer, item.get("Handoff"), "Handoff"),
                "skip": self.read(to_integer, item.get("Skip"), "Skip"),
                "enabled": self.read(_boolean, item.get("Enabled"), "Enabled"),
                "raw": item,
            }


class RecommendationsStream(TicketsChildStream):
    """Per day and action, the `Impact` text of Thankful's recommendations."""

    name = "recommendations"
    row_keys = ("action_id",)

    def rows(self, payload: dict, context: t.Mapping) -> t.Iterable[dict]:
        impacts: dict[int, str | None] = {}
        sources: dict[int, list[dict]] = {}
        for item in _listed(payload, "Recommendations"):
            action_id = to_integer(item.get("ActionID"))
            if action_id is None:
                self.missing_id(
                    f"Recommendations of /tickets for {context['day']}", "ActionID", item
                )
            impact = text_as_sent(item.get("Impact"))
            if action_id in impacts:
                # Not seen in practice; keep every text rather than lose one to the key.
                impacts[action_id] = "; ".join(
                    text for text in (impacts[action_id], impact) if text
                )
            else:
                impacts[action_id] = impact
            sources.setdefault(action_id, []).append(item)
        for action_id, impact in impacts.items():
            items = sources[action_id]
            yield {
                "day": context["day"],
                "filter_action_id": context["filter_action_id"],
                **self.filters,
                "action_id": action_id,
                "impact": impact,
                "raw": items[0] if len(items) == 1 else {"Recommendations": items},
            }


class HandoffsStream(ThankfulDayStream):
    """Per day, action and cause, the handoff count (`/handoffs`). `Types: null` means no rows."""

    name = "handoffs"
    path = "/handoffs"
    row_keys = ("action_id", "cause_id")
    schema = StreamSchema(THANKFUL_SCHEMAS)

    def rows(self, payload: list, context: t.Mapping) -> t.Iterable[dict]:
        # The answer's shape was checked when it arrived: objects, `Types` a list of objects
        # or null.
        for item in payload:
            action_id = to_integer(item.get("ActionID"))
            types = item.get("Types")
            if types is None:
                continue  # Types is null for actions without handoffs
            if action_id is None:
                self.missing_id(f"/handoffs for {context['day']}", "ActionID", item)
            for kind in types:
                cause_id = to_integer(kind.get("ID"))
                if cause_id is None:
                    self.missing_id(f"/handoffs Types for {context['day']}", "ID", kind)
                yield {
                    "day": context["day"],
                    "filter_action_id": context["filter_action_id"],
                    **self.filters,
                    "action_id": action_id,
                    "cause_id": cause_id,
                    "cause": text_as_sent(kind.get("Cause")),
                    "action_handoff_count": self.read(
                        to_integer, kind.get("ActionHandoffCount"), "ActionHandoffCount"
                    ),
                    "raw": {**item, "Types": [kind]},
                }


class SavingsStream(ThankfulDayStream):
    """Per day, the hours Thankful saved (`/savings`)."""

    name = "savings"
    path = "/savings"
    schema = StreamSchema(THANKFUL_SCHEMAS)

    def rows(self, payload: dict, context: t.Mapping) -> t.Iterable[dict]:
        yield {
            "day": context["day"],
            "filter_action_id": context["filter_action_id"],
            **self.filters,
            "hours": self.read(to_number, payload.get("Hours"), "Hours"),
            "raw": payload,
        }


STREAM_TYPES: list[type[ThankfulStream]] = [
    ActionsStream,
    TicketsOverTimeStream,
    TicketTotalsStream,
    TopActionsStream,
    RecommendationsStream,
    HandoffsStream,
    SavingsStream,
]
