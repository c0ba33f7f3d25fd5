"""tap-xenioo against its simulator: records, the calls made, DAYS from state, the 30-day reach."""

from __future__ import annotations

import datetime as dt

from kit_xenioo import BOTS, STREAMS, primary_keys, simulator, stream_state, today, xenioo_config
from tap_runner import run_tap

from support_simulators.xenioo import STATISTIC_TYPES

UTC = dt.timezone.utc
ACCOUNT = "/analytics/statistics/account/"
BOT = "/analytics/statistics/bot/"
DLR = "/analytics/statistics/dlr/account/"


def _bookmark_state(
    days_ago: int, streams=("account_statistics", "dlr_statistics"), bots=("support", "sales")
) -> dict:
    value = dt.datetime.combine(today() - dt.timedelta(days=days_ago), dt.time(), UTC).isoformat()
    entry = {"replication_key": "period_start", "replication_key_value": value}
    bookmarks = {name: dict(entry) for name in streams}
    bookmarks["bot_statistics"] = {
        "partitions": [{"context": {"bot_scope": bot}, **entry} for bot in bots]
    }
    return {"bookmarks": bookmarks}


def _days_asked(sim, prefix: str) -> list[int]:
    return [int(call.path.rstrip("/").rsplit("/", 1)[1]) for call in sim.calls(prefix, status=200)]


def _possible_days(first_day: dt.date, before: dt.date, after: dt.date) -> set[int]:
    """DAYS the tap may ask for `first_day`, whichever of the two dates 'today' was during the
    run."""
    return {min(30, (before - first_day).days + 1), min(30, (after - first_day).days + 1)}


def test_full_run_delivers_exactly_what_the_simulator_serves(xenioo):
    config = xenioo_config(xenioo)
    run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    expected = xenioo.expected_primary_keys(config)
    assert set(expected) == set(STREAMS)
    for stream, (columns, keys) in expected.items():
        assert tuple(run.schemas()[stream]["key_properties"]) == columns
        delivered = primary_keys(run, stream)
        assert len(delivered) == len(run.records(stream)), f"{stream}: a key was emitted twice"
        assert delivered == keys, stream
        assert len(keys) > 100, stream


