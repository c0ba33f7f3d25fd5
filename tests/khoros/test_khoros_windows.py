"""Windows sized to the API, split when refused or too large, all report types at once,
18 months."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from kit_khoros import (
    assert_delivers_expected,
    khoros_config,
    khoros_simulator,
    run_reports,
    run_until_bookmarks,
    start_report,
)
from tap_runner import run_tap

from support_taps.windows import DateWindow, add_months
from tap_khoros_care.jobs import split_window

UTC = dt.timezone.utc


def _windows(run, stream):
    return sorted({(r["window_start"][:10], r["window_end"][:10]) for r in run.records(stream)})


def test_default_windows_are_three_calendar_months(khoros):
    config, run = run_reports(
        khoros,
        report_types=["incoming_post", "raw_agent_states"],
        window_days=None,
        start_date="2025-01-15",
        end_date="2025-08-01",
    )
    assert _windows(run, "incoming_post") == [
        ("2025-01-15", "2025-04-15"),
        ("2025-04-15", "2025-07-15"),
        ("2025-07-15", "2025-08-01"),
    ]
    assert len(khoros.stats.log) == 6  # three jobs per report type for six and a half months
    assert run.bookmarks("incoming_post") == [
        "2025-04-15T00:00:00+00:00",
        "2025-07-15T00:00:00+00:00",
        "2025-08-01T00:00:00+00:00",
    ]
    assert_delivers_expected(run, khoros, config)


def test_a_range_khoros_refuses_splits_the_window_in_two_without_loss_or_duplicates():
    with khoros_simulator(max_range_days={"response": 40}) as sim:
        config, run = run_reports(
            sim,
            report_types=["response", "author"],
            window_days=None,
            start_date="2025-01-01",
            end_date="2025-04-01",
        )
        assert _windows(run, "response") == [
            ("2025-01-01", "2025-01-23"),
            ("2025-01-23", "2025-02-15"),
            ("2025-02-15", "2025-03-09"),
            ("2025-03-09", "2025-04-01"),
        ]
        assert _windows(run, "author") == [
            ("2025-01-01", "2025-04-01")
        ]  # other types keep the full range
        assert len(sim.calls(status=400)) == 3  # the 90-day window, then both 45-day halves
        assert "split into" in run.stderr
        assert run.bookmarks("response")[-1] == "2025-04-01T00:00:00+00:00"
        assert_delivers_expected(run, sim, config)


def test_team_performance_interval_too_many_buckets_splits_until_khoros_accepts(khoros):
    # Khoros's published refusal: "Too many buckets (N) requested. Select a larger interval?"
    config, run = run_reports(
        khoros,
        report_types=["team_performance_interval"],
        window_days=None,
        start_date="2025-03-01",
        end_date="2025-06-01",
        timeInterval=3600000,
    )
    windows = _windows(run, "team_performance_interval")
    assert windows[0][0] == "2025-03-01" and windows[-1][1] == "2025-06-01" and len(windows) == 4
    assert all(
        b[0] == a[1] for a, b in zip(windows, windows[1:], strict=False)
    )  # contiguous: nothing lost
    assert_delivers_expected(run, khoros, config)


def test_a_file_above_max_file_mb_splits_its_window_before_any_row_is_emitted(khoros):
    config, whole = run_reports(
        khoros,
        report_types=["response"],
        window_days=None,
        start_date="2025-03-01",
        end_date="2025-06-01",
    )
    size = max(len(json.dumps(r["fields"])) for r in whole.records("response")) * len(
        whole.records("response")
    )
    limited = run_tap("tap_khoros_care", {**config, "max_file_mb": size / 2**20 / 3})
    assert limited.returncode == 0, limited.stderr
    assert "above `max_file_mb`" in limited.stderr
    assert len(_windows(limited, "response")) >= 4
    ids = [r["POST_ID"] for r in limited.records("response")]
    assert len(ids) == len(set(ids)) and set(ids) == {
        r["POST_ID"] for r in whole.records("response")
    }
    starts = [r["window_start"] for r in limited.records("response")]
    assert starts == sorted(starts)


def test_windows_split_at_midnight_then_hours():
    day = dt.datetime(2025, 3, 1, tzinfo=UTC)
    assert split_window(DateWindow(day, day + dt.timedelta(days=5))) == (
        DateWindow(day, day + dt.timedelta(days=2)),
        DateWindow(day + dt.timedelta(days=2), day + dt.timedelta(days=5)),
    )
    assert split_window(DateWindow(day, day + dt.timedelta(hours=24)))[0].end == day + dt.timedelta(
        hours=12
    )
    assert split_window(DateWindow(day, day + dt.timedelta(minutes=90))) is None


def test_every_report_type_shares_the_job_slots_oldest_window_first(khoros):
    types = ["author", "raw_expert_help", "response"]  # in the catalog's order
    config, run = run_reports(
        khoros,
        report_types=types,
        start_date="2025-03-01",
        end_date="2025-03-05",
        max_concurrent_reports=4,
    )
    started = khoros.stats.log
    # Jobs start oldest window first across report types, not one type after another.
    assert started == sorted(started, key=lambda job: (job[1], types.index(job[0])))
    assert started[:3] == [(t, "2025-03-01") for t in types]
    assert khoros.stats.peak_running <= 4
    # Each stream's records in window order and its bookmark after each window, exactly.
    for stream in types:
        starts = [r["window_start"] for r in run.records(stream)]
        assert starts == sorted(starts)
        assert run.bookmarks(stream) == [f"2025-03-0{d}T00:00:00+00:00" for d in (2, 3, 4, 5)]
    assert_delivers_expected(run, khoros, config)


def test_resume_after_a_kill_mid_backfill_of_several_report_types(tmp_path):
    with khoros_simulator(job_latency=(0.05, 0.1)) as sim:
        config = khoros_config(
            sim,
            report_types=["response", "incoming_post"],
            start_date="2025-03-01",
            end_date="2025-04-12",
            window_days=7,
            requests_per_minute=1200,
        )
        messages = run_until_bookmarks(config, tmp_path, "response", 3)
        state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
        assert (
            state["bookmarks"]["response"]["replication_key_value"] == "2025-03-22T00:00:00+00:00"
        )
        before = [m for m in messages if m["type"] == "RECORD"]
        resumed = run_tap("tap_khoros_care", config, state=state)
        assert resumed.returncode == 0, resumed.stderr
        expected = sim.expected_vendor_keys(config)
        for stream, column in (("response", "POST_ID"), ("incoming_post", "POST_ID")):
            ids = [m["record"][column] for m in before if m["stream"] == stream]
            ids += [r[column] for r in resumed.records(stream)]
            assert len(ids) == len(set(ids)), stream
            assert {(i,) for i in ids} == expected[stream][1], stream


def test_a_conversation_that_closes_in_a_later_window_ends_closed(khoros):
    config, run = run_reports(
        khoros, report_types=["conversation"], start_date="2025-03-03", end_date="2025-03-08"
    )
    rows: dict[str, list[dict]] = {}
    for record in run.records("conversation"):
        rows.setdefault(record["CONVERSATION_ID"], []).append(record)
    moved = [
        history
        for history in rows.values()
        if history[0]["STATUS"] == "OPEN" and history[-1]["STATUS"] == "CLOSED"
    ]
    assert moved, "no conversation opened in one window and closed in a later one"
    for history in moved:
        first, last = history[0], history[-1]
        assert (
            first["conversation_report_type"] == "CREATED"
            and last["conversation_report_type"] == "CLOSED"
        )
        assert first["window_start"] < last["window_start"] and last["CLOSED_AT"] is not None
    # The row a target keeps (the last per key) is the conversation's latest state.
    for conversation_id, history in rows.items():
        closed = [
            c
            for c in khoros.dataset.day(dt.date(2025, 3, 3))
            + khoros.dataset.day(dt.date(2025, 3, 4))
            if c.conversation_id == conversation_id
        ]
        if (
            closed
            and closed[0].closed is not None
            and closed[0].closed < dt.datetime(2025, 3, 8, tzinfo=UTC)
        ):
            assert history[-1]["STATUS"] == "CLOSED", conversation_id
    kinds = Counter(
        c.query["conversationReportType"][0]
        for c in khoros.calls()
        if c.path.endswith("/reports/report/conversation")
    )
    assert kinds == {"CREATED": 5, "CLOSED": 5}


def test_a_start_date_older_than_khoros_keeps_is_moved_forward_with_a_warning():
    now = dt.datetime.now(UTC)
    start = (add_months(now, -20)).date().isoformat()
    end = (add_months(now, -17)).date().isoformat()
    with khoros_simulator(history_months=18) as sim:
        config, run = run_reports(
            sim,
            report_types=["author"],
            start_date=start,
            end_date=end,
            history_months=None,
            window_days=None,
        )
        assert "`start_date`" in run.stderr and "keeps only 18 months" in run.stderr
        earliest = (
            (
                add_months(now, -18).replace(hour=0, minute=0, second=0, microsecond=0)
                + dt.timedelta(days=2)
            )
            .date()
            .isoformat()
        )
        assert min(r["window_start"][:10] for r in run.records("author")) == earliest
        assert not sim.calls(status=400)


def test_the_simulator_refuses_more_than_three_months_and_older_than_18_months(khoros):
    def start(sim, begin: dt.datetime, end: dt.datetime):
        epoch_ms = {
            "startTime": int(begin.timestamp() * 1000),
            "endTime": int(end.timestamp() * 1000),
        }
        return start_report(sim, "author", **epoch_ms)

    begin = dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert start(khoros, begin, dt.datetime(2025, 4, 1, tzinfo=UTC)).status_code == 200
    refused = start(khoros, begin, dt.datetime(2025, 4, 2, tzinfo=UTC))
    assert refused.status_code == 400 and "maximum of three months" in refused.text
    with khoros_simulator(history_months=18) as strict:
        old = add_months(dt.datetime.now(UTC), -19)
        answer = start(strict, old, old + dt.timedelta(days=1))
        assert answer.status_code == 400 and "18 months" in answer.text
