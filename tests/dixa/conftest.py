from __future__ import annotations

import pytest
from kit_dixa import API_TOKEN, limit_recovered_before_each_run

from support_simulators.dixa import DixaSimulator


@pytest.fixture
def dixa():
    """A fresh Dixa simulator on an ephemeral port, enforcing Dixa's rate limit (10/s, bursts
    of 4), recovered before each tap run."""
    with DixaSimulator(api_token=API_TOKEN) as sim, limit_recovered_before_each_run(sim):
        yield sim
