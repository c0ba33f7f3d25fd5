"""The SDK's standard tap tests, against the Thena simulator."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from support_simulators.thena import ThenaSimulator
from tap_thena.tap import TapThena

_SIM = ThenaSimulator(api_key="standard-tests-key").start()
atexit.register(_SIM.stop)

TestTapThena = get_tap_test_class(
    TapThena,
    config={
        "api_key": "standard-tests-key",
        "api_url": _SIM.url,
        "start_date": "2025-03-01",
        "end_date": "2025-03-15",
    },
    suite_config=SuiteConfig(max_records_limit=None),
)
