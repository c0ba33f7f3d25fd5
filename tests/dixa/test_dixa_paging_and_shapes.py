"""Paging that does not end where it seems to, and bodies in shapes the tap does not expect: the
tap follows `meta.next` until Dixa leaves it out, stops a pageKey cycle, and names the endpoint
and what it expected for every shape it cannot read (never an AttributeError or TypeError, never
a silent skip with a bookmark)."""

from __future__ import annotations

import json

import pytest
from kit_dixa import API_TOKEN, catalog_of, dixa_config, keys_of, select_only
from tap_runner import run_tap

from support_simulators.framework import Fault, SimResponse
from tap_dixa.client import MAX_EMPTY_PAGES


def _ratings(sim, **overrides):
    return dixa_config(sim, record_ids=["ratings"], metric_ids=["csat"], **overrides)


def test_an_empty_page_that_still_links_next_does_not_end_the_window(dixa):
    dixa.empty_pages = True  # every page is preceded by an empty one that links to it
    config = _ratings(dixa, page_limit=10, end_date="2025-01-08", window_days=7)
    streams = ("records_ratings", "records_catalogue", "metrics_catalogue", "filter_values")
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, *streams))
    assert run.returncode == 0, run.stderr
    expected = dixa.expected_primary_keys(config)
    assert len(expected["records_ratings"][1]) > 20
    for stream in streams:
        assert keys_of(run.records(stream), expected[stream][0]) == expected[stream][1], stream
    empty = [c for c in dixa.calls("/v1/analytics/records") if c.method == "POST"]
    assert len(empty) > 2 * -(
        -len(expected["records_ratings"][1]) // 10
    )  # the empty pages were asked too
    assert run.bookmark("records_ratings") == "2025-01-08T00:00:00+00:00"


def test_a_page_key_cycle_fails_naming_the_endpoint(dixa):
    config = _ratings(dixa, page_limit=5, end_date="2025-01-08", window_days=7)
    discovered = run_tap("tap_dixa", config, args=("--discover",))
    catalog = select_only(json.loads(discovered.stdout), "records_ratings", "activity_logs")
    dixa.page_cycle = True  # the second page links back to the first: A -> B -> A
    dixa.reset_log()
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode != 0
    assert (
        "Dixa's paging for GET /v1/conversations/activitylog loops" in run.stderr
        or "Dixa's paging for POST /v1/analytics/records loops" in run.stderr
    )
    assert run.bookmark("records_ratings") is None and run.bookmark("activity_logs") is None
    # A, B, A again: the cycle is seen at once (no records requests when the activity log
    # stream, first in order, stops the run).
    assert (
        len([c for c in dixa.calls("/v1/") if c.method == "GET" and "pageKey" in c.query]) <= 2 + 2
    )


SHAPES = [
    # (path, body, what the error must say)
    (
        "/v1/analytics/records",
        {"data": {"rows": []}},
        "POST /v1/analytics/records (HTTP 200), `data` of record ratings: expected a list, found "
        "object{rows: list[]}",
    ),
    (
        "/v1/analytics/records",
        {"data": [1, "x"]},
        "POST /v1/analytics/records (HTTP 200), a row of record ratings: expected an object, "
        "found int",
    ),
    (
        "/v1/analytics/records",
        {
            "data": [
                {
                    "primaryTimestampField": {
                        "name": "rated_at",
                        "timestamp": "2025-01-06T10:00:00Z",
                    },
                    "fields": "conversation_id=1",
                }
            ]
        },
        "POST /v1/analytics/records (HTTP 200), `fields` of a row of record ratings: expected a "
        "list, found string",
    ),
    (
        "/v1/analytics/records",
        {"data": [{"primaryTimestampField": "2025-01-06", "fields": []}]},
        "`primaryTimestampField` of a row of record ratings",
    ),
    (
        "/v1/analytics/records",
        {
            "data": [
                {
                    "primaryTimestampField": {"timestamp": "2025-01-06T10:00:00Z"},
                    "fields": [["conversation_id", 1]],
                }
            ]
        },
        "an entry of `fields` of record ratings: expected an object, found list[1 × string, 1 × "
        "int]",
    ),
    (
        "/v1/analytics/records",
        [{"primaryTimestampField": {}}],
        "POST /v1/analytics/records (HTTP 200): expected its envelope, an object with `data`, "
        "found list[1 × object{",
    ),
    (
        "/v1/analytics/records",
        {"data": [], "meta": "next"},
        "POST /v1/analytics/records (HTTP 200), `meta`: expected an object whose `next` is a URL "
        "or null",
    ),
    (
        "/v1/analytics/records",
        {
            "data": [
                {
                    "primaryTimestampField": {"timestamp": "2025-01-06T10:00:00Z"},
                    "fields": [{"name": "agent_id", "field": {"value": "a", "_type": "UUIDField"}}],
                }
            ]
        },
        "without its key conversation_id: the row has fields [agent_id]",
    ),
    (
        "/v1/analytics/metrics",
        {"data": [{"measure": "Percentage"}]},
        "POST /v1/analytics/metrics (HTTP 200), `data`: expected an object, found list[1 × object{",
    ),
    (
        "/v1/analytics/metrics",
        {"data": {"id": "csat", "aggregates": "42"}},
        "POST /v1/analytics/metrics (HTTP 200), `data.aggregates`: expected a list, found string",
    ),
    (
        "/v1/analytics/metrics",
        {"data": {"id": "csat", "aggregates": [42]}},
        "POST /v1/analytics/metrics (HTTP 200), an aggregate in `data.aggregates`: expected an "
        "object, found int",
    ),
]


