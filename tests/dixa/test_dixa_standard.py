"""The SDK's standard tap tests, against the Dixa simulator."""

from __future__ import annotations

from kit_standard import standard_tests

from support_simulators.dixa import DixaSimulator
from support_simulators.framework import Faults
from tap_dixa.tap import TapDixa

# The suite builds several tap instances in one process, each with its own pacer, one
# right after the other; the simulator's rate limit is off here so they do not queue
# behind each other (pacing is tested in test_dixa_sync.py, where one run owns the token).
TestTapDixa = standard_tests(
    TapDixa,
    DixaSimulator(api_token="standard-tests-token", faults=Faults(rate_limit=0)),
    lambda sim: {
        "api_token": "standard-tests-token",
        "api_url": sim.url,
        "exports_api_url": sim.url,
        "start_date": "2025-03-03",
        "end_date": "2025-03-05",
        "timezone": "Europe/Copenhagen",
    },
)
