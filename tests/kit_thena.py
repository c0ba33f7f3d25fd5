"""Test helpers for tap-thena."""

from __future__ import annotations

import datetime as dt

from kit_settings import tap_config

from support_simulators.thena import ThenaSimulator

UTC = dt.timezone.utc
API_KEY = "thena-secret-key-7c1f9a"


def thena_config(sim: ThenaSimulator, **overrides) -> dict:
    settings = {
        "api_key": API_KEY,
        "start_date": "2025-01-01",
        "end_date": "2025-02-01",
        "window_days": 7,
        "lookback_days": 30,
    }
    return tap_config(sim, settings, overrides)


def expected_ids(sim: ThenaSimulator, start: str, end: str) -> set[int]:
    return set(
        sim.dataset.request_ids(
            dt.datetime.fromisoformat(start).replace(tzinfo=UTC),
            dt.datetime.fromisoformat(end).replace(tzinfo=UTC),
        )
    )
