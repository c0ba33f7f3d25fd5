"""The core's WindowedStream: where a run starts, the windows, the in-window filter and the
checkpoint after each window, on a tiny stream over an in-memory "vendor" (no HTTP).

The fake vendor answers a day more than asked on each side (as an inclusive end or a whole
day would), so the in-window filter has something to drop.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import typing as t

import pytest
import requests
from singer_sdk import typing as th

from support_taps.errors import VendorAPIError
from support_taps.settings import COMMON_SETTINGS, START_END_SETTINGS
from support_taps.stream import SupportStream
from support_taps.tap import SupportTap
from support_taps.windowed import WindowedStream, response_window, window_context
from support_taps.windows import DateWindow

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)


def at(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2025, 1, day, hour, tzinfo=UTC)


#: The vendor's events: one at 12:00 each day of January 2025, and one without a date.
EVENTS = [{"id": day, "created_at": at(day, 12).isoformat()} for day in range(1, 32)]
UNDATED = {"id": 0, "created_at": None}


class EventsStream(WindowedStream):
    name = "events"
    path = "/events"
    primary_keys = ("id",)
    replication_key = "created_at"
    schema: t.ClassVar[dict] = th.PropertiesList(
        th.Property("id", th.IntegerType, required=True),
        th.Property("created_at", th.DateTimeType),
    ).to_dict()

    window_setting = "window_days"
    lookback_setting = "lookback_days"
    window_field = "created_at"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[DateWindow] = []

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> t.Iterable[dict]:
        self.asked.append(window)
        # A day more than asked on each side: the filter keeps only [start, end).
        wider = [
            dict(e)
            for e in EVENTS
            if window.start - DAY <= dt.datetime.fromisoformat(e["created_at"]) < window.end + DAY
        ]
        return [*wider, dict(UNDATED)] if window.start == at(1) else wider


class FakeTap(SupportTap):
    name = "tap-fake"
    config_jsonschema = th.PropertiesList(
        th.Property("api_url", th.StringType, default="http://127.0.0.1:9"),
        # The window's default lives here, in the config schema, and nowhere else.
        th.Property("window_days", th.IntegerType(minimum=1), default=3),
        th.Property("lookback_days", th.IntegerType(minimum=0)),
        *START_END_SETTINGS,
        *COMMON_SETTINGS,
    ).to_dict()
    stream_class: t.ClassVar[type[EventsStream]] = EventsStream

    def discover_streams(self) -> list[EventsStream]:
        return [self.stream_class(self)]


def _tap(state: dict | None = None, tap_class: type[FakeTap] = FakeTap, **config: t.Any) -> FakeTap:
    settings = {"start_date": "2025-01-01", "end_date": "2025-01-10", **config}
    return tap_class(config=settings, state=state, parse_env_config=False)


def _sync(tap: FakeTap, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    """Run the tap; its Singer messages, in order."""
    capsys.readouterr()
    tap.sync_all()
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _bookmark(state: dict) -> str | None:
    entry = state.get("bookmarks", {}).get("events") or {}
    return entry.get("replication_key_value")


def _placed(messages: list[dict]) -> list[tuple[str | None, int]]:
    """(the last bookmark written before it, id) of every RECORD."""
    placed, bookmark = [], None
    for message in messages:
        if message["type"] == "STATE":
            bookmark = _bookmark(message["value"]) or bookmark
        elif message["type"] == "RECORD":
            placed.append((bookmark, message["record"]["id"]))
    return placed


def _bookmarks(messages: list[dict]) -> list[str]:
    seen: list[str] = []
    for message in messages:
        value = _bookmark(message["value"]) if message["type"] == "STATE" else None
        if value and (not seen or seen[-1] != value):
            seen.append(value)
    return seen


def _state_at(bookmark: dt.datetime) -> dict:
    return {
        "bookmarks": {
            "events": {
                "replication_key": "created_at",
                "replication_key_value": bookmark.isoformat(),
            }
        }
    }


# ---- settings -------------------------------------------------------------------------


def test_window_and_lookback_are_read_from_their_settings():
    stream = _tap(window_days=5, lookback_days=2).streams["events"]
    assert stream.window_size == dt.timedelta(days=5)
    assert stream.lookback == dt.timedelta(days=2)


def test_a_setting_left_out_takes_the_config_schema_default_or_none():
    stream = _tap().streams["events"]
    assert stream.window_size == dt.timedelta(days=3)  # FakeTap's schema default
    assert stream.lookback == dt.timedelta(0)  # no lookback setting given, no default


def test_the_units_of_the_settings_are_the_streams():
    class HourlyStream(EventsStream):
        window_unit = "hours"
        lookback_unit = "hours"

    class HourlyTap(FakeTap):
        stream_class = HourlyStream

    stream = _tap(tap_class=HourlyTap, window_days=6, lookback_days=4).streams["events"]
    assert stream.window_size == dt.timedelta(hours=6)
    assert stream.lookback == dt.timedelta(hours=4)


# ---- windows ----------------------------------------------------------------------------


def test_a_first_run_covers_start_date_to_end_date_in_windows(capsys):
    tap = _tap()
    _sync(tap, capsys)
    assert [(w.start, w.end) for w in tap.streams["events"].asked] == [
        (at(1), at(4)),
        (at(4), at(7)),
        (at(7), at(10)),
    ]


def test_a_later_run_starts_at_the_bookmark_minus_the_lookback(capsys):
    tap = _tap(_state_at(at(7)), lookback_days=2)
    _sync(tap, capsys)
    # [5, 10): windows of three days, the last one shorter.
    assert [(w.start, w.end) for w in tap.streams["events"].asked] == [
        (at(5), at(8)),
        (at(8), at(10)),
    ]


def test_the_lookback_never_reaches_before_start_date(capsys):
    tap = _tap(_state_at(at(2)), start_date="2025-01-01", lookback_days=30)
    _sync(tap, capsys)
    assert tap.streams["events"].asked[0].start == at(1)


def test_windows_start_at_midnight(capsys):
    tap = _tap(_state_at(at(7, 15)), lookback_days=0)
    _sync(tap, capsys)
    assert [(w.start, w.end) for w in tap.streams["events"].asked] == [(at(7), at(10))]


def test_nothing_is_asked_when_the_bookmark_is_at_the_end(capsys):
    tap = _tap(_state_at(at(10)))
    messages = _sync(tap, capsys)
    assert tap.streams["events"].asked == []
    assert not [m for m in messages if m["type"] == "RECORD"]


def test_without_end_date_the_range_stops_the_settle_margin_before_now(capsys):
    """A vendor that records data late (its recording lag): the newest `settle` of the range
    is left to the next run, by which time it is in place; the bookmark stops there too."""

    class SettlingStream(EventsStream):
        settle_setting = "settle_minutes"

    class SettlingTap(FakeTap):
        stream_class = SettlingStream
        config_jsonschema = {
            **FakeTap.config_jsonschema,
            "properties": {
                **FakeTap.config_jsonschema["properties"],
                "settle_minutes": {"type": ["integer"]},
            },
        }

    tap = _tap(tap_class=SettlingTap, end_date=None, start_date="2025-01-01", settle_minutes=90)
    stream = tap.streams["events"]
    assert stream.settle == dt.timedelta(minutes=90)
    assert stream.sync_range_end() == tap.run_started - dt.timedelta(minutes=90)
    # An end_date earlier than that is kept; a later one is not.
    bounded = _tap(tap_class=SettlingTap, end_date="2025-01-10", settle_minutes=90)
    assert bounded.streams["events"].sync_range_end() == at(10)
    plain = _tap(end_date=None).streams["events"]
    assert plain.settle == dt.timedelta(0)
    assert plain.sync_range_end() == plain.tap.run_started


# ---- records and checkpoints ------------------------------------------------------------


def test_records_outside_their_window_are_dropped_so_each_comes_once(capsys):
    tap = _tap()
    messages = _sync(tap, capsys)
    ids = [m["record"]["id"] for m in messages if m["type"] == "RECORD"]
    # Days 1..9 once each (the vendor answered 0..10 around the windows), and the undated
    # record, which no window can place, kept.
    assert sorted(ids) == [0, *range(1, 10)]


def test_records_no_window_of_the_run_emits_are_counted(capsys, caplog):
    # From January 2 to 10: the vendor also answers day 1 (before the run: one warning with
    # the count) and day 10 (after its end: the next run's, a note).
    with caplog.at_level(logging.INFO):
        messages = _sync(_tap(start_date="2025-01-02"), capsys)
    ids = sorted(m["record"]["id"] for m in messages if m["type"] == "RECORD")
    assert ids == list(range(2, 10))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "The vendor answered 1 record(s) of `events` dated (`created_at`) before this run's "
        "range, which starts at 2025-01-02T00:00:00+00:00: outside the range asked, so no "
        "window of this run emits them."
    ]
    notes = [r.getMessage() for r in caplog.records if "the next run emits them" in r.getMessage()]
    assert notes == [
        "1 record(s) of `events` dated (`created_at`) at or after this run's end "
        "(2025-01-10T00:00:00+00:00) were not emitted; the next run emits them."
    ]


def test_the_bookmark_moves_to_each_windows_end_after_its_records(capsys):
    messages = _sync(_tap(), capsys)
    assert _bookmarks(messages) == [at(4).isoformat(), at(7).isoformat(), at(10).isoformat()]
    # The records of window k come after bookmark k-1 and before bookmark k.
    assert _placed(messages) == [
        (None, 1),
        (None, 2),
        (None, 3),
        (None, 0),
        (at(4).isoformat(), 4),
        (at(4).isoformat(), 5),
        (at(4).isoformat(), 6),
        (at(7).isoformat(), 7),
        (at(7).isoformat(), 8),
        (at(7).isoformat(), 9),
    ]
    assert _bookmark(messages[-1]["value"]) == at(10).isoformat()


def test_a_window_bookmark_of_none_keeps_the_bookmark(capsys):
    class SecondWindowUnbookmarked(EventsStream):
        def window_bookmark(self, window, context):
            return None if window.start == at(4) else window.end

    class Tap(FakeTap):
        stream_class = SecondWindowUnbookmarked

    messages = _sync(_tap(tap_class=Tap), capsys)
    assert _bookmarks(messages) == [at(4).isoformat(), at(10).isoformat()]
    # The third window's records still follow the first window's bookmark.
    assert [b for b, record_id in _placed(messages) if record_id in (7, 8, 9)] == [
        at(4).isoformat()
    ] * 3


def test_a_generator_returning_false_is_not_checkpointed(capsys):
    class SecondWindowReplanned(EventsStream):
        def window_records(self, window, context):
            records = super().window_records(window, context)
            if window.start != at(4):
                return records
            return self._then_false(records)

        @staticmethod
        def _then_false(records):
            yield from records
            return False  # e.g. split in two: its parts are windows of their own

    class Tap(FakeTap):
        stream_class = SecondWindowReplanned

    messages = _sync(_tap(tap_class=Tap), capsys)
    ids = [m["record"]["id"] for m in messages if m["type"] == "RECORD"]
    assert sorted(ids) == [0, *range(1, 10)]  # its records still go out, filtered
    assert _bookmarks(messages) == [at(4).isoformat(), at(10).isoformat()]


def test_a_second_run_resumes_from_the_first_runs_state(capsys):
    first = _sync(_tap(end_date="2025-01-07"), capsys)
    state = first[-1]["value"]
    assert _bookmark(state) == at(7).isoformat()
    tap = _tap(state, end_date="2025-01-13", lookback_days=1)
    second = _sync(tap, capsys)
    assert [(w.start, w.end) for w in tap.streams["events"].asked] == [
        (at(6), at(9)),
        (at(9), at(12)),
        (at(12), at(13)),
    ]
    assert sorted(m["record"]["id"] for m in second if m["type"] == "RECORD") == list(range(6, 13))
    assert _bookmark(second[-1]["value"]) == at(13).isoformat()


# ---- the context a response was asked with ----------------------------------------------


def _answer(
    request: requests.PreparedRequest, *, redirected_from: bool = False
) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = 200, b"[]"
    response.request = request
    if redirected_from:  # the chain starts with this request; the answer is from another URL
        response.history = [_answer(request)]
        response.request = requests.Request("GET", "http://127.0.0.1:9/elsewhere").prepare()
    return response


@pytest.mark.parametrize("redirected", [False, True])
def test_validate_and_parse_response_read_the_window_the_request_was_sent_with(redirected):
    stream = _tap().streams["events"]
    window = DateWindow(at(3), at(6))
    seen_while_validating: list[DateWindow | None] = []

    def send(prepared: requests.PreparedRequest, context: t.Mapping | None) -> requests.Response:
        # What the SDK's `_request` does: send, then `validate_response` before returning.
        response = _answer(prepared, redirected_from=redirected)
        seen_while_validating.append(response_window(response))
        return response

    prepared = requests.Request("GET", "http://127.0.0.1:9/events").prepare()
    response = stream.request_decorator(send)(prepared, window_context(window))
    assert seen_while_validating == [window]
    assert response_window(response) == window
    # A response asked for outside the stream's requests (a published example) has none.
    other = requests.Request("GET", "http://127.0.0.1:9/events").prepare()
    assert response_window(_answer(other)) is None
    assert SupportStream.request_context(requests.Response()) is None


def test_a_record_dated_after_the_run_clock_stops_the_run_before_its_window_is_bookmarked(
    capsys,
):
    # A vendor answering a row dated in 2099 (issue 18's matrix: Thena's export): no run would
    # emit it before 2099, so a warning would lose it. The run stops at the window that
    # answered it, before that window's checkpoint: the state never passes it.

    class FutureStream(EventsStream):
        def window_records(self, window, context):
            rows = super().window_records(window, context)
            future = {"id": 99, "created_at": "2099-06-30T12:00:00+14:00"}
            return [*rows, future] if window.start == at(4) else rows

    class FutureTap(FakeTap):
        stream_class = FutureStream

    tap = _tap(tap_class=FutureTap)
    with pytest.raises(VendorAPIError) as raised:
        _sync(tap, capsys)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        "The vendor answered a record of `events` dated (`created_at`) "
        "2099-06-29T22:00:00+00:00, more than 1 day after this run's clock ("
    ), message
    assert "GET /events" in message
    assert "[2025-01-04T00:00:00+00:00, 2025-01-07T00:00:00+00:00)" in message
    # The first window is bookmarked; the one that answered the row is not.
    assert _bookmark(tap.state) == "2025-01-04T00:00:00+00:00"


def test_a_record_dated_just_after_the_run_clock_is_the_next_runs(capsys, caplog):
    # A day asked up to now is answered up to the moment it is asked (Thena's last day): a
    # record made while the run goes, or stamped by a clock a little ahead of ours, is dated
    # after the run's clock. Within `future_tolerance` it is the next run's, as any record
    # after the run's end: the run goes on.

    class SoonStream(EventsStream):
        def window_records(self, window, context):
            rows = super().window_records(window, context)
            soon = self.tap.run_started + dt.timedelta(minutes=5)
            return [*rows, {"id": 97, "created_at": soon.isoformat()}]

    class SoonTap(FakeTap):
        stream_class = SoonStream

    tap = _tap(tap_class=SoonTap)
    with caplog.at_level(logging.INFO):
        messages = _sync(tap, capsys)
    assert 97 not in [m["record"]["id"] for m in messages if m["type"] == "RECORD"]
    notes = [
        r.getMessage() for r in caplog.records if "at or after this run's end" in r.getMessage()
    ]
    # The fake vendor's own record dated at the run's end, and this one.
    assert len(notes) == 1 and notes[0].startswith("2 record(s) of `events`"), notes
    assert _bookmark(tap.state) == "2025-01-10T00:00:00+00:00"  # the run went to its end


def test_a_record_outside_the_run_answered_by_every_window_is_counted_once(capsys, caplog):
    # Thena asks the day a window ends again with the next window (its inclusive end): a row
    # dated outside the run comes in every answer. The warning counts rows left out, not
    # answers (issue 18's matrix counted 533 for 449 rows).

    class TwiceStream(EventsStream):
        def window_records(self, window, context):
            rows = super().window_records(window, context)
            return [*rows, {"id": 98, "created_at": "1970-01-01T00:00:00+00:00"}]

    class TwiceTap(FakeTap):
        stream_class = TwiceStream

    with caplog.at_level(logging.INFO):
        _sync(_tap(tap_class=TwiceTap, start_date="2025-01-02"), capsys)
    before = [r.getMessage() for r in caplog.records if "before this run's" in r.getMessage()]
    # Day 1 (answered around the first window) and the 1970 row, each once.
    assert len(before) == 1
    assert before[0].startswith("The vendor answered 2 record(s) of `events`"), before[0]
