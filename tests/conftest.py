"""Fixtures shared by every tap's tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from support_taps.redaction import redact

# Generated cases (hypothesis) are the same on every run and in CI: a failure found once is
# found again. `HYPOTHESIS_PROFILE=explore` draws fresh cases, to look for new failures.
settings.register_profile(
    "repeatable",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(autouse=True)
def _forget_registered_secrets():
    """In-process taps register secrets process-wide; start each test clean."""
    yield
    redact.clear()
