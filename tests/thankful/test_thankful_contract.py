"""Thankful's published examples (tests/contracts/thankful/) through tap-thankful's real parsing
path.

Each fixture is byte for byte as Thankful's Analytics API page shows it ("..." elisions
removed with the comma before them); its `.source` file names the section. Responses
go through the stream's `parse_response` (the shape check every answer passes) and
its `rows`, the code the tap runs on every answer; a run against the simulator,
which serves these same bytes for the published day, checks the whole path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import jsonschema
import pytest
import requests
from kit_thankful import API_KEY, assert_delivers_expected, day_request, thankful_config
from tap_runner import run_tap

from support_simulators.thankful import PUBLISHED
from support_taps.errors import UnexpectedShape
from tap_thankful.tap import TapThankful

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "thankful"
DAY = {"day": "2019-05-22", "filter_action_id": None}
CAUSE_3 = (
    "Failed to evaluate JS for step 95863: eval js code: TypeError: Cannot access member "
    "'SG' of undefined"
)


def _fixture(name: str) -> bytes:
    return (CONTRACTS / name).read_bytes()


def _tap(**overrides) -> TapThankful:
    return TapThankful(config={"api_key": "contract-key", "start_date": "2019-05-22", **overrides})


def _answer(stream, body: bytes, params: dict | None = None) -> object:
    """The stream's parse_response on a response carrying `body`, as the tap receives it
    (asked with `params`)."""
    response = requests.Response()
    response.status_code = 200
    response._content = body
    response.request = requests.Request(
        "GET", f"https://dashboard.thankful.ai/api/v1{stream.path}", params=params
    ).prepare()
    [payload] = list(stream.parse_response(response))
    return payload


def _rows(stream_name: str, fixture: str) -> list[dict]:
    streams = _tap().streams
    stream = streams[stream_name]
    fetcher = (
        streams["tickets_over_time"]
        if stream_name in ("ticket_totals", "top_actions", "recommendations")
        else stream
    )
    payload = _answer(fetcher, _fixture(fixture))
    if stream_name == "tickets_over_time":
        rows = [stream.series_row(payload, DAY)]
    elif stream_name == "actions":
        rows = list(stream.rows(payload))
    else:
        rows = list(stream.rows(payload, DAY))
    for row in rows:
        emitted = stream.post_process(dict(row))  # as the tap emits it: with the account
        assert emitted["_account_id"] == "default"
        jsonschema.validate(emitted, stream.schema)
        assert set(emitted) == set(stream.schema["properties"]), stream_name
        assert all(emitted[key] is not None for key in stream.primary_keys)
    return rows


def test_every_fixture_names_its_source():
    fixtures = [p for p in CONTRACTS.iterdir() if not p.name.endswith(".source")]
    assert len(fixtures) == 6
    for fixture in fixtures:
        assert "Analytics API" in Path(f"{fixture}.source").read_text(), fixture.name


@pytest.mark.parametrize("endpoint", ["tickets", "handoffs", "savings", "actions"])
def test_the_simulator_holds_the_published_examples_byte_for_byte(endpoint):
    assert PUBLISHED[endpoint] == _fixture(f"{endpoint}-response.json")


def test_published_tickets_series():
    tickets = json.loads(_fixture("tickets-response.json"))
    assert _rows("tickets_over_time", "tickets-response.json") == [
        {
            "day": "2019-05-22",
            "filter_action_id": None,
            "filter_statuses": "all",
            "filter_channels": "all",
            "received": 1456,
            "captured": 2800,
            "transferred": 500,
            "resolved": 621,
            "raw": tickets["TicketsOverTime"],
        }
    ]


def test_published_ticket_totals():
    [row] = _rows("ticket_totals", "tickets-response.json")
    assert row == {
        "day": "2019-05-22",
        "filter_action_id": None,
        "filter_statuses": "all",
        "filter_channels": "all",
        "received_total": 60000,
        "captured_total": 50000,
        "transferred_total": 10000,
        "resolved_total": 30000,
        "received_change": -33.78378378378378,
        "captured_change": -32.86713286713287,
        "transferred_change": 54.12308,
        "resolved_change": -39.285714285714285,
        "period_start": "2019-05-22T00:00:00+00:00",
        "period_end": "2019-06-21T23:59:59+00:00",
        "period_min": "2018-05-22T00:00:00+00:00",
        "raw": json.loads(_fixture("tickets-response.json")),
    }
    assert all(
        type(row[f"{s}_total"]) is int for s in ("received", "captured", "transferred", "resolved")
    )


def test_published_top_actions():
    [row] = _rows("top_actions", "tickets-response.json")
    published = json.loads(_fixture("tickets-response.json"))["TopActions"][0]
    assert row == {
        "day": "2019-05-22",
        "filter_action_id": None,
        "filter_statuses": "all",
        "filter_channels": "all",
        "action_id": 3759,
        "name": "Return Order",
        "capture": 94,
        "resolve": 17,
        "pending": 2,
        "transfer": 30,
        "handoff": 77,
        "skip": 0,
        "enabled": True,
        "raw": published,
    }


def test_published_recommendations():
    rows = _rows("recommendations", "tickets-response.json")
    assert [(r["action_id"], r["impact"]) for r in rows] == [
        (3257, "Increase automation by 4%"),
        (3210, "Increase automation by 1%"),
    ]
    assert [r["raw"] for r in rows] == json.loads(_fixture("tickets-response.json"))[
        "Recommendations"
    ]


def test_published_handoffs():
    published = json.loads(_fixture("handoffs-response.json"))
    rows = _rows("handoffs", "handoffs-response.json")
    # Action 3623 has `Types: null`: no handoffs, no rows.
    assert [
        (r["action_id"], r["cause_id"], r["cause"], r["action_handoff_count"]) for r in rows
    ] == [(3759, 1, "SLA breached", 1), (3759, 3, CAUSE_3, 1)]
    assert rows[1]["raw"] == {"ActionID": 3759, "Types": [published[1]["Types"][1]]}


def test_published_savings():
    assert _rows("savings", "savings-response.json") == [
        {
            "day": "2019-05-22",
            "filter_action_id": None,
            "filter_statuses": "all",
            "filter_channels": "all",
            "hours": 100.5,
            "raw": {"Hours": 100.5},
        }
    ]


def test_published_actions():
    assert _rows("actions", "actions-response.json") == [
        {"action_id": 3000, "name": "Return Order", "raw": {"3000": "Return Order"}},
        {"action_id": 3016, "name": "Track Order", "raw": {"3016": "Track Order"}},
    ]


def test_the_published_request_and_parameters_are_what_the_tap_sends():
    request_text = _fixture("request.http").decode()
    assert request_text.startswith("GET https://dashboard.thankful.ai/api/v1/tickets")
    assert "\tX-API-Key: xxxxx" in request_text
    parameters = _fixture("parameters.txt").decode()
    for example in (
        "s=2019-05-20T00:00:00Z",
        "e=2019-06-20T23:59:59Z",
        "a=2001",
        "ss=1,2,5",
        "fs=1,2,3",
    ):
        assert example in parameters
    stream = _tap(statuses=[5, 2, 1], channels=[3, 1, 2]).streams["tickets_over_time"]
    request = day_request(stream, "2019-05-20", 2001)
    assert request.url == "https://dashboard.thankful.ai/api/v1/tickets"
    # The same forms as the examples: Z-suffixed UTC instants, a bare id, unescaped comma lists.
    assert (
        request.encode_params()
        == "s=2019-05-20T00:00:00Z&e=2019-05-20T23:59:59Z&a=2001&ss=1,2,5&fs=1,2,3"
    )
    assert stream.authenticator.auth_headers == {"X-API-Key": "contract-key"}


def test_a_run_over_the_published_day_loads_the_published_examples(thankful):
    config = thankful_config(thankful, start_date="2019-05-22", end_date="2019-05-23")
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr
    assert_delivers_expected(run, thankful, config)
    tickets = json.loads(_fixture("tickets-response.json"))
    [series] = run.records("tickets_over_time")
    assert (series["received"], series["captured"], series["transferred"], series["resolved"]) == (
        1456,
        2800,
        500,
        621,
    )
    [totals] = run.records("ticket_totals")
    # The example, with the period it echoes narrowed to the day asked (see below).
    tickets["Period"]["End"] = "2019-05-22T23:59:59Z"
    assert totals["raw"] == tickets and totals["transferred_change"] == 54.12308
    assert [r["raw"] for r in run.records("top_actions")] == tickets["TopActions"]
    assert [(r["action_id"], r["cause_id"]) for r in run.records("handoffs")] == [
        (3759, 1),
        (3759, 3),
    ]
    assert [r["hours"] for r in run.records("savings")] == [100.5]
    assert all(r["raw"] == {str(r["action_id"]): r["name"]} for r in run.records("actions"))


def test_the_published_tickets_answer_is_for_the_period_it_echoes():
    # The published /tickets example echoes the period it summarises, in the form of `s` and
    # `e`: 30 days. As the answer to the 30 days it names it is read; as the answer to one day
    # (what the tap asks) it is 30 days of totals, which the tap refuses to store as that day's.
    stream = _tap().streams["tickets_over_time"]
    published = _fixture("tickets-response.json")
    period = {"s": "2019-05-22T00:00:00Z", "e": "2019-06-21T23:59:59Z"}
    assert _answer(stream, published, period) == json.loads(published)
    with pytest.raises(UnexpectedShape) as refused:
        _answer(stream, published, {"s": "2019-05-22T00:00:00Z", "e": "2019-05-22T23:59:59Z"})
    assert str(refused.value) == (
        "Thankful answered GET /api/v1/tickets for 2019-05-22T00:00:00Z..2019-05-22T23:59:59Z "
        "with the figures of another period (Period 2019-05-22T00:00:00Z..2019-06-21T23:59:59Z): "
        "the API did not apply `s` and `e`. Nothing of it was stored: its totals are not those of "
        "the day asked."
    )


def test_the_simulator_serves_the_published_tickets_answer_for_its_period(thankful):
    answer = requests.get(
        f"{thankful.url}/api/v1/tickets",
        headers={"X-API-Key": API_KEY},
        timeout=10,
        params={"s": "2019-05-22T00:00:00Z", "e": "2019-06-21T23:59:59Z"},
    )
    assert answer.content == _fixture("tickets-response.json")


def _structure(value: object) -> object:
    """Keys and JSON types of a published answer, lists reduced to their first item."""
    if isinstance(value, dict):
        return {key: _structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_structure(value[0])] if value else []
    return (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else type(value).__name__
    )


@pytest.mark.parametrize("endpoint", ["tickets", "handoffs", "savings", "actions"])
def test_the_simulator_answers_in_the_published_shape_on_any_day(thankful, endpoint):
    answer = requests.get(
        f"{thankful.url}/api/v1/{endpoint}",
        headers={"X-API-Key": API_KEY},
        timeout=10,
        params={"s": "2025-01-07T00:00:00Z", "e": "2025-01-07T23:59:59Z"},
    ).json()
    published = json.loads(_fixture(f"{endpoint}-response.json"))
    if endpoint == "actions":
        assert all(key.isdigit() and isinstance(name, str) for key, name in answer.items())
    elif endpoint == "handoffs":
        with_types = [item for item in answer if item["Types"]]
        assert _structure(with_types[:1]) == _structure(published[1:])
        assert all(set(item) == {"ActionID", "Types"} for item in answer)
        assert any(item["Types"] is None for item in answer)
    else:
        assert _structure(answer) == _structure(published)


def test_fields_thankful_adds_land_in_raw():
    streams = _tap().streams
    tickets = json.loads(_fixture("tickets-response.json"))
    tickets["Escalations"] = {"Total": 3}  # a new top-level member
    tickets["TicketsOverTime"]["Reopened"] = [{"Val": 4, "CreatedAt": "2019-05-22T00:00:00Z"}]
    tickets["TopActions"][0]["Channel"] = "Email"
    payload = _answer(streams["tickets_over_time"], json.dumps(tickets).encode())
    assert streams["ticket_totals"].rows(payload, DAY).__next__()["raw"]["Escalations"] == {
        "Total": 3
    }
    assert streams["tickets_over_time"].series_row(payload, DAY)["raw"]["Reopened"][0]["Val"] == 4
    assert next(iter(streams["top_actions"].rows(payload, DAY)))["raw"]["Channel"] == "Email"
    handoffs = json.loads(_fixture("handoffs-response.json"))
    handoffs[1]["ActionName"] = "Return Order"
    handoffs[1]["Types"][0]["Team"] = "Tier 2"
    rows = list(
        streams["handoffs"].rows(_answer(streams["handoffs"], json.dumps(handoffs).encode()), DAY)
    )
    assert rows[0]["raw"] == {
        "ActionID": 3759,
        "ActionName": "Return Order",
        "Types": [handoffs[1]["Types"][0]],
    }
    assert rows[0]["raw"]["Types"][0]["Team"] == "Tier 2"
    savings = _answer(streams["savings"], b'{"Hours": 1.5, "Minutes": 90}')
    assert next(iter(streams["savings"].rows(savings, DAY)))["raw"] == {"Hours": 1.5, "Minutes": 90}


def test_an_action_called_na_keeps_its_name():
    stream = _tap().streams["actions"]
    rows = list(stream.rows(_answer(stream, b'{"3000": "NA", "3001": "N/A", "3002": ""}')))
    assert [row["name"] for row in rows] == ["NA", "N/A", ""]


def test_a_value_the_tap_cannot_read_is_named_once_and_kept_in_raw(caplog):
    stream = _tap().streams["top_actions"]
    payload = {
        "TopActions": [
            {"ID": 1, "Name": "A", "Capture": "lots"},
            {"ID": 2, "Name": "B", "Capture": "many"},
            {"ID": 3, "Name": "C", "Capture": "12 tickets"},
        ]
    }
    with caplog.at_level(logging.WARNING):
        rows = list(stream.rows(payload, DAY))
    assert [row["capture"] for row in rows] == [None, None, None]
    assert [row["raw"]["Capture"] for row in rows] == ["lots", "many", "12 tickets"]
    told = [r.getMessage() for r in caplog.records if "`Capture`" in r.getMessage()]
    assert len(told) == 2  # one per shape: "aaaa" and "99 aaaaaaa"
    assert '"aaaa"' in told[0] and "lots" not in " ".join(told)
