"""The SDK's standard tap tests, against the Khoros simulator."""

from __future__ import annotations

from kit_khoros import khoros_config, khoros_simulator
from kit_standard import standard_tests

from tap_khoros_care.tap import TapKhorosCare

TestTapKhorosCare = standard_tests(
    TapKhorosCare,
    khoros_simulator(job_latency=(0.01, 0.05)),  # keeps 36 months: the dates below are fixed
    lambda sim: khoros_config(
        sim, poll_interval=0.02, max_poll_interval=0.1, retry_base_wait=None, window_days=None
    ),
)
