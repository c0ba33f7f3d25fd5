"""Value normalisation shared by the taps.

Vendors send dates in several formats, numbers as strings and placeholders such
as "" or "N/A" for missing values. Streams normalise while parsing (one pass per
record), which is why they tell the SDK not to re-walk records for type
conformance. `MISSING` and the `to_*` helpers are lenient (any common placeholder is
"no value"); `RecordNormalizer` nulls only the placeholders a vendor documents, and
only in columns whose type cannot hold them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import typing as t
import zoneinfo
from collections.abc import Callable, Iterable

import msgspec

from support_taps.errors import describe_shape

UTC = dt.timezone.utc
#: Placeholders vendors send for "no value".
MISSING = frozenset({"", "N/A", "n/a", "NA", "null", "None", "-"})


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in MISSING)


def to_text(value: object) -> str | None:
    if is_missing(value):
        return None
    return value if isinstance(value, str) else str(value)


def to_number(value: object) -> int | float | None:
    """A JSON number from a number or numeric string; anything else becomes None."""
    if value.__class__ is str:
        if value in MISSING:  # a placeholder as sent, without the cost of a failed `int`
            return None
        # The common case, an integer as text: `int` reads it as the general path below
        # does (surrounding whitespace too), and reads no placeholder of MISSING.
        try:
            return int(value)
        except ValueError:
            pass
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
    if value.__class__ is int:
        return value
    number = to_number(value)
    if number is None:
        return None
    if isinstance(number, float):
        return int(number) if number.is_integer() else None
    return number


#: Distinct texts each stamp-reading cache keeps (days, hours and minutes repeat across many
#: rows; the bound keeps a long export's memory flat).
_CACHED = 100_000


@functools.lru_cache(maxsize=_CACHED)
def _us_day(text: str) -> str | None:
    """ "MM/DD/YYYY" -> "YYYY-MM-DD", or None if it is no date; cached."""
    try:
        return dt.date(int(text[6:10]), int(text[0:2]), int(text[3:5])).isoformat()
    except ValueError:
        return None


US_MINUTES = "%m/%d/%Y %H:%M"


@functools.lru_cache(maxsize=_CACHED)
def _us_hour(text: str) -> str:
    """ "MM/DD/YYYY HH" -> "YYYY-MM-DDTHH:" in UTC, or "" if it is no hour of a calendar day;
    cached by the hour (an hour repeats across many rows where a minute's stamp rarely does)."""
    day, hours = _us_day(text[:10]), text[11:13]
    return f"{day}T{hours}:" if day and hours.isdigit() and hours < "24" else ""


def us_minutes_utc(value: str) -> str | None:
    """The ISO text of a UTC "MM/DD/YYYY HH:MM", or None if it is no such time: to_utc_iso's
    fast path, for callers that checked the shape (16 characters, "/" at 2 and 5, " " at 10,
    ":" at 13) and that the format applies."""
    head = _us_hour(value[:13])
    minutes = value[14:16]
    if head and minutes.isdigit() and minutes < "60":
        return f"{head}{minutes}:00+00:00"
    return None


@functools.lru_cache(maxsize=_CACHED)
def _iso_day(text: str) -> bool:
    """Whether "YYYY-MM-DD" is a calendar day; cached (days repeat across many rows)."""
    try:
        return dt.date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


#: The UTC offsets a UTC "YYYY-MM-DD HH:MM:SS" may end with, by the length of the whole text.
_UTC_SUFFIXES = {19: "", 20: "Z", 25: "+00:00"}


#: "00" to "59": a minute or second as two ASCII digits (str.isdigit takes other scripts' too).
_SIXTY = frozenset(f"{n:02d}" for n in range(60))


@functools.lru_cache(maxsize=_CACHED)
def _iso_minute(text: str) -> str:
    """ "YYYY-MM-DD HH:MM" (or with "T") -> "YYYY-MM-DDTHH:MM:", or "" if it is no minute of a
    calendar day; cached by the minute (a minute repeats across rows where a stamp to the
    second rarely does)."""
    hours, minutes = text[11:13], text[14:16]
    head = ""
    if (
        text[4] == "-"
        and text[7] == "-"
        and text[10] in " T"
        and text[13] == ":"
        and text.isascii()
        and hours.isdigit()
        and hours < "24"
        and minutes in _SIXTY
        and _iso_day(text[:10])
    ):
        head = f"{text[:10]}T{hours}:{minutes}:"
    return head


def utc_seconds_iso(value: str, zone: dt.tzinfo = UTC) -> str | None:
    """The ISO text of "YYYY-MM-DD HH:MM:SS" (or with "T", "Z", "+00:00") in UTC, without
    parsing it into a datetime; None for any other text (to_utc_iso's general path reads it).
    Without an offset, the text is in `zone`: only UTC is read here. to_utc_iso's fast path,
    for callers that read many such stamps."""
    suffix = _UTC_SUFFIXES.get(len(value))
    if (
        suffix is None
        or value[16] != ":"
        or value[17:19] not in _SIXTY
        or (suffix and not value.endswith(suffix))
        or (not suffix and zone is not UTC)
    ):
        return None
    head = _iso_minute(value[:16])
    return f"{head}{value[17:19]}+00:00" if head else None


def to_utc_iso(value: object, formats: Iterable[str] = (), zone: dt.tzinfo = UTC) -> str | None:
    """An ISO 8601 UTC date-time string from ISO text or one of `formats`.

    A date-time without an offset is taken to be in `zone` (default UTC), or in the zone
    named after it in brackets (RFC 9557: "2023-01-05T06:42:31.532Z[GMT]"). Returns None for
    missing or unparseable values.
    """
    if value.__class__ is not str:
        return None
    # Fast path for the US style "MM/DD/YYYY HH:MM" that exports commonly use; the hour
    # part repeats across many rows, so its check (month 13, 30 February) is cached.
    if (
        len(value) == 16
        and value[2] == "/"
        and value[5] == "/"
        and value[10] == " "
        and value[13] == ":"
        and zone is UTC
        and US_MINUTES in formats
    ):
        return us_minutes_utc(value)
    # Fast path for ISO text to the second in UTC, what most APIs send.
    iso = utc_seconds_iso(value, zone) if 19 <= len(value) <= 25 else None
    if iso is not None:
        return iso
    text = value.strip()
    if text in MISSING:
        return None
    if text.endswith("]") and "[" in text:
        # An RFC 9557 (Java ZonedDateTime) zone name after the time, "...Z[GMT]": the offset
        # names the instant; without one, the zone does.
        text, _, name = text[:-1].rpartition("[")
        try:
            zone = zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return None
    parsed: dt.datetime | None
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
    parsed = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    try:
        return parsed.astimezone(UTC).isoformat()
    except OverflowError:  # year 9999 west of UTC, year 1 east of it: no UTC date-time
        return None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


class InstantOutOfRange(ValueError):
    """A number of epoch (milli)seconds no date-time can hold (years 1 to 9999), or not finite."""


#: Epoch milliseconds at 10000-01-01: integers from 0 up to this take the fast path below.
_YEAR_10000_MS = 253_402_300_800_000
_DAY_MS = 86_400_000


@functools.lru_cache(maxsize=_CACHED)
def _epoch_day(days: int) -> str:
    """The ISO date `days` after 1970-01-01; cached (days repeat across many stamps)."""
    return (_EPOCH + dt.timedelta(days=days)).date().isoformat()


def from_epoch_ms(value: int | float) -> str:
    """Epoch milliseconds as ISO 8601 UTC; InstantOutOfRange for one outside years 1 to 9999.

    Counted from the epoch, not through the C library (`fromtimestamp`), whose range depends
    on the platform and whose errors do not say what was wrong (`OSError: [Errno 75]`).
    """
    if value.__class__ is int and 0 <= value < _YEAR_10000_MS:
        # What the datetime below writes, in integer steps: a Dixa export has several such
        # stamps an object, and this takes about half the time.
        days, milliseconds = divmod(value, _DAY_MS)
        seconds, milli = divmod(milliseconds, 1000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        fraction = f".{milli:03d}000" if milli else ""
        return f"{_epoch_day(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}+00:00"
    try:
        return (_EPOCH + dt.timedelta(milliseconds=value)).isoformat()
    except (OverflowError, ValueError):
        msg = "epoch milliseconds outside years 1 to 9999"
        raise InstantOutOfRange(msg) from None


def to_text_list(value: object) -> list[str] | None:
    """A list of strings: lists stay lists, a lone string becomes a one-item list."""
    if isinstance(value, list):
        return [
            item if isinstance(item, str) else str(item) for item in value if not is_missing(item)
        ]
    if is_missing(value):
        return None
    return [str(value)]


#: The placeholders a vendor may document for "no value" in a typed column (Thena: "" and "N/A").
DOCUMENTED_PLACEHOLDERS = frozenset({"", "N/A"})


def _as_text(value: object) -> str:
    """A non-string value for a text column: JSON for objects, lists and booleans."""
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


class RecordNormalizer:
    """Normalise raw vendor rows to a stream's JSON schema, in one pass per row.

    Compiled once from the schema:

    - text columns keep every string as sent: a customer called "NA" keeps the name;
      other values become text (objects and lists as JSON);
    - typed columns (dates, numbers, lists, booleans) take `placeholders` (by default
      the documented "" and "N/A") as null, because their type cannot hold them;
    - `format: date-time` strings become ISO 8601 UTC, integer and number columns
      numbers; a list column takes a list of strings, or a string split on
      `list_separator` when one is given ("A, B" -> ["A", "B"]);
    - a value a typed column cannot read becomes null there and is reported through
      `on_unreadable(field, value)`, once per field and value shape; the caller keeps
      the source object, so the value itself is not lost;
    - fields the schema does not know are dropped and reported once through
      `on_unknown(field_name)`, so a vendor adding a column is never a crash.
    """

    def __init__(
        self,
        schema: dict,
        *,
        date_formats: Iterable[str] = (),
        on_unknown: Callable[[str], object] | None = None,
        on_unreadable: Callable[[str, object], object] | None = None,
        placeholders: Iterable[str] = DOCUMENTED_PLACEHOLDERS,
        list_separator: str | None = None,
    ) -> None:
        properties = schema.get("properties", {})
        self.known = frozenset(properties)
        self.date_formats = tuple(date_formats)
        #: Whether a date in US_MINUTES's shape is read by to_utc_iso's fast path (UTC).
        self._us_minutes = US_MINUTES in self.date_formats
        self.on_unknown = on_unknown
        self.on_unreadable = on_unreadable
        self.placeholders = frozenset(placeholders)
        self.list_separator = list_separator
        self._reported: set[str] = set()
        self._unreadable_reported: set[tuple[str, str]] = set()
        self.dates, self.integers, self.numbers, self.text, self.lists, self.other = (
            [],
            [],
            [],
            [],
            [],
            [],
        )
        for name, spec in properties.items():
            types = spec.get("type", [])
            types = {types} if isinstance(types, str) else set(types)
            if "string" in types and spec.get("format") == "date-time":
                self.dates.append(name)
            elif "integer" in types:
                self.integers.append(name)
            elif "number" in types:
                self.numbers.append(name)
            elif "array" in types:
                self.lists.append(name)
            elif types == {"string"} or types == {"string", "null"}:
                self.text.append(name)
            else:
                self.other.append(name)

    def _placeholder(self, value: object) -> bool:
        return value.__class__ is str and value.strip() in self.placeholders

    def _unreadable(self, name: str, value: object) -> None:
        if self.on_unreadable is None:
            return
        key = (name, describe_shape(value, text_pattern=True))
        if key not in self._unreadable_reported:
            self._unreadable_reported.add(key)
            self.on_unreadable(name, value)

    def _list(self, name: str, value: object) -> list[str] | None:
        if value.__class__ is list:
            for item in value:
                if item.__class__ is not str or not item:
                    break
            else:
                return value  # the common case: non-empty strings, kept as they are
            return [
                item if item.__class__ is str else _as_text(item)
                for item in value
                if item is not None and item != ""
            ]
        if value.__class__ is str:
            if self._placeholder(value):
                return None
            if self.list_separator is None:
                return [value]
            return [part.strip() for part in value.split(self.list_separator) if part.strip()]
        self._unreadable(name, value)
        return None

    def __call__(self, record: dict) -> dict:
        """Normalise `record` in place (a row just decoded, owned by the caller) and return it."""
        if not self.known.issuperset(record):
            for name in [k for k in record if k not in self.known]:
                del record[name]
                if name not in self._reported:
                    self._reported.add(name)
                    if self.on_unknown:
                        self.on_unknown(name)
        get = record.get
        for name in self.text:
            value = get(name)
            if value.__class__ is not str and value is not None:
                record[name] = _as_text(value)
        us_minutes, formats = self._us_minutes, self.date_formats
        for name in self.dates:
            value = get(name)
            if value is None:
                continue
            if value == "":
                record[name] = None
                continue
            if (
                us_minutes
                and value.__class__ is str
                and len(value) == 16
                and value[2] == "/"
                and value[5] == "/"
                and value[10] == " "
                and value[13] == ":"
            ):
                iso = us_minutes_utc(value)  # to_utc_iso's first step, without its call
            else:
                iso = to_utc_iso(value, formats)
            if iso is None and not self._placeholder(value):
                self._unreadable(name, value)
            record[name] = iso
        for name in self.integers:
            value = get(name)
            if value is not None and value.__class__ is not int:
                number = to_integer(value)
                if number is None and not self._placeholder(value):
                    self._unreadable(name, value)
                record[name] = number
        for name in self.numbers:
            value = get(name)
            if value is not None and value.__class__ is not int and value.__class__ is not float:
                real = to_number(value)
                if real is None and not self._placeholder(value):
                    self._unreadable(name, value)
                record[name] = real
        for name in self.lists:
            value = get(name)
            if value is not None and (value.__class__ is not list or value):
                record[name] = self._list(name, value)
        for name in self.other:
            value = get(name)
            if self._placeholder(value):
                record[name] = None
        return record


_encode = msgspec.json.Encoder(order="sorted").encode


def row_hash(window_start: str, values: t.Mapping[str, t.Any], occurrence: int = 0) -> str:
    """A stable key for a row keyed by the whole row (where a key we guessed is missing): the
    same window and fields give the same hash on every run.

    `occurrence` tells identical rows of one window apart (the second is 1, ...): each lands as
    a row of its own; the first keeps the key it has without one.
    """
    digest = hashlib.blake2b(window_start.encode(), digest_size=16)
    digest.update(_encode(values))
    if occurrence:
        digest.update(b"\x00occurrence %d" % occurrence)
    return digest.hexdigest()


Row = t.TypeVar("Row")


def newest_only(
    rows: Iterable[Row],
    key: Callable[[Row], t.Hashable],
    version: Callable[[Row], t.Any] = lambda row: None,
) -> tuple[list[Row], int]:
    """Each key of one answer once, as its newest version, so that an upserting target (which
    keeps the last row it is sent) never ends with an older one; and how many rows were left
    out. Newest: the greatest `version` (an update stamp); the later one sent on a tie, or
    where a version is missing (then nothing says which is newer, and a target would keep
    the later one too). Keys keep the order they first came in."""
    newest: dict[t.Hashable, tuple[t.Any, Row]] = {}
    dropped = 0
    for row in rows:
        name, stamp = key(row), version(row)
        seen = newest.get(name)
        if seen is not None:
            dropped += 1
            if stamp is not None and seen[0] is not None and stamp < seen[0]:
                continue
        newest[name] = (stamp, row)
    return [row for _, row in newest.values()], dropped
