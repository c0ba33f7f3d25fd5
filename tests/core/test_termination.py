"""SIGTERM mid-run: a non-zero exit status, and the last STATE never passes the records emitted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from kit_thena import API_KEY, expected_ids, thena_config

from support_simulators.thena import ThenaSimulator


def _bookmark(state: dict) -> str | None:
    return ((state.get("bookmarks") or {}).get("requests") or {}).get("replication_key_value")


def test_sigterm_mid_run_exits_non_zero_with_consistent_state(tmp_path):
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.latency = 0.4  # a slow API: the signal arrives while a request is in flight
        config = thena_config(sim, start_date="2025-01-01", end_date="2025-04-01", window_days=1)
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        errors = (tmp_path / "stderr.txt").open("w+")
        process = subprocess.Popen(
            [sys.executable, "-m", "tap_thena", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        # One reader to the end (a second one would miss what this one has buffered).
        lines = []
        states = 0
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if '"type":"STATE"' in line.replace(" ", "") and _bookmark(json.loads(line)["value"]):
                states += 1
                if states == 4:
                    time.sleep(0.2)  # mid-window: the next request is under way
                    process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        errors.seek(0)
        err = errors.read()
        errors.close()
        messages = [json.loads(line) for line in lines if line.strip().startswith("{")]
        assert process.returncode == 128 + signal.SIGTERM, err[-3000:]
        assert "Stopped by SIGTERM" in err and "Traceback" not in err
        last_state = [m for m in messages if m["type"] == "STATE"][-1]["value"]
        bookmark = _bookmark(last_state)
        assert bookmark is not None and bookmark < "2025-04-01"  # it stopped before the end
        emitted = {m["record"]["request_id"] for m in messages if m["type"] == "RECORD"}
        covered = set(expected_ids(sim, "2025-01-01", bookmark[:19]))
        assert covered and covered <= emitted  # every record before the bookmark was emitted
        # and the last message is not half a line
        assert lines[-1].endswith("\n")
