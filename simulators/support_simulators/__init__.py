"""Local simulators of the vendor APIs the taps read.

They serve each vendor's documented shapes on loopback from seeded, deterministic
data, check credentials, honour filters, and can be told to rate-limit, slow
down, fail or send broken bodies. Run them to try a pipeline without credentials:

    support-simulators serve thena:8701

Tests start them in-process on an ephemeral port (`with ThenaSimulator() as sim:`).
"""

from support_simulators.framework import Fault, Faults, SimResponse, VendorSimulator

__all__ = ["Fault", "Faults", "SimResponse", "VendorSimulator"]
