"""tap-thankful against its simulator: day keys, one fetch per day, lookback, state, filters."""

from __future__ import annotations

import datetime as dt

import pytest
from kit_thankful import (
    ALL_STREAMS,
    API_KEY,
    DAY_STREAMS,
    DENSE_STREAMS,
    TICKET_STREAMS,
    assert_delivers_expected,
    day_queries,
    days,
    midnight,
    select_only,
    thankful_config,
    z_day,
)
from tap_runner import run_tap

from support_simulators.framework import Fault
from support_simulators.thankful import ThankfulSimulator

UTC = dt.timezone.utc
WEEK = days("2025-01-01", "2025-01-07")


def test_full_run_delivers_exactly_the_simulators_facts(thankful):
    config = thankful_config(thankful)
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert_delivers_expected(run, thankful, config)
    for stream in DAY_STREAMS:
        # Every day has rows (a quiet day may have no recommendation).
        assert {r["day"] for r in run.records(stream)} <= set(WEEK), stream
        if stream in DENSE_STREAMS:
            assert {r["day"] for r in run.records(stream)} == set(WEEK), stream
        assert all(r["filter_action_id"] is None for r in run.records(stream))
    assert len(run.records("handoffs")) > 100 and len(run.records("top_actions")) > 100


def test_rows_hold_the_numbers_the_simulator_served(thankful):
    config = thankful_config(thankful)
    run = run_tap("tap_thankful", config)
    names = {a.id: a.name for a in thankful.dataset.actions}
    assert {r["action_id"]: r["name"] for r in run.records("actions")} == names
    series = {r["day"]: r for r in run.records("tickets_over_time")}
    totals = {r["day"]: r for r in run.records("ticket_totals")}
    top = {(r["day"], r["action_id"]): r for r in run.records("top_actions")}
    handoffs = {
        (r["day"], r["action_id"], r["cause_id"]): r["action_handoff_count"]
        for r in run.records("handoffs")
    }
    savings = {r["day"]: r["hours"] for r in run.records("savings")}
    for day_key in WEEK:
        summary = thankful.day_summary(dt.date.fromisoformat(day_key), config, None)
        row = series[day_key]
        assert (row["received"], row["captured"], row["transferred"], row["resolved"]) == (
            summary.received,
            summary.captured,
            summary.transferred,
            summary.resolved,
        )
        # The day's series point and the day's totals are the same fact, from one answer.
        assert totals[day_key]["received_total"] == row["received"]
        assert totals[day_key]["resolved_total"] == row["resolved"]
        assert totals[day_key]["period_start"] == midnight(day_key)
        assert isinstance(totals[day_key]["received_change"], float)
        assert savings[day_key] == round(summary.hours, 2)
        for vendor_row in thankful.dataset.top_actions(summary):
            ours = top[(day_key, vendor_row["ID"])]
            assert (ours["capture"], ours["handoff"], ours["enabled"]) == (
                vendor_row["Capture"],
                vendor_row["Handoff"],
                vendor_row["Enabled"],
            )
            assert ours["name"] == names[vendor_row["ID"]]
        for action_id, causes in summary.causes.items():
            for cause_id, count in causes.items():
                assert handoffs[(day_key, action_id, cause_id)] == count
    assert any(r["enabled"] is False for r in top.values())
    assert all(
        r["impact"].startswith("Increase automation by") for r in run.records("recommendations")
    )


def test_each_day_is_asked_once_per_endpoint_with_the_days_bounds(thankful):
    run = run_tap("tap_thankful", thankful_config(thankful))
    assert run.returncode == 0, run.stderr
    asked = [z_day(day) for day in WEEK]
    for endpoint in ("tickets", "handoffs", "savings"):
        assert day_queries(thankful, endpoint) == asked, endpoint
    assert len(thankful.calls("/api/v1/actions")) == 1
    # The API's minimum for this range: 3 per-day endpoints x 7 days + /actions.
    assert len(thankful.calls()) == 3 * len(WEEK) + 1


@pytest.mark.parametrize(
    "selected",
    [
        {"top_actions"},
        {"ticket_totals", "recommendations"},
        {"tickets_over_time"},
        set(TICKET_STREAMS),
    ],
)
def test_one_tickets_fetch_per_day_whatever_is_selected(thankful, selected):
    config = thankful_config(thankful)
    run = run_tap("tap_thankful", config, catalog=select_only(config, selected))
    assert run.returncode == 0, run.stderr
    assert day_queries(thankful, "tickets") == [z_day(day) for day in WEEK]
    assert len(thankful.calls()) == len(WEEK), "only /tickets, once a day"
    assert {m["stream"] for m in run.messages if m["type"] == "RECORD"} == selected
    assert_delivers_expected(run, thankful, config, streams=selected)
    # Only streams that emitted records keep a bookmark.
    bookmarked = {
        s for s, v in run.final_state["bookmarks"].items() if v.get("replication_key_value")
    }
    assert bookmarked == selected


