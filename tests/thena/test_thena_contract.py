"""Thena's published examples (tests/contracts/thena/) through tap-thena's real parsing path.

Each fixture is byte for byte as Thena publishes it; its `.source` file names the page.
The response goes through `RequestsStream.parse_response`, the method the tap runs on
every answer, and the records that come out are checked value by value.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import jsonschema
import pytest
import requests
from singer_sdk.streams.rest import PageContext

from support_simulators.thena import PUBLISHED_EXAMPLE
from support_taps.windowed import window_context
from support_taps.windows import DateWindow, parse_utc
from tap_thena.tap import TapThena

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "thena"
EXPORT_RESPONSE = CONTRACTS / "requests-export-example-response.json"
EXPORT_REQUEST = CONTRACTS / "requests-export-example-request.http"
API_RESPONSE = CONTRACTS / "requests-api-example-response.partial.txt"
API_REQUEST = CONTRACTS / "requests-api-example-request.sh"
NBSP = "\u00a0"  # the published page obfuscates addresses as "[email<NBSP>protected]"


def _stream():
    tap = TapThena(
        config={"api_key": "contract-key", "workspace": "acme", "start_date": "2023-01-01"}
    )
    return tap.streams["requests"]


def _response(body: bytes, status: int = 200) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers["Content-Type"] = "application/json"
    response.request = requests.Request(
        "GET", "https://acme.thena.ai/v1/requests/exports?start_date=2023-01-01&end_date=2023-08-01"
    ).prepare()
    return response


def _parse(body: bytes, stream=None) -> list[dict]:
    """The records as the tap emits them: parsed, then the core's post-processing (which
    writes the account on each)."""
    stream = stream or _stream()
    return [stream.post_process(record) for record in stream.parse_response(_response(body))]


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged():
    stream = _stream()
    handler = _Logged()
    # The stream's logger itself (singer-sdk 0.55 hands out a LoggerAdapter around it).
    logger = logging.getLogger(stream.logger.name)
    logger.addHandler(handler)
    try:
        yield stream, handler.lines
    finally:
        logger.removeHandler(handler)


def test_every_fixture_names_its_source():
    fixtures = [p for p in CONTRACTS.iterdir() if not p.name.endswith(".source")]
    assert len(fixtures) == 4
    for fixture in fixtures:
        source = Path(f"{fixture}.source").read_text()
        assert "https://help.thena.ai/docs/" in source, fixture.name


def test_the_simulator_serves_the_published_example_byte_for_byte():
    assert EXPORT_RESPONSE.read_bytes() == PUBLISHED_EXAMPLE


def test_the_published_export_example_becomes_this_record():
    published = json.loads(EXPORT_RESPONSE.read_bytes())
    [record] = _parse(EXPORT_RESPONSE.read_bytes())
    assert record == {
        "_account_id": "acme",  # the workspace
        "request_id": 3292,
        "created_datetime": "2023-05-12T12:24:00+00:00",
        "workspace_name": "CustomerWorkspaceName",
        "slack_channel": "ext-channel-name",
        "customer_name": "John Doe",
        "requestor_email": f"[email{NBSP}protected]",
        "request_title": "Issue with Capturing Links in Ticket Notes",
        "request_summary": published[0]["request_summary"],
        "sentiment": "Neutral",
        "urgency": "Medium",
        "status": "Assigned",
        "assigned_on": "2023-05-22T15:15:00+00:00",
        "owner": "Jane Smith",
        "assigned_to_user_email": f"[email{NBSP}protected]",
        "first_response_time": "2023-05-22T15:15:00+00:00",
        "number_of_replies": 1,
        # Text columns keep what Thena sent; only typed columns need its placeholders as null.
        "closed_by": "",
        "feedback": "N/A",
        "csat_score": None,
        "closed_datetime": None,
        "resolution_time_hours": None,
        "on_hold_on": None,
        "on_hold_by": "",
        "on_hold_by_user_email": "",
        "ai_tags": ["Missing Link", "Ticket Notes", "Slack Chat"],
        "slack_thread_link": "https://example-slack.com/archives/SLACK_THREAD_ID",
        "internal_thread_slack_link": "https://example-slack.com/archives/INTERNAL_THREAD_ID",
        "raw": published[0],
    }
    assert type(record["request_id"]) is int and type(record["number_of_replies"]) is int
    assert record["request_summary"].startswith("A customer has reported an issue where links")


def test_the_record_fits_the_schema_and_its_key():
    stream = _stream()
    [record] = _parse(EXPORT_RESPONSE.read_bytes(), stream)
    jsonschema.validate(record, stream.schema)
    assert set(record) == set(stream.schema["properties"])
    # The account (the workspace, by default) first in the key: two workspaces' request 3292
    # are two rows.
    assert stream.primary_keys == ("_account_id", "request_id")
    assert stream.replication_key == "created_datetime"
    assert record["_account_id"] == "acme"
    assert stream.schema["properties"]["raw"] == {
        "type": ["object", "null"],
        "description": stream.schema["properties"]["raw"]["description"],
    }


def test_raw_survives_flattening_as_one_json_column():
    from singer_sdk.helpers._flattening import flatten_record, flatten_schema

    stream = _stream()
    [record] = _parse(EXPORT_RESPONSE.read_bytes(), stream)
    flat_schema = flatten_schema(stream.schema, max_level=10)
    assert flat_schema["properties"]["raw"]["type"] == ["string", "null"]
    assert not any(name.startswith("raw__") for name in flat_schema["properties"])
    flat = flatten_record(record, flat_schema, max_level=10)
    assert json.loads(flat["raw"]) == json.loads(EXPORT_RESPONSE.read_bytes())[0]


def test_the_published_example_request_is_what_the_tap_sends():
    method_line, auth_line = EXPORT_REQUEST.read_text().splitlines()
    published_query = method_line.split("?", 1)[1]
    stream = _stream()
    window = DateWindow(parse_utc("2023-01-01"), parse_utc("2023-08-01"))
    request = stream.get_http_request(page=PageContext(window_context(window), None))
    assert request.encode_params() == published_query == "start_date=2023-01-01&end_date=2023-08-01"
    assert auth_line == "Authorization: Bearer YOUR_API_KEY"
    assert stream.authenticator.auth_headers == {"Authorization": "Bearer contract-key"}
    # The example's path (/requests) disagrees with the page's endpoint; the tap uses the endpoint.
    assert method_line.startswith("GET /requests?")
    assert request.url == "https://acme.thena.ai/v1/requests/exports"


def _published_api_object() -> dict:
    """The sister requests API's example object, from its complete `"key": value,` lines."""
    lines = API_RESPONSE.read_text().splitlines()
    complete = [line for line in lines if re.match(r'^\s+"\w+": .*,$', line)]
    return json.loads("{" + ",".join(line.strip().rstrip(",") for line in complete) + "}")


