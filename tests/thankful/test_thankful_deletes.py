"""Thankful's `/actions` is a list the vendor may shrink: with `emit_activate_version_messages`
the `actions` stream (full table) sends ACTIVATE_VERSION, so a target that supports it removes
an action Thankful no longer lists; the day streams (incremental) never do."""

from __future__ import annotations

import pytest
from kit_thankful import thankful_config
from tap_runner import run_tap


@pytest.mark.parametrize("emit", [True, False])
def test_actions_activates_its_version_when_asked(thankful, emit):
    config = thankful_config(thankful, end_date="2025-01-03", emit_activate_version_messages=emit)
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr[-3000:]
    activated = [m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert activated == (["actions"] if emit else [])
    assert run.records("actions") and run.records("savings")
