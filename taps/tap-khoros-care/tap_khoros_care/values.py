"""From Khoros's all-string export fields to typed values, and stable row keys.

Khoros formats dates per the report's `timezone`/`timezoneOffset` (UTC when
neither is set) and `locale`; the typed date columns are converted back to UTC
ISO 8601. A value we cannot read becomes null in its typed column; the raw string
always stays in the row's `fields`.
"""

from __future__ import annotations

import datetime as dt
import typing as t
import zoneinfo
from array import array

from support_taps.normalize import (
    MISSING,
    InstantOutOfRange,
    from_epoch_ms,
    is_missing,
    to_integer,
    to_number,
    to_text,
    to_utc_iso,
    utc_seconds_iso,
)

UTC = dt.timezone.utc
#: Locales whose numeric dates put the day first (the vendor documents en, es, fr, de, tr).
DAY_FIRST_LOCALES = frozenset({"es", "fr", "de", "tr"})


def report_zone(config: t.Mapping[str, t.Any]) -> dt.tzinfo:
    """The zone Khoros formats report dates in, from the `timezone`/`timezoneOffset` settings."""
    if config.get("timezone"):
        return zoneinfo.ZoneInfo(str(config["timezone"]))
    offset = config.get("timezoneOffset")
    if offset not in (None, ""):
        return dt.timezone(dt.timedelta(milliseconds=int(offset)))
    return UTC


def datetime_reader(zone: dt.tzinfo, *, day_first: bool) -> t.Callable[[object], str | None]:
    """A converter of Khoros date strings (in `zone`) to UTC ISO 8601 strings."""
    slash_formats = (
        ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
        if day_first
        else ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y")
    )
    other_formats = (*slash_formats, "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y")

    def read(value: object) -> str | None:
        if value.__class__ is str:  # every exported value; to_utc_iso nulls the placeholders
            if 19 <= len(value) <= 25:  # most likely "YYYY-MM-DD HH:MM:SS": to_utc_iso's fast path
                iso = utc_seconds_iso(value, zone)
                if iso is not None:
                    return iso
            if len(value) >= 12 and value.isdigit():
                return _epoch_ms(int(value))
            return to_utc_iso(value, other_formats, zone)
        if is_missing(value):
            return None
        if isinstance(value, (int, float)):
            return _epoch_ms(int(value))
        return to_utc_iso(value, other_formats, zone)

    return read


def _epoch_ms(milliseconds: int) -> str | None:
    """An epoch-milliseconds date; null (like any value we cannot read) outside years 1-9999."""
    try:
        return from_epoch_ms(milliseconds)
    except InstantOutOfRange:
        return None


def text(value: object) -> str | None:
    """`to_text` with a fast path for the common case, a plain string (every Khoros field)."""
    if value.__class__ is str:
        if value in MISSING:
            return None
        if value[:1].isspace() or value[-1:].isspace():
            return None if value.strip() in MISSING else value
        return value
    return to_text(value)


def to_boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    text = to_text(value)
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "y", "1"):
        return True
    if lowered in ("false", "no", "n", "0"):
        return False
    return None


def converter_for(
    spec: t.Mapping[str, t.Any], read_datetime: t.Callable[[object], str | None]
) -> t.Callable:
    """The converter for a schema property (its type decides)."""
    types = spec.get("type", [])
    types = [types] if isinstance(types, str) else types
    if "integer" in types:
        return to_integer
    if "number" in types:
        return to_number
    if "boolean" in types:
        return to_boolean
    if spec.get("format") == "date-time":
        return read_datetime
    return text


class Occurrences:
    """How many times a row key was seen before, in one window's file.

    A window can hold millions of rows: 8 bytes of each key are kept in an open-addressing
    table of 64-bit slots (about 16 bytes a row, where a set of ints takes 70). A clash of two
    different rows only numbers the second; its key stays unique.
    """

    def __init__(self) -> None:
        self._slots = array("Q", bytes(8 * 1024))
        self._used = 0
        self._repeated: dict[int, int] = {}

    def __call__(self, key: str) -> int:
        short = int(key[:16], 16) or 1  # 0 marks an empty slot
        if self._insert(short):
            return 0
        count = self._repeated.get(short, 0) + 1
        self._repeated[short] = count
        return count

    def _insert(self, short: int) -> bool:
        """Add `short`; False if it was there."""
        slots = self._slots
        mask = len(slots) - 1
        at = short & mask
        while True:
            held = slots[at]
            if held == short:
                return False
            if not held:
                break
            at = (at + 1) & mask
        slots[at] = short
        self._used += 1
        if 2 * self._used > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old, self._slots = self._slots, array("Q", bytes(16 * len(self._slots)))
        mask = len(self._slots) - 1
        for short in old:
            if short:
                at = short & mask
                while self._slots[at]:
                    at = (at + 1) & mask
                self._slots[at] = short
