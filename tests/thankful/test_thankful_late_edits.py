"""An edit Thankful records late (tickets of a day already bookmarked, resolved since, shown
only now) lands on the next run with the default settings: `lookback_days` (default 3) asks
again for the days before the bookmark, and the day's rows upsert on their key."""

from __future__ import annotations

import datetime as dt

from kit_thankful import thankful_config
from tap_runner import run_tap

UTC = dt.timezone.utc


def test_an_edit_recorded_late_lands_on_the_next_run_with_default_settings(thankful):
    today = dt.datetime.now(UTC).date()
    config = thankful_config(
        thankful, start_date=(today - dt.timedelta(days=6)).isoformat(), end_date=None
    )
    del config["lookback_days"]  # the default
    first = run_tap("tap_thankful", config)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.bookmark("savings") == f"{today.isoformat()}T00:00:00+00:00"

    # Three days ago: complete, bookmarked, and no longer revised by the simulator itself.
    day = (today - dt.timedelta(days=3)).isoformat()

    def resolved(run) -> list[int]:
        return [r["resolved"] for r in run.records("tickets_over_time") if r["day"] == day]

    [before] = resolved(first)
    thankful.record_late_edit(day, {"resolved": 5})

    second = run_tap("tap_thankful", config, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert resolved(second) == [before + 5]
    [totals] = [r for r in second.records("ticket_totals") if r["day"] == day]
    assert totals["resolved_total"] == before + 5

    # What the default buys: without the lookback the day is not asked again.
    config["lookback_days"] = 0
    without = run_tap("tap_thankful", config, state=first.final_state)
    assert without.returncode == 0
    assert resolved(without) == []
