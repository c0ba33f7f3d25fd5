"""One spelling for a key value, whichever side it comes from: a warehouse (PostgreSQL's
Decimals and aware datetimes, DuckDB's HUGEINTs, DATEs and naive UTC TIMESTAMPs) or a
simulator (ints and ISO strings with offsets). Moments become ISO 8601 in UTC."""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t
from collections import Counter


def plain(value: t.Any) -> t.Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in "T ":
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        aware = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value
        return aware.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, (int, float, str)) or value is None:
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def key_problems(
    stream: str, landed: list[tuple], served: t.Iterable[tuple], served_to: str = ""
) -> list[str]:
    """What differs between the keys `landed` in a warehouse table (as read, one tuple a row)
    and the keys `served` (as a simulator gives them, `served_to` whom): keys landed twice,
    missing, never served. Both sides are compared in `plain` spelling."""
    rows = [tuple(plain(v) for v in key) for key in landed]
    wanted = {tuple(plain(v) for v in key) for key in served}
    problems = []
    twice = [key for key, count in Counter(rows).items() if count > 1]
    if twice:
        problems.append(f"{stream}: {len(twice)} keys landed more than once")
    if set(rows) != wanted:
        problems.append(
            f"{stream}: {len(rows)} rows; {len(wanted - set(rows))} of {len(wanted)} keys "
            f"missing, {len(set(rows) - wanted)} never served{served_to}"
        )
    return problems
