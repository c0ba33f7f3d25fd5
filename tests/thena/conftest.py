from __future__ import annotations

import pytest
from kit_thena import API_KEY

from support_simulators.thena import ThenaSimulator


@pytest.fixture
def thena():
    """A fresh Thena simulator on an ephemeral port, with its own key."""
    with ThenaSimulator(api_key=API_KEY) as sim:
        yield sim
