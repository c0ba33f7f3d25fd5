"""`support_taps.endpoints`: the requests a tap makes, from its streams' declarations."""

from __future__ import annotations

from kit_thena import API_KEY

from support_taps.endpoints import Endpoint, tap_endpoints
from tap_khoros_care.tap import TapKhorosCare
from tap_thena.tap import TapThena


def test_a_declared_path_matches_its_requests_under_the_base_url():
    endpoint = Endpoint("GET", "/reports/report/{workflowId}/{runId}/status", "api_url")
    pattern = endpoint.pattern("https://host/api/public/")
    assert pattern.fullmatch("/api/public/reports/report/w-1/%2B%2Fr%3D%3D/status")
    assert not pattern.fullmatch("/api/public/reports/report/w-1/a/b/status")
    assert not pattern.fullmatch("/reports/report/w-1/r/status")
    assert Endpoint("GET", "/{link}", None, "file").pattern().fullmatch("/any/path/at.all")


def test_a_taps_endpoints_are_its_streams_own_requests_and_their_extra_ones():
    thena = TapThena(
        config={"api_key": API_KEY, "api_url": "http://127.0.0.1:9", "start_date": "2025-01-01"}
    )
    assert tap_endpoints(thena) == {
        Endpoint("GET", "/v1/requests/exports", "api_url"): ["requests"]
    }
    config = {
        "username": "u",
        "password": "p-0123456789",
        "company_key": "c-0123456789",
        "start_date": "2025-01-01",
        "report_types": ["author"],
    }
    found = tap_endpoints(TapKhorosCare(config=config))
    assert {(e.label, e.url_setting, e.kind) for e in found} == {
        ("GET /reports/report/author", "api_url", "records"),
        ("GET /teams", "api_url", "records"),
        ("GET /reports/report/{workflowId}/{runId}/status", "api_url", "job status"),
        ("GET /reports/report/{workflowId}/{runId}/download", "api_url", "download"),
        ("GET /{pre-signed link}", None, "report file"),
    }