def test_bookmark_moves_after_each_complete_day(thankful):
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-04"))
    for stream in DAY_STREAMS:
        assert run.bookmarks(stream) == [midnight(d) for d in days("2025-01-02", "2025-01-04")], (
            stream
        )
    # A stream's STATE follows its day's records: no record after a bookmark predates it.
    seen: dict[str, str] = {}
    after_a_bookmark: set[str] = set()
    for message in run.messages:
        if message["type"] == "STATE":
            for stream in DAY_STREAMS:
                seen[stream] = run.bookmark(stream, message["value"]) or seen.get(stream, "")
        elif message["type"] == "RECORD" and message["stream"] in DAY_STREAMS:
            # A bookmark is the start of the first day not yet complete.
            assert message["record"]["day"] >= seen.get(message["stream"], "")[:10], message
            if seen.get(message["stream"]):
                after_a_bookmark.add(message["stream"])
    # The check ran against real bookmarks: every stream emitted records after its first one.
    assert set(DENSE_STREAMS) <= after_a_bookmark


def test_lookback_asks_again_for_recent_days(thankful):
    bookmark = {"replication_key": "day", "replication_key_value": "2025-03-01T00:00:00+00:00"}
    state = {"bookmarks": {stream: dict(bookmark) for stream in DAY_STREAMS}}
    config = thankful_config(
        thankful, start_date="2025-01-01", end_date="2025-03-05", lookback_days=3
    )
    run = run_tap("tap_thankful", config, state=state)
    assert run.returncode == 0, run.stderr
    again = days("2025-02-26", "2025-03-04")
    for endpoint in ("tickets", "handoffs", "savings"):
        assert day_queries(thankful, endpoint) == [z_day(day) for day in again], endpoint
    for stream in DAY_STREAMS:
        assert {r["day"] for r in run.records(stream)} <= set(again), stream
        if stream in DENSE_STREAMS:
            assert {r["day"] for r in run.records(stream)} == set(again), stream
        assert run.bookmark(stream) == "2025-03-05T00:00:00+00:00"


def test_lookback_re_reads_revised_days():
    """A day read while still being revised is read again, with its final numbers."""
    first_now = dt.datetime(2025, 5, 10, 12, tzinfo=UTC)
    with ThankfulSimulator(api_key=API_KEY, now=first_now) as sim:
        config = thankful_config(
            sim, start_date="2025-05-07", end_date="2025-05-10", lookback_days=3
        )
        first = run_tap("tap_thankful", config)
        sim.fixed_now = first_now + dt.timedelta(days=5)
        second = run_tap(
            "tap_thankful", {**config, "end_date": "2025-05-12"}, state=first.final_state
        )
        before = {r["day"]: r["resolved"] for r in first.records("tickets_over_time")}
        after = {r["day"]: r["resolved"] for r in second.records("tickets_over_time")}
        assert "2025-05-09" in after  # asked again...
        assert after["2025-05-09"] > before["2025-05-09"]  # ...and revised


def test_a_stream_selected_later_gets_its_history(thankful):
    config = thankful_config(thankful, lookback_days=0)
    only_series = run_tap(
        "tap_thankful", config, catalog=select_only(config, {"tickets_over_time"})
    )
    assert only_series.bookmark("tickets_over_time") == "2025-01-08T00:00:00+00:00"
    thankful.reset_log()
    both = run_tap(
        "tap_thankful",
        config,
        state=only_series.final_state,
        catalog=select_only(config, {"tickets_over_time", "top_actions"}),
    )
    assert both.returncode == 0, both.stderr
    assert day_queries(thankful, "tickets") == [z_day(day) for day in WEEK]  # still once a day
    assert_delivers_expected(both, thankful, config, streams=("top_actions",))
    assert both.bookmark("top_actions") == "2025-01-08T00:00:00+00:00"


