"""When Xenioo may be called and what a call asks for: the throttle, DAYS and the 30-day reach.

Pure functions: dates and state values in, decisions out. The streams (`client.py`) turn the
decisions into calls, skips and messages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from support_taps.windows import UTC, DateWindow, parse_utc

#: How far back the statistics endpoints reach (DAYS accepts 1..30).
MAX_DAYS = 30
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class DateSpan:
    """The days from `first` to `last`, both included."""

    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class CallPlan:
    """What one statistics call asks for: DAYS=`days`, read as the days from `first_day` to
    today (if Xenioo counts one more, that day is simply left out)."""

    days: int
    first_day: dt.date
    #: Wanted dates that are out of reach (None: every wanted date is in reach).
    lost: DateSpan | None = None
    #: Whether an earlier run read up to `lost.first`, so the lost dates are a gap in what was
    #: delivered (an error unless `allow_gaps`); otherwise `start_date` asked for them (a report).
    gap: bool = False

    @property
    def window(self) -> DateWindow:
        """The call as a window: midnight UTC of its first day to the midnight after today."""
        start = dt.datetime.combine(self.first_day, dt.time(), UTC)
        return DateWindow(start, start + self.days * ONE_DAY)


def reach(today: dt.date) -> dt.date:
    """The first day a call made on `today` can still fetch."""
    return today - (MAX_DAYS - 1) * ONE_DAY


def read_through(bookmark: str | None, last_called_at: str | None) -> dt.date | None:
    """The last day an earlier run read: the day of its bookmark, or of its last call when
    later (a month or year bucket starts long before the day it was read up to); None on a
    first run (no bookmark, or one that is not a date)."""
    bookmarked = _day_of(bookmark)
    if bookmarked is None:
        return None
    called = _day_of(last_called_at)
    return max(bookmarked, called) if called is not None else bookmarked


def _day_of(value: str | None) -> dt.date | None:
    try:
        return parse_utc(value).date() if value else None
    except ValueError:
        return None


def plan_days(wanted_from: dt.date | None, read_up_to: dt.date | None, today: dt.date) -> CallPlan:
    """DAYS for a call made on `today`, wanted from `wanted_from` (the bookmark's day, the
    start of the newest bucket emitted and re-read because it was still filling, or
    `start_date`); without either, the 30 days the API reaches.

    `read_up_to` (see `read_through`) is how far an earlier run read: when the wanted day is
    out of reach but that day is not, nothing is lost (a month or year bucket read up to a
    day still in reach); when it is out of reach too, the dates from it on are a gap.
    """
    first_reachable = reach(today)
    if wanted_from is None:
        return CallPlan(MAX_DAYS, first_reachable)
    days = (today - wanted_from).days + 1
    if days <= MAX_DAYS:
        days = max(1, days)
        return CallPlan(days, today - (days - 1) * ONE_DAY)
    if read_up_to is not None:
        if read_up_to >= first_reachable:
            return CallPlan(MAX_DAYS, first_reachable)
        wanted_from = read_up_to
    lost = DateSpan(wanted_from, first_reachable - ONE_DAY)
    return CallPlan(MAX_DAYS, first_reachable, lost=lost, gap=read_up_to is not None)


def throttle_wait(
    last_called_at: str | None, throttle: dt.timedelta, now: dt.datetime
) -> dt.datetime | None:
    """When the next call is allowed, if the last one (at `last_called_at`) is still inside
    the throttle window at `now`; None: call now."""
    if not last_called_at:
        return None
    try:
        allowed = parse_utc(last_called_at) + throttle
    except ValueError:
        return None
    return allowed if now < allowed else None


def lost_if_waiting(read_up_to: dt.date | None, allowed_at: dt.datetime) -> DateSpan | None:
    """The dates that fall out of reach if the next call waits until `allowed_at`, when an
    earlier run read up to `read_up_to`; None when nothing would be lost."""
    if read_up_to is None:
        return None
    reach_then = reach(allowed_at.date())
    if read_up_to >= reach_then:
        return None
    return DateSpan(read_up_to, reach_then - ONE_DAY)