@pytest.mark.parametrize(("path", "body", "message"), SHAPES)
def test_a_shape_the_tap_does_not_expect_names_the_endpoint_and_what_was_expected(
    dixa, path, body, message
):
    config = _ratings(dixa, end_date="2025-01-07")
    stream = "records_ratings" if path.endswith("records") else "metric_values"
    catalog = catalog_of(config, stream)
    # The catalogue GET shares the path prefix and goes through; the first data POST gets the body.
    dixa.faults.add(Fault(body=json.dumps(body).encode(), path_prefix=path, skip=1))
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode != 0
    assert message in run.stderr, run.stderr[-2000:]
    assert "AttributeError" not in run.stderr and "TypeError" not in run.stderr
    assert run.bookmark(stream) is None and run.records(stream) == []


def test_a_catalogue_entry_that_is_not_an_object_names_the_endpoint(dixa):
    dixa.faults.add(
        Fault(body=json.dumps({"data": ["csat"]}).encode(), path_prefix="/v1/analytics/metrics")
    )
    found = run_tap("tap_dixa", _ratings(dixa), args=("--discover",), timeout=60)
    assert found.returncode != 0
    assert (
        "GET /v1/analytics/metrics (HTTP 200), an entry of `data` (metrics_catalogue): expected "
        "an object, "
        "found string"
    ) in found.stderr


def test_shape_errors_describe_the_shape_and_never_quote_customer_data(dixa):
    email = "jane.customer@example.com"
    body = {"data": {"rows": [{"email": email}]}}
    config = _ratings(dixa, end_date="2025-01-07")
    catalog = catalog_of(config, "records_ratings")
    dixa.faults.add(
        Fault(body=json.dumps(body).encode(), path_prefix="/v1/analytics/records", skip=1)
    )
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode != 0
    assert "found object{rows: list[1 × object{email: string}]}" in run.stderr
    assert email not in run.stderr and API_TOKEN not in run.stderr


def test_endless_empty_pages_with_new_page_keys_fail_naming_the_endpoint(dixa):
    # Each page empty, each linking a new pageKey: no cycle to catch, so the run is bounded by
    # the count of empty pages in a row (a few empty pages in a row are followed, see above).
    config = _ratings(dixa, page_limit=5, end_date="2025-01-08", window_days=7)
    discovered = run_tap("tap_dixa", config, args=("--discover",))
    catalog = select_only(json.loads(discovered.stdout), "records_ratings")
    dixa.endless_empty_pages = True
    dixa.reset_log()
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode != 0
    assert (
        f"Dixa's paging for POST /v1/analytics/records does not end: {MAX_EMPTY_PAGES} pages in "
        "a row without new rows (empty, or the page before's rows again), each linking a new "
        "pageKey" in run.stderr
    )
    assert run.bookmark("records_ratings") is None and run.records("records_ratings") == []
    asked = [c for c in dixa.calls("/v1/analytics/records") if c.method == "POST"]
    assert len(asked) <= MAX_EMPTY_PAGES + 1


def test_a_page_msgspec_refuses_but_python_reads_still_links_the_next(dixa):
    # NaN is not JSON: the rows are read by the second parser (support_taps.jsonbody), and so
    # must the page's `meta.next`, or paging would stop there with exit 0.
    answered = []

    def with_nan(request, normal):
        response = normal()
        answered.append(request)
        if len(answered) != 2:  # the first is discovery's sample of the types; then the run's
            return response
        payload = json.loads(response.body)
        assert payload["meta"].get("next")
        payload["data"][0]["hostile_number"] = "not-a-number"
        body = json.dumps(payload).replace('"not-a-number"', "NaN").encode()
        return SimResponse(response.status, body, {"Content-Type": "application/json"})

    dixa.intercept("POST", "/v1/analytics/records", with_nan)
    config = _ratings(dixa, page_limit=5, end_date="2025-01-08", window_days=7)
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, "records_ratings"))
    assert run.returncode == 0, run.stderr[-3000:]
    columns, keys = dixa.expected_primary_keys(config)["records_ratings"]
    assert len(keys) > 10 and keys_of(run.records("records_ratings"), columns) == keys
    assert "NaN, Infinity or a number beyond any double" in run.stderr


def test_an_error_nested_in_the_data_of_a_metric_is_an_error_not_no_rows(dixa):
    def nested_error(request, normal):
        body = b'{"data": {"error": "internal", "customer": "canary@nowhere.example"}}'
        return SimResponse(200, body, {"Content-Type": "application/json"})

    dixa.intercept("POST", "/v1/analytics/metrics", nested_error)
    config = _ratings(dixa, end_date="2025-01-08")
    run = run_tap("tap_dixa", config, catalog=catalog_of(config, "metric_values"))
    error = run.one_error_line()
    assert (
        "Dixa POST /v1/analytics/metrics (HTTP 200): expected `data` as published, an object "
        "with `id` and `aggregates`, found object{error: string, customer: string}"
    ) in error
    assert "canary@" not in run.output
