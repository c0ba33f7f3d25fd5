"""The SDK's standard tap tests, against the Xenioo simulator."""

from __future__ import annotations

from kit_standard import standard_tests

from support_simulators.xenioo import XeniooSimulator
from tap_xenioo.tap import TapXenioo

_BOT_KEY = "xb-standard-tests-bot-key-1"
# The standard tests run the tap more than once in a few minutes: throttles off here
# (tests/xenioo/test_xenioo_throttle.py covers them).
TestTapXenioo = standard_tests(
    TapXenioo,
    XeniooSimulator(
        account_api_key="standard-tests-account-key",
        bots={_BOT_KEY: "Standard Bot"},
        throttle=False,
    ),
    lambda sim: {
        "account_api_key": "standard-tests-account-key",
        "auth_url": sim.url,
        "api_url": sim.url,
        "bots": [{"name": "standard", "api_key": _BOT_KEY}],
        "types": [0, 3, 6, 12],
        "bot_types": [3, 18],
    },
)
