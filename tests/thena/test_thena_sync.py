"""tap-thena against its simulator: records, normalisation, windows, lookback, state."""

from __future__ import annotations

import datetime as dt
import re

from kit_thena import API_KEY, expected_ids, thena_config
from tap_runner import run_tap

from support_simulators.framework import Fault
from support_simulators.thena import PUBLISHED_ROW, ThenaSimulator

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")
US_MINUTES = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
DATE_FIELDS = (
    "created_datetime",
    "assigned_on",
    "first_response_time",
    "closed_datetime",
    "on_hold_on",
)


def test_delivers_exactly_the_requests_created_in_range(thena):
    run = run_tap("tap_thena", thena_config(thena))
    assert run.returncode == 0, run.stderr
    ids = [r["request_id"] for r in run.records("requests")]
    assert len(ids) == len(set(ids)), "a request was emitted twice"
    assert set(ids) == expected_ids(thena, "2025-01-01", "2025-02-01")
    assert len(ids) > 500


def test_records_are_normalised():
    # The variants a beta API may send besides the published shape: ISO dates, numbers as
    # text, an undocumented field, ai_tags as "A, B", csat_score "NA".
    with ThenaSimulator(api_key=API_KEY, variants=True) as sim:
        run = run_tap("tap_thena", thena_config(sim))
    assert run.returncode == 0, run.stderr
    records = run.records("requests")
    for record in records:
        for key in DATE_FIELDS:
            assert record[key] is None or ISO_UTC.match(record[key]), (key, record[key])
        assert isinstance(record["request_id"], int)
        assert record["csat_score"] is None or isinstance(record["csat_score"], (int, float))
        assert record["resolution_time_hours"] is None or isinstance(
            record["resolution_time_hours"], (int, float)
        )
        assert isinstance(record["number_of_replies"], int)
        assert isinstance(record["ai_tags"], list) and all(
            tag == tag.strip() and tag for tag in record["ai_tags"]
        )
        assert "priority_score" not in record  # undocumented field: in raw, not a column
        assert record["raw"]["request_id"] == record["request_id"]
        # Text columns keep what Thena sent; typed columns null only the placeholders.
        assert record["feedback"] == record["raw"]["feedback"]
    # Text and numeric scores, "N/A" and "NA", comma tags and the new field were all seen.
    assert any(isinstance(r["csat_score"], (int, float)) for r in records)
    assert any(
        isinstance(r["raw"]["csat_score"], str) and r["csat_score"] is not None for r in records
    )
    assert {r["raw"]["csat_score"] for r in records if r["csat_score"] is None} == {"N/A", "NA"}
    split = [r for r in records if isinstance(r["raw"]["ai_tags"], str)]
    assert split and all(
        r["ai_tags"] == [t.strip() for t in r["raw"]["ai_tags"].split(",")] for r in split
    )
    added = [r for r in records if "priority_score" in r["raw"]]
    assert added and all(isinstance(r["raw"]["priority_score"], int) for r in added)
    assert run.stderr.count("priority_score") == 1  # ...and the user is told once
    assert "cannot read" not in run.stderr  # every variant was readable


def test_the_default_simulator_serves_the_published_shape(thena):
    run = run_tap("tap_thena", thena_config(thena, start_date="2025-01-06", end_date="2025-01-08"))
    assert run.returncode == 0, run.stderr
    published = set(PUBLISHED_ROW)
    records = run.records("requests")
    assert len(records) == len(expected_ids(thena, "2025-01-06", "2025-01-08")) > 10
    for record in records:
        raw = record["raw"]
        assert list(raw) == list(PUBLISHED_ROW), "fields and order as in Thena's example"
        assert isinstance(raw["request_id"], int) and isinstance(raw["ai_tags"], list)
        assert US_MINUTES.match(raw["created_datetime"])
        assert raw["csat_score"] == "N/A" or isinstance(raw["csat_score"], int)
        assert set(record) == published | {"raw", "_account_id"}
    assert "Thena sent" not in run.stderr  # nothing unexpected


def test_the_published_example_comes_through_the_simulator_and_the_tap(thena):
    run = run_tap("tap_thena", thena_config(thena, start_date="2023-05-01", end_date="2023-06-01"))
    assert run.returncode == 0, run.stderr
    [record] = run.records("requests")
    assert (
        record["request_id"] == 3292 and record["created_datetime"] == "2023-05-12T12:24:00+00:00"
    )
    assert record["raw"] == PUBLISHED_ROW
    assert expected_ids(thena, "2023-05-01", "2023-06-01") == {3292}


def test_us_dates_become_iso_utc(thena):
    run = run_tap("tap_thena", thena_config(thena, start_date="2025-01-06", end_date="2025-01-07"))
    assert run.returncode == 0, run.stderr
    sent = {r.request_id: r.row["created_datetime"] for r in thena.dataset.day(dt.date(2025, 1, 6))}
    records = run.records("requests")
    assert {r["request_id"] for r in records} == set(sent) and len(sent) > 10
    for record in records:
        raw = sent[record["request_id"]]
        # The default simulator sends only the published US style, "MM/DD/YYYY HH:MM" (UTC).
        assert US_MINUTES.match(raw), raw
        month, day, rest = raw.split("/")
        year, hhmm = rest.split(" ")
        assert record["created_datetime"] == f"{year}-{month}-{day}T{hhmm}:00+00:00"
        assert record["created_datetime"].startswith("2025-01-06T")


def test_asks_one_request_per_window_with_the_windows_dates(thena):
    run = run_tap(
        "tap_thena",
        thena_config(thena, start_date="2025-01-01", end_date="2025-01-22", window_days=7),
    )
    assert run.returncode == 0, run.stderr
    asked = [
        (c.query["start_date"][0], c.query["end_date"][0])
        for c in thena.calls("/v1/requests/exports")
    ]
    assert asked == [
        ("2025-01-01", "2025-01-08"),
        ("2025-01-08", "2025-01-15"),
        ("2025-01-15", "2025-01-22"),
    ]


