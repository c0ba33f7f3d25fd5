"""The streaming report parsers: any chunking, CSV quirks, broken bodies, flat memory."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import re
import subprocess
import sys
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support_taps.normalize import row_hash
from support_taps.windows import DateWindow
from tap_khoros_care import parsing
from tap_khoros_care.jobs import ReportJob
from tap_khoros_care.parsing import ReportFormatError, iter_csv_rows, iter_json_rows
from tap_khoros_care.tap import TapKhorosCare
from tap_khoros_care.values import datetime_reader, to_boolean

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


#: Run in an interpreter of its own: tracemalloc counts every thread's allocations, and a test
#: worker may still have threads of earlier tests (a simulator, a prefetch) at work.
_MEASURE = """
import json, sys, tracemalloc
from tap_khoros_care.parsing import iter_csv_rows, iter_json_rows


def big_json(rows):
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


def big_csv(rows):
    yield b"POST_ID,CONTENT,NETWORK\\r\\n"
    for n in range(rows):
        yield f'{n},"{"x" * 150}, quoted",twitter\\r\\n'.encode()


parse, source = {"json": (iter_json_rows, big_json), "csv": (iter_csv_rows, big_csv)}[sys.argv[1]]
for _ in parse(source(10)):  # what a first file loads once (modules, tables) is not per row
    pass
