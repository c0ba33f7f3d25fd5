"""UTC date windows: split [start, end) into consecutive pieces.

Windows bound the memory a request's response can take, make retries cheap and
give each stream a natural checkpoint: after a window's records are emitted the
bookmark moves to the window's end, so an interrupted run resumes there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

UTC = dt.timezone.utc


def parse_utc(value: str | dt.date | dt.datetime, *, setting: str | None = None) -> dt.datetime:
    """Parse an ISO 8601 date or date-time into an aware UTC datetime.

    A bare date means midnight UTC; a naive date-time is taken as UTC. `setting`
    names the configuration key in the error raised for a bad value.
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            where = f"setting `{setting}`" if setting else "value"
            msg = (
                f"The {where} must be an ISO 8601 date or date-time (e.g. 2024-01-31), "
                f"got {text!r}."
            )
            raise ValueError(msg) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def floor_day(moment: dt.datetime) -> dt.datetime:
    """Midnight UTC at or before `moment`."""
    moment = moment.astimezone(UTC)
    return dt.datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def ceil_day(moment: dt.datetime) -> dt.datetime:
    """Midnight UTC at or after `moment`."""
    floor = floor_day(moment)
    return floor if floor == moment else floor + dt.timedelta(days=1)


@dataclass(frozen=True)
class DateWindow:
    """A half-open UTC interval [start, end)."""

    start: dt.datetime
    end: dt.datetime

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end

    @property
    def label(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def date_windows(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> Iterator[DateWindow]:
    """Yield consecutive windows of `step` covering [start, end); the last may be shorter."""
    if step <= dt.timedelta(0):
        msg = f"A window must be longer than zero, got {step}."
        raise ValueError(msg)
    cursor = start
    while cursor < end:
        upper = min(cursor + step, end)
        yield DateWindow(cursor, upper)
        cursor = upper


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by whole calendar months (the day clamped to the month's last)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def month_windows(start: dt.datetime, end: dt.datetime, months: int) -> Iterator[DateWindow]:
    """Consecutive windows of `months` calendar months covering [start, end); the last may be
    shorter."""
    if months <= 0:
        msg = f"A window must be at least one month, got {months}."
        raise ValueError(msg)
    cursor = start
    while cursor < end:
        upper = min(add_months(cursor, months), end)  # never more than `months` after its start
        yield DateWindow(cursor, upper)
        cursor = upper
