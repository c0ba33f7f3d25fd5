from __future__ import annotations

import pytest
from kit_khoros import khoros_simulator


@pytest.fixture
def khoros():
    """A fresh Khoros simulator (API and file host) on ephemeral ports, with its own credentials."""
    with khoros_simulator() as sim:
        yield sim
