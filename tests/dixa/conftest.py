from __future__ import annotations

import pytest
from kit_dixa import API_TOKEN, FEW_CONVERSATIONS, limit_recovered_before_each_run

from support_simulators.dixa import DixaSimulator


@pytest.fixture
def dixa():
    """A fresh Dixa simulator on an ephemeral port, enforcing Dixa's rate limit (10/s, bursts
    of 4), recovered before each tap run."""
    with DixaSimulator(api_token=API_TOKEN) as sim, limit_recovered_before_each_run(sim):
        yield sim


@pytest.fixture
def small_dixa():
    """As `dixa`, serving FEW_CONVERSATIONS a day: for a test that needs no paging volume (a run
    of every stream, a long range of exports), so its runs make fewer requests."""
    with (
        DixaSimulator(api_token=API_TOKEN, conversations_per_day=FEW_CONVERSATIONS) as sim,
        limit_recovered_before_each_run(sim),
    ):
        yield sim
