"""Fixtures shared by every tap's tests, and how pytest-xdist shares the tests out."""

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


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups (`--dist loadgroup`)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests sharing a module- or class-scoped fixture (a tap run, the demo, a Meltano project,
    the SDK's standard tests) go to one xdist worker together, so it is made once, not once per
    worker that gets one of them; the largest groups start first. The slow tests come next,
    before the short ones, so that none of them is the last to start."""
    for item in items:
        owner = _shared_fixture_owner(item)
        if owner is not None:
            item.add_marker(pytest.mark.xdist_group(owner.name))
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """pytest-xdist 3.8 groups tests by a suffix it adds to their node IDs; with pytest 9.2 the
    suffix no longer takes (pytest-xdist issue #1386) and groups are silently split, each
    worker making the shared fixture again (the demo, a Meltano project): say so instead."""
    if not getattr(session.config.option, "loadgroup", False):
        return
    split = [
        item.nodeid
        for item in session.items
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid.rsplit("]", 1)[-1]
    ]
    if split:
        raise pytest.UsageError(
            f"--dist loadgroup did not group {split[0]} (pytest-xdist issue #1386, pytest "
            "9.2+): install the test group's pytest (pyproject.toml) or run with -n0"
        )


def _shared_fixture_owner(item: pytest.Item) -> pytest.Node | None:
    """The module or class whose fixture `item` shares with other tests, if any."""
    # pytest has no public way to read a fixture's scope at collection time.
    fixture_info = getattr(item, "_fixtureinfo", None)
    if fixture_info is None:
        return None
    scopes = {
        definitions[-1].scope
        for definitions in fixture_info.name2fixturedefs.values()
        if definitions
    }
    for scope, kind in (("module", pytest.Module), ("class", pytest.Class)):
        if scope in scopes:
            return item.getparent(kind)
    return None
