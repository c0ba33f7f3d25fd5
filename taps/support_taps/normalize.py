"""Value normalisation shared by the taps.

Vendors send dates in several formats, numbers as strings and placeholders such
as "" or "N/A" for missing values. Streams normalise while parsing (one pass per
record), which is why they tell the SDK not to re-walk records for type
conformance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

UTC = dt.timezone.utc
MISSING = frozenset({"", "N/A", "n/a", "NA", "null", "None", "-"})


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in MISSING)


def to_text(value: object) -> str | None:
    if is_missing(value):
        return None
    return value if isinstance(value, str) else str(value)


def to_number(value: object) -> int | float | None:
    """A JSON number from a number or numeric string; anything else becomes None."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if is_missing(value) or not isinstance(value, str):
        return None
    text = value.strip().replace(",", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def to_integer(value: object) -> int | None:
    number = to_number(value)
    if number is None:
        return None
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


def to_utc_iso(value: object, formats: Iterable[str] = ()) -> str | None:
    """An ISO 8601 UTC date-time string from ISO text or one of `formats` (taken as UTC).

    Returns None for missing or unparseable values.
    """
    if is_missing(value) or not isinstance(value, str):
        return None
    text = value.strip()
    # Fast path for the US style "MM/DD/YYYY HH:MM" that exports commonly use.
    if len(text) == 16 and text[2] == "/" and text[5] == "/" and text[10] == " " and text[13] == ":":
        try:
            moment = dt.datetime(int(text[6:10]), int(text[0:2]), int(text[3:5]), int(text[11:13]), int(text[14:16]))
        except ValueError:
            return None  # e.g. month 13 or 30 February: not a date
        return f"{moment.isoformat()}+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
        for fmt in formats:
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if parsed is None:
            return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return parsed.isoformat()


def to_text_list(value: object) -> list[str] | None:
    """A list of strings: lists stay lists, a lone string becomes a one-item list."""
    if isinstance(value, list):
        return [item if isinstance(item, str) else str(item) for item in value if not is_missing(item)]
    if is_missing(value):
        return None
    return [str(value)]
