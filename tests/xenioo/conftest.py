from __future__ import annotations

import pytest
from kit_xenioo import simulator


@pytest.fixture
def xenioo():
    """A fresh Xenioo simulator on an ephemeral port, with its own account key and bots."""
    with simulator() as sim:
        yield sim
