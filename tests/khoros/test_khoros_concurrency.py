"""How many report jobs run at once: adaptive below `max_concurrent_reports`, backing off when
Khoros refuses a job for load or answers 429 (Khoros publishes no job limit)."""

from __future__ import annotations

import logging

import requests
from kit_khoros import COMPANY_KEY, assert_delivers_expected, khoros_simulator, run_reports

from support_simulators.framework import Fault
from tap_khoros_care.concurrency import START, ConcurrencyLimit


def _limit(ceiling: int = 20) -> ConcurrencyLimit:
    return ConcurrencyLimit.starting(ceiling, logging.getLogger("test"))


def test_the_limit_starts_moderately_and_grows_as_jobs_finish_up_to_the_ceiling():
    limit = _limit(ceiling=12)
    assert limit.limit == START == 8
    for expected in (9, 10, 11, 12, 12, 12):
        limit.finished()
        assert limit.limit == expected
    assert _limit(ceiling=2).limit == 2  # a ceiling below the start is the start


def test_a_refusal_halves_the_limit_once_per_job_started_then_it_grows_a_job_a_round():
    limit = _limit()
    for _ in range(10 - START):
        limit.finished()
    assert limit.limit == 10
    limit.back_off("said it is busy")
    assert limit.limit == 5
    limit.back_off("said it is busy")  # the same jobs: no job started since
    assert limit.limit == 5
    limit.started()
    limit.back_off("said it is busy")
    assert limit.limit == 2
    for _ in range(2):
        limit.finished()
    assert limit.limit == 3  # one more after a round of two
    for _ in range(3):
        limit.finished()
    assert limit.limit == 4
    for _ in range(10):
        limit.started()
        limit.back_off("said it is busy")
    assert limit.limit == 1  # never below one


def test_the_simulator_refuses_a_job_beyond_its_running_limit_with_429():
    with khoros_simulator(job_latency=(5.0, 5.0), max_running_jobs=1) as sim:
        auth = requests.auth.HTTPBasicAuth(sim.username, sim.password)
        params = {
            "companyKey": COMPANY_KEY,
            "startTime": "1740787200000",
            "endTime": "1740873600000",
        }
        url = f"{sim.api_url}/reports/report/author"
        first = requests.get(url, params=params, auth=auth, timeout=10)
        second = requests.get(url, params=params, auth=auth, timeout=10)
        assert first.status_code == 200
        assert second.status_code == 429
        assert second.headers["Retry-After"] == "1"
        assert second.json()["status"] == "FAIL"
        assert sim.stats.started == 1 and sim.stats.refused == 1


def test_the_tap_backs_off_when_khoros_accepts_fewer_jobs_and_loses_nothing():
    with khoros_simulator(job_latency=(0.3, 0.6), max_running_jobs=2) as sim:
        config, run = run_reports(
            sim,
            report_types=["incoming_post", "response"],
            start_date="2025-03-01",
            end_date="2025-03-07",
        )
        assert_delivers_expected(run, sim, config)
        assert sim.stats.refused >= 1
        assert sim.stats.peak_running <= 2
        assert "refused to start a report job (HTTP 429" in run.stderr
        assert "running at most 2 report jobs at once (was 4" in run.stderr
        # After the back-off the tap stops asking beyond what Khoros accepts, mostly.
        assert sim.stats.refused <= sim.stats.started // 2


def test_the_tap_runs_more_jobs_at_once_as_they_finish_within_the_ceiling():
    with khoros_simulator(job_latency=(0.4, 0.5)) as sim:
        config, run = run_reports(
            sim,
            report_types=["incoming_post", "response", "author"],
            start_date="2025-03-01",
            end_date="2025-03-09",
            max_concurrent_reports=12,
        )
        assert_delivers_expected(run, sim, config)
        assert START < sim.stats.peak_running <= 12
        assert sim.stats.refused == 0


def test_a_429_to_a_status_check_halves_the_jobs_running_at_once():
    with khoros_simulator(job_latency=(0.3, 0.4)) as sim:
        # The three starts go through; the first status check after them is answered 429.
        sim.faults.add(
            Fault(status=429, retry_after="0", skip=3, path_prefix="/api/public/reports/report/")
        )
        config, run = run_reports(
            sim, report_types=["incoming_post"], start_date="2025-03-01", end_date="2025-03-04"
        )
        assert_delivers_expected(run, sim, config)
        assert (
            "Khoros answered HTTP 429 (too many requests): running at most "
            f"{START // 2} report jobs at once (was {START};" in run.stderr
        )
        assert len(sim.calls(status=429)) == 1 and "/status" in sim.calls(status=429)[0].path
