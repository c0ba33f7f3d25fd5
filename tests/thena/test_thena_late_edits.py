"""An edit Thena records late (a request changed before the last run, visible only after it)
lands on the next run with the default settings: `lookback_days` (default 30) asks again for
the creation dates before the bookmark, and the row upserts on request_id."""

from __future__ import annotations

import datetime as dt
import json
import urllib.request

from kit_thena import API_KEY, thena_config
from tap_runner import run_tap

UTC = dt.timezone.utc


def test_an_edit_recorded_late_lands_on_the_next_run_with_default_settings(thena):
    start = (dt.datetime.now(UTC) - dt.timedelta(days=8)).date().isoformat()
    # The defaults: no lookback_days, no end_date (a scheduled run up to now).
    config = thena_config(thena, start_date=start, end_date=None, lookback_days=None)
    first = run_tap("tap_thena", config)
    assert first.returncode == 0, first.stderr[-2000:]
    bookmark = dt.datetime.fromisoformat(first.bookmark("requests"))
    # A request created three days before the bookmark, edited since; Thena shows it only now.
    edited = next(
        r
        for r in first.records("requests")
        if dt.datetime.fromisoformat(r["created_datetime"]) < bookmark - dt.timedelta(days=3)
    )
    thena.record_late_edit(edited["request_id"], {"owner": "Late Editor", "status": "Closed"})

    second = run_tap("tap_thena", config, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    again = [r for r in second.records("requests") if r["request_id"] == edited["request_id"]]
    assert [(r["owner"], r["status"]) for r in again] == [("Late Editor", "Closed")]
    assert again[0]["raw"]["owner"] == "Late Editor"

    # What the default buys: without the lookback the edit would be lost.
    without = run_tap("tap_thena", {**config, "lookback_days": 0}, state=first.final_state)
    assert without.returncode == 0
    assert edited["request_id"] not in {r["request_id"] for r in without.records("requests")}


def test_a_late_edit_can_be_recorded_through_the_control_endpoint(thena):
    """What a user trying a pipeline does: `POST /_simulator/late_edit` on a running simulator."""
    day = "2025-01-06"
    url = f"{thena.url}/v1/requests/exports?start_date={day}&end_date={day}"
    headers = {"Authorization": f"Bearer {API_KEY}"}

    def export() -> list[dict]:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as answer:
            return json.loads(answer.read())

    target = export()[0]["request_id"]
    edit = json.dumps({"key": target, "changes": {"sentiment": "Furious"}}).encode()
    request = urllib.request.Request(f"{thena.url}/_simulator/late_edit", data=edit, method="POST")
    with urllib.request.urlopen(request) as answer:
        assert json.loads(answer.read()) == {"ok": True}
    rows = {row["request_id"]: row for row in export()}
    assert rows[target]["sentiment"] == "Furious"
    assert all(row["sentiment"] != "Furious" for key, row in rows.items() if key != target)