tracemalloc.start()
count = sum(1 for _ in parse(source(50_000)))
print(count, tracemalloc.get_traced_memory()[1])
"""


@pytest.mark.parametrize("report_format", ["json", "csv"])
def test_memory_stays_flat_however_long_the_file(report_format):
    """About 9 MB of rows pass through while the parser holds well under 1 MB."""
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, report_format],
        capture_output=True,
        text=True,
        check=True,
    )
    count, peak = map(int, done.stdout.split())
    assert count == 50_000
    assert peak < 1_000_000, peak


def test_dates_are_read_in_the_report_zone():
    import zoneinfo

    read = datetime_reader(zoneinfo.ZoneInfo("America/New_York"), day_first=False)
    assert read("2025-03-01 10:00:00") == "2025-03-01T15:00:00+00:00"
    assert read("03/01/2025 10:00") == "2025-03-01T15:00:00+00:00"
    assert read("1740787200000") == "2025-03-01T00:00:00+00:00"  # epoch milliseconds
    assert read("") is None and read("not a date") is None
    # An epoch past year 9999 (or before year 1) is a value we cannot read, not a crash.
    assert read("99999999999999999999") is None and read(-(2**70)) is None and read(2**70) is None
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


def test_identical_rows_keyed_by_the_whole_row_land_as_as_many_rows():
    # Three identical rows (no id, no identity columns): three keys, the first the row's own
    # hash, the same on every run and whatever the order of the file.
    day = dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc)
    window = DateWindow(day, day + dt.timedelta(days=1))
    same = {"TEAM_ID": "t1", "RESPONSES_SENT": "3"}
    other = {"TEAM_ID": "t1", "RESPONSES_SENT": "4"}
    keys = [r["_row_hash"] for r in _team_performance_records(window, [same, other, same, same])]
    assert len(set(keys)) == 4
    assert keys[0] == row_hash(window.start.isoformat(), same)
    again = [r["_row_hash"] for r in _team_performance_records(window, [same, same, other, same])]
    assert set(again) == set(keys)


# ---- issue 18: bodies that are no report, rows past the limit, errors without row content ---

_CSV = b"AUTHOR_ID,AUTHOR_NAME,NETWORK\r\n1001,Jane Roe,twitter\r\n1002,John Doe,facebook\r\n"
_COLUMNS = frozenset({"AUTHOR_ID", "AUTHOR_NAME", "NETWORK", "FOLLOWERS"})
_S3_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired</Message></Error>"
)


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("author.csv"), data)
    return out.getvalue()


#: (what the file host sent, what the error says it is), for both formats.
NOT_REPORTS = [
    (_S3_ERROR, "an HTML or XML page, not a report file: '<?xml"),
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "an HTML or XML page"),
    (_zip(_CSV), "a ZIP archive, not a report file"),
    (gzip.compress(_CSV, mtime=0), "a gzip-compressed file (sent without a Content-Encoding)"),
    (_CSV.decode().encode("utf-16"), "UTF-16 text (it starts with a UTF-16 byte-order mark)"),
    (_CSV.decode().encode("utf-16-le"), "UTF-16 text or a binary file (NUL bytes"),
]


@pytest.mark.parametrize(
    ("body", "says"), NOT_REPORTS, ids=["xml", "html", "zip", "gzip", "utf-16", "utf-16-le"]
)
@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_a_body_that_is_no_report_is_refused_before_any_row(fmt, body, says):
    parse = iter_json_rows if fmt == "json" else lambda c: iter_csv_rows(c, _COLUMNS)
    with pytest.raises(ReportFormatError, match=re.escape(f"the body is {says}")):
        next(iter(parse(_chunks(body, 1000))))


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            b'{"error": "AccessDenied", "message": "Request has expired"}',
            "the body is JSON, not a CSV report: JSON object{error: string, message: string} "
            "saying error: 'AccessDenied'; message: 'Request has expired'",
        ),
        (b'[{"AUTHOR_ID": "1001"}]', "the body is JSON, not a CSV report"),
        (
            b"Service Unavailable\n",
            'its first line is not a header of this report: 1 cells ("Aaaaaaa Aaaaaaaaaaa"), '
            "none a column the tap knows for it, and a single cell",
        ),
        (
            b"Error,Access denied\n",
            "none a column the tap knows for it, and no row follows",
        ),
        # A file without its header: the first row is read as one, and is not one.
        (
            b"1001,Jane Roe,twitter\r\n1002,John Doe,facebook\r\n",
            'its first line is not a header of this report: 3 cells ("9999", "Aaaa Aaa", '
            '"aaaaaaa"), none a column the tap knows for it, and cell 1 has no letter',
        ),
        (
            b"AUTHOR_\xe9TAT,NETWORK\r\n1,twitter\r\n",
            "the CSV header is not UTF-8 text; reports are UTF-8",
        ),
    ],
    ids=["json-error", "json-rows", "text-error", "two-word-error", "headerless", "latin-1"],
)
def test_a_csv_first_line_must_be_a_header_of_the_report(body, says):
    with pytest.raises(ReportFormatError) as refused:
        next(iter(iter_csv_rows(_chunks(body, 7), _COLUMNS)))
    assert says in str(refused.value)
    assert "Jane" not in str(refused.value) and "1001" not in str(refused.value)


def test_a_csv_header_of_unknown_columns_lands_with_one_warning():
    # The column names Khoros uses are not published: a real header of other names still
    # lands (whole in `fields`), with a warning saying what was found.
    said: list[str] = []
    body = b"Author Id,Author Name\r\n1001,Jane Roe\r\n"
    rows = list(iter_csv_rows(_chunks(body, 5), _COLUMNS, said.append))
    assert rows == [{"Author Id": "1001", "Author Name": "Jane Roe"}]
    assert said == [
        'has a header naming none of the columns the tap knows for this report (2 cells ("Aaaaaa '
        'Aa", "Aaaaaa Aaaa")); its rows are kept whole in `fields`, the typed columns are empty'
    ]


def test_bytes_that_are_not_utf8_in_a_row_are_named_once_by_position():
    said: list[str] = []
    body = _CSV + b"1003,Ren\xe9e,twitter\r\n1004,Zo\xeb,twitter\r\n"
    rows = list(iter_csv_rows(_chunks(body, 16), _COLUMNS, said.append))
    assert [r["AUTHOR_NAME"] for r in rows] == ["Jane Roe", "John Doe", "Ren\ufffde", "Zo\ufffd"]
    first = body.index(b"\xe9")
    assert said == [
        f"holds bytes that are not UTF-8 (the first at byte {first}); they are "
        "read as U+FFFD, as the values as sent cannot be kept"
    ]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_a_row_past_the_limit_fails_at_the_limit_naming_it(fmt, monkeypatch):
    # A row that never ends: the parser stops once it holds the limit (it read about that
    # much, not the endless body) and says which limit it met.
    monkeypatch.setattr(parsing, "MAX_ROW_CHARS", 2 * 2**20)
    read = [0]

    def endless():
        yield b'[{"CONTENT": "' if fmt == "json" else b'AUTHOR_ID,CONTENT\r\n1,"'
        while True:
            read[0] += 65536
            yield b"x" * 65536

    parse = iter_json_rows if fmt == "json" else lambda c: iter_csv_rows(c, _COLUMNS)
    with pytest.raises(ReportFormatError) as refused:
        list(parse(endless()))
    assert "2 MiB" in str(refused.value)
    assert "xxxx" not in str(refused.value)
    assert read[0] <= 4 * 2 * 2**20 + parsing.CHUNK_BYTES


_VALUE = st.text(st.characters(codec="utf-8", exclude_characters='"\\'), min_size=4, max_size=12)


@given(
    rows=st.lists(st.dictionaries(st.sampled_from(["A", "B", "C"]), _VALUE), max_size=4),
    cut=st.floats(0, 1),
    garbage=st.sampled_from(["", "x", "}", "]]", "{", ",", '"', " true", "[1,"]),
    fmt=st.sampled_from(["json", "csv"]),
)
def test_parse_errors_describe_never_quote_the_rows(rows, cut, garbage, fmt):
    # Any report body broken anywhere (cut, or with something inserted): an error, if there is
    # one, names positions and kinds, never a value of a row (customer data).
    if fmt == "json":
        text = json.dumps(rows, ensure_ascii=False)
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["A", "B", "C"], lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        text = out.getvalue()
    at = int(len(text) * cut)
    body = (text[:at] + garbage + text[at:]).encode()
    parse = iter_json_rows if fmt == "json" else lambda c: iter_csv_rows(c, {"A", "B", "C"})
    try:
        list(parse(_chunks(body, 5)))
    except ReportFormatError as exc:
        message = str(exc)
        for row in rows:
            for value in row.values():
                assert value.strip() == "" or value not in message, message


def test_occurrences_count_repeats_of_each_key_across_table_growth():
    # Many keys (the table grows several times), each seen three times in scattered order.
    import hashlib

    from tap_khoros_care.values import Occurrences

    keys = [hashlib.blake2b(str(n).encode(), digest_size=16).hexdigest() for n in range(5000)]
    seen = Occurrences()
    counts = [seen(key) for key in keys] + [seen(key) for key in reversed(keys)]
    counts += [seen(key) for key in keys[::2]]
    assert counts == [0] * 5000 + [1] * 5000 + [2] * 2500
