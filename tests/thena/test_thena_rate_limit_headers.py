"""Thena's documented rate-limit headers, end to end through tap-thena: the simulator sends
`X-RateLimit-Limit/Remaining/Reset` (reset in epoch seconds) with its rate limit and a 429 with
only `X-RateLimit-Reset`; the tap waits for that reset rather than its own backoff, and holds
its next request when an answer says no request is left (`X-RateLimit-Remaining: 0`)."""

from __future__ import annotations

import math
import re
import time
import urllib.error
import urllib.request

import pytest
from kit_thena import API_KEY, thena_config
from tap_runner import run_tap

from support_simulators.framework import Faults
from support_simulators.thena import ThenaSimulator


def limited_simulator(per_window: int, seconds: float) -> ThenaSimulator:
    faults = Faults(rate_limit=per_window / seconds, rate_window=seconds)
    return ThenaSimulator(api_key=API_KEY, faults=faults)


def ask(sim: ThenaSimulator) -> tuple[int, dict[str, str]]:
    """One export request as another client of the same key would send it."""
    request = urllib.request.Request(
        f"{sim.url}/v1/requests/exports?start_date=2025-01-01&end_date=2025-01-01",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()
            return answer.status, dict(answer.headers)
    except urllib.error.HTTPError as refused:
        refused.read()
        return refused.code, dict(refused.headers)


def wall_clock(sim: ThenaSimulator) -> dict[int, float]:
    """Epoch seconds each logged request arrived at (the log keeps monotonic times)."""
    offset = time.time() - time.monotonic()
    return {index: call.at + offset for index, call in enumerate(sim.calls())}


def test_the_simulator_sends_the_documented_headers_and_a_429_with_only_the_reset():
    with limited_simulator(per_window=2, seconds=30) as sim:
        first, second, third = ask(sim), ask(sim), ask(sim)
    assert first[0] == second[0] == 200
    assert first[1]["X-RateLimit-Limit"] == "2"
    assert (first[1]["X-RateLimit-Remaining"], second[1]["X-RateLimit-Remaining"]) == ("1", "0")
    reset = int(first[1]["X-RateLimit-Reset"])
    assert time.time() < reset <= time.time() + 30  # a UNIX timestamp, in seconds
    assert third[0] == 429
    assert third[1]["X-RateLimit-Reset"] == str(reset)
    assert "Retry-After" not in third[1] and "X-RateLimit-Remaining" not in third[1]


def test_a_429_with_only_the_reset_waits_for_the_reset_not_the_taps_backoff():
    seconds = 4.0
    with limited_simulator(per_window=2, seconds=seconds) as sim:
        # Another client of the same key spends a window just begun; the tap's first request
        # meets the 429 with the reset a few seconds away.
        time.sleep(seconds - time.time() % seconds + 0.05)
        assert [ask(sim)[0] for _ in range(3)] == [200, 200, 429]
        sim.reset_log()
        # The tap's own backoff alone (0.01 s, 0.02 s: two retries) would be refused again.
        config = thena_config(
            sim,
            start_date="2025-01-01",
            end_date="2025-01-02",
            window_days=1,
            retry_base_wait=0.01,
            max_retries=2,
        )
        run = run_tap("tap_thena", config)
        calls, arrived = sim.calls(), wall_clock(sim)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [call.status for call in calls] == [429, 200]
    reset = math.ceil(arrived[0] / seconds) * seconds  # the end of the window the 429 fell in
    assert arrived[1] >= reset - 0.05, f"retried {reset - arrived[1]:.2f}s before the reset"
    waited = float(re.search(r"Retrying in ([0-9.]+)s", run.stderr).group(1))
    assert waited == pytest.approx(reset - arrived[0], abs=1.1)
    assert len(run.records("requests")) > 0


def test_remaining_zero_holds_the_next_request_until_the_reset():
    with limited_simulator(per_window=2, seconds=1.0) as sim:
        config = thena_config(
            sim, start_date="2025-01-01", end_date="2025-01-06", window_days=1, max_retries=0
        )
        run = run_tap("tap_thena", config)
        calls, arrived = sim.calls(), wall_clock(sim)
    assert run.returncode == 0, run.stderr[-2000:]
    assert [call.status for call in calls] == [200] * 5  # five days, never told off
    per_window: dict[int, int] = {}
    for moment in arrived.values():
        per_window[int(moment // 1.0)] = per_window.get(int(moment // 1.0), 0) + 1
    assert max(per_window.values()) <= 2
    assert "0 retries" in run.stderr
