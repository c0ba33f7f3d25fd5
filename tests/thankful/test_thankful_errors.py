"""tap-thankful's error paths: credentials, URL, bodies, retries, and secrets kept out of output."""

from __future__ import annotations

import pytest
from kit_thankful import API_KEY, day_queries, days, midnight, thankful_config, z_day
from tap_runner import run_tap

from support_simulators.framework import Fault


def test_wrong_key_names_the_setting_and_never_shows_the_key(thankful):
    wrong = "thankful-wrong-key-8d2f"
    run = run_tap("tap_thankful", thankful_config(thankful, api_key=wrong))
    assert run.returncode != 0
    assert "Thankful refused the credentials (HTTP 401)" in run.stderr
    assert "check the `api_key` setting" in run.stderr
    assert wrong not in run.output
    # The key is sent as the documented header.
    assert thankful.calls()[0].headers.get("X-API-Key") == wrong


def test_the_key_never_reaches_logs_or_state(thankful):
    thankful.faults.add(Fault(status=503, body=f"<html>upstream echoed {API_KEY}</html>".encode()))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode == 0, run.stderr
    assert "Retrying" in run.stderr
    assert API_KEY not in run.output
    assert thankful.calls()[-1].headers.get("X-API-Key") == API_KEY


def test_wrong_base_url_names_api_url(thankful):
    run = run_tap(
        "tap_thankful", thankful_config(thankful, api_url=thankful.url)
    )  # without /api/v1
    assert run.returncode != 0
    assert "HTTP 404" in run.stderr and "`api_url`" in run.stderr and "GET /actions" in run.stderr


