"""Dixa's incremental streams run on the core's windowed loop and size it from their settings
(in-process, no HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest
from singer_sdk.exceptions import ConfigValidationError

from support_taps.windowed import WindowedStream
from support_taps.windows import DateWindow
from tap_dixa.analytics import MetricValuesStream, RecordStream
from tap_dixa.exports import ConversationsStream, MessagesStream
from tap_dixa.main_api import ActivityLogsStream
from tap_dixa.tap import TapDixa

UTC = dt.timezone.utc
CONFIG = {
    "api_token": "windowed-test-token",
    "api_url": "http://127.0.0.1:9",
    "exports_api_url": "http://127.0.0.1:9",
    "start_date": "2025-01-06",
    "end_date": "2025-01-09",
}


def _tap(**overrides: object) -> TapDixa:
    # A catalog selecting no analytics stream: the tap does not read Dixa's catalogue.
    config = {k: v for k, v in {**CONFIG, **overrides}.items() if v is not None}
    return TapDixa(config=config, catalog={"streams": []}, parse_env_config=False)


@pytest.mark.parametrize(
    "stream_class",
    [RecordStream, MetricValuesStream, ConversationsStream, MessagesStream, ActivityLogsStream],
)
def test_windowed_streams_leave_the_loop_to_the_core(stream_class):
    assert issubclass(stream_class, WindowedStream)
    owner = next(c for c in stream_class.__mro__ if "get_records" in vars(c))
    assert owner is WindowedStream


def test_export_windows_follow_the_settings_and_dixa_s_31_days():
    conversations = ConversationsStream(_tap(export_window_days=10, export_lookback_minutes=90))
    assert conversations.window_size == dt.timedelta(days=10, milliseconds=-1)
    assert conversations.lookback == dt.timedelta(minutes=90)
    assert conversations.url_base == "http://127.0.0.1:9"
    defaults = ConversationsStream(_tap(exports_api_url=None))
    assert defaults.window_size == dt.timedelta(days=31, milliseconds=-1)
    assert defaults.lookback == dt.timedelta(minutes=60)  # the default: Dixa records late
    assert defaults.url_base == "https://exports.dixa.io"  # the schema's default
    activity = ActivityLogsStream(_tap(export_window_days=10))
    assert activity.window_size == dt.timedelta(days=10)
    assert activity.url_base == "http://127.0.0.1:9"


def test_export_filter_keeps_the_half_open_window_in_epoch_milliseconds():
    stream = MessagesStream(_tap())
    window = DateWindow(dt.datetime(2025, 1, 6, tzinfo=UTC), dt.datetime(2025, 1, 7, tzinfo=UTC))
    inside = stream.window_filter(window)
    start_ms = int(window.start.timestamp() * 1000)
    end_ms = int(window.end.timestamp() * 1000)
    assert inside({"raw": {"created_at": start_ms}})
    assert inside({"raw": {"created_at": end_ms - 1}})
    assert not inside({"raw": {"created_at": start_ms - 1}})  # the widened query's extra ms
    assert not inside({"raw": {"created_at": end_ms}})  # the next window's


def test_metric_values_ask_local_days_and_bookmark_no_later_than_now():
    tap = _tap(timezone="Europe/Copenhagen", lookback_days=1)
    stream = MetricValuesStream(tap)
    windows = list(stream.windows({"metric_id": "csat"}))
    assert [(w.start.isoformat(), w.end.isoformat()) for w in windows] == [
        ("2025-01-05T23:00:00+00:00", "2025-01-06T23:00:00+00:00"),
        ("2025-01-06T23:00:00+00:00", "2025-01-07T23:00:00+00:00"),
        ("2025-01-07T23:00:00+00:00", "2025-01-08T23:00:00+00:00"),
    ]
    assert stream.lookback == dt.timedelta(days=1)
    late = DateWindow(tap.run_started, tap.run_started + dt.timedelta(days=1))
    assert stream.window_bookmark(late, {"metric_id": "csat"}) == tap.run_started
    assert stream.window_bookmark(windows[0], {"metric_id": "csat"}) == windows[0].end


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("export_window_days", 32, "32 is greater than the maximum of 31"),
        ("export_window_days", 0, "0 is less than the minimum of 1"),
        ("export_lookback_minutes", -1, "-1 is less than the minimum of 0"),
        ("page_limit", 0, "0 is less than the minimum of 1"),
        ("window_days", 0, "0 is less than the minimum of 1"),
        ("lookback_days", -1, "-1 is less than the minimum of 0"),
    ],
)
def test_ranges_are_schema_constraints(setting, value, problem):
    with pytest.raises(ConfigValidationError) as raised:
        _tap(**{setting: value})
    assert raised.value.errors == [f"The setting `{setting}` is invalid: {problem}."]
