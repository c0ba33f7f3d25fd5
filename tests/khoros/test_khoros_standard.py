"""The SDK's standard tap tests, against the Khoros simulator."""

from __future__ import annotations

import atexit

from kit_khoros import COMPANY_KEY, PASSWORD, USERNAME, khoros_simulator
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_khoros_care.tap import TapKhorosCare

_SIM = khoros_simulator(
    job_latency=(0.01, 0.05)
).start()  # keeps 36 months: the dates below are fixed
atexit.register(_SIM.stop)

TestTapKhorosCare = get_tap_test_class(
    TapKhorosCare,
    config={
        "username": USERNAME,
        "password": PASSWORD,
        "company_key": COMPANY_KEY,
        "api_url": _SIM.api_url,
        "start_date": "2025-03-01",
        "end_date": "2025-03-03",
        "requests_per_minute": 6000,
        "poll_interval": 0.02,
        "max_poll_interval": 0.1,
        "history_months": 36,
    },
    suite_config=SuiteConfig(max_records_limit=None),
)
