"""The SDK's standard tap tests against a simulator: one place that starts the simulator for the
module's life and builds the test class, so each tap's file says only its config."""

from __future__ import annotations

import atexit
import typing as t

from singer_sdk.testing import SuiteConfig, get_tap_test_class

if t.TYPE_CHECKING:
    from singer_sdk import Tap


class Startable(t.Protocol):
    def start(self) -> t.Any: ...


def standard_tests(
    tap_class: type[Tap], simulator: Startable, config: t.Callable[[t.Any], dict[str, t.Any]]
) -> type:
    """The SDK's standard test class for `tap_class`, run against `simulator` (started now and
    stopped when the worker exits: the SDK's class-level fixtures outlive any pytest fixture
    of this module), with `config(started_simulator)` as the tap's settings. Every record is
    read (no `max_records_limit`), so the tests see what a real run emits."""
    started = simulator.start()
    atexit.register(started.stop)
    return get_tap_test_class(
        tap_class, config=config(started), suite_config=SuiteConfig(max_records_limit=None)
    )
