"""A value Xenioo records late (yesterday's bucket, already read and passed by the bookmark,
revised since) lands on the next run with the default settings: `lookback_days` (default 2)
widens the next call's DAYS, which costs no extra call, and the bucket upserts on its key."""

from __future__ import annotations

import datetime as dt

from kit_faults import _xenioo_next_run
from kit_xenioo import BOTS, simulator, today, xenioo_config
from tap_runner import run_tap

STREAM = "account_statistics"


def test_a_value_recorded_late_lands_on_the_next_run_with_default_settings():
    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    bot = BOTS["xb-test-support-key-4d7a9c21"]
    with simulator() as sim:
        config = xenioo_config(sim, types=[0])  # New User: one row per bot, channel and day
        first = run_tap("tap_xenioo", config)
        assert first.returncode == 0, first.stderr[-2000:]
        assert first.bookmark(STREAM)[:10] == today().isoformat()

        def yesterdays(run) -> list[int]:
            return [
                r["value"]
                for r in run.records(STREAM)
                if r["group_label"] == yesterday
                and r["bot_name"] == bot
                and r["channel_name"] == "Web"
            ]

        [before] = yesterdays(first)
        sim.record_late_edit([bot, "Web", yesterday, 0], {"value": before + 7})
        # The next scheduled run, after Xenioo's throttle hour.
        state = _xenioo_next_run(sim, first.final_state)
        sim.reset_throttles()
        second = run_tap("tap_xenioo", config, state=state)
        assert second.returncode == 0, second.stderr[-2000:]
        assert yesterdays(second) == [before + 7]
        calls = [c for c in sim.calls("/analytics/statistics/account/")]
        assert [c.path.rsplit("/", 1)[-1] for c in calls] == ["30", "3"]  # DAYS: 1 + lookback 2

        # What the default buys: without the lookback only today's bucket is asked again.
        sim.reset_throttles()
        without = run_tap("tap_xenioo", {**config, "lookback_days": 0}, state=state)
        assert without.returncode == 0
        assert yesterdays(without) == []


def test_in_month_and_year_modes_the_lookback_asks_for_whole_buckets():
    """A month re-read from its 29th would be partial, and left out (an earlier run delivered
    it whole): the lookback starts at the first day of the bucket it reaches into."""
    from tap_xenioo.tap import TapXenioo

    with simulator() as sim:
        for mode, expected in (
            ("day", "2025-03-29"),
            ("month", "2025-03-01"),
            ("year", "2025-01-01"),
        ):
            tap = TapXenioo(config=xenioo_config(sim, group_mode=mode), parse_env_config=False)
            stream = tap.streams[STREAM]
            assert stream.first_day_of_bucket(dt.date(2025, 3, 29)).isoformat() == expected
