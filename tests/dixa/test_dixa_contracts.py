"""Dixa's own published examples (tests/contracts/dixa/) through tap-dixa's real parsing path.

A loopback server answers each Analytics endpoint with the response sample Dixa publishes for
it, unchanged, and the tap runs against it as it would against Dixa: discovery, then a sync.
The records that come out are checked value by value, with their types and keys.
"""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest
from kit_dixa import API_TOKEN, QUEUE_FIELDS_ADDED, discover, select_only
from tap_runner import run_tap

from support_simulators.framework import SimRequest, SimResponse, VendorSimulator, json_response
from tap_dixa.tap import FIXED_STREAMS

FIXED_NAMES = {stream_class.name for stream_class in FIXED_STREAMS}

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "dixa"
FIXTURES = sorted(p.name for p in CONTRACTS.glob("*.txt"))


def published(name: str) -> t.Any:
    """A published sample as JSON: the markers of the page's collapsible JSON view removed ("• "
    at a line's start on the Analytics page, "- " after `[`, `, ` or a line's start on the
    Exports API page)."""
    text = (CONTRACTS / name).read_text()
    if name.startswith("exports_conversation"):
        return json.loads(re.sub(r"(^|\[|, )- ", r"\1", text, flags=re.MULTILINE))
    return json.loads(re.sub(r"^(\s*)• ", r"\1", text, flags=re.MULTILINE))


