"""The throttle, DAYS and the 30-day reach as pure decisions (tap_xenioo/planning.py): dates and
state values in, what to ask for (or what would be lost) out."""

from __future__ import annotations

import datetime as dt

import pytest

from support_taps.windows import DateWindow
from tap_xenioo.planning import (
    MAX_DAYS,
    CallPlan,
    DateSpan,
    lost_if_waiting,
    plan_days,
    reach,
    read_through,
    throttle_wait,
)

UTC = dt.timezone.utc
TODAY = dt.date(2025, 3, 31)
HOUR = dt.timedelta(hours=1)


def day(days_ago: int) -> dt.date:
    return TODAY - dt.timedelta(days=days_ago)


def test_the_reach_is_the_30_days_ending_today():
    assert MAX_DAYS == 30
    assert reach(TODAY) == dt.date(2025, 3, 2)
    assert DateSpan(reach(TODAY), TODAY).days == 30


# ---- how far an earlier run read ---------------------------------------------------------


@pytest.mark.parametrize(
    ("bookmark", "last_called_at", "expected"),
    [
        (None, None, None),  # a first run
        (None, "2025-03-30T10:00:00+00:00", None),  # a call that delivered nothing
        ("not a date", "2025-03-30T10:00:00+00:00", None),
        ("2025-03-01T00:00:00+00:00", None, dt.date(2025, 3, 1)),
        ("2025-03-01T00:00:00+00:00", "garbled", dt.date(2025, 3, 1)),
        # A month bucket starts long before the day it was read up to: the call's day counts.
        ("2025-03-01T00:00:00+00:00", "2025-03-30T23:10:00+00:00", dt.date(2025, 3, 30)),
        ("2025-03-20T00:00:00+00:00", "2025-03-19T23:10:00+00:00", dt.date(2025, 3, 20)),
        # Offsets other than UTC are read as the instants they name.
        ("2025-03-20T00:00:00Z", "2025-03-21T01:00:00+02:00", dt.date(2025, 3, 20)),
    ],
)
def test_read_through_is_the_later_of_the_bookmarks_day_and_the_last_calls(
    bookmark, last_called_at, expected
):
    assert read_through(bookmark, last_called_at) == expected


# ---- DAYS --------------------------------------------------------------------------------


def test_a_first_run_without_start_date_asks_for_the_30_days_in_reach():
    assert plan_days(None, None, TODAY) == CallPlan(30, day(29))


@pytest.mark.parametrize(
    ("wanted_from", "days"),
    [(day(5), 6), (day(0), 1), (day(29), 30), (TODAY + dt.timedelta(days=2), 1)],
)
def test_days_run_from_the_wanted_day_to_today(wanted_from, days):
    plan = plan_days(wanted_from, wanted_from, TODAY)
    assert (plan.days, plan.first_day, plan.lost) == (days, TODAY - dt.timedelta(days - 1), None)


def test_the_call_is_one_window_from_its_first_midnight_to_the_midnight_after_today():
    plan = plan_days(day(5), day(5), TODAY)
    assert plan.window == DateWindow(
        dt.datetime(2025, 3, 26, tzinfo=UTC), dt.datetime(2025, 4, 1, tzinfo=UTC)
    )
    assert (plan.window.end - plan.window.start).days == plan.days


def test_a_start_date_out_of_reach_is_a_report_not_a_gap():
    plan = plan_days(dt.date(2020, 1, 1), None, TODAY)
    assert (plan.days, plan.first_day) == (30, reach(TODAY))
    assert plan.lost == DateSpan(dt.date(2020, 1, 1), day(30))
    assert not plan.gap


def test_a_bookmark_out_of_reach_is_a_gap_from_where_the_earlier_run_read():
    plan = plan_days(day(45), day(40), TODAY)
    assert (plan.days, plan.first_day) == (30, day(29))
    assert plan.lost == DateSpan(day(40), day(30))
    assert plan.lost.days == 11
    assert plan.gap


def test_a_month_bucket_read_up_to_a_day_in_reach_loses_nothing():
    # The bookmark is the month's start, 45 days ago; the last call read up to 10 days ago.
    plan = plan_days(day(45), day(10), TODAY)
    assert plan == CallPlan(30, reach(TODAY))


def test_the_first_day_out_of_reach_is_lost_and_the_last_in_reach_is_not():
    assert plan_days(day(30), day(30), TODAY).lost == DateSpan(day(30), day(30))
    assert plan_days(day(30), day(29), TODAY).lost is None


# ---- the throttle ------------------------------------------------------------------------


NOW = dt.datetime(2025, 3, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_called_at", "throttle", "expected"),
    [
        (None, HOUR, None),
        ("", HOUR, None),
        ("not a time", HOUR, None),
        ("2025-03-31T11:30:00+00:00", HOUR, dt.datetime(2025, 3, 31, 12, 30, tzinfo=UTC)),
        ("2025-03-31T11:30:00+00:00", dt.timedelta(minutes=30), None),  # exactly allowed again
        (
            "2025-03-31T11:45:00",
            dt.timedelta(minutes=30),
            dt.datetime(2025, 3, 31, 12, 15, tzinfo=UTC),
        ),
        ("2025-03-31T10:59:00+00:00", HOUR, None),
    ],
)
def test_the_next_call_waits_for_the_throttle_window(last_called_at, throttle, expected):
    assert throttle_wait(last_called_at, throttle, NOW) == expected


# ---- what a wait would lose --------------------------------------------------------------


def test_a_wait_loses_nothing_on_a_first_run_or_within_reach():
    assert lost_if_waiting(None, NOW + HOUR) is None
    assert lost_if_waiting(day(28), NOW + HOUR) is None


def test_a_wait_past_midnight_moves_the_reach_a_day():
    read = day(29)  # still in reach today, not tomorrow
    late = dt.datetime(2025, 3, 31, 23, 45, tzinfo=UTC)
    assert lost_if_waiting(read, late) is None
    assert lost_if_waiting(read, late + HOUR) == DateSpan(read, read)
    assert lost_if_waiting(day(35), late + HOUR) == DateSpan(day(35), day(29))
