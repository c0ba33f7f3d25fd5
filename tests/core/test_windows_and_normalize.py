"""Date windows and value normalisation."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from support_taps.normalize import (
    InstantOutOfRange,
    from_epoch_ms,
    newest_only,
    to_integer,
    to_number,
    to_text,
    to_text_list,
    to_utc_iso,
)
from support_taps.windows import DateWindow, ceil_day, date_windows, floor_day, parse_utc

UTC = dt.timezone.utc


def d(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_windows_cover_the_range_without_gaps_or_overlap():
    windows = list(date_windows(d(2025, 1, 1), d(2025, 1, 20, 6), dt.timedelta(days=7)))
    assert windows == [
        DateWindow(d(2025, 1, 1), d(2025, 1, 8)),
        DateWindow(d(2025, 1, 8), d(2025, 1, 15)),
        DateWindow(d(2025, 1, 15), d(2025, 1, 20, 6)),
    ]
    assert d(2025, 1, 8) in windows[1] and d(2025, 1, 8) not in windows[0]


def test_empty_range_and_bad_step():
    assert list(date_windows(d(2025, 1, 2), d(2025, 1, 1), dt.timedelta(days=1))) == []
    with pytest.raises(ValueError, match="longer than zero"):
        list(date_windows(d(2025, 1, 1), d(2025, 1, 2), dt.timedelta(0)))


def test_parse_utc_accepts_dates_datetimes_and_offsets():
    assert parse_utc("2025-01-02") == d(2025, 1, 2)
    assert parse_utc("2025-01-02T03:04:05Z") == d(2025, 1, 2, 3, 4, 5)
    assert parse_utc("2025-01-02T03:04:05+02:00") == d(2025, 1, 2, 1, 4, 5)
    assert parse_utc(dt.date(2025, 1, 2)) == d(2025, 1, 2)
    with pytest.raises(ValueError, match="setting `end_date`"):
        parse_utc("yesterday", setting="end_date")


def test_day_floor_and_ceiling():
    assert floor_day(d(2025, 1, 2, 13)) == d(2025, 1, 2)
    assert ceil_day(d(2025, 1, 2, 13)) == d(2025, 1, 3)
    assert ceil_day(d(2025, 1, 2)) == d(2025, 1, 2)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("05/12/2023 12:24", "2023-05-12T12:24:00+00:00"),
        ("2023-05-12T12:24:00Z", "2023-05-12T12:24:00+00:00"),
        ("2023-05-12T14:24:00+02:00", "2023-05-12T12:24:00+00:00"),
        ("2023-05-12 12:24", "2023-05-12T12:24:00+00:00"),
        ("", None),
        ("N/A", None),
        (None, None),
        ("not a date", None),
        ("13/45/2023 99:99", None),
        # RFC 9557 zone names (Java's ZonedDateTime, as Dixa's custom attributes send them):
        # the offset decides; without one, the named zone.
        ("2023-01-05T06:42:31.532Z[GMT]", "2023-01-05T06:42:31.532000+00:00"),
        ("2023-01-05T07:42:31+01:00[Europe/Copenhagen]", "2023-01-05T06:42:31+00:00"),
        ("2023-07-05T08:42:31[Europe/Copenhagen]", "2023-07-05T06:42:31+00:00"),
        ("2023-01-05T06:42:31[No/Such_Zone]", None),
    ],
)
def test_dates_become_iso_utc(raw, iso):
    assert to_utc_iso(raw, ("%m/%d/%Y %H:%M",)) == iso


def test_numbers_text_and_lists():
    assert to_number("4") == 4 and to_number("12.5") == 12.5 and to_number(3) == 3
    assert to_number("N/A") is None and to_number("") is None and to_number("abc") is None
    assert to_number("nan") is None
    assert to_integer("7") == 7 and to_integer("7.0") == 7 and to_integer("7.5") is None
    assert (
        to_text("") is None and to_text("N/A") is None and to_text("x") == "x" and to_text(5) == "5"
    )
    assert (
        to_text_list(["a", "", "b"]) == ["a", "b"]
        and to_text_list("a") == ["a"]
        and to_text_list("") is None
    )


def test_record_normalizer_follows_the_schema_in_place():
    from support_taps.normalize import RecordNormalizer

    schema = {
        "properties": {
            "id": {"type": ["integer"]},
            "when": {"type": ["string", "null"], "format": "date-time"},
            "score": {"type": ["number", "null"]},
            "name": {"type": ["string", "null"]},
            "tags": {"type": ["array", "null"], "items": {"type": "string"}},
            "flag": {"type": ["boolean", "null"]},
        }
    }
    unknown: list[str] = []
    normalize = RecordNormalizer(
        schema, date_formats=("%m/%d/%Y %H:%M",), on_unknown=unknown.append
    )
    raw = {
        "id": "42",
        "when": "02/30/2025 10:00",
        "score": "N/A",
        "name": 7,
        "tags": "solo",
        "flag": "N/A",
        "new": 1,
    }
    record = normalize(raw)
    assert record is raw
    assert record == {
        "id": 42,
        "when": None,
        "score": None,
        "name": "7",
        "tags": ["solo"],
        "flag": None,
    }
    assert (
        normalize({"id": 1, "when": "01/31/2025 23:59", "new": 2})["when"]
        == "2025-01-31T23:59:00+00:00"
    )
    assert unknown == ["new"]  # reported once


def _parsed_as_datetime(value: str, zone: dt.tzinfo) -> str | None:
    """What to_utc_iso's general path makes of ISO text: parse, place in `zone`, to UTC."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    parsed = parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed
    return parsed.astimezone(UTC).isoformat()


