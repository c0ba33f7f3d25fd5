"""SIGTERM or SIGINT while the export streams' prefetch thread waits on a slow answer: the run
stops at once (not when the answer comes), with status 143 (130) and a last STATE covering what
was emitted."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from kit_dixa import API_TOKEN, FEW_CONVERSATIONS, dixa_config, select_only
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator

#: How long the second window's export answer is held back.
SLOW_ANSWER = 30.0


def _bookmark(message: dict) -> str | None:
    bookmarks = message["value"].get("bookmarks") or {}
    return (bookmarks.get("conversations") or {}).get("replication_key_value")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_while_prefetch_waits_stops_at_once_with_consistent_state(tmp_path, signum):
    with DixaSimulator(api_token=API_TOKEN, conversations_per_day=FEW_CONVERSATIONS) as sim:
        config = dixa_config(
            sim, record_ids=["ratings"], start_date="2025-01-01", end_date="2025-03-15"
        )
        found = run_tap("tap_dixa", config, args=("--discover",))
        assert found.returncode == 0, found.stderr
        catalog = select_only(json.loads(found.stdout), "conversations")
        (tmp_path / "config.json").write_text(json.dumps(config))
        (tmp_path / "catalog.json").write_text(json.dumps(catalog))
        # The first window answers at once; the second (asked by the prefetch thread while the
        # first one's records go out) is held back. The two are asked at once and may arrive in
        # either order, so the held-back one is told by its window, not by its turn.
        first_window = str(
            int(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp() * 1000) - 1
        )
        held_back = threading.Event()

        def hold_back_later_windows(request, normal):
            if request.arg("updated_after") != first_window:
                held_back.set()
                time.sleep(SLOW_ANSWER)
            return normal()

        sim.intercept("GET", "/v1/conversation_export", hold_back_later_windows)
        errors = (tmp_path / "stderr.txt").open("w+")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tap_dixa",
                *("--config", str(tmp_path / "config.json")),
                *("--catalog", str(tmp_path / "catalog.json")),
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        # Every line the tap writes is read through one reader, to the end: the signal goes
        # out from inside the loop (a second reader would miss what this one has buffered).
        lines = []
        sent = None
        waiting = False
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            try:
                message = json.loads(line)
            except ValueError:
                raise AssertionError(f"not one message per line: {line[:300]!r}") from None
            if sent is None and message["type"] == "STATE" and _bookmark(message):
                time.sleep(1.0)  # the prefetch thread is now waiting on the slow answer
                waiting = held_back.is_set()  # the second window was being asked
                sent = time.monotonic()
                process.send_signal(signum)
        process.wait(timeout=SLOW_ANSWER + 30)
        assert sent is not None, "no STATE with a bookmark came"
        took = time.monotonic() - sent
        errors.seek(0)
        err = errors.read()
        errors.close()
        last = [json.loads(line) for line in lines if '"type":"STATE"' in line.replace(" ", "")]
        expected = sim.expected_primary_keys({**config, "end_date": _bookmark(last[-1])})
    assert waiting  # the second window was being asked when the signal came
    assert process.returncode == 128 + signum, err[-3000:]
    assert took < 5, f"exited {took:.1f} s after the signal"
    assert f"Stopped by {signum.name}" in err and "Traceback" not in err
    messages = [json.loads(line) for line in lines if line.strip()]
    states = [m for m in messages if m["type"] == "STATE"]
    bookmark = _bookmark(states[-1])
    assert bookmark is not None and bookmark < "2025-02-01"  # the first window's, no further
    # Every conversation up to the bookmark was emitted (windows are read two at once, so
    # records of the next window may have gone out too: state never passes one not emitted).
    emitted = {
        (r["_account_id"], r["id"])
        for m in messages
        if m["type"] == "RECORD"
        for r in [m["record"]]
    }
    _, covered = expected["conversations"]
    assert covered and covered <= emitted
