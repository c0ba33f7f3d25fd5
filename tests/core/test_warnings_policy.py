"""pytest's warning filters (root pyproject.toml, `filterwarnings`): a deprecation raised from
our own code fails the test; one raised inside the SDK or another library is only shown."""

from __future__ import annotations

import warnings

import pytest


def _deprecation_raised_in(module: str, category: type[Warning] = DeprecationWarning) -> None:
    """Raise a deprecation as if at a line of `module` (warning filters match `__name__`)."""
    code = compile(
        f"import warnings\nwarnings.warn('this hook is deprecated', {category.__name__})\n",
        f"<{module}>",
        "exec",
    )
    exec(code, {"__name__": module})


@pytest.mark.parametrize(
    "module",
    ["support_taps", "support_taps.windowed", "tap_thena.streams", "support_simulators.thena"],
)
@pytest.mark.parametrize("category", [DeprecationWarning, PendingDeprecationWarning])
def test_a_deprecation_raised_from_our_code_fails_the_test(module, category):
    with pytest.raises(category, match="this hook is deprecated"):
        _deprecation_raised_in(module, category)


@pytest.mark.parametrize(
    "module", ["singer_sdk.streams.core", "requests.sessions", "support_tapsuite.client"]
)
def test_a_deprecation_raised_elsewhere_is_shown_not_raised(module):
    # The test's own filters (pytest's, with the configured ones in front) stay in force.
    with warnings.catch_warnings(record=True) as caught:
        _deprecation_raised_in(module)
    assert [(w.category, str(w.message)) for w in caught] == [
        (DeprecationWarning, "this hook is deprecated")
    ]
