from __future__ import annotations

import datetime as dt
import typing as t

import pytest
from kit_xenioo import simulator

from tap_xenioo.tap import TapXenioo


@pytest.fixture
def xenioo():
    """A fresh Xenioo simulator on an ephemeral port, with its own account key and bots."""
    with simulator() as sim:
        yield sim


@pytest.fixture
def tap_clock(monkeypatch) -> t.Callable[[dt.datetime], None]:
    """The one seam for tests that time-travel: `tap_clock(moment)` sets the run's clock
    (`SupportTap.run_started`) of every TapXenioo made in this test (in process)."""

    def set_clock(moment: dt.datetime) -> None:
        monkeypatch.setattr(TapXenioo, "run_started", moment)

    return set_clock