def test_the_sister_api_example_request_uses_the_same_auth():
    text = API_REQUEST.read_text()
    assert "--header 'Authorization: Bearer your_bearer_token'" in text
    assert (
        "start_date=1704758400&end_date=1704885333" in text
    )  # epoch seconds there, dates in the export


def test_the_sister_api_example_lands_whole_with_its_published_variants(logged):
    stream, lines = logged
    source = _published_api_object()
    assert source["ai_tags"] == "Attention, Request" and source["csat_score"] == "NA"
    assert len(source) == 24
    [record] = _parse(json.dumps([source]).encode(), stream)
    assert record["raw"] == source  # every field, renamed ones included
    assert record["request_id"] == 1234
    assert record["ai_tags"] == ["Attention", "Request"]  # a comma-separated string becomes a list
    assert record["csat_score"] is None  # "NA": Thena's placeholder in a number column
    assert record["feedback"] == '"NA"'  # text keeps what was sent
    assert record["customer_name"] == "John Doe" and record["status"] == "OPEN"
    assert record["number_of_replies"] == 0 and record["closed_by"] == ""
    # Its date fields have other names there (created_at_utc): in raw, and the user is told.
    assert (
        record["created_datetime"] is None
        and record["raw"]["created_at_utc"] == "2024-01-09 22:27:40"
    )
    told = " ".join(lines)
    for renamed in (
        "created_at_utc",
        "assigned_on_utc",
        "first_response_time_utc",
        "closed_on_utc",
        "on_hold_on_utc",
    ):
        assert f"'{renamed}'; it is kept in `raw`" in told
    jsonschema.validate(record, stream.schema)