_ISO_LIKE = st.builds(
    lambda day, sep, clock, suffix: f"{day}{sep}{clock}{suffix}",
    st.one_of(
        st.dates().map(dt.date.isoformat),
        st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
        st.text(min_size=10, max_size=10),
    ),
    st.sampled_from([" ", "T", "x", "/"]),
    st.one_of(
        st.times().map(lambda t: t.strftime("%H:%M:%S")),
        st.from_regex(r"\A[0-9]{2}:[0-9]{2}:[0-9]{2}\Z"),
        st.from_regex(r"\A\d\d:\d\d:\d\d\Z"),  # any script's digits
    ),
    st.sampled_from(["", "Z", "+00:00", "+01:00", " ", ".5"]),
)


@given(value=_ISO_LIKE, zone=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=-5))]))
@example(value="2025-03-01 00:00:0\u0663", zone=UTC)  # an Arabic-Indic three
@example(value="2025-02-29 10:00:00", zone=UTC)
@example(value="2024-02-29 23:59:59Z", zone=UTC)
def test_the_fast_path_for_iso_seconds_reads_as_the_general_path(value, zone):
    """ "YYYY-MM-DD HH:MM:SS" in UTC skips parsing into a datetime: whatever it accepts reads
    exactly as parsing would (a day that does not exist, hour 24, second 60 and other
    scripts' digits are left to the general path)."""
    assert to_utc_iso(value, (), zone) == _parsed_as_datetime(value, zone)


@pytest.mark.parametrize(
    ("ms", "iso"),
    [
        (0, "1970-01-01T00:00:00+00:00"),
        (1736160000123, "2025-01-06T10:40:00.123000+00:00"),
        (-1, "1969-12-31T23:59:59.999000+00:00"),
        (253402300799999, "9999-12-31T23:59:59.999000+00:00"),
        (-62135596800000, "0001-01-01T00:00:00+00:00"),
    ],
)
def test_epoch_milliseconds_to_utc(ms, iso):
    assert from_epoch_ms(ms) == iso


_LAST_MS, _FIRST_MS = 253402300799999, -62135596800000


