"""Test helpers for tap-khoros-care."""

from __future__ import annotations

import json
import subprocess
import sys
import typing as t
from pathlib import Path

import requests
from kit_settings import tap_config
from tap_runner import run_tap

from support_simulators.khoros import KhorosSimulator

USERNAME = "analytics-test-user"
PASSWORD = "khoros-pass-5d2e8b17"
COMPANY_KEY = "khoros-company-9f4a61c3"


def khoros_simulator(**kwargs) -> KhorosSimulator:
    """A simulator with the test credentials and short job latencies."""
    kwargs.setdefault("job_latency", (0.05, 0.3))
    kwargs.setdefault("history_months", 36)
    return KhorosSimulator(username=USERNAME, password=PASSWORD, company_key=COMPANY_KEY, **kwargs)


def khoros_config(sim: KhorosSimulator, **overrides) -> dict:
    settings = {
        "username": USERNAME,
        "password": PASSWORD,
        "company_key": COMPANY_KEY,
        "start_date": "2025-03-01",
        "end_date": "2025-03-03",
        "requests_per_minute": 6000,
        "poll_interval": 0.1,
        "max_poll_interval": 0.3,
        # The tests' dates are fixed, older than the 18 months Khoros keeps from today, and
        # most tests look at one-day windows; tests of the defaults override both.
        "history_months": 36,
        "window_days": 1,
    }
    return tap_config(sim, settings, overrides)


def assert_delivers_expected(run: t.Any, sim: KhorosSimulator, config: dict) -> None:
    """Every stream delivered the keys the simulator expects for `config`, each row once but
    conversations: one comes again in each window it is open at the end of, and when it closes
    (CREATED, then CLOSED: a target upserts it)."""
    for stream, (columns, keys) in sim.expected_primary_keys(config).items():
        got = [tuple(r[c] for c in columns) for r in run.records(stream)]
        assert set(got) == keys, stream
        if stream != "conversation":
            assert len(got) == len(set(got)), f"{stream}: a row was emitted twice"


def start_report(sim: KhorosSimulator, report: str, **params: t.Any) -> requests.Response:
    """The simulator's answer to a report job started as Khoros documents it (basic auth, the
    company key, `params`)."""
    return requests.get(
        f"{sim.api_url}/reports/report/{report}",
        auth=(USERNAME, PASSWORD),
        params={"companyKey": COMPANY_KEY, **params},
        timeout=10,
    )


def run_until_bookmarks(config: dict, tmp_path: Path, stream: str, count: int) -> list[dict]:
    """Run the tap and kill it (SIGKILL) right after its `count`-th STATE bookmarking `stream`;
    the messages it wrote until then."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    process = subprocess.Popen(
        [sys.executable, "-m", "tap_khoros_care", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    messages, states = [], 0
    assert process.stdout is not None
    for line in process.stdout:
        message = json.loads(line)
        messages.append(message)
        bookmark = (
            message["value"].get("bookmarks", {}).get(stream, {})
            if message["type"] == "STATE"
            else {}
        )
        if bookmark.get("replication_key_value"):
            states += 1
            if states == count:
                process.kill()
                break
    process.wait()
    return messages


def run_reports(sim: KhorosSimulator, state: dict | None = None, **settings) -> tuple[dict, t.Any]:
    """A successful run of the tap against `sim` with `khoros_config(sim, **settings)`: the
    config and the run."""
    config = khoros_config(sim, **settings)
    run = run_tap("tap_khoros_care", config, state=state)
    assert run.returncode == 0, run.stderr
    return config, run
