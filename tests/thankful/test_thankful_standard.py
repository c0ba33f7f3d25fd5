"""The SDK's standard tap tests, against the Thankful simulator."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from support_simulators.thankful import ThankfulSimulator
from tap_thankful.tap import TapThankful

_SIM = ThankfulSimulator(api_key="standard-tests-key").start()
atexit.register(_SIM.stop)

TestTapThankful = get_tap_test_class(
    TapThankful,
    config={
        "api_key": "standard-tests-key",
        "api_url": f"{_SIM.url}/api/v1",
        "start_date": "2025-03-01",
        "end_date": "2025-03-04",
    },
    suite_config=SuiteConfig(max_records_limit=None),
)
