"""Fixtures shared by every tap's tests."""

from __future__ import annotations

import pytest

from support_taps.redaction import redact


@pytest.fixture(autouse=True)
def _forget_registered_secrets():
    """In-process taps register secrets process-wide; start each test clean."""
    yield
    redact.clear()
