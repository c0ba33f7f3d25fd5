"""The simulators by vendor name (as used on the command line and in meltano.yml)."""

from __future__ import annotations

import importlib

from support_simulators.framework import VendorSimulator

#: name -> "module:Class", imported on demand.
SIMULATOR_PATHS: dict[str, str] = {
    "thena": "support_simulators.thena:ThenaSimulator",
    "thankful": "support_simulators.thankful:ThankfulSimulator",
    "dixa": "support_simulators.dixa:DixaSimulator",
    "xenioo": "support_simulators.xenioo:XeniooSimulator",
    "khoros": "support_simulators.khoros:KhorosSimulator",
}

#: Ports the `simulators` environment in meltano.yml points the taps at.
DEMO_PORTS = {"thena": 8701, "thankful": 8702, "dixa": 8703, "xenioo": 8704, "khoros": 8705}


def simulator_class(name: str) -> type[VendorSimulator]:
    module, _, attr = SIMULATOR_PATHS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def available() -> list[str]:
    """Names of the simulators that are installed."""
    names = []
    for name in SIMULATOR_PATHS:
        try:
            simulator_class(name)
        except Exception:  # not installed, or broken: not available
            continue
        names.append(name)
    return names
