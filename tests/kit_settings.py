"""A tap's settings in a test: what the vendor's kit sets, pointed at its simulator, with the
test's own settings over them."""

from __future__ import annotations

import typing as t

from support_simulators.framework import VendorSimulator


def tap_config(
    sim: VendorSimulator, settings: dict[str, t.Any], overrides: dict[str, t.Any]
) -> dict[str, t.Any]:
    """`settings` (a kit's), the URLs of `sim` and retries 0.05 s apart (a test waits for no
    real back-off), then the test's `overrides`; an override of None leaves the setting out,
    for the tap's default."""
    config = {**settings, **sim.tap_settings(), "retry_base_wait": 0.05, **overrides}
    return {k: v for k, v in config.items() if v is not None}