def test_resume_after_interruption_continues_from_the_last_complete_day(thankful):
    config = thankful_config(thankful, lookback_days=0, max_retries=0)
    thankful.faults.add(
        Fault(status=500, skip=3, path_prefix="/api/v1/tickets")
    )  # the 4th request fails: the 4th day's, or the 3rd's when the 4th day's arrives first
    interrupted = run_tap("tap_thankful", config)
    assert interrupted.returncode != 0
    assert "HTTP 500" in interrupted.stderr and "/api/v1/tickets" in interrupted.stderr
    # The tap asks two days at once, so which day's request came 4th depends on timing.
    (failed,) = {c.query["s"][0][:10] for c in thankful.calls("/api/v1/tickets", status=500)}
    assert "2025-01-02" <= failed <= "2025-01-04"
    before = (dt.date.fromisoformat(failed) - dt.timedelta(days=1)).isoformat()
    for stream in TICKET_STREAMS:
        assert interrupted.bookmark(stream) == midnight(failed), stream
        assert {r["day"] for r in interrupted.records(stream)} <= set(days("2025-01-01", before))

    thankful.reset_log()
    resumed = run_tap("tap_thankful", config, state=interrupted.final_state)
    assert resumed.returncode == 0, resumed.stderr
    assert day_queries(thankful, "tickets")[0] == z_day(failed)
    for stream in TICKET_STREAMS:
        assert {r["day"] for r in resumed.records(stream)} <= set(days(failed, "2025-01-07"))
        assert resumed.bookmark(stream) == "2025-01-08T00:00:00+00:00"
    assert_delivers_expected(
        resumed, thankful, {**config, "start_date": failed}, streams=TICKET_STREAMS
    )
    series = interrupted.records("tickets_over_time") + resumed.records("tickets_over_time")
    assert {r["day"] for r in series} == set(WEEK)