@given(
    st.one_of(
        st.integers(min_value=_FIRST_MS, max_value=_LAST_MS),
        st.sampled_from([0, 1, 999, 1000, 86_399_999, 86_400_000, _LAST_MS, _FIRST_MS]),
        st.floats(min_value=_FIRST_MS, max_value=_LAST_MS),
    )
)
def test_epoch_milliseconds_read_as_the_datetime_of_that_instant(ms):
    # Integers take an arithmetic fast path: its text is the datetime's, to the character.
    assert from_epoch_ms(ms) == (d(1970, 1, 1) + dt.timedelta(milliseconds=ms)).isoformat()


@given(
    st.one_of(
        st.integers(min_value=_LAST_MS + 1),
        st.integers(max_value=_FIRST_MS - 1),
        st.sampled_from([2**70, -(2**70), 2**63, float("nan"), float("inf"), -float("inf"), 1e300]),
    )
)
def test_epoch_milliseconds_no_date_time_holds_are_one_error(ms):
    # Any number past years 1 to 9999: one error saying so (never OSError/OverflowError).
    with pytest.raises(InstantOutOfRange, match="epoch milliseconds outside years 1 to 9999"):
        from_epoch_ms(ms)


@given(
    moment=st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)
    ),
    offset_minutes=st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
@example(moment=dt.datetime(9999, 12, 31, 23, 0), offset_minutes=-60)
@example(moment=dt.datetime(1, 1, 1, 0, 30), offset_minutes=60)
def test_any_iso_date_time_with_any_offset_reads_or_is_none(moment, offset_minutes):
    # Year 9999 west of UTC (year 1 east of it) has no UTC date-time: None, never OverflowError.
    zone = dt.timezone(dt.timedelta(minutes=offset_minutes))
    text = moment.replace(tzinfo=zone).isoformat()
    read = to_utc_iso(text)
    try:
        expected = moment.replace(tzinfo=zone).astimezone(UTC).isoformat()
    except OverflowError:
        expected = None
    assert read == expected


_US_LIKE = st.builds(
    lambda month, day, year, hours, minutes: f"{month}/{day}/{year} {hours}:{minutes}",
    st.from_regex(r"\A[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{4}\Z"),
    st.from_regex(r"\A[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{2}\Z"),
)


@given(value=_US_LIKE)
@example(value="02/29/2023 10:00")
@example(value="12/31/2024 24:00")
def test_us_minutes_read_as_strptime_first_time_and_every_time_after(value):
    """ "MM/DD/YYYY HH:MM" (Thena's exports) is read once per distinct stamp and remembered:
    every read, first or repeated, is what parsing with strptime gives."""
    try:
        expected: str | None = (
            dt.datetime.strptime(value, "%m/%d/%Y %H:%M").replace(tzinfo=UTC).isoformat()
        )
    except ValueError:
        expected = None
    assert to_utc_iso(value, ("%m/%d/%Y %H:%M",)) == expected
    assert to_utc_iso(value, ("%m/%d/%Y %H:%M",)) == expected


def test_newest_only_keeps_each_key_once_as_its_newest_version():
    # Issue 18: a row served twice, the newer version first, must not land last as the older.
    rows = [
        {"id": 1, "v": 2, "text": "newer"},
        {"id": 2, "v": 1, "text": "only"},
        {"id": 1, "v": 1, "text": "older"},
        {"id": 3, "v": 5, "text": "tie, sent first"},
        {"id": 3, "v": 5, "text": "tie, sent last"},
        {"id": 4, "v": None, "text": "unstamped, first"},
        {"id": 4, "v": 9, "text": "stamped, sent last"},
    ]
    kept, dropped = newest_only(rows, key=lambda r: r["id"], version=lambda r: r["v"])
    assert [r["text"] for r in kept] == ["newer", "only", "tie, sent last", "stamped, sent last"]
    assert dropped == 3
    # Without versions, the later one sent (what an upserting target keeps anyway).
    kept, dropped = newest_only(rows[:3], key=lambda r: r["id"])
    assert [r["text"] for r in kept] == ["older", "only"] and dropped == 1
