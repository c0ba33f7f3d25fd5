"""The matrix's endpoints are the taps' own: every request a clean run of a tap makes is one its
streams declare (`support_taps.endpoints`), and every endpoint declared has cells in the matrix.
An undeclared request (a new stream's path, a token, a download) fails here, not silently
outside the matrix."""

from __future__ import annotations

import pytest
from kit_matrix import PROFILES, discovered, observed

from support_taps.endpoints import Endpoint

MODULES = sorted({profile.module for profile in PROFILES.values()})


def _declared(module: str) -> set[Endpoint]:
    name = next(name for name, profile in PROFILES.items() if profile.module == module)
    return {Endpoint(**entry) for entry in observed(name)["declared"]}


@pytest.mark.parametrize("name", [name for name in PROFILES if PROFILES[name].kinds is None])
def test_every_request_of_a_clean_run_is_a_declared_endpoint(name):
    facts = observed(name)
    declared = [Endpoint(**entry) for entry in facts["declared"]]
    used: set[Endpoint] = set()
    for host, method, path in facts["requests"]:
        matching = [
            endpoint
            for endpoint in declared
            if endpoint.method == method
            and (endpoint.url_setting is None) == (host != "simulator")
            and endpoint.pattern(facts["urls"].get(endpoint.url_setting or "", "")).fullmatch(path)
        ]
        assert matching, f"{name} sent {method} {path} to {host}: no stream declares it"
        used.update(matching)
    assert used == set(declared), f"declared but never requested: {set(declared) - used}"


@pytest.mark.parametrize("module", MODULES)
def test_every_declared_endpoint_has_cells(module):
    covered = {
        found.endpoint
        for name, profile in PROFILES.items()
        if profile.module == module
        for found in discovered(name)[0]
    }
    assert covered == _declared(module)