class PublishedDixa(VendorSimulator):
    """Answers with Dixa's published response samples, byte for byte as parsed JSON, and keeps
    the request bodies it receives."""

    name = "dixa-published"

    def __init__(self, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.bodies: list[tuple[str, t.Any]] = []

    def routes(self):
        def sample(name):
            return lambda request: json_response(published(name))

        # Each GET endpoint answers its published example (the main API's: every team and queue
        # gets the published members, every conversation the published notes).
        for pattern, name in (
            (r"/v1/analytics/metrics", "metrics_catalogue"),
            (r"/v1/analytics/records", "records_catalogue"),
            (r"/v1/analytics/metrics/(?P<id>[^/]+)", "metric_description"),
            (r"/v1/analytics/records/(?P<id>[^/]+)", "record_description"),
            (r"/v1/analytics/filter/(?P<attribute>[^/]+)", "filter_values"),
            (r"/v1/conversation_export", "exports_conversation_export"),
            (r"/v1/message_export", "exports_message_export"),
            (r"/v1/conversations/activitylog", "main_api_activity_log"),
            (r"/v1/conversations/[^/]+/notes", "main_api_notes"),
            (r"/v1/teams", "main_api_teams"),
            (r"/v1/teams/[^/]+/agents", "main_api_team_members"),
            (r"/v1/queues", "main_api_queues"),
            (r"/v1/queues/[^/]+/members", "main_api_queue_members"),
            (r"/v1/custom-attributes", "main_api_custom_attributes"),
        ):
            yield "GET", re.compile(pattern), sample(f"{name}_response.txt")
        yield "POST", re.compile(r"/v1/analytics/metrics"), self.answer("metric_data_response.txt")
        yield "POST", re.compile(r"/v1/analytics/records"), self.answer("records_data_response.txt")

    def answer(self, name: str) -> t.Callable[[SimRequest], SimResponse]:
        def handler(request: SimRequest) -> SimResponse:
            self.bodies.append((request.path, request.json()))
            return json_response(published(name))

        return handler

    def authorized(self, request: SimRequest) -> SimResponse | None:
        token = f"Bearer {API_TOKEN}" if request.path.endswith("_export") else API_TOKEN
        return None if request.headers.get("Authorization") == token else json_response({}, 401)


@pytest.fixture(scope="module")
def published_run():
    with PublishedDixa() as server:
        config = {
            "api_token": API_TOKEN,
            "api_url": server.url,
            "start_date": "2023-04-21",
            "end_date": "2023-04-22",
            "timezone": "Europe/Copenhagen",
            "window_days": 1,
            "record_ids": ["closed_conversations"],
            "metric_ids": ["closed_conversations"],
            "retry_base_wait": 0.05,
        }
        found = discover(config)
        # The Analytics streams: the Exports API has its own contract file.
        analytics = [
            s["tap_stream_id"]
            for s in found.catalog["streams"]
            if s["tap_stream_id"] not in FIXED_NAMES
        ]
        run = run_tap("tap_dixa", config, catalog=select_only(found.catalog, *analytics))
        yield server, found, run


def test_every_fixture_names_its_source_and_parses():
    assert len(FIXTURES) == 18
    for name in FIXTURES:
        source = (CONTRACTS / f"{name}.source").read_text()
        assert "docs.dixa.io" in source, name
        assert published(name) is not None
        if not name.startswith(("exports_", "main_api_")):
            assert "vendor-docs/dixa-analytics-api.txt" in source, name


def test_the_published_conversation_export_sample_lands_with_its_values():
    sample, record, run, calls = _published_export("conversations", "conversation_export")
    assert record["id"] == 0 and record["initial_channel"] == "email"
    assert record["created_at"] == record["updated_at"] == "1970-01-01T00:00:00+00:00"  # epoch ms 0
    assert (
        record["closed_at"]
        == record["queued_at"]
        == record["assigned_at"]
        == "1970-01-01T00:00:00+00:00"
    )
    assert record["requester_id"] == "5fe88a55-c92f-4e12-bd25-87bf15036ce9"
    assert record["requester_additional_emails"] == ["string"]
    assert record["ratings"] == sample["ratings"] and record["ratings"][0]["rating_type"] == "stars"
    assert (
        record["widget_id"] == "917f3fdb-2905-481f-8ff6-04c0fb7d466c"
        and record["total_duration"] == 0
    )
    properties = run.schemas()["conversations"]["schema"]["properties"]
    assert set(sample) <= set(properties)  # every published field is a typed column
    assert run.schemas()["conversations"]["key_properties"] == ["_account_id", "id"]
    assert calls[0].headers["Authorization"] == f"Bearer {API_TOKEN}"
    assert {"updated_after", "updated_before"} <= set(calls[0].query)


def test_the_published_closed_conversations_sample_lands_with_its_values(published_run):
    _, found, run = published_run
    assert found.returncode == 0, found.stderr
    assert run.returncode == 0, run.stderr
    rows = published("records_data_response.txt")["data"]
    records = run.records("records_closed_conversations")
    assert len(records) == len(rows) == 2
    for record, row in zip(sorted(records, key=lambda r: r["csid"]), rows, strict=True):
        fields = {f["name"]: f["field"] for f in row["fields"]}
        assert record["csid"] == fields["csid"]["value"] and isinstance(record["csid"], int)
        # fieldsMetadata calls it conversation_id; the published rows call it csid: one id.
        assert record["conversation_id"] == fields["csid"]["value"]
        for name in ("initial_direction", "initial_channel", "contact_point"):
            assert record[name] == fields[name]["value"]
            assert record[f"{name}_label"] == fields[name]["label"]
        assert record["primary_timestamp"].startswith(
            row["primaryTimestampField"]["timestamp"][:23]
        )
        assert record["primary_timestamp"].endswith("+00:00")
        # Listed in fieldsMetadata but absent from the row: null, not invented.
        assert (
            record["closed_at"] is None
            and record["agent_id"] is None
            and record["closed_by"] is None
        )
        assert record["raw"] == row  # the whole source object
    assert {r["contact_point"] for r in records} == {"+4511223344", "dixa@email.com"}


def test_the_published_sample_gets_typed_columns_and_an_identity_key(published_run):
    _, found, run = published_run
    schema = run.schemas()["records_closed_conversations"]
    assert schema["key_properties"] == ["_account_id", "conversation_id", "primary_timestamp"]
    properties = schema["schema"]["properties"]
    assert properties["csid"]["type"] == ["integer", "null"]  # LongField
    assert properties["conversation_id"]["type"] == ["integer", "null"]  # typed like csid
    assert properties["initial_channel"]["type"] == ["string", "null"]  # StringField, with a label
    assert properties["initial_channel_label"]["type"] == ["string", "null"]
    assert properties["raw"]["type"] == ["object", "null"] and "properties" not in properties["raw"]
    # Discovery learned the unlisted fields from the sampled rows, after the listed ones.
    discovered = found.stream("records_closed_conversations")["schema"]["properties"]
    assert [p for p in discovered if not p.endswith("_label")] == [
        "_account_id",
        "primary_timestamp",
        "closed_at",
        "conversation_id",
        "agent_id",
        "queue_id",
        "closed_by",
        "csid",
        "initial_direction",
        "initial_channel",
        "contact_point",
        "raw",
    ]


def test_the_published_metric_sample_lands(published_run):
    _, _, run = published_run
    aggregate = published("metric_data_response.txt")["data"]["aggregates"][0]
    (row,) = run.records("metric_values")
    assert (row["metric_id"], row["day"], row["measure"], row["status"]) == (
        "closed_conversations",
        "2023-04-21",
        "Count",
        "all",
    )
    assert row["value"] == 42 and row["value_type"] == "LongAggregateValue"
    assert row["raw"] == aggregate
    assert run.schemas()["metric_values"]["key_properties"] == [
        "_account_id",
        "metric_id",
        "day",
        "measure",
        "status",
    ]


def test_the_published_catalogues_and_filter_values_land(published_run):
    _, _, run = published_run
    records = {r["id"]: r for r in run.records("records_catalogue")}
    entries = {e["id"]: e for e in published("records_catalogue_response.txt")["data"]}
    assert set(records) == {"ratings", "closed_conversations"}
    for record_id, entry in entries.items():
        assert records[record_id]["fieldsMetadata"] == entry["fieldsMetadata"]
        assert records[record_id]["relatedMetricIds"] == entry["relatedMetricIds"]
        assert records[record_id]["raw"] == entry
    metrics = {r["id"]: r for r in run.records("metrics_catalogue")}
    assert metrics["csat"]["aggregations"] == [
        {"measure": "Percentage", "description": "Calculated Percentage"}
    ]
    assert metrics["closed_conversations"]["relatedRecordIds"] == ["closed_conversations"]
    values = {(r["filterAttribute"], r["value"], r["label"]) for r in run.records("filter_values")}
    attributes = {f["filterAttribute"] for e in entries.values() for f in e["filters"]}
    assert values == {
        (a, v, label)
        for a in attributes
        for v, label in [("CALLBACK", "Callback"), ("CONTACT_FORM", "Contact Form")]
    }


def test_the_tap_asks_in_the_shape_of_the_published_requests(published_run):
    server, _, _ = published_run
    metric_sample = published("metric_data_request.txt")
    records_sample = published("records_data_request.txt")
    metric_bodies = [b for p, b in server.bodies if p.endswith("metrics")]
    record_bodies = [b for p, b in server.bodies if p.endswith("records")]
    assert metric_bodies and record_bodies
    for body in metric_bodies:
        assert set(body) == set(metric_sample)
        assert (
            body["aggregations"] == metric_sample["aggregations"]
        )  # ["Count"], from the catalogue
        assert (
            body["timezone"] == "Europe/Copenhagen" and body["periodFilter"]["_type"] == "Interval"
        )
    for body in record_bodies:
        assert set(body) == set(records_sample)
        assert body["id"] == records_sample["id"] and isinstance(body["filters"], list)


def test_a_description_parses_as_its_catalogue_entry(published_run):
    """The single-entry descriptions carry the same object as the catalogue entries."""
    from tap_dixa.analytics import MetricsCatalogueStream, RecordsCatalogueStream
    from tap_dixa.tap import TapDixa

    server, _, _ = published_run
    tap = TapDixa(
        config={
            "api_token": API_TOKEN,
            "api_url": server.url,
            "start_date": "2023-04-21",
            "end_date": "2023-04-22",
        }
    )
    record = published("record_description_response.txt")["data"]
    metric = published("metric_description_response.txt")["data"]
    in_records = {e["id"]: e for e in published("records_catalogue_response.txt")["data"]}
    in_metrics = {e["id"]: e for e in published("metrics_catalogue_response.txt")["data"]}
    records, metrics = RecordsCatalogueStream(tap), MetricsCatalogueStream(tap)
    assert records.row(record) == records.row(in_records[record["id"]])
    assert metrics.row(metric) == metrics.row(in_metrics[metric["id"]])
    assert records.row(record)["fieldsMetadata"][0] == {
        "field": "conversation_id",
        "description": "Conversation ID",
        "nullable": False,
    }


def test_the_published_message_export_sample_lands_with_its_values():
    sample, record, run, calls = _published_export("messages", "message_export")
    assert record["id"] == "497f6eca-6276-4993-bfeb-53cbbbba6f08" and record["csid"] == 0
    assert record["created_at"] == "1970-01-01T00:00:00+00:00"
    assert record["initial_channel"] == "widgetchat" and record["is_automated_message"] is True
    # Published as one string here, as a list elsewhere: always a list in the column.
    assert record["to"] == ["string"] and record["cc"] == ["string"]
    assert record["chat_menu_text"] == "Please input your order number."
    assert set(sample) <= set(run.schemas()["messages"]["schema"]["properties"])
    # The page documents created_after/created_before for this endpoint: the tap uses them.
    assert {"created_after", "created_before"} == set(calls[0].query)


def _published_export(stream: str, export: str) -> tuple[dict, dict, t.Any, list]:
    """A run of `stream` over the day its published export sample (one object, at epoch 0)
    falls on: (the sample, the one record it landed as, the run, the calls of `export`)."""
    sample = published(f"exports_{export}_response.txt")[0]
    server, run = _published_run(stream, start="1970-01-01", end="1970-01-02")
    (record,) = run.records(stream)
    assert record["raw"] == sample
    return sample, record, run, server.calls(f"/v1/{export}")


def _published_run(*streams: str, start: str, end: str) -> tuple[PublishedDixa, t.Any]:
    with PublishedDixa() as server:
        config = {
            "api_token": API_TOKEN,
            "api_url": server.url,
            "exports_api_url": server.url,
            "start_date": start,
            "end_date": end,
            "retry_base_wait": 0.05,
        }
        found = discover({**config, "record_ids": ["ratings"], "metric_ids": ["csat"]})
        assert found.returncode == 0, found.stderr
        run = run_tap("tap_dixa", config, catalog=select_only(found.catalog, *streams))
    assert run.returncode == 0, run.stderr
    return server, run


@pytest.fixture(scope="module")
def main_api_run():
    return _published_run(
        "activity_logs",
        "teams",
        "team_members",
        "queues",
        "queue_members",
        "custom_attributes",
        start="2021-12-01",
        end="2021-12-02",
    )


def test_the_published_activity_log_sample_lands_with_its_type(main_api_run):
    _, run = main_api_run
    entries = published("main_api_activity_log_response.txt")["data"]
    records = {r["id"]: r for r in run.records("activity_logs")}
    assert set(records) == {e["id"] for e in entries}
    for entry in entries:
        record = records[entry["id"]]
        assert record["_type"] == entry["_type"] == "ConversationAssigned"
        assert record["activityType"] == "ConversationAssignedActivityType"  # deprecated, as sent
        # Published with a zone name after the instant ("...Z[GMT]"): read, not dropped.
        assert record["activityTimestamp"] == "2021-12-01T12:46:36.581000+00:00"
        assert record["author"] == entry["author"] and record["raw"] == entry
        assert record["conversationId"] == entry["conversationId"]
    assert run.bookmark("activity_logs") == "2021-12-02T00:00:00+00:00"


def test_the_published_team_and_queue_members_land_keyed_by_parent(main_api_run):
    _, run = main_api_run
    teams = [t["id"] for t in published("main_api_teams_response.txt")["data"]]
    members = published("main_api_team_members_response.txt")["data"]
    records = run.records("team_members")
    assert {(r["team_id"], r["id"]) for r in records} == {
        (team, m["id"]) for team in teams for m in members
    }
    assert {(r["name"], r["email"], r["phoneNumber"]) for r in records} == {
        ("Agent A", "aa@example.org", None),
        ("Agent B", "ab@example.org", None),
    }
    assert run.schemas()["team_members"]["key_properties"] == ["_account_id", "team_id", "id"]
    queues = [q["id"] for q in published("main_api_queues_response.txt")["data"]]
    in_queue = published("main_api_queue_members_response.txt")["data"]
    records = run.records("queue_members")
    assert {(r["queue_id"], r["agentId"], r["priority"]) for r in records} == {
        (queue, m["agentId"], m["priority"]) for queue in queues for m in in_queue
    }
    assert all(r["raw"] in in_queue for r in records)
    assert run.schemas()["queue_members"]["key_properties"] == [
        "_account_id",
        "queue_id",
        "agentId",
    ]


def test_the_published_queues_land_with_every_published_field(main_api_run):
    _, run = main_api_run
    queues = published("main_api_queues_response.txt")["data"]
    records = {r["id"]: r for r in run.records("queues")}
    properties = run.schemas()["queues"]["schema"]["properties"]
    for queue in queues:
        record = records[queue["id"]]
        assert set(queue) <= set(properties)  # every published field is a column
        for name in (*QUEUE_FIELDS_ADDED, "isRestricted"):
            assert record[name] == queue.get(name), name  # optional: null when left out
    assert records[queues[0]["id"]]["preferredAgentTimeouts"]["Email"] == 43200


def test_the_published_custom_attribute_definitions_land(main_api_run):
    _, run = main_api_run
    definitions = published("main_api_custom_attributes_response.txt")["data"]
    records = {r["id"]: r for r in run.records("custom_attributes")}
    assert set(records) == {d["id"] for d in definitions}
    parcel = records["c43fc767-f89b-443a-9c98-90f53f940bd7"]
    assert parcel["identifier"] == "parcel_id" and parcel["entityType"] == "Conversation"
    assert parcel["inputDefinition"] == {"placeholder": "1234", "_type": "Text"}
    # "2023-01-01T08:23:54.246Z[GMT]": Java's zone name after the instant.
    assert parcel["createdAt"] == "2023-01-01T08:23:54.246000+00:00"
    assert parcel["updatedAt"] == "2023-01-11T12:25:23.837000+00:00"
    location = records["66121f54-98ee-4727-a4e7-1a373d411ccf"]
    assert location["updatedAt"] == "2023-02-01T09:01:52.200000+00:00"  # one fractional digit
    reason = records["db5f673b-1c40-41e7-b71f-caab342f0607"]
    assert reason["updatedAt"] is None and reason["isRequired"] is True
    nested = reason["inputDefinition"]["options"][0]["nestedOptions"]
    assert [o["value"] for o in nested] == ["card", "bank_transfer"]
    assert all(records[d["id"]]["raw"] == d for d in definitions)
    assert "Dixa sent" not in run.stderr  # every published date-time was read


def test_the_published_notes_land_for_the_published_conversation():
    server, run = _published_run("conversations", "notes", start="1970-01-01", end="1970-01-02")
    notes = published("main_api_notes_response.txt")["data"]
    (conversation,) = run.records("conversations")
    records = {r["id"]: r for r in run.records("notes")}
    assert set(records) == {n["id"] for n in notes}
    first = records["3346b99c-8128-4276-ac40-5f30c959e5e7"]
    assert first["createdAt"] == "2021-01-20T09:00:00+00:00" and first["csid"] == 7392
    assert first["authorId"] == "c68f42a5-1453-497a-940f-ff36ed4f1631"
    assert first["message"] == "A note to remember" and first["raw"] == notes[0]
    # Asked once, for the one conversation the run read.
    assert [c.path for c in server.calls("/v1/conversations/")] == [
        f"/v1/conversations/{conversation['id']}/notes"
    ]
