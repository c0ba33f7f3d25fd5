"""tap-thankful's error paths: credentials, URL, bodies, retries, and secrets kept out of output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests
from kit_thankful import API_KEY, day_queries, days, midnight, thankful_config, z_day
from tap_runner import run_tap

from support_simulators.framework import Fault
from support_taps.errors import UnexpectedShape
from tap_thankful.payloads import check_answer

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "thankful"


def _failed_run(thankful, path: str, body: bytes, end_date: str = "2025-01-03"):
    """A run in which every call to `path` answers 200 with `body`: it must fail."""
    thankful.faults.add(Fault(status=200, body=body, path_prefix=path))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date=end_date))
    assert run.returncode != 0
    return run


def _last_line(run) -> str:
    return run.stderr.strip().splitlines()[-1]


CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "thankful"


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
    run = _failed_run(thankful, "/api/v1/savings", b"<html><body>Maintenance</body></html>")
    assert "not valid JSON for GET /api/v1/savings" in run.stderr and "Maintenance" in run.stderr


def test_json_of_the_wrong_shape_is_a_clear_error(thankful):
    run = _failed_run(thankful, "/api/v1/handoffs", b'{"message": "no handoffs"}')
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
    run = _failed_run(thankful, "/api/v1/actions", b'[{"3000": "Return Order"}]')
    assert (
        "Thankful GET /api/v1/actions (HTTP 200): expected a JSON object, found list[1 × "
        "object{3000: string}]. The endpoint answers an object mapping action ids to names."
    ) in run.stderr
    assert "Return Order" not in run.stderr  # described, not quoted


@pytest.mark.parametrize(
    ("path", "body", "found"),
    [
        (
            "savings",
            b'{"status": "FAIL", "message": "Request echoed: k3y"}',
            "Thankful GET /api/v1/savings (HTTP 200) for 2025-01-01T00:00:00Z..2025-01-01T23:59:59Z"
            ": expected an object {Hours}, found object{status: string, message: string}.",
        ),
        (
            "tickets",
            b'{"errors": [{"code": 500, "message": "k3y"}], "data": null}',
            "with an error instead of the data: JSON object{errors: list[1 × object{code: int, "
            "message: string}], data: null}. Nothing of it was stored.",
        ),
        (
            "actions",
            b'{"data": {"error": "k3y", "customer": "jane@example.com"}}',
            "with something other than the action list (an object mapping action ids to names): "
            "JSON object{data: object{error: string, customer: string}}.",
        ),
    ],
    ids=["savings", "tickets", "actions"],
)
def test_an_error_envelope_in_a_200_is_an_error_not_a_row(thankful, path, body, found):
    thankful.faults.add(
        *[Fault(status=200, body=body, path_prefix=f"/api/v1/{path}") for _ in range(5)]
    )
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert found in run.stderr
    assert "k3y" not in run.output and "jane@" not in run.output  # described, not quoted


def test_an_action_key_that_is_not_an_id_is_an_error_by_shape_never_by_value(thankful):
    """`/actions` maps action ids to names (Thankful's example): a key that is not an id is an
    error, not a skipped action, and the key is described, never quoted."""
    body = b'{"3000": "Return Order", "Refund-Desk-7": "Refunds"}'
    run = _failed_run(thankful, "/api/v1/actions", body, end_date="2025-01-02")
    assert _last_line(run).endswith(
        "Thankful GET /actions: expected action ids (numbers) as keys, found string "
        '"Aaaaaa-Aaaa-9" (13 characters). The endpoint maps action ids to names; no action is '
        "skipped."
    )
    assert "Refund-Desk-7" not in run.stderr


def _tickets_without(list_name: str, column: str) -> bytes:
    """Thankful's published /tickets example, its first `list_name` entry without `column`."""
    answer = json.loads((CONTRACTS / "tickets-response.json").read_bytes())
    answer[list_name][0].pop(column)
    # For the day the tests ask, as Thankful would echo it (another Period is refused first).
    answer["Period"] = {"Start": "2025-01-01T00:00:00Z", "End": "2025-01-01T23:59:59Z"}
    answer[list_name][0]["Name" if list_name == "TopActions" else "Impact"] = "Jane Roe"
    return json.dumps(answer).encode()


@pytest.mark.parametrize(
    ("path", "body", "where", "column", "found"),
    [
        (
            "/api/v1/handoffs",
            b'[{"ActionID": null, "Types": [{"ID": 4, "Cause": "Jane Roe"}]}]',
            "/handoffs for 2025-01-01",
            "ActionID",
            "ActionID, Types",
        ),
        (
            "/api/v1/handoffs",
            b'[{"ActionID": 3759, "Types": [{"Cause": "Jane Roe", "ActionHandoffCount": 1}]}]',
            "/handoffs Types for 2025-01-01",
            "ID",
            "ActionHandoffCount, Cause",
        ),
        (
            "/api/v1/tickets",
            _tickets_without("TopActions", "ID"),
            "TopActions of /tickets for 2025-01-01",
            "ID",
            "Capture, Enabled, Handoff, Name, Pending, Resolve, Skip, Transfer",
        ),
        (
            "/api/v1/tickets",
            _tickets_without("Recommendations", "ActionID"),
            "Recommendations of /tickets for 2025-01-01",
            "ActionID",
            "Impact",
        ),
    ],
    ids=["handoffs-ActionID", "handoffs-Types-ID", "TopActions-ID", "Recommendations-ActionID"],
)
def test_an_entry_without_its_published_id_is_an_error_naming_the_endpoint_and_day(
    thankful, path, body, where, column, found
):
    """Thankful's examples give every entry its id: one without it is not skipped (its figures
    would be lost) but stops the run, the day not bookmarked, and no value is quoted."""
    run = _failed_run(thankful, path, body, end_date="2025-01-02")
    assert _last_line(run).endswith(
        f"Thankful sent a row of {where} without {column}, which Thankful documents as its "
        f"key. Columns found: {found}."
    )
    assert "Jane Roe" not in run.stderr
    stream = {"/handoffs": "handoffs", "TopActions": "top_actions"}.get(
        where.split(" ")[0], "recommendations"
    )
    assert run.bookmark(stream) is None


# ---- issue 18: answers that are not the data (an error object, `{}`, another period) -------

_ERROR_OBJECT = b'{"error": "internal", "message": "analytics backend unavailable"}'


@pytest.mark.parametrize(
    ("path", "body", "said"),
    [
        (
            "tickets",
            _ERROR_OBJECT,
            "Thankful answered GET /api/v1/tickets (HTTP 200) for "
            "2025-01-02T00:00:00Z..2025-01-02T23:59:59Z with an error instead of the data: JSON "
            "object{error: string, message: string} saying error: 'internal'; message: "
            "'analytics backend unavailable'. Nothing of it was stored.",
        ),
        (
            "savings",
            _ERROR_OBJECT,
            "Thankful answered GET /api/v1/savings (HTTP 200) for "
            "2025-01-02T00:00:00Z..2025-01-02T23:59:59Z with an error instead of the data",
        ),
        (
            "tickets",
            b"{}",
            "Thankful GET /api/v1/tickets (HTTP 200) for 2025-01-02T00:00:00Z..2025-01-02T23:59:59Z"
            ": expected an object with Period, TicketsOverTime, TopActions and Recommendations, "
            "found object{}. Missing: Period, TicketsOverTime, TopActions, Recommendations.",
        ),
        (
            "savings",
            b"{}",
            "Thankful GET /api/v1/savings (HTTP 200) for 2025-01-02T00:00:00Z..2025-01-02T23:59:59Z"
            ": expected an object {Hours}, found object{}. Missing: Hours.",
        ),
        (
            "tickets",
            b'{"Period": {"Start": "2025-01-02T00:00:00Z", "End": "2025-01-02T23:59:59Z"}, '
            b'"TicketsOverTime": {"Received": [], "Captured": null}, "TopActions": null, '
            b'"Recommendations": []}',
            "Thankful GET /api/v1/tickets (HTTP 200), `TicketsOverTime` for "
            "2025-01-02T00:00:00Z..2025-01-02T23:59:59Z: expected an object of series",
        ),
    ],
    ids=["tickets-error", "savings-error", "tickets-empty", "savings-empty", "tickets-no-totals"],
)
def test_an_answer_that_is_not_the_days_data_stops_at_that_day(thankful, path, body, said):
    # The second request answers an error object or `{}` with HTTP 200. Days are asked two at
    # once, so that is the second day's request, or the first's when it arrives later.
    thankful.faults.add(Fault(status=200, body=body, path_prefix=f"/api/v1/{path}", skip=1))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-04"))
    assert run.returncode != 0
    day = _day_named(run)
    assert said.replace("2025-01-02", day) in run.stderr
    asked = [c for c in thankful.calls(f"/api/v1/{path}") if c.query["s"][0][:10] == day]
    assert len(asked) == 1, "not retried"
    before = {d for d in ("2025-01-01", "2025-01-02") if d < day}
    for stream in _STREAMS_OF[path]:
        # Nothing of the day that answered so, nor after it; state stays before it.
        assert {r["day"] for r in run.records(stream)} <= before, stream
        assert run.bookmark(stream) in (None, f"{day}T00:00:00+00:00"), stream
    assert {r["day"] for r in run.records(_STREAMS_OF[path][0])} == before


def _day_named(run) -> str:
    """The day the run's error names (the day whose answer a scripted fault replaced: days are
    asked two at once, so which request it met depends on which arrived first)."""
    named = re.findall(r" for (\d{4}-\d{2}-\d{2})T00:00:00Z\.\.", run.stderr)
    assert named and named[-1] in ("2025-01-01", "2025-01-02", "2025-01-03"), run.stderr[-2000:]
    return named[-1]


@pytest.mark.parametrize(
    "body", [_ERROR_OBJECT, b'{"message": "API access is not part of your plan"}']
)
def test_actions_answering_an_error_object_is_an_error_not_zero_actions(thankful, body):
    thankful.faults.add(Fault(status=200, body=body, path_prefix="/api/v1/actions"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    assert "Thankful answered GET /api/v1/actions (HTTP 200) with" in run.stderr
    assert "not an action id" not in run.stderr
    assert not run.records("actions")


def test_an_answer_for_another_period_than_the_day_asked_is_refused(thankful):
    # An API that ignores `s` and `e` answers its default period, the last 30 days: stored as
    # the day asked, its totals would be 30 times too large.
    default = requests.get(
        f"{thankful.url}/api/v1/tickets", headers={"X-API-Key": API_KEY}, timeout=10
    ).content
    echoed = json.loads(default)["Period"]
    thankful.faults.add(Fault(status=200, body=default, path_prefix="/api/v1/tickets"))
    run = run_tap("tap_thankful", thankful_config(thankful, end_date="2025-01-03"))
    assert run.returncode != 0
    day = _day_named(run)
    assert (
        f"Thankful answered GET /api/v1/tickets for {day}T00:00:00Z..{day}T23:59:59Z "
        f"with the figures of another period (Period {echoed['Start']}..{echoed['End']}): the "
        "API did not apply `s` and `e`."
    ) in run.stderr
    for stream in _STREAMS_OF["tickets"]:
        # Nothing of that day (nor after it) is stored, and state stays before it.
        assert all(r["day"] < day for r in run.records(stream)), stream
        assert run.bookmark(stream) in (None, f"{day}T00:00:00+00:00"), stream


@pytest.mark.parametrize(
    "member",
    [
        "Period",
        "TicketsOverTime",
        "TopActions",
        "Recommendations",
        "Period.Start",
        "Period.End",
        *(f"TicketsOverTime.{s}" for s in ("Received", "Captured", "Transferred", "Resolved")),
        *(f"TicketsOverTime.{s}Total" for s in ("Received", "Captured", "Transferred", "Resolved")),
    ],
)
def test_every_published_member_of_the_tickets_answer_is_required(member):
    # Each member the published example shows, left out of an answer that is otherwise the
    # published one for its own period: refused, naming what is missing.
    published = json.loads((CONTRACTS / "tickets-response.json").read_bytes())
    *parents, name = member.split(".")
    holder = published
    for parent in parents:
        holder = holder[parent]
    del holder[name]
    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(published).encode()
    response.request = requests.Request(
        "GET",
        "https://dashboard.thankful.ai/api/v1/tickets",
        params={"s": "2019-05-22T00:00:00Z", "e": "2019-06-21T23:59:59Z"},
    ).prepare()
    with pytest.raises(UnexpectedShape, match=f"Missing: .*\\b{name}\\b"):
        check_answer(published, "/tickets", response)
