"""The SDK's standard tap tests, against the Khoros simulator."""

from __future__ import annotations

from kit_khoros import COMPANY_KEY, PASSWORD, USERNAME, khoros_simulator
from kit_standard import standard_tests

from tap_khoros_care.tap import TapKhorosCare

TestTapKhorosCare = standard_tests(
    TapKhorosCare,
    khoros_simulator(job_latency=(0.01, 0.05)),  # keeps 36 months: the dates below are fixed
    lambda sim: {
        "username": USERNAME,
        "password": PASSWORD,
        "company_key": COMPANY_KEY,
        "api_url": sim.api_url,
        "start_date": "2025-03-01",
        "end_date": "2025-03-03",
        "requests_per_minute": 6000,
        "poll_interval": 0.02,
        "max_poll_interval": 0.1,
        "history_months": 36,
    },
)
