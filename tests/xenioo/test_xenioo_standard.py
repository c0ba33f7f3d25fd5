"""The SDK's standard tap tests, against the Xenioo simulator."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from support_simulators.xenioo import XeniooSimulator
from tap_xenioo.tap import TapXenioo

_BOT_KEY = "xb-standard-tests-bot-key-1"
# The standard tests run the tap more than once in a few minutes: throttles off here
# (tests/xenioo/test_xenioo_throttle.py covers them).
_SIM = XeniooSimulator(
    account_api_key="standard-tests-account-key", bots={_BOT_KEY: "Standard Bot"}, throttle=False
).start()
atexit.register(_SIM.stop)

TestTapXenioo = get_tap_test_class(
    TapXenioo,
    config={
        "account_api_key": "standard-tests-account-key",
        "auth_url": _SIM.url,
        "api_url": _SIM.url,
        "bots": [{"name": "standard", "api_key": _BOT_KEY}],
        "types": [0, 3, 6, 12],
        "bot_types": [3, 18],
    },
    suite_config=SuiteConfig(max_records_limit=None),
)