def test_state_moves_after_each_window_and_ends_at_range_end(thena):
    run = run_tap(
        "tap_thena",
        thena_config(thena, start_date="2025-01-01", end_date="2025-01-22", window_days=7),
    )
    assert run.bookmarks("requests") == [
        "2025-01-08T00:00:00+00:00",
        "2025-01-15T00:00:00+00:00",
        "2025-01-22T00:00:00+00:00",
    ]
    # Each window's STATE follows that window's records: every record lies between the
    # bookmark before it (nothing predates a bookmark already written) and the next one
    # (a bookmark is written only after the records it covers).
    placed: list[tuple[str | None, str]] = []  # (bookmark before the record, created)
    last_bookmark = None
    for message in run.messages:
        if message["type"] == "STATE":
            last_bookmark = run.bookmark("requests", message["value"]) or last_bookmark
        elif message["type"] == "RECORD":
            placed.append((last_bookmark, message["record"]["created_datetime"]))
    bounds = [None, *run.bookmarks("requests")]
    assert {before for before, _ in placed} == set(bounds[:-1]), "a window without records"
    for before, created in placed:
        after = bounds[bounds.index(before) + 1]
        assert (before or "2025-01-01") <= created < after, (before, created, after)


def test_lookback_asks_again_for_recent_creation_dates(thena):
    state = {
        "bookmarks": {
            "requests": {
                "replication_key": "created_datetime",
                "replication_key_value": "2025-03-01T00:00:00+00:00",
            }
        }
    }
    run = run_tap(
        "tap_thena",
        thena_config(thena, start_date="2025-01-01", end_date="2025-03-08", lookback_days=10),
        state=state,
    )
    assert run.returncode == 0, run.stderr
    first = thena.calls("/v1/requests/exports")[0]
    assert first.query["start_date"] == ["2025-02-19"]
    assert {r["request_id"] for r in run.records()} == expected_ids(
        thena, "2025-02-19", "2025-03-08"
    )
    assert run.bookmark("requests") == "2025-03-08T00:00:00+00:00"


def test_lookback_re_extracts_requests_that_changed_since_last_run():
    """A request open at the first run and closed by the second lands again, closed."""
    created_day = dt.datetime(2025, 5, 10, tzinfo=dt.timezone.utc)
    first_now = created_day + dt.timedelta(hours=23, minutes=59)
    with ThenaSimulator(api_key=API_KEY, now=first_now) as sim:
        config = thena_config(sim, start_date="2025-05-01", end_date="2025-05-11")
        first = run_tap("tap_thena", config)
        open_then = {r["request_id"] for r in first.records() if r["closed_datetime"] is None}
        assert open_then
        sim.fixed_now = first_now + dt.timedelta(days=5)
        second = run_tap("tap_thena", {**config, "end_date": "2025-05-16"}, state=first.final_state)
        closed_now = {r["request_id"] for r in second.records() if r["closed_datetime"] is not None}
        assert open_then & closed_now, "requests closed since the first run were not re-extracted"


def test_resume_after_interruption_continues_from_last_completed_window(thena):
    config = thena_config(
        thena,
        start_date="2025-01-01",
        end_date="2025-01-29",
        window_days=7,
        lookback_days=0,
        max_retries=0,
    )
    # The third window's request fails for good (no retries): the run stops there.
    thena.faults.add(Fault(status=500, skip=2))
    interrupted = run_tap("tap_thena", config)
    assert interrupted.returncode != 0
    assert "HTTP 500" in interrupted.stderr
    assert interrupted.bookmark("requests") == "2025-01-15T00:00:00+00:00"
    emitted = {r["request_id"] for r in interrupted.records()}
    assert emitted == expected_ids(thena, "2025-01-01", "2025-01-15")

    resumed = run_tap("tap_thena", config, state=interrupted.final_state)
    assert resumed.returncode == 0, resumed.stderr
    assert thena.calls("/v1/requests/exports")[3].query["start_date"] == ["2025-01-15"]
    assert emitted | {r["request_id"] for r in resumed.records()} == expected_ids(
        thena, "2025-01-01", "2025-01-29"
    )
    assert resumed.bookmark("requests") == "2025-01-29T00:00:00+00:00"


def test_same_records_whether_end_date_is_inclusive_or_not():
    with ThenaSimulator(api_key=API_KEY, end_date_inclusive=False) as sim:
        run = run_tap("tap_thena", thena_config(sim))
        assert {r["request_id"] for r in run.records()} == expected_ids(
            sim, "2025-01-01", "2025-02-01"
        )


def test_workspace_builds_the_vendor_url():
    from tap_thena.client import thena_base_url

    assert thena_base_url({"workspace": "acme"}) == "https://acme.thena.ai"
    assert (
        thena_base_url({"workspace": "acme", "api_url": "http://127.0.0.1:9/"})
        == "http://127.0.0.1:9"
    )


def test_deselected_properties_are_left_out(thena):
    config = thena_config(thena, start_date="2025-01-06", end_date="2025-01-07")
    discovered = run_tap("tap_thena", config, args=("--discover",))
    import json

    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"][0]["metadata"]:
        if entry["breadcrumb"] == ["properties", "request_summary"]:
            entry["metadata"]["selected"] = False
        if entry["breadcrumb"] == []:
            entry["metadata"]["selected"] = True
    run = run_tap("tap_thena", config, catalog=catalog)
    records = run.records("requests")
    assert records and all("request_summary" not in r for r in records)
    assert all("request_title" in r for r in records)