def test_the_sister_api_date_format_is_read():
    [record] = _parse(
        json.dumps([{"request_id": 1, "created_datetime": "2024-01-09 22:27:40"}]).encode()
    )
    assert record["created_datetime"] == "2024-01-09T22:27:40+00:00"


def test_only_typed_columns_take_placeholders_as_null():
    source = {
        "request_id": 7,
        "customer_name": "NA",
        "owner": "N/A",
        "closed_by": "",
        "sentiment": "None",
        "csat_score": "",
        "resolution_time_hours": "N/A",
        "number_of_replies": "NA",
        "closed_datetime": "N/A",
        "assigned_on": "",
        "ai_tags": "",
    }
    [record] = _parse(json.dumps([source]).encode())
    # A customer called "NA" keeps the name; no text column loses a value.
    assert (record["customer_name"], record["owner"], record["closed_by"], record["sentiment"]) == (
        "NA",
        "N/A",
        "",
        "None",
    )
    for typed in (
        "csat_score",
        "resolution_time_hours",
        "number_of_replies",
        "closed_datetime",
        "assigned_on",
        "ai_tags",
    ):
        assert record[typed] is None, typed
    assert record["raw"] == source


def test_an_unknown_date_format_stays_in_raw_with_a_warning_naming_field_and_shape(logged):
    stream, lines = logged
    source = {
        "request_id": 8,
        "created_datetime": "05/12/2023 12:24",
        "assigned_on": "05/22/2023 3:15 PM",
    }
    [record] = _parse(json.dumps([source]).encode(), stream)
    assert record["assigned_on"] is None
    assert record["raw"]["assigned_on"] == "05/22/2023 3:15 PM"
    assert record["created_datetime"] == "2023-05-12T12:24:00+00:00"
    [warning] = [line for line in lines if "assigned_on" in line]
    assert '"99/99/9999 9:99 AA"' in warning and "`assigned_on`" in warning
    assert "3:15" not in warning and "05/22" not in warning  # the shape, never the value


def test_unreadable_values_are_reported_once_per_field_and_shape(logged):
    stream, lines = logged
    rows = [
        {"request_id": i, "csat_score": "great", "on_hold_on": f"0{i}/0{i}/2023 1:0{i} PM"}
        for i in range(1, 4)
    ]
    records = _parse(json.dumps(rows).encode(), stream)
    assert [r["csat_score"] for r in records] == [None, None, None]
    assert [r["raw"]["csat_score"] for r in records] == ["great"] * 3
    assert len([line for line in lines if "`csat_score`" in line]) == 1
    assert len([line for line in lines if "`on_hold_on`" in line]) == 1


@pytest.mark.parametrize(
    ("sent", "tags"),
    [
        (["Missing Link", "Ticket Notes"], ["Missing Link", "Ticket Notes"]),
        ("Attention, Request", ["Attention", "Request"]),
        ("Billing,VAT , ", ["Billing", "VAT"]),
        ("Solo", ["Solo"]),
        ([], []),
        ("", None),
        (None, None),
    ],
)
def test_ai_tags_become_a_list(sent, tags):
    [record] = _parse(json.dumps([{"request_id": 9, "ai_tags": sent}]).encode())
    assert record["ai_tags"] == tags


def test_a_field_thena_adds_lands_in_raw():
    source = {
        **json.loads(EXPORT_RESPONSE.read_bytes())[0],
        "priority": {"level": 2, "label": "P2"},
    }
    [record] = _parse(json.dumps([source]).encode())
    assert "priority" not in record
    assert record["raw"]["priority"] == {"level": 2, "label": "P2"}
