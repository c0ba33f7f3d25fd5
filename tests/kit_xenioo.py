"""Test helpers for tap-xenioo."""

from __future__ import annotations

import datetime as dt

from kit_settings import tap_config

from support_simulators.framework import Fault
from support_simulators.xenioo import XeniooSimulator

UTC = dt.timezone.utc
ACCOUNT_KEY = "xen-account-secret-91f3c7d2"
BOTS = {
    "xb-test-support-key-4d7a9c21": "Support Assistant",
    "xb-test-sales-key-b81e05f6": "Sales Concierge",
}
BOT_SETTINGS = [
    {"name": "support", "api_key": "xb-test-support-key-4d7a9c21"},
    {"name": "sales", "api_key": "xb-test-sales-key-b81e05f6"},
]
STREAMS = ("account_statistics", "bot_statistics", "dlr_statistics")
ACCOUNT = "/analytics/statistics/account/"
#: How Xenioo words a refusal of its hourly account-statistics throttle.
THROTTLED = b'{"Message": "Account statistics calls are throttled."}'


def simulator(**kwargs) -> XeniooSimulator:
    return XeniooSimulator(account_api_key=ACCOUNT_KEY, bots=BOTS, **kwargs)


def xenioo_config(sim: XeniooSimulator, **overrides) -> dict:
    settings = {"account_api_key": ACCOUNT_KEY, "bots": BOT_SETTINGS, "max_retries": 2}
    return tap_config(sim, settings, overrides)


def stream_state(run, stream: str, bot: str | None = None) -> dict:
    """One stream's (or bot partition's) state in the run's last STATE."""
    bookmarks = (run.final_state or {}).get("bookmarks", {})
    entry = bookmarks.get(stream) or {}
    if bot is None:
        return entry
    for partition in entry.get("partitions", []):
        if partition.get("context") == {"bot_scope": bot}:
            return partition
    return {}


def primary_keys(run, stream: str) -> set[tuple]:
    keys = run.schemas()[stream]["key_properties"]
    return {tuple(record[k] for k in keys) for record in run.records(stream)}


def today() -> dt.date:
    return dt.datetime.now(UTC).date()


def answer_account_calls(sim: XeniooSimulator, status: int = 400, body: bytes = THROTTLED) -> None:
    """Every account-statistics call answers `status` with `body` (a throttle refusal unless
    told otherwise)."""
    sim.faults.add(Fault(status=status, body=body, path_prefix=ACCOUNT))
