from __future__ import annotations

import pytest
from kit_thankful import API_KEY

from support_simulators.thankful import ThankfulSimulator


@pytest.fixture
def thankful():
    """A fresh Thankful simulator on an ephemeral port, with its own key."""
    with ThankfulSimulator(api_key=API_KEY) as sim:
        yield sim
