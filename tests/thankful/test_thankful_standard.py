"""The SDK's standard tap tests, against the Thankful simulator."""

from __future__ import annotations

from kit_standard import standard_tests

from support_simulators.thankful import ThankfulSimulator
from tap_thankful.tap import TapThankful

TestTapThankful = standard_tests(
    TapThankful,
    ThankfulSimulator(api_key="standard-tests-key"),
    lambda sim: {
        "api_key": "standard-tests-key",
        "api_url": f"{sim.url}/api/v1",
        "start_date": "2025-03-01",
        "end_date": "2025-03-04",
    },
)
