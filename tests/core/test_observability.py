"""Capabilities, progress lines at a modest rate, and the end-of-run summary every tap gets."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from kit_thena import API_KEY, thena_config
from tap_runner import run_tap

from support_simulators.framework import Fault
from support_simulators.thena import ThenaSimulator
from support_taps.progress import RunStats, WindowProgress, duration_text, spoken_duration


@pytest.mark.parametrize(
    "module", ["tap_thena", "tap_thankful", "tap_dixa", "tap_xenioo", "tap_khoros_care"]
)
def test_every_tap_declares_structured_logging_and_batch(module):
    # The tap's CLI, as Meltano asks it (in a fork of this process: a new interpreter's start-up
    # would add seconds and prove nothing more about what the tap declares).
    done = run_tap(module, {}, args=("--about", "--format=json"), timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    capabilities = json.loads(done.stdout)["capabilities"]
    assert "structured-logging" in capabilities and "batch" in capabilities


def test_meltano_yml_lists_the_capabilities_too():
    from pathlib import Path

    import yaml

    project = yaml.safe_load((Path(__file__).resolve().parents[2] / "meltano.yml").read_text())
    extractors = project["plugins"]["extractors"]
    assert {e["name"] for e in extractors} >= {
        "tap-thankful",
        "tap-dixa",
        "tap-thena",
        "tap-xenioo",
        "tap-khoros-care",
    }
    for extractor in extractors:
        assert {"structured-logging", "batch"} <= set(extractor["capabilities"]), extractor["name"]


def _lines(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_progress_is_logged_at_a_modest_rate_and_the_summary_counts_everything():
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.add(
            Fault(status=429, retry_after="0"),
            Fault(status=503),
            Fault(status=429, retry_after="0", skip=3),
        )
        run = run_tap(
            "tap_thena",
            thena_config(sim, start_date="2025-01-01", end_date="2025-03-02", window_days=1),
        )
        requests_made = len(sim.calls("/v1/requests/exports"))
    assert run.returncode == 0, run.stderr[-3000:]
    records = len(run.records("requests"))
    # 60 quick windows: the first is announced, then nothing until 30 s have passed, then the last.
    first, last = _lines(run.stderr, "requests: window ")
    assert (
        "requests: window 1 of 60 done (up to 2025-01-02T00:00:00+00:00)" in first
        and "ETA" in first
    )
    assert (
        f"requests: window 60 of 60 done (up to 2025-03-02T00:00:00+00:00), {records:,} records, "
        in last
    )
    assert "records/s, in " in last
    (summary,) = _lines(run.stderr, "Summary of requests:")
    assert summary.endswith(
        f"| Summary of requests: {records:,} records, 60 windows, {requests_made} requests, "
        "3 retries, "
        f"2 answered 429, in " + summary.rsplit(" in ", 1)[1]
    )
    assert requests_made == 63
    (total,) = _lines(run.stderr, "Run complete: 1 streams")
    assert f"{records:,} records, 63 requests, 3 retries, 2 answered 429, 0 skipped." in total


def test_a_failed_run_still_gets_its_summary():
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.add(Fault(status=400, body=b"<html>bad</html>", skip=2))
        run = run_tap(
            "tap_thena", thena_config(sim, start_date="2025-01-01", end_date="2025-02-01")
        )
    assert run.returncode != 0
    assert _lines(run.stderr, "Summary of requests:") and _lines(
        run.stderr, "Run failed: 1 streams"
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_window_progress_reports_window_records_rate_and_eta(caplog):
    clock = FakeClock()
    stats = RunStats(clock=clock)
    logger = logging.getLogger("progress-test")
    progress = WindowProgress(
        logger, "requests", stats.stream("requests"), 10, interval=30, clock=clock
    )
    with caplog.at_level(logging.INFO, logger="progress-test"):
        for index in range(1, 11):
            stats.count("requests", "records", 100)
            clock.now += 10
            progress.window_done(f"w{index}")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "requests: window 1 of 10 done (w1), 100 records so far, 10 records/s, "
        "ETA 1 minute 30 seconds",
        "requests: window 4 of 10 done (w4), 400 records so far, 10 records/s, ETA 1 minute",
        "requests: window 7 of 10 done (w7), 700 records so far, 10 records/s, ETA 30 seconds",
        "requests: window 10 of 10 done (w10), 1,000 records, 10 records/s, in 1 minute 40 seconds",
    ]


@pytest.mark.parametrize(
    ("seconds", "spoken"),
    [
        (0.2, "less than a second"),
        (1, "1 second"),
        (59.6, "1 minute"),
        (61, "1 minute 1 second"),
        (3600, "1 hour"),
        (3600 + 300 + 7, "1 hour 5 minutes"),
        (7200 + 7, "2 hours"),
        (86400 * 3 + 3600 + 59, "3 days 1 hour"),
    ],
)
def test_durations_are_written_as_people_write_them(seconds, spoken):
    """Progress lines and the summary: "ETA 1 hour 5 minutes", not "ETA 1h05m"."""
    assert spoken_duration(seconds) == spoken


def test_skipped_streams_are_warnings_in_the_summary(caplog):
    stats = RunStats()
    stats.count("bot_statistics", "requests")
    stats.skip(
        "bot_statistics", "Xenioo's hourly limit: asked again after 2025-01-01T13:00:00+00:00"
    )
    with caplog.at_level(logging.INFO, logger="summary-test"):
        stats.log_summary(logging.getLogger("summary-test"), outcome="complete")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "Summary of bot_statistics: skipped: Xenioo's hourly limit: asked again after "
        "2025-01-01T13:00:00+00:00"
    ]
    assert caplog.records[-1].getMessage().endswith("1 skipped.")


@pytest.mark.parametrize("on", [False, True])
def test_per_request_metrics_only_with_log_request_metrics(on):
    """By default a run logs the SDK's per-stream metrics, not a METRIC line per request or
    window; `log_request_metrics` brings those back. The SDK's "Skipping parse of env var
    settings..." is at DEBUG."""
    with ThenaSimulator(api_key=API_KEY) as sim:
        config = thena_config(sim, start_date="2025-01-01", end_date="2025-02-01")
        run = run_tap("tap_thena", {**config, "log_request_metrics": on})
    assert run.returncode == 0, run.stderr[-3000:]
    metrics = [json.loads(line.split("METRIC: ", 1)[1]) for line in _lines(run.stderr, "METRIC: ")]
    per_stream = [m["metric"] for m in metrics if m["metric"] in ("record_count", "sync_duration")]
    per_request = [m for m in metrics if m["metric"].startswith("http_request_")]
    assert sorted(per_stream) == ["record_count", "sync_duration"]
    assert len(per_request) == (10 if on else 0)  # 5 windows: a duration and a count each
    assert "Skipping parse of env var settings" not in run.stderr
    assert "Run complete: 1 streams" in run.stderr


