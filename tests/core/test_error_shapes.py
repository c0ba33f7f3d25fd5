"""Error text describes the shape of JSON (types, keys), never its values; error pages are
quoted."""

from __future__ import annotations

import pytest
import requests
from kit_thena import API_KEY, expected_ids, thena_config
from tap_runner import run_tap

from support_simulators.framework import Fault, json_response
from support_simulators.thena import ThenaSimulator
from support_taps.errors import UnexpectedShape, body_snippet, describe_shape, unexpected_shape


def _response(status: int, body: bytes, path: str = "/v1/things") -> requests.Response:
    response = requests.Response()
    response.status_code, response._content = status, body
    response.request = requests.Request("GET", f"http://127.0.0.1{path}?k=1").prepare()
    return response


def test_shapes_name_types_and_keys_only():
    payload = {
        "data": [{"id": 7, "email": "ann@example.com"}, {"id": 8, "email": None}],
        "meta": {"next": None},
    }
    shape = describe_shape(payload)
    assert shape == (
        "object{data: list[1 × object{id: int, email: string}, 1 × object{id: int, email: null}], "
        "meta: object{next: null}}"
    )
    assert describe_shape([1, "x"]) == "list[1 × int, 1 × string]"
    assert describe_shape("2025-01-01") == "string" and describe_shape(True) == "boolean"


def test_the_shared_helper_names_the_endpoint_the_expectation_and_the_shape():
    response = _response(200, b'{"data": {"email": "ann@example.com"}}')
    error = unexpected_shape(
        "Dixa", response, "`data` as a list of objects", {"email": "ann@example.com"}
    )
    assert isinstance(error, UnexpectedShape)
    assert (
        str(error) == "Dixa GET /v1/things (HTTP 200): expected `data` as a list of objects, "
        "found object{email: string}."
    )
    assert "ann@example.com" not in str(error)


@pytest.mark.parametrize(
    ("body", "quoted", "hidden"),
    [
        (b"<html><h1>502 Bad Gateway</h1></html>", "502 Bad Gateway", None),
        (b'[{"email": "ann@example.com"}]', "list[1 × object{email: string}]", "ann@example.com"),
        (
            b'{"message": "start_date is invalid", "rows": [{"email": "ann@example.com"}]}',
            "message: 'start_date is invalid'",
            "ann@example.com",
        ),
        (b'[{"email": "ann@exam', "truncated JSON (20 bytes, starting as a list)", "ann@"),
    ],
)
def test_bodies_are_quoted_only_when_they_are_error_pages(body, quoted, hidden):
    text = body_snippet(body)
    assert quoted in text
    if hidden:
        assert hidden not in text


def test_a_wrong_shape_from_thena_is_described_not_quoted():
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.add(
            Fault(status=200, body=b'{"requests": [{"requester_email": "ann@example.com"}]}')
        )
        run = run_tap("tap_thena", thena_config(sim, end_date="2025-01-05"))
    assert run.returncode != 0
    assert (
        "GET /v1/requests/exports (HTTP 200): expected a JSON list, found object{requests: list["
        in run.stderr
    )
    assert "ann@example.com" not in run.output


def test_a_truncated_200_is_retried_like_a_5xx_and_nothing_is_lost():
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.add(Fault(truncate=0.5), Fault(truncate=0.3, skip=2), Fault(truncate=0.9))
        config = thena_config(sim, start_date="2025-01-01", end_date="2025-02-01")
        run = run_tap("tap_thena", config)
        truncated_requests = len(sim.calls("/v1/requests/exports"))
    assert run.returncode == 0, run.stderr[-3000:]
    assert {r["request_id"] for r in run.records("requests")} == expected_ids(
        sim, "2025-01-01", "2025-02-01"
    )
    assert "JSON body cut short" in run.stderr
    assert truncated_requests == 5 + 3  # five windows, three of them asked again


def test_a_simulator_broken_body_rate_no_longer_fails_a_run():
    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.broken_body_rate = 0.3
        run = run_tap(
            "tap_thena",
            thena_config(sim, start_date="2025-01-01", end_date="2025-03-01", max_retries=20),
        )
    assert run.returncode == 0, run.stderr[-3000:]
    assert {r["request_id"] for r in run.records("requests")} == expected_ids(
        sim, "2025-01-01", "2025-03-01"
    )


def test_json_response_helper_is_unchanged():
    assert json_response({"a": 1}).body == b'{"a": 1}'


def test_calls_outside_streams_retry_a_truncated_body_through_with_retries():
    from support_taps.retry import RetryPolicy, raise_if_truncated, with_retries

    with ThenaSimulator(api_key=API_KEY) as sim:
        sim.faults.add(Fault(truncate=0.5), Fault(truncate=0.2))

        def fetch() -> requests.Response:
            response = requests.get(
                f"{sim.url}/v1/requests/exports",
                params={"start_date": "2025-01-01", "end_date": "2025-01-02"},
                headers={"Authorization": f"Bearer {API_KEY}"},
                timeout=10,
            )
            raise_if_truncated(response)
            return response

        response = with_retries(fetch, RetryPolicy(base_wait=0.01))()
        assert isinstance(response.decoded_json, list) and response.decoded_json
        assert len(sim.calls("/v1/requests/exports")) == 3