def test_one_call_per_endpoint_with_the_documented_path_parameters(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    (account,) = xenioo.calls(ACCOUNT)
    assert account.path == ACCOUNT + "*/" + ",".join(map(str, range(18))) + "/day/30"
    bot_paths = sorted(call.path for call in xenioo.calls(BOT))
    assert bot_paths == sorted(f"{BOT}{key}/{','.join(map(str, range(19)))}/day/30" for key in BOTS)
    (dlr,) = xenioo.calls(DLR)
    assert dlr.path == DLR + "*/day/30"
    assert all(
        c.headers.get("Authorization", "").startswith("Bearer ") for c in xenioo.calls("/analytics")
    )


def test_records_are_typed_and_keep_the_whole_object(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    records = run.records("account_statistics")
    codes = {name: code for code, name in STATISTIC_TYPES.items()}
    for record in records[:500]:
        raw = record["raw"]
        assert "Type" not in raw  # the simulator serves the published shape
        # The type is told from the EventLabel, a documented type name.
        assert record["stat_type_code"] == codes[raw["EventLabel"]]
        assert record["stat_type_name"] == raw["EventLabel"]
        assert (
            record["group_label"],
            record["bot_name"],
            record["channel_name"],
            record["event_label"],
        ) == (raw["GroupLabel"], raw["BotName"], raw["ChannelName"], raw["EventLabel"])
        assert record["period_start"] == f"{raw['GroupLabel']}T00:00:00+00:00"
        assert record["value"] == raw["Value"] and isinstance(record["value"], (int, float))
        assert record["bot_scope"] == "*" and record["group_mode"] == "day"
    assert {r["stat_type_code"] for r in records} == set(range(18))
    bot_records = run.records("bot_statistics")
    assert {r["bot_scope"] for r in bot_records} == {"support", "sales"}
    assert any(r["stat_type_name"] == "Tag Hit" for r in bot_records)
    assert {r["event_label"] for r in run.records("dlr_statistics")} <= {
        "Sent",
        "Delivered",
        "Read",
        "Failed",
    }


def test_state_bookmarks_the_newest_bucket_and_remembers_each_call(xenioo):
    newest = dt.datetime.combine(today(), dt.time(), UTC).isoformat()
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    for stream, bot in (
        ("account_statistics", None),
        ("dlr_statistics", None),
        ("bot_statistics", "support"),
        ("bot_statistics", "sales"),
    ):
        state = stream_state(run, stream, bot)
        assert state["replication_key_value"] >= newest[:10], (stream, bot, state)
        called = dt.datetime.fromisoformat(state["last_called_at"])
        assert dt.timedelta(0) <= dt.datetime.now(UTC) - called < dt.timedelta(minutes=5)


def test_configured_types_group_mode_and_account_bot(xenioo):
    config = xenioo_config(
        xenioo,
        types=[3, 12],
        bot_types=[18],
        group_mode="hour",
        start_date=today().isoformat(),
        account_bot="sales",
    )
    before = today()
    run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    sales_key = "xb-test-sales-key-b81e05f6"
    (account,) = xenioo.calls(ACCOUNT)
    assert account.path.startswith(f"{ACCOUNT}{sales_key}/3,12/hour/")
    assert _days_asked(xenioo, ACCOUNT)[0] in _possible_days(before, before, today())
    assert xenioo.calls(DLR)[0].path.startswith(f"{DLR}{sales_key}/hour/")
    records = run.records("account_statistics")
    assert records and {r["stat_type_code"] for r in records} <= {3, 12}
    assert {r["bot_scope"] for r in records} == {"sales"}
    assert {r["bot_name"] for r in records} == {"Sales Concierge"}
    assert all(
        r["period_start"].endswith(":00:00+00:00") and r["group_mode"] == "hour" for r in records
    )
    assert {r["stat_type_code"] for r in run.records("bot_statistics")} == {18}
    assert (
        primary_keys(run, "account_statistics")
        == xenioo.expected_primary_keys(config)["account_statistics"][1]
    )


def test_days_come_from_the_bookmark(xenioo):
    before = today()
    # The bookmark alone (the lookback before it: test_xenioo_late_edits.py).
    config = xenioo_config(xenioo, lookback_days=0)
    run = run_tap("tap_xenioo", config, state=_bookmark_state(5))
    assert run.returncode == 0, run.stderr
    first_day = before - dt.timedelta(days=5)
    for prefix in (ACCOUNT, BOT, DLR):
        for days in _days_asked(xenioo, prefix):
            assert days in _possible_days(first_day, before, today()), prefix
    # The bookmarked bucket is read again (it was still filling), nothing before it.
    labels = {r["group_label"] for r in run.records("account_statistics")}
    assert min(labels) >= first_day.isoformat() and first_day.isoformat() in labels | {
        (first_day + dt.timedelta(days=1)).isoformat()
    }
    assert "can no longer be fetched" not in run.stderr


def test_days_come_from_start_date_on_a_first_run(xenioo):
    before = today()
    start = before - dt.timedelta(days=9)
    run = run_tap("tap_xenioo", xenioo_config(xenioo, start_date=start.isoformat()))
    assert run.returncode == 0, run.stderr
    assert set(_days_asked(xenioo, ACCOUNT)) <= _possible_days(start, before, today())
    assert "can no longer be fetched" not in run.stderr


def test_a_bookmark_older_than_30_days_fails_the_run_naming_the_dates_and_the_setting(xenioo):
    before = today()
    state = _bookmark_state(45)
    run = run_tap("tap_xenioo", xenioo_config(xenioo), state=state)
    assert run.returncode != 0
    assert not xenioo.calls("/analytics/"), "the hourly call was spent on a run that fails"
    bookmark_day = before - dt.timedelta(days=45)
    assert (
        f"The dates {bookmark_day} to " in run.stderr and "can no longer be fetched" in run.stderr
    )
    assert "Set `allow_gaps` to true" in run.stderr
    assert stream_state(run, "account_statistics") in ({}, state["bookmarks"]["account_statistics"])
    assert not run.records()


def test_with_allow_gaps_a_bookmark_older_than_30_days_names_the_dates_out_of_reach(xenioo):
    before = today()
    run = run_tap("tap_xenioo", xenioo_config(xenioo, allow_gaps=True), state=_bookmark_state(45))
    assert run.returncode == 0, run.stderr
    assert set(_days_asked(xenioo, "/analytics/")) == {30}
    bookmark_day = before - dt.timedelta(days=45)

    def message(run_day: dt.date) -> str:
        lost_until = run_day - dt.timedelta(days=30)
        return (
            f"The dates {bookmark_day} to {lost_until} ({(lost_until - bookmark_day).days + 1} "
            "days) for all bots can no longer be fetched"
        )

    assert message(before) in run.stderr or message(today()) in run.stderr
    assert "for bot 'support' can no longer be fetched" in run.stderr
    assert "account_statistics was last read up to" in run.stderr
    # What is in reach is still delivered, and the bookmark moves to the newest bucket.
    assert run.records("account_statistics")
    assert stream_state(run, "account_statistics")["replication_key_value"] >= before.isoformat()


def test_a_start_date_older_than_30_days_is_reported_too(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo, start_date="2020-01-01"))
    assert run.returncode == 0, run.stderr
    assert "The dates 2020-01-01 to " in run.stderr and "can no longer be fetched" in run.stderr


def test_month_mode_keeps_a_delivered_month_rather_than_a_partial_rereading(xenioo):
    config = xenioo_config(xenioo, group_mode="month", types=[3])
    this_month = today().replace(day=1)
    reach = today() - dt.timedelta(days=29)
    # First run: every month the 30 days touch is delivered, partial or not (the best there is).
    first = run_tap("tap_xenioo", config)
    assert first.returncode == 0, first.stderr
    months = {r["group_label"] for r in first.records("account_statistics")}
    assert months == {reach.strftime("%Y-%m"), today().strftime("%Y-%m")}
    assert (
        primary_keys(first, "account_statistics")
        == xenioo.expected_primary_keys(config)["account_statistics"][1]
    )
    # A later run whose 30 days start inside an already delivered month leaves that month alone.
    xenioo.reset_throttles()
    previous_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    state = {
        "bookmarks": {
            "account_statistics": {
                "replication_key": "period_start",
                "replication_key_value": dt.datetime.combine(
                    previous_month, dt.time(), UTC
                ).isoformat(),
                # The earlier run read that month up to yesterday: no gap, though the month
                # began long ago.
                "last_called_at": (dt.datetime.now(UTC) - dt.timedelta(days=1)).isoformat(),
            }
        }
    }
    second = run_tap("tap_xenioo", {**config, "bots": None}, state=state)
    assert second.returncode == 0, second.stderr
    assert {r["group_label"] for r in second.records("account_statistics")} == {
        today().strftime("%Y-%m")
    }
    if reach < this_month:  # the previous month was partly in reach, and left out
        assert "Left out" in second.stderr and "an earlier run delivered them" in second.stderr


def test_a_rerun_re_emits_the_bookmarked_bucket_under_the_same_keys():
    with simulator() as sim:
        config = xenioo_config(sim, lookback_days=0)  # the bookmarked bucket alone
        first = run_tap("tap_xenioo", config)
        assert first.returncode == 0, first.stderr
        # Past the throttle windows: the simulator forgets its throttles, the state its calls.
        sim.reset_throttles()
        state = first.final_state
        for entry in [
            state["bookmarks"]["account_statistics"],
            state["bookmarks"]["dlr_statistics"],
            *state["bookmarks"]["bot_statistics"]["partitions"],
        ]:
            entry["last_called_at"] = (dt.datetime.now(UTC) - dt.timedelta(hours=2)).isoformat()
        second = run_tap("tap_xenioo", config, state=state)
        assert second.returncode == 0, second.stderr
        for stream in STREAMS:
            label = list(first.schemas()[stream]["key_properties"]).index("group_label")
            bookmarked = stream_state(
                first, stream, "support" if stream == "bot_statistics" else None
            )
            day = bookmarked["replication_key_value"][:10]
            again = primary_keys(second, stream)
            assert again and {k[label] for k in again} <= {day, (today()).isoformat()}, stream
            assert {k for k in again if k[label] == day} == {
                k for k in primary_keys(first, stream) if k[label] == day
            }