def test_the_sdk_lines_of_each_context_come_once_per_stream():
    """Thankful's daily child streams: the SDK's per-context lines (METRIC, "Beginning sync",
    "Starting incremental sync") once per stream at most; "Added ... as child stream" at DEBUG.
    The tap's own summary still counts every stream."""
    from kit_thankful import API_KEY as THANKFUL_KEY
    from kit_thankful import thankful_config

    from support_simulators.thankful import ThankfulSimulator

    with ThankfulSimulator(api_key=THANKFUL_KEY) as sim:
        config = thankful_config(sim, start_date="2025-01-01", end_date="2025-01-08")
        run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr[-3000:]
    for child in ("ticket_totals", "top_actions", "recommendations"):
        assert len(_lines(run.stderr, f"Beginning sync of '{child}'")) == 1, child
        assert len(_lines(run.stderr, f"Starting incremental sync of '{child}'")) == 1, child
        assert len(_lines(run.stderr, f"Summary of {child}:")) == 1, child
    metrics = [json.loads(line.split("METRIC: ", 1)[1]) for line in _lines(run.stderr, "METRIC: ")]
    assert metrics and all(not m["tags"].get("context") for m in metrics), metrics[:3]
    assert "as child stream" not in run.stderr


def test_no_warning_that_progress_is_not_resumable():
    """Every windowed stream resumes at its last completed window (README, "How state works"):
    the SDK's "Stream is assumed to be unsorted, progress is not resumable" must not appear,
    for Dixa's metric_values (partitioned by metric) and every other stream, on a first run
    and on a run resumed from its state."""
    from kit_dixa import API_TOKEN, FEW_CONVERSATIONS, dixa_config, limit_recovered_before_each_run

    from support_simulators.dixa import DixaSimulator

    with (
        DixaSimulator(api_token=API_TOKEN, conversations_per_day=FEW_CONVERSATIONS) as sim,
        limit_recovered_before_each_run(sim),
    ):
        # A day of lookback: the resumed run asks for the last day again.
        config = dixa_config(sim, start_date="2025-06-02", end_date="2025-06-05", lookback_days=1)
        first = run_tap("tap_dixa", config)
        assert first.returncode == 0, first.stderr[-3000:]
        again = run_tap("tap_dixa", config, state=first.states()[-1])
    assert again.returncode == 0, again.stderr[-3000:]
    assert first.records("metric_values") and again.records("metric_values")
    for run in (first, again):
        assert "not resumable" not in run.stderr and "unsorted" not in run.stderr


def test_no_warning_that_xenioo_progress_is_not_resumable():
    """Every Xenioo stream (account, bot and DLR statistics) resumes at its last call's
    bookmark: no "unsorted, progress is not resumable" line, on a first or a resumed run."""
    from kit_xenioo import simulator, xenioo_config

    with simulator() as sim:
        config = xenioo_config(sim)
        first = run_tap("tap_xenioo", config)
        assert first.returncode == 0, first.stderr[-3000:]
        sim.reset_throttles()
        again = run_tap("tap_xenioo", config, state=first.states()[-1])
    assert again.returncode == 0, again.stderr[-3000:]
    for stream in ("account_statistics", "bot_statistics", "dlr_statistics"):
        assert first.records(stream), stream
    for run in (first, again):
        assert "not resumable" not in run.stderr and "unsorted" not in run.stderr


@pytest.mark.parametrize(
    ("span", "written"),
    [
        (dt.timedelta(days=14), "14 days"),
        (dt.timedelta(days=1), "1 day"),
        (dt.timedelta(hours=6), "6 hours"),
        (dt.timedelta(minutes=90), "90 minutes"),
        (dt.timedelta(days=31, seconds=-1), "31 days less 1 second"),  # Dixa's export windows
        (dt.timedelta(seconds=45), "45 seconds"),
    ],
)
def test_window_lengths_are_written_as_people_write_them(span, written):
    assert duration_text(span) == written
