"""The simulators by vendor name (as used on the command line and in meltano.yml)."""

from __future__ import annotations

from support_simulators.framework import VendorSimulator
from support_simulators.thena import ThenaSimulator

SIMULATORS: dict[str, type[VendorSimulator]] = {
    "thena": ThenaSimulator,
}

#: Ports the demo environment in meltano.yml points the taps at.
DEMO_PORTS = {"thena": 8701, "thankful": 8702, "dixa": 8703, "xenioo": 8704, "khoros": 8705}
