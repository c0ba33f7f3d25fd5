"""State never runs ahead of the rows: when `last_called_at` is written, what `--test` spends,
and a throttle that would push dates out of Xenioo's 30-day reach."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from kit_xenioo import ACCOUNT, answer_account_calls, simulator, stream_state, xenioo_config
from tap_runner import run_tap

from support_simulators.framework import Fault
from tap_xenioo.client import XeniooGap
from tap_xenioo.tap import TapXenioo

UTC = dt.timezone.utc


def _last_called_positions(run, stream: str, bot: str | None = None) -> tuple[int, int]:
    """Index of the last RECORD of (stream, bot) and of the first STATE that carries its
    last_called_at."""
    last_record = max(
        i
        for i, m in enumerate(run.messages)
        if m["type"] == "RECORD"
        and m["stream"] == stream
        and (bot is None or m["record"]["bot_scope"] == bot)
    )
    first_state = None
    for i, message in enumerate(run.messages):
        if message["type"] != "STATE":
            continue
        entry = message["value"].get("bookmarks", {}).get(stream) or {}
        if bot is not None:
            entry = next(
                (p for p in entry.get("partitions", []) if p["context"] == {"bot_scope": bot}), {}
            )
        if entry.get("last_called_at"):
            first_state = i
            break
    assert first_state is not None
    return last_record, first_state


def test_last_called_at_is_written_after_the_rows_of_the_call(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    for stream, bot in (
        ("account_statistics", None),
        ("dlr_statistics", None),
        ("bot_statistics", "support"),
        ("bot_statistics", "sales"),
    ):
        last_record, first_state = _last_called_positions(run, stream, bot)
        assert last_record < first_state, (stream, bot)


def test_a_run_killed_before_the_rows_went_out_leaves_the_call_unremembered(xenioo):
    # The answer is cut off mid-array: nothing of it is emitted, and the state must not
    # claim the call (the next run asks again instead of skipping for an hour).
    xenioo.faults.add(
        *[
            Fault(status=200, body=b'[{"GroupLabel":"2024-05-01","BotName":', path_prefix=ACCOUNT)
            for _ in range(3)
        ]
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode != 0
    assert not run.records("account_statistics")
    assert "last_called_at" not in stream_state(run, "account_statistics")


def test_test_mode_does_not_spend_the_hourly_call():
    with simulator() as sim:
        config = xenioo_config(sim)
        test = run_tap("tap_xenioo", config, args=("--test",))
        assert test.returncode == 0, test.stderr
        # The credentials were checked, with one token for every stream and bot.
        assert len(sim.calls("/authorization/integration", status=200)) == 1
        assert not sim.calls("/analytics/"), "--test called a throttled endpoint"
        assert (
            "Connection test: Xenioo gave an auth token; account_statistics for all bots was not "
            "called" in (test.stderr)
        )
        # The next real run still has its calls.
        run = run_tap("tap_xenioo", config)
        assert run.returncode == 0, run.stderr
        assert run.records("account_statistics") and run.records("bot_statistics")
        assert not sim.calls("/analytics/", status=400)


def test_test_mode_still_fails_on_a_wrong_account_key():
    with simulator() as sim:
        test = run_tap(
            "tap_xenioo", xenioo_config(sim, account_api_key="not-the-key"), args=("--test",)
        )
        assert test.returncode != 0
        assert "`account_api_key`" in test.stderr
        assert "not-the-key" not in test.stdout + test.stderr


def _late_evening_state(run_day: dt.date) -> dict:
    """Account statistics last read 29 days before `run_day`: still in reach that day, not
    the next."""
    read = dt.datetime.combine(run_day - dt.timedelta(days=29), dt.time(22), UTC)
    return {
        "bookmarks": {
            "account_statistics": {
                "replication_key": "period_start",
                "replication_key_value": dt.datetime.combine(
                    read.date(), dt.time(), UTC
                ).isoformat(),
                "last_called_at": read.isoformat(),
            }
        }
    }


@pytest.fixture
def late_evening(tap_clock):
    """The tap's clock at 23:45 UTC today: one hour later is tomorrow, and the reach moves a day."""
    moment = dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(23, 45), UTC)
    tap_clock(moment)
    return moment


def _sync(config: dict, state: dict, capsys) -> tuple[TapXenioo, BaseException | None]:
    tap = TapXenioo(config=config, state=state)
    for name, stream in tap.streams.items():
        stream.selected = name == "account_statistics"
    error = None
    try:
        tap.sync_all()
    except XeniooGap as exc:
        error = exc
    capsys.readouterr()
    return tap, error


def test_a_throttle_that_would_push_dates_out_of_reach_fails_the_run(late_evening, capsys):
    with simulator() as sim:
        answer_account_calls(sim)
        state = _late_evening_state(late_evening.date())
        tap, error = _sync(xenioo_config(sim, bots=None), json.loads(json.dumps(state)), capsys)
    assert error is not None, "the run went on past a gap"
    read_day = late_evening.date() - dt.timedelta(days=29)
    assert f"account_statistics for all bots was last read up to {read_day}" in str(error)
    assert f"so {read_day} to {read_day} would be lost" in str(error)
    assert "set `allow_gaps` to true" in str(error)
    entry = tap.state["bookmarks"]["account_statistics"]
    assert entry["last_called_at"] == state["bookmarks"]["account_statistics"]["last_called_at"]


def test_allow_gaps_lets_that_run_end_well(late_evening, capsys):
    with simulator() as sim:
        answer_account_calls(sim)
        _, error = _sync(
            xenioo_config(sim, bots=None, allow_gaps=True),
            _late_evening_state(late_evening.date()),
            capsys,
        )
    assert error is None


def test_a_throttle_early_in_the_day_leaves_no_gap(tap_clock, capsys):
    moment = dt.datetime.combine(dt.datetime.now(UTC).date(), dt.time(9), UTC)
    tap_clock(moment)
    with simulator() as sim:
        answer_account_calls(sim)
        _, error = _sync(xenioo_config(sim, bots=None), _late_evening_state(moment.date()), capsys)
    assert error is None