def test_today_is_emitted_and_asked_again_but_never_bookmarked(thankful):
    yesterday = (dt.datetime.now(UTC) - dt.timedelta(days=1)).date().isoformat()
    config = thankful_config(thankful, start_date=yesterday, end_date=None, lookback_days=0)
    first = run_tap("tap_thankful", config)
    assert first.returncode == 0, first.stderr
    asked = day_queries(thankful, "tickets")
    assert len(asked) == 2  # yesterday and today (the run's today, from its own clock)
    today_key = asked[-1][0][:10]
    for stream in ("tickets_over_time", "ticket_totals", "savings"):
        assert [r["day"] for r in first.records(stream)][-1] == today_key, stream
        # The bookmark is the end of the last complete day: today's start.
        assert first.bookmark(stream) == midnight(today_key), stream
    thankful.reset_log()
    second = run_tap("tap_thankful", config, state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert day_queries(thankful, "tickets")[0] == asked[-1]


def test_filters_are_sent_as_documented_and_honoured(thankful):
    config = thankful_config(thankful, end_date="2025-01-04", statuses=[2, 1], channels=[7, 2])
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    day_calls = [c for c in thankful.calls("/api/v1/") if not c.path.endswith("/actions")]
    assert len(day_calls) == 3 * 3  # 3 days x /tickets, /handoffs, /savings
    for call in day_calls:
        assert call.query["ss"] == ["1,2"] and call.query["fs"] == ["2,7"], call
        assert "a" not in call.query
    assert_delivers_expected(run, thankful, config)
    unfiltered = thankful.day_summary(dt.date(2025, 1, 2), {}, None)
    filtered = thankful.day_summary(dt.date(2025, 1, 2), config, None)
    row = next(r for r in run.records("tickets_over_time") if r["day"].startswith("2025-01-02"))
    assert row["received"] == filtered.received < unfiltered.received


def test_two_runs_with_other_filters_land_as_other_rows(thankful):
    """The filters in effect are recorded on every row and keyed: figures asked without a
    filter and with one never overwrite each other under the same `day`."""
    unfiltered = thankful_config(thankful, end_date="2025-01-03")
    filtered = {**unfiltered, "statuses": [2, 1], "channels": [7]}
    runs = [run_tap("tap_thankful", unfiltered), run_tap("tap_thankful", filtered)]
    assert all(run.returncode == 0 for run in runs), runs[1].stderr[-2000:]
    for stream in DAY_STREAMS:
        keys = runs[0].schemas()[stream]["key_properties"]
        assert keys[2:4] == ["filter_statuses", "filter_channels"], stream
        table: dict[tuple, dict] = {}  # what a target upserting on the key keeps
        for run in runs:
            for record in run.records(stream):
                table[tuple(record[k] for k in keys)] = record
        loaded = [len(run.records(stream)) for run in runs]
        assert len(table) == sum(loaded), f"{stream}: a filtered row overwrote another"
    recorded = {
        (r["day"], r["filter_statuses"], r["filter_channels"], r["received"])
        for run in runs
        for r in run.records("tickets_over_time")
    }
    day = dt.date(2025, 1, 2)
    assert ("2025-01-02", "all", "all", thankful.day_summary(day, {}, None).received) in recorded
    assert (
        "2025-01-02",
        "1,2",
        "7",
        thankful.day_summary(day, filtered, None).received,
    ) in recorded


def test_action_ids_ask_once_per_action_and_key_rows_by_it(thankful):
    first, second = (a.id for a in thankful.dataset.actions[:2])
    config = thankful_config(thankful, end_date="2025-01-04", action_ids=[first, second])
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    for endpoint in ("tickets", "handoffs", "savings"):
        asked = [(c.query["s"][0], c.query["a"]) for c in thankful.calls(f"/api/v1/{endpoint}")]
        assert len(asked) == 3 * 2 and {a[0] for _, a in asked} == {str(first), str(second)}, (
            endpoint
        )
    assert len(thankful.calls("/api/v1/actions")) == 1  # validated and emitted from one answer
    assert_delivers_expected(run, thankful, config)
    for stream in DAY_STREAMS:
        assert run.schemas()[stream]["key_properties"][:3] == [
            "_account_id",
            "day",
            "filter_action_id",
        ], stream
        assert {r["filter_action_id"] for r in run.records(stream)} <= {first, second}
    assert {r["action_id"] for r in run.records("top_actions")} <= {first, second}


def test_unknown_action_id_fails_before_any_day_is_asked(thankful):
    run = run_tap("tap_thankful", thankful_config(thankful, action_ids=[3999999]))
    assert run.returncode != 0
    assert "`action_ids`" in run.stderr and "3999999" in run.stderr and "/actions" in run.stderr
    assert not thankful.calls("/api/v1/tickets") and not thankful.calls("/api/v1/handoffs")


@pytest.mark.parametrize(
    ("overrides", "phrase"),
    [
        ({"statuses": [1, 9]}, "The setting `statuses` is invalid (item 2): 9 is not one of"),
        ({"channels": [0, 2]}, "The setting `channels` is invalid (item 1): 0 is not one of"),
        ({"action_ids": [-3]}, "The setting `action_ids` is invalid (item 1): -3 is less than"),
        ({"lookback_days": -1}, "The setting `lookback_days` is invalid: -1 is less than"),
        ({"end_date": "2024-12-01"}, "`end_date` must be later than `start_date`"),
    ],
)
def test_bad_settings_fail_before_any_request_naming_the_setting(thankful, overrides, phrase):
    run = run_tap("tap_thankful", thankful_config(thankful, **overrides))
    assert run.returncode != 0
    assert phrase in run.stderr
    assert not thankful.calls()


def test_null_handoff_types_give_no_rows_and_no_crash(thankful):
    config = thankful_config(thankful, end_date="2025-01-02")
    served = thankful.dataset.handoffs(thankful.day_summary(dt.date(2025, 1, 1), config, None))
    without = {row["ActionID"] for row in served if row["Types"] is None}
    assert without, "the simulator serves null Types for actions without handoffs"
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert not without & {r["action_id"] for r in run.records("handoffs")}
    # An answer where every Types is null.
    thankful.faults.add(
        Fault(
            body=b'[{"ActionID": 3001, "Types": null}, {"ActionID": 3002, "Types": null}]',
            path_prefix="/api/v1/handoffs",
        )
    )
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert run.records("handoffs") == []
    assert run.bookmark("handoffs") == "2025-01-02T00:00:00+00:00"


def test_all_streams_are_discovered_with_their_keys(thankful):
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-02"))
    # The account first in every key (the core adds it); then each stream's own.
    assert {message["key_properties"][0] for message in run.schemas().values()} == {"_account_id"}
    keys = {name: message["key_properties"][1:] for name, message in run.schemas().items()}
    day = ["day", "filter_statuses", "filter_channels"]
    assert keys == {
        "actions": ["action_id"],
        "tickets_over_time": day,
        "ticket_totals": day,
        "top_actions": [*day, "action_id"],
        "recommendations": [*day, "action_id"],
        "handoffs": [*day, "action_id", "cause_id"],
        "savings": day,
    }
    assert set(keys) == set(ALL_STREAMS)


def test_two_days_are_asked_at_once_never_more_and_each_day_lands_once(thankful):
    # Answers take a while, so the next day's request is open while this one's is.
    thankful.faults.latency = 0.05
    config = thankful_config(thankful)
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert thankful.peak_open_requests == 2
    assert_delivers_expected(run, thankful, config)
    for endpoint in ("tickets", "handoffs", "savings"):
        assert day_queries(thankful, endpoint) == [z_day(day) for day in WEEK], endpoint
    for stream in DAY_STREAMS:
        assert run.bookmark(stream) == midnight("2025-01-08"), stream