def test_html_instead_of_json_names_the_endpoint(thankful):
    thankful.faults.add(
        Fault(
            status=200, body=b"<html><body>Maintenance</body></html>", path_prefix="/api/v1/savings"
        )
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert "not valid JSON for GET /api/v1/savings" in run.stderr and "Maintenance" in run.stderr


def test_json_of_the_wrong_shape_is_a_clear_error(thankful):
    thankful.faults.add(
        Fault(status=200, body=b'{"message": "no handoffs"}', path_prefix="/api/v1/handoffs")
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert (
        "GET /api/v1/handoffs (HTTP 200): expected a JSON list, found object{message: string}"
        in run.stderr
    )
    assert "no handoffs" not in run.stderr  # a well-formed body is described, not quoted


def test_rate_limits_and_outages_are_retried(thankful):
    thankful.faults.add(
        Fault(status=429, retry_after="0", path_prefix="/api/v1/tickets"),
        Fault(status=503, path_prefix="/api/v1/tickets", skip=1),
        Fault(drop=True, path_prefix="/api/v1/handoffs"),
    )
    config = thankful_config(thankful, end_date="2025-01-03")
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("Retrying") == 3
    ok = [call for call in thankful.calls("/api/v1/tickets") if call.status == 200]
    # Two days are asked at once: their answers may come back in either order.
    assert sorted((c.query["s"][0], c.query["e"][0]) for c in ok) == [
        z_day(d) for d in days("2025-01-01", "2025-01-02")
    ]
    assert len(run.records("tickets_over_time")) == 2


def test_retries_end_with_a_message_saying_what_failed(thankful):
    thankful.faults.error_rate = 1.0
    run = run_tap("tap_thankful", thankful_config(thankful, max_retries=2))
    assert run.returncode != 0
    assert "Gave up after 3 attempts" in run.stderr and "HTTP 503" in run.stderr
    assert len(thankful.calls()) == 3
    assert not day_queries(thankful, "tickets")


# ---- issue 13: answers of shapes Thankful does not publish ----------------------------------

_STREAMS_OF = {
    "tickets": ("tickets_over_time", "ticket_totals", "top_actions", "recommendations"),
    "handoffs": ("handoffs",),
    "savings": ("savings",),
}
_TICKETS_DAY = (
    b'{"Period": {"Start": "2025-01-01T00:00:00Z"}, "TicketsOverTime": %s, '
    b'"TopActions": %s, "Recommendations": []}'
)


@pytest.mark.parametrize(
    ("path", "body", "found"),
    [
        (
            "tickets",
            _TICKETS_DAY % (b'"1456"', b"[]"),
            "Thankful GET /api/v1/tickets (HTTP 200), `TicketsOverTime`: expected an object of "
            "series (Received, Captured, Transferred, Resolved: lists of {Val, CreatedAt}) with "
            "their totals and changes, found string.",
        ),
        (
            "tickets",
            _TICKETS_DAY % (b'{"Received": {"Val": 1}}', b"[]"),
            "Thankful GET /api/v1/tickets (HTTP 200), `TicketsOverTime.Received`: expected a list "
            "of {Val, CreatedAt} points (Received), found object{Val: int}.",
        ),
        (
            "tickets",
            _TICKETS_DAY % (b'{"Received": [1456]}', b"[]"),
            "Thankful GET /api/v1/tickets (HTTP 200), `TicketsOverTime.Received[0]`: expected a "
            "{Val, CreatedAt} point, found int.",
        ),
        (
            "tickets",
            _TICKETS_DAY % (b"{}", b'[{"ID": 3759}, "Track Order"]'),
            "Thankful GET /api/v1/tickets (HTTP 200), `TopActions[1]`: expected an action object, "
            "found string.",
        ),
        (
            "tickets",
            b'[{"Period": {}}]',
            "Thankful GET /api/v1/tickets (HTTP 200): expected a JSON object, found list[1 × "
            "object{Period: object{}}].",
        ),
        (
            "handoffs",
            b'[{"ActionID": 3759, "Types": "SLA breached"}]',
            "Thankful GET /api/v1/handoffs (HTTP 200), `[0].Types`: expected a list of "
            "{ID, Cause, ActionHandoffCount} objects, or null, found string.",
        ),
        (
            "handoffs",
            b"[3759]",
            "Thankful GET /api/v1/handoffs (HTTP 200), `[0]`: expected an {ActionID, Types} "
            "object, found int.",
        ),
        (
            "savings",
            b"[100.5]",
            "Thankful GET /api/v1/savings (HTTP 200): expected a JSON object, found list[1 × "
            "number].",
        ),
        (
            "savings",
            b"100.5",
            "Thankful GET /api/v1/savings (HTTP 200): expected a JSON object, found number.",
        ),
    ],
    ids=[
        "series-as-text",
        "series-as-object",
        "point-as-number",
        "action-as-text",
        "tickets-as-list",
        "types-as-text",
        "handoff-as-number",
        "savings-as-list",
        "savings-as-number",
    ],
)
def test_unexpected_shapes_name_the_endpoint_and_what_was_expected(thankful, path, body, found):
    thankful.faults.add(Fault(status=200, body=body, path_prefix=f"/api/v1/{path}"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert found in run.stderr
    assert "AttributeError" not in run.stderr and "TypeError" not in run.stderr
    # The day whose answer could not be read is not bookmarked by the streams built from it
    # (two days are asked at once: the fault hit whichever arrived first).
    bad_day = thankful.calls(f"/api/v1/{path}")[0].query["s"][0][:10]
    for stream in _STREAMS_OF[path]:
        bookmark = run.bookmark(stream)
        assert bookmark is None or bookmark <= midnight(bad_day), stream


def test_actions_of_another_shape_are_a_clear_error(thankful):
    thankful.faults.add(
        Fault(status=200, body=b'[{"3000": "Return Order"}]', path_prefix="/api/v1/actions")
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert (
        "Thankful GET /api/v1/actions (HTTP 200): expected a JSON object, found list[1 × "
        "object{3000: string}]. The endpoint answers an object mapping action ids to names."
    ) in run.stderr
    assert "Return Order" not in run.stderr  # described, not quoted


def test_skipped_entries_are_logged_by_shape_never_by_value(thankful):
    thankful.faults.add(
        Fault(
            status=200,
            body=b'{"3000": "Return Order", "Refund-Desk-7": "Refunds"}',
            path_prefix="/api/v1/actions",
        ),
        Fault(
            status=200,
            body=b'[{"ActionID": null, "Types": [{"ID": 4, "Cause": "Jane Roe"}]}]',
            path_prefix="/api/v1/handoffs",
        ),
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-02"))
    assert run.returncode == 0, run.stderr
    assert (
        'listed a key that is not an action id, string "Aaaaaa-Aaaa-9" (13 characters); skipped.'
        in run.stderr
    )
    assert (
        "Skipping handoffs without an ActionID on 2025-01-01: object{ActionID: null, "
        "Types: list[1 × object{ID: int, Cause: string}]}"
    ) in run.stderr
    assert "Refund-Desk-7" not in run.stderr and "Jane Roe" not in run.stderr
