"""tap-dixa against its simulator: exact records, `_type` columns, metric days, paging, windows,
state and resume, filters, pacing under Dixa's rate limit, and secrets."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from kit_dixa import API_TOKEN, catalog_of, dixa_config, keys_of
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import Fault

UTC = dt.timezone.utc
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00$")


@pytest.fixture(scope="module")
def full_run():
    """One full run (every stream) in Copenhagen time, against a simulator enforcing Dixa's rate
    limit."""
    with DixaSimulator(api_token=API_TOKEN) as sim:
        config = dixa_config(sim, timezone="Europe/Copenhagen")
        run = run_tap("tap_dixa", config)
        yield sim, config, run


def test_full_run_delivers_exactly_what_the_simulator_serves(full_run):
    sim, config, run = full_run
    assert run.returncode == 0, run.stderr
    expected = sim.expected_primary_keys(config)
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == set(expected)
    for stream, (columns, keys) in expected.items():
        records = run.records(stream)
        assert keys_of(records, columns) == keys, stream
        assert len(records) == len(keys), f"{stream}: a record was emitted twice"
        assert run.schemas()[stream]["key_properties"] == list(columns)
    assert len(run.records("records_conversations")) > 50


def test_pacing_keeps_a_normal_run_under_the_rate_limit(full_run):
    sim, _, run = full_run
    assert len(sim.calls()) > 40  # enough requests to exhaust a burst of 4 many times over
    assert sim.calls(status=429) == []
    assert "Retrying" not in run.stderr


def test_record_fields_become_typed_columns_with_labels(full_run):
    sim, _, run = full_run
    by_id = {r["conversation_id"]: r for r in run.records("records_closed_conversations")}
    checked = with_agent = 0
    for row in sim.dataset.rows(
        "closed_conversations",
        dt.datetime(2025, 1, 6, tzinfo=UTC),
        dt.datetime(2025, 1, 9, tzinfo=UTC),
    ):
        record = by_id[row.values["conversation_id"]]
        fields = {f["name"]: f["field"] for f in row.fields}
        assert record["primary_timestamp"] == row.timestamp.isoformat()
        assert record["closed_at"] == row.timestamp.isoformat()  # TimestampField
        assert record["created_at"] == row.values["created_at"].isoformat()
        assert record["closed_by"] == fields["closed_by"]["value"]
        assert record["closed_by_label"] == fields["closed_by"]["label"]
        if "agent_id" in fields:  # UUIDField with label
            assert (record["agent_id"], record["agent_id_label"]) == (
                fields["agent_id"]["value"],
                fields["agent_id"]["label"],
            )
            with_agent += 1
        else:  # nullable and absent: an explicit null
            assert record["agent_id"] is None and record["agent_id_label"] is None
        assert record["handling_duration"] == row.values["handling_duration"]
        checked += 1
    assert checked > 50
    assert 0 < with_agent < checked  # both the labelled value and the explicit null were seen
    for record in run.records("records_conversations"):
        assert isinstance(record["csid"], int) and isinstance(record["is_reopened"], bool)
        assert record["tags"] is None or isinstance(record["tags"], list)
    for record in run.records("records_first_response_times"):
        assert ISO_UTC.match(record["first_response_at"])
        delay = record["business_hours_delay"]
        assert delay is None or delay["_type"] == "DurationField"  # unknown type kept as JSON
    assert any(r["business_hours_delay"] for r in run.records("records_first_response_times"))
    # ...with one warning, not one per row.
    assert run.stderr.count("'DurationField'") == 1


def test_metric_values_are_per_day_in_the_timezone(full_run):
    sim, _, run = full_run
    zone = zoneinfo.ZoneInfo("Europe/Copenhagen")
    rows = run.records("metric_values")
    assert {r["day"] for r in rows} == {"2025-01-06", "2025-01-07", "2025-01-08"}
    for row in rows:
        midnight = dt.datetime.fromisoformat(row["day"]).replace(tzinfo=zone)
        assert (
            row["period_start"] == midnight.astimezone(UTC).isoformat()
        )  # 23:00 UTC the day before
        assert row["timezone"] == "Europe/Copenhagen"
    # Values are what the simulator computes for that local day, measure by measure.
    day = dt.datetime(2025, 1, 7, tzinfo=zone)
    for metric_id in ("created_conversations", "csat", "rating_score", "first_response_time"):
        aggregates = sim.aggregates(
            metric_id, day.astimezone(UTC), (day + dt.timedelta(days=1)).astimezone(UTC)
        )
        got = {
            r["measure"]: r["value"]
            for r in rows
            if r["metric_id"] == metric_id and r["day"] == "2025-01-07"
        }
        assert got == {a["measure"]: a["value"] for a in aggregates}
    presence = [
        r for r in rows if r["measure"] == "AgentPresenceDuration" and r["day"] == "2025-01-07"
    ]
    assert {r["status"] for r in presence} == {"Working", "Away", "Lunch"}  # one row per status
    assert all(
        r["value_type"] == "AgentPresenceDurationValue" and r["status_description"]
        for r in presence
    )
    # Each metric asked once per day, with an Interval in the configured timezone and all its
    # measures.
    bodies = sim.data_queries("metrics", "rating_score")
    assert len(bodies) == 3
    assert bodies[0]["periodFilter"] == {
        "_type": "Interval",
        "start": "2025-01-05T23:00:00Z",
        "end": "2025-01-06T23:00:00Z",
    }
    assert bodies[0]["timezone"] == "Europe/Copenhagen"
    assert bodies[0]["aggregations"] == ["Average", "Min", "Max", "StdDev"]


def test_state_has_a_bookmark_per_record_stream_and_per_metric(full_run):
    _, _, run = full_run
    state = run.final_state["bookmarks"]
    assert state["records_ratings"]["replication_key_value"] == "2025-01-09T00:00:00+00:00"
    partitions = {
        p["context"]["metric_id"]: p["replication_key_value"]
        for p in state["metric_values"]["partitions"]
    }
    assert set(partitions) == {
        "created_conversations",
        "closed_conversations",
        "handling_time",
        "csat",
        "rating_score",
        "first_response_time",
        "agent_presence_duration",
    }
    assert set(partitions.values()) == {"2025-01-08T23:00:00+00:00"}


def test_token_never_appears_in_output(full_run):
    _, _, run = full_run
    assert API_TOKEN not in run.output


def _records_only(sim, **overrides):
    return dixa_config(sim, record_ids=["ratings"], metric_ids=["csat"], **overrides)


# The tests below run with a catalog selecting the streams they are about (`catalog_of`), so a
# run does not also read every export and every conversation's notes at Dixa's rate. The
# discovery's requests (its sample of the records among them) stay first in the simulator's
# log, as when a run without a catalog discovers.


def test_pages_follow_meta_next_with_the_same_body(dixa):
    config = _records_only(
        dixa, page_limit=10, start_date="2025-01-06", end_date="2025-01-08", window_days=7
    )
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, "records_ratings"))
    assert run.returncode == 0, run.stderr
    expected = dixa.expected_primary_keys(config)["records_ratings"]
    assert keys_of(run.records("records_ratings"), expected[0]) == expected[1]
    pages = [c for c in dixa.calls("/v1/analytics/records") if c.method == "POST"][
        1:
    ]  # [0] is discovery's sample
    assert len(pages) == -(-len(expected[1]) // 10) > 2
    assert all(c.query["pageLimit"] == ["10"] for c in pages)
    assert "pageKey" not in pages[0].query and all("pageKey" in c.query for c in pages[1:])
    # The simulator refuses a pageKey sent with another body, so every page carried the first
    # page's body.
    bodies = dixa.data_queries("records", "ratings")[1:]
    assert all(b == bodies[0] for b in bodies)


def test_records_are_asked_in_windows_and_state_moves_after_each(dixa):
    config = _records_only(dixa, start_date="2025-01-06", end_date="2025-01-11", window_days=2)
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, "records_ratings"))
    assert run.returncode == 0, run.stderr
    asked = [
        (b["periodFilter"]["start"], b["periodFilter"]["end"])
        for b in dixa.data_queries("records", "ratings", first_pages=True)[1:]
    ]
    assert asked == [
        ("2025-01-06T00:00:00Z", "2025-01-08T00:00:00Z"),
        ("2025-01-08T00:00:00Z", "2025-01-10T00:00:00Z"),
        ("2025-01-10T00:00:00Z", "2025-01-11T00:00:00Z"),
    ]
    assert run.bookmarks("records_ratings") == [
        "2025-01-08T00:00:00+00:00",
        "2025-01-10T00:00:00+00:00",
        "2025-01-11T00:00:00+00:00",
    ]
    bookmark = None
    after_a_bookmark = 0
    for message in run.messages:
        if message["type"] == "STATE":
            bookmark = run.bookmark("records_ratings", message["value"]) or bookmark
        elif message["type"] == "RECORD" and message["stream"] == "records_ratings" and bookmark:
            assert message["record"]["primary_timestamp"] >= bookmark
            after_a_bookmark += 1
    assert after_a_bookmark > 0  # records of the later windows came after the first bookmark


def test_resume_after_interruption_continues_from_the_last_complete_window(dixa):
    config = _records_only(
        dixa, start_date="2025-01-06", end_date="2025-01-12", window_days=2, max_retries=0
    )
    catalog = catalog_of(config, "records_ratings")
    # The records catalogue and two windows go through; the third window fails for good.
    dixa.faults.add(Fault(status=500, skip=3, path_prefix="/v1/analytics/records"))
    interrupted = run_tap("tap_dixa", config, catalog=catalog)
    assert interrupted.returncode != 0
    assert "HTTP 500" in interrupted.stderr
    assert interrupted.bookmark("records_ratings") == "2025-01-10T00:00:00+00:00"
    columns, _ = dixa.expected_primary_keys(config)["records_ratings"]
    first = keys_of(interrupted.records("records_ratings"), columns)
    assert (
        first
        == dixa.expected_primary_keys({**config, "end_date": "2025-01-10"})["records_ratings"][1]
    )

    dixa.reset_log()
    resumed = run_tap("tap_dixa", config, catalog=catalog, state=interrupted.final_state)
    assert resumed.returncode == 0, resumed.stderr
    assert (
        dixa.data_queries("records", "ratings")[0]["periodFilter"]["start"]
        == "2025-01-10T00:00:00Z"
    )
    assert (
        first | keys_of(resumed.records("records_ratings"), columns)
        == dixa.expected_primary_keys(config)["records_ratings"][1]
    )
    assert resumed.bookmark("records_ratings") == "2025-01-12T00:00:00+00:00"


def test_metric_values_resume_from_the_bookmarked_day_minus_lookback(dixa):
    config = _records_only(dixa, start_date="2025-01-01", end_date="2025-01-10", lookback_days=1)
    state = {
        "bookmarks": {
            "metric_values": {
                "partitions": [
                    {
                        "context": {"metric_id": "csat"},
                        "replication_key": "period_start",
                        "replication_key_value": "2025-01-08T00:00:00+00:00",
                    }
                ]
            }
        }
    }
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, "metric_values"), state=state)
    assert run.returncode == 0, run.stderr
    assert sorted({r["day"] for r in run.records("metric_values")}) == [
        "2025-01-07",
        "2025-01-08",
        "2025-01-09",
    ]


def test_filters_are_sent_where_supported_and_honoured(dixa):
    filters = [{"attribute": "channel", "values": ["EMAIL", "PSTN_PHONE"]}]
    config = dixa_config(
        dixa,
        record_ids=["conversations", "agent_presence"],
        metric_ids=["created_conversations"],
        filters=filters,
        end_date="2025-01-08",
    )
    streams = ("records_conversations", "records_agent_presence", "metric_values")
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, *streams))
    assert run.returncode == 0, run.stderr
    assert {r["initial_channel"] for r in run.records("records_conversations")} == {
        "EMAIL",
        "PSTN_PHONE",
    }
    expected = dixa.expected_primary_keys(config)
    for stream in streams:
        assert keys_of(run.records(stream), expected[stream][0]) == expected[stream][1]
    conversation_queries = dixa.data_queries("records", "conversations")
    presence_queries = dixa.data_queries("records", "agent_presence")
    assert conversation_queries and presence_queries
    assert all(b["filters"] == filters for b in conversation_queries)
    assert all(b["filters"] == [] for b in presence_queries)  # no channel filter there
    counts = {r["day"]: r["value"] for r in run.records("metric_values")}
    unfiltered = dixa.aggregates(
        "created_conversations",
        dt.datetime(2025, 1, 6, tzinfo=UTC),
        dt.datetime(2025, 1, 7, tzinfo=UTC),
    )[0]["value"]
    assert 0 < counts["2025-01-06"] < unfiltered


def test_a_429_is_honoured_with_retry_after(small_dixa):
    # The records catalogue goes through; the next records request (discovery's sample) is told
    # to wait.
    small_dixa.faults.add(
        Fault(status=429, retry_after="1", skip=1, path_prefix="/v1/analytics/records")
    )
    run = run_tap("tap_dixa", _records_only(small_dixa, end_date="2025-01-07"))
    assert run.returncode == 0, run.stderr
    assert "Retrying in 1.0s" in run.stderr and "HTTP 429" in run.stderr
    expected = small_dixa.expected_primary_keys(_records_only(small_dixa, end_date="2025-01-07"))[
        "records_ratings"
    ]
    assert keys_of(run.records("records_ratings"), expected[0]) == expected[1]


def test_broken_json_names_the_endpoint(small_dixa):
    # The catalogue and discovery's sample go through; the first window's answer is an HTML page.
    small_dixa.faults.add(
        Fault(body=b"<html>upstream error</html>", skip=2, path_prefix="/v1/analytics/records")
    )
    run = run_tap("tap_dixa", _records_only(small_dixa, end_date="2025-01-07"))
    assert run.returncode != 0
    assert (
        "not valid JSON for POST /v1/analytics/records" in run.stderr
        and "<html>upstream error" in run.stderr
    )
    assert run.bookmark("records_ratings") is None  # nothing emitted, nothing bookmarked


def test_today_is_asked_again_by_the_next_run(dixa):
    today = dt.datetime.now(UTC).date()
    config = _records_only(
        dixa, start_date=(today - dt.timedelta(days=1)).isoformat(), end_date=None
    )
    catalog = catalog_of(config, "metric_values")
    first = run_tap("tap_dixa", config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    assert sorted({r["day"] for r in first.records("metric_values")})[-1] == today.isoformat()
    second = run_tap("tap_dixa", config, catalog=catalog, state=first.final_state)
    assert {r["day"] for r in second.records("metric_values")} == {
        today.isoformat()
    }  # today, partial, again
