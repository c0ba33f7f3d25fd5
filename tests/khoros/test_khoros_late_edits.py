"""A post Khoros records late (it calls its metrics "near-real-time": a post of the last minutes
may still change) lands on the next run with the default settings. Without `end_date` a run
stops `settle_minutes` (default 60) before its clock; a day not over by then is bookmarked at its
start, so the next run reads it again, whole. Runs in process, with the run's clock set."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from kit_khoros import khoros_config, khoros_simulator
from tap_runner import run_tap

from tap_khoros_care.tap import TapKhorosCare

STREAM = "incoming_post"


def _sync(config: dict, state: dict | None, capsys) -> tuple[list[dict], dict]:
    """One in-process run: its records of STREAM and its last state."""
    tap = TapKhorosCare(config=config, state=state, parse_env_config=False)
    tap.sync_all()
    messages = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    records = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == STREAM]
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return records, states[-1]


@pytest.mark.parametrize("settle_minutes", [None, 0])
def test_a_post_recorded_late_lands_on_the_next_run_with_default_settings(
    settle_minutes, monkeypatch, capsys
):
    with khoros_simulator() as sim:
        day = {"start_date": "2025-03-05", "report_types": [STREAM]}
        probe = run_tap("tap_khoros_care", khoros_config(sim, **day, end_date="2025-03-06"))
        # The day's last post, minutes before midnight (the seeded data has one after 23:05).
        post = max(probe.records(STREAM), key=lambda r: r["POSTED_AT"])
        posted = dt.datetime.fromisoformat(post["POSTED_AT"])
        midnight = dt.datetime(2025, 3, 6, tzinfo=dt.timezone.utc)
        assert midnight - dt.timedelta(minutes=55) <= posted < midnight
        # No end_date: scheduled runs up to their clock, the defaults otherwise.
        config = khoros_config(sim, **day, end_date=None, settle_minutes=settle_minutes)

        # The first run, five minutes after midnight; Khoros has not settled the post yet.
        monkeypatch.setattr(TapKhorosCare, "run_started", midnight + dt.timedelta(minutes=5))
        first, state = _sync(config, None, capsys)
        assert first, "the first run read the rows before it"
        sim.record_late_edit([STREAM, post["POST_ID"]], {"CONTENT": "edited, recorded late"})

        # The next run, an hour later.
        monkeypatch.setattr(TapKhorosCare, "run_started", midnight + dt.timedelta(minutes=65))
        second, _ = _sync(config, state, capsys)

    landed = [r for r in first + second if r["POST_ID"] == post["POST_ID"]]
    if settle_minutes is None:  # the default: the first run stopped an hour before its clock
        assert [r["CONTENT"] for r in landed] == ["edited, recorded late"]
        assert landed[0] in second
    else:  # What the default buys: read unsettled, the post keeps its first version.
        assert [r["CONTENT"] for r in landed] == [post["CONTENT"]]
