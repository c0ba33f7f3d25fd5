"""The streaming report parsers: any chunking, CSV quirks, broken bodies, flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import tracemalloc

import pytest

from support_taps.windows import DateWindow
from tap_khoros_care.jobs import ReportJob
from tap_khoros_care.parsing import ReportFormatError, iter_csv_rows, iter_json_rows
from tap_khoros_care.tap import TapKhorosCare
from tap_khoros_care.values import datetime_reader, row_hash, to_boolean

ROWS = [
    {"POST_ID": "1", "CONTENT": 'He said "hi", then left', "NOTE": ""},
    {"POST_ID": "2", "CONTENT": "two\nlines, and a comma", "NOTE": "café ☕"},
    {"POST_ID": "3", "CONTENT": "[brackets] {braces} \\ backslash", "NOTE": "\u2028"},
]


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 100_000])
def test_json_rows_whatever_the_chunking(size):
    body = json.dumps(ROWS, ensure_ascii=False, indent=1).encode()
    assert list(iter_json_rows(_chunks(body, size))) == ROWS


@pytest.mark.parametrize("size", [1, 5, 100_000])
def test_csv_rows_whatever_the_chunking(size):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(ROWS[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(ROWS)
    body = (
        "\ufeff" + out.getvalue()
    ).encode()  # with a byte order mark, as Excel-friendly exports have
    assert list(iter_csv_rows(_chunks(body, size))) == ROWS


def test_csv_short_and_long_rows_keep_every_cell():
    rows = list(iter_csv_rows([b"A,B,C\r\n1,2\r\n1,2,3,4\r\n\r\n"]))
    assert rows == [{"A": "1", "B": "2", "C": ""}, {"A": "1", "B": "2", "C": "3", "_extra_1": "4"}]


@pytest.mark.parametrize("body", [b"", b"  \n", b"[]", b"[ ]\n"])
def test_empty_reports_have_no_rows(body):
    assert list(iter_json_rows([body])) == []
    assert list(iter_csv_rows([body.strip(b"[] \n")])) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'[{"a": "1"}, {"a": "2"', "cut off"),
        (b'[{"a": "1"} {"a": "2"}]', "expected ','"),
        (b'{"status": "FAIL"}', "expected a JSON list"),
        (b'["a", "b"]', "expected a row object"),
        (b'[{"a": "1"}] trailing', "unexpected data"),
        (b'[{"a": "1"},', "ends before"),
    ],
)
def test_broken_json_is_reported(body, message):
    with pytest.raises(ReportFormatError, match=message):
        list(iter_json_rows(_chunks(body, 4)))


def _big_json(rows: int):
    yield b"["
    for n in range(rows):
        row = {
            "POST_ID": str(n),
            "CONTENT": "x" * 150,
            "NETWORK": "twitter",
            "POSTED_AT": "2025-03-01 10:00:00",
        }
        yield (("," if n else "") + json.dumps(row)).encode()
    yield b"]"


def _big_csv(rows: int):
    yield b"POST_ID,CONTENT,NETWORK\r\n"
    for n in range(rows):
        yield f'{n},"{"x" * 150}, quoted",twitter\r\n'.encode()


@pytest.mark.parametrize(
    ("parse", "source"), [(iter_json_rows, _big_json), (iter_csv_rows, _big_csv)]
)
def test_memory_stays_flat_however_long_the_file(parse, source):
    """About 9 MB of rows pass through while the parser holds well under 1 MB."""
    tracemalloc.start()
    try:
        count = 0
        for _ in parse(source(50_000)):
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 50_000
    assert peak < 1_000_000, peak


def test_dates_are_read_in_the_report_zone():
    import zoneinfo

    read = datetime_reader(zoneinfo.ZoneInfo("America/New_York"), day_first=False)
    assert read("2025-03-01 10:00:00") == "2025-03-01T15:00:00+00:00"
    assert read("03/01/2025 10:00") == "2025-03-01T15:00:00+00:00"
    assert read("1740787200000") == "2025-03-01T00:00:00+00:00"  # epoch milliseconds
    assert read("") is None and read("not a date") is None
    day_first = datetime_reader(zoneinfo.ZoneInfo("UTC"), day_first=True)
    assert day_first("03/01/2025 10:00") == "2025-01-03T10:00:00+00:00"


def test_booleans_and_row_hashes():
    assert [to_boolean(v) for v in ("true", "FALSE", "", "maybe")] == [True, False, None, None]
    one = row_hash("2025-03-01T00:00:00+00:00", {"B": "2", "A": "1"})
    assert one == row_hash(
        "2025-03-01T00:00:00+00:00", {"A": "1", "B": "2"}
    )  # field order does not matter
    assert one != row_hash("2025-03-02T00:00:00+00:00", {"A": "1", "B": "2"})  # the window does


def _team_performance_records(window: DateWindow, rows: list[dict]) -> list[dict]:
    """Rows through the stream's real rows-to-records path (the download replaced by `rows`)."""
    config = {"username": "u", "password": "p-1", "company_key": "k-2", "start_date": "2025-03-01"}
    stream = TapKhorosCare(config=config).streams["team_performance"]
    job = ReportJob("team_performance", window, "w", "r", None, 0.0, 0.0, 0.0)
    return list(stream.records_of(job, iter(rows)))


def test_rows_without_an_id_are_keyed_by_their_window_and_identity_columns():
    # Team performance has no id column: a row is one team and agent in one window, so a
    # re-run whose figures changed must upsert the same key, never add a second row.
    day = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    first = DateWindow(day, day + dt.timedelta(days=1))
    rows = [
        {"TEAM_ID": "t1", "AGENT_ID": "a1", "RESPONSES_SENT": "3"},
        {"TEAM_ID": "t1", "AGENT_ID": "a1", "RESPONSES_SENT": "5"},  # later figures, same row
        {"TEAM_ID": "t1", "AGENT_ID": "a2", "RESPONSES_SENT": "3"},
        {"TEAM_ID": "t1", "RESPONSES_SENT": "3"},  # no AGENT_ID: keyed by the whole row
        {"TEAM_ID": "t1", "RESPONSES_SENT": "4"},
    ]
    keys = [r["_row_hash"] for r in _team_performance_records(first, rows)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", key) for key in keys)
    assert keys[0] == keys[1]
    assert len(set(keys[1:])) == 4
    assert keys == [r["_row_hash"] for r in _team_performance_records(first, rows)]  # stable
    later = DateWindow(first.end, first.end + dt.timedelta(days=1))
    assert not set(keys) & {r["_row_hash"] for r in _team_performance_records(later, rows)}
