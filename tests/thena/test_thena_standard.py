"""The SDK's standard tap tests, against the Thena simulator."""

from __future__ import annotations

from kit_standard import standard_tests

from support_simulators.thena import ThenaSimulator
from tap_thena.tap import TapThena

TestTapThena = standard_tests(
    TapThena,
    ThenaSimulator(api_key="standard-tests-key"),
    lambda sim: {
        "api_key": "standard-tests-key",
        "api_url": sim.url,
        "start_date": "2025-03-01",
        "end_date": "2025-03-15",
    },
)
