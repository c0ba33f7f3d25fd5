"""Xenioo's throttles: skip inside the window, and a throttle refusal stops only its stream, state
unchanged."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from kit_xenioo import (
    ACCOUNT,
    answer_account_calls,
    primary_keys,
    simulator,
    stream_state,
    xenioo_config,
)
from tap_runner import run_tap

from support_simulators.framework import Fault, Faults

UTC = dt.timezone.utc
BOT = "/analytics/statistics/bot/"
DLR = "/analytics/statistics/dlr/account/"
SUPPORT_KEY = "xb-test-support-key-4d7a9c21"


def _entries(state: dict) -> list[dict]:
    bookmarks = state["bookmarks"]
    return [
        bookmarks["account_statistics"],
        bookmarks["dlr_statistics"],
        *bookmarks["bot_statistics"]["partitions"],
    ]


def _called(state: dict, minutes_ago: float) -> dict:
    """`state` with every endpoint last called `minutes_ago`."""
    state = copy.deepcopy(state)
    for entry in _entries(state):
        entry["last_called_at"] = (
            dt.datetime.now(UTC) - dt.timedelta(minutes=minutes_ago)
        ).isoformat()
    return state


def test_a_run_inside_the_windows_skips_every_stream_without_calling(xenioo):
    first = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert first.returncode == 0, first.stderr
    xenioo.reset_log()
    second = run_tap("tap_xenioo", xenioo_config(xenioo), state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert not xenioo.calls("/analytics/"), "a throttled call was made"
    assert not second.records()
    assert (
        "Skipping account_statistics: for all bots, throttled: Xenioo allows one call per hour"
        in second.stderr
    )
    assert (
        "Skipping bot_statistics: for bot 'support', throttled: Xenioo allows one call per 30 "
        "minutes" in second.stderr
    )
    assert "Skipping dlr_statistics: for all bots" in second.stderr
    assert second.final_state == first.final_state


def test_bot_statistics_may_be_read_again_after_30_minutes_the_account_after_an_hour():
    with simulator() as sim:
        first = run_tap("tap_xenioo", xenioo_config(sim))
        sim.advance(31 * 60)
        sim.reset_log()
        given = _called(first.final_state, 31)
        second = run_tap("tap_xenioo", xenioo_config(sim), state=given)
        assert second.returncode == 0, second.stderr
        assert len(sim.calls(BOT, status=200)) == 2
        assert not sim.calls(ACCOUNT) and not sim.calls(DLR)
        assert second.records("bot_statistics") and not second.records("account_statistics")
        # The bots' call times moved; the account's did not.
        assert (
            stream_state(second, "bot_statistics", "support")["last_called_at"]
            > stream_state(first, "bot_statistics", "support")["last_called_at"]
        )
        assert (
            stream_state(second, "account_statistics") == given["bookmarks"]["account_statistics"]
        )

        sim.advance(30 * 60)
        sim.reset_log()
        third = run_tap("tap_xenioo", xenioo_config(sim), state=_called(second.final_state, 61))
        assert third.returncode == 0, third.stderr
        assert len(sim.calls("/analytics/", status=200)) == 4


def test_a_throttle_refusal_stops_only_that_stream_and_leaves_its_state_alone():
    with simulator() as sim:
        config = xenioo_config(sim)
        first = run_tap("tap_xenioo", config)
        # Another client (or a lost state) used the account's hourly call; the bots' windows
        # have passed.
        sim.advance(31 * 60)
        state = _called(first.final_state, 120)  # the tap believes it may call everything
        sim.reset_log()
        second = run_tap("tap_xenioo", config, state=state)
        assert second.returncode == 0, second.stderr
        assert len(sim.calls(ACCOUNT, status=400)) == 1, "the throttle error must not be retried"
        assert len(sim.calls(DLR, status=400)) == 1
        assert len(sim.calls(BOT, status=200)) == 2
        assert (
            "account_statistics for all bots stopped: Xenioo refused the account statistics call"
            in second.stderr
        )
        assert "as throttled (HTTP 400)" in second.stderr
        assert "this stream's state is unchanged" in second.stderr
        assert not second.records("account_statistics") and not second.records("dlr_statistics")
        assert second.records("bot_statistics")
        assert (
            stream_state(second, "account_statistics") == state["bookmarks"]["account_statistics"]
        )
        assert stream_state(second, "dlr_statistics") == state["bookmarks"]["dlr_statistics"]


def test_a_throttled_bot_does_not_stop_the_other_bot(xenioo):
    xenioo.faults.add(
        Fault(
            status=400,
            body=b'{"Message": "Bot statistics calls are throttled."}',
            path_prefix=BOT + SUPPORT_KEY,
        )
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    assert {r["bot_scope"] for r in run.records("bot_statistics")} == {"sales"}
    assert stream_state(run, "bot_statistics", "support") == {"context": {"bot_scope": "support"}}
    assert stream_state(run, "bot_statistics", "sales")["last_called_at"]
    assert "bot_statistics for bot 'support' stopped" in run.stderr
    assert run.records("account_statistics") and run.records("dlr_statistics")
    assert SUPPORT_KEY not in run.stdout + run.stderr


def test_a_429_that_speaks_of_the_hourly_throttle_is_a_throttle_not_a_retry(xenioo):
    answer_account_calls(
        xenioo, status=429, body=b'{"Message": "Too many calls, try again in an hour"}'
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    assert len(xenioo.calls(ACCOUNT)) == 1
    assert "as throttled (HTTP 429)" in run.stderr
    assert not run.records("account_statistics") and run.records("dlr_statistics")
    assert "last_called_at" not in stream_state(run, "account_statistics")


@pytest.mark.parametrize(
    ("status", "body", "retry_after"),
    [
        (429, b'{"Message": "Too many requests"}', "1"),
        (429, b'{"Message": "Too many requests"}', None),
        (429, b"", None),
        (400, b'{"Message": "Rate limit exceeded"}', "1"),
        (400, b'{"Message": "Too Many Requests, slow down"}', None),
    ],
)
def test_ordinary_rate_limiting_is_retried_like_every_other_tap(xenioo, status, body, retry_after):
    xenioo.faults.add(
        Fault(status=status, body=body or None, retry_after=retry_after, path_prefix=ACCOUNT)
    )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    assert [c.status for c in xenioo.calls(ACCOUNT)] == [status, 200]
    assert "Retrying in" in run.stderr and "HTTP " + str(status) in run.stderr
    assert "throttled" not in run.stderr
    assert run.records("account_statistics")
    assert stream_state(run, "account_statistics")["last_called_at"]


def test_ordinary_rate_limiting_that_never_ends_fails_the_run(xenioo):
    for _ in range(3):  # max_retries 2: three answers, all rate limited
        xenioo.faults.add(
            Fault(
                status=429,
                body=b'{"Message": "Too many requests"}',
                retry_after="0",
                path_prefix=ACCOUNT,
            )
        )
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode != 0
    assert len(xenioo.calls(ACCOUNT, status=429)) == 3
    assert "Gave up after 3 attempts" in run.stderr and "HTTP 429" in run.stderr
    assert "GET /analytics/statistics/account/*/" in run.stderr


def _lines(stderr: str, text: str) -> list[str]:
    return [line for line in stderr.splitlines() if text in line]


def test_a_skipped_stream_is_a_warning_and_in_the_end_of_run_summary(xenioo):
    first = run_tap("tap_xenioo", xenioo_config(xenioo))
    (read,) = _lines(first.stderr, "Summary of account_statistics: ")
    assert "| INFO     | tap-xenioo" in read and " records, " in read
    assert not _lines(first.stderr, "skipped: ")
    assert _lines(first.stderr, "Run complete: 3 streams, ")[0].endswith(" 0 skipped.")
    second = run_tap("tap_xenioo", xenioo_config(xenioo), state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert (
        "| WARNING  | tap-xenioo                     | Skipping account_statistics: for all bots, "
        "throttled: Xenioo allows one call per hour and the last one was at "
    ) in second.stderr
    (account,) = _lines(second.stderr, "Summary of account_statistics: skipped: ")
    assert (
        "| WARNING  |" in account
        and "for all bots, throttled: " in account
        and "next call after " in account
    )
    bots = _lines(second.stderr, "Summary of bot_statistics: skipped: ")
    assert len(bots) == 2 and all("| WARNING  |" in line for line in bots)
    assert any("for bot 'sales', throttled: " in line for line in bots)
    assert _lines(second.stderr, "Run complete: 3 streams, ")[0].endswith(" 3 skipped.")


def test_a_throttle_refusal_is_in_the_summary_too(xenioo):
    answer_account_calls(xenioo)
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode == 0, run.stderr
    (account,) = _lines(run.stderr, "Summary of account_statistics: skipped: ")
    assert (
        "| WARNING  |" in account
        and "for all bots, Xenioo refused the call as throttled" in account
    )
    (dlr,) = _lines(run.stderr, "Summary of dlr_statistics: ")
    assert " records, " in dlr and "skipped" not in dlr
    assert _lines(run.stderr, "Run complete: 3 streams, ")[0].endswith(" 1 skipped.")


def test_a_plain_400_is_an_error_not_a_throttle(xenioo):
    answer_account_calls(xenioo, body=b'{"Message": "Invalid statistic types"}')
    run = run_tap("tap_xenioo", xenioo_config(xenioo))
    assert run.returncode != 0
    assert "Xenioo rejected GET /analytics/statistics/account/*/" in run.stderr
    assert "Invalid statistic types" in run.stderr


def test_every_row_lands_under_the_simulators_ordinary_rate_limit():
    # The probe of issue 13: under plain 429 + Retry-After the tap used to deliver nothing, exit 0.
    with simulator(faults=Faults(rate_limit=2.0, burst=1)) as sim:
        config = xenioo_config(sim, max_retries=6)
        run = run_tap("tap_xenioo", config)
        expected = sim.expected_primary_keys(config)
        assert run.returncode == 0, run.stderr
        assert sim.calls("/", status=429), "the simulator did not rate limit"
    assert "throttled" not in run.stderr
    for stream, (_, keys) in expected.items():
        assert primary_keys(run, stream) == keys, stream
