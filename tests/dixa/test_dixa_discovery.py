"""Discovery: streams and schemas come from Dixa's catalogue; failures say which setting to fix."""

from __future__ import annotations

from kit_dixa import API_TOKEN, EXPORTS_AND_LISTS, discover, dixa_config, select_only
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator
from support_simulators.dixa.catalogue import RECORDS

STATIC = {
    "metrics_catalogue",
    "records_catalogue",
    "filter_values",
    "metric_values",
    *EXPORTS_AND_LISTS,
    "team_members",
    "queue_members",
    "notes",
}


def test_one_stream_per_record_id_in_the_catalogue(dixa):
    found = discover(dixa_config(dixa))
    assert found.returncode == 0, found.stderr
    names = {s["tap_stream_id"] for s in found.catalog["streams"]}
    assert names == STATIC | {f"records_{r}" for r in RECORDS}


def test_record_schema_comes_from_fields_metadata_and_the_types_seen(dixa):
    found = discover(dixa_config(dixa))
    stream = found.stream("records_closed_conversations")
    properties = stream["schema"]["properties"]
    fields = [m["field"] for m in RECORDS["closed_conversations"]["fieldsMetadata"]]
    # fieldsMetadata's fields, then the fields the sampled rows carry that it does not list (as
    # Dixa's own closed_conversations sample does), then the whole row.
    unlisted = ["csid", "initial_direction", "initial_channel", "contact_point"]
    assert [p for p in properties if not p.endswith("_label")] == [
        "_account_id",
        "primary_timestamp",
        *fields,
        *unlisted,
        "raw",
    ]
    assert properties["csid"]["type"] == ["integer", "null"]  # typed from its `_type`, LongField
    assert properties["raw"] == {
        "type": ["object", "null"],
        "description": properties["raw"]["description"],
    }
    assert properties["closed_at"]["format"] == "date-time"  # TimestampField
    assert properties["conversation_id"]["type"] == ["integer", "null"]  # LongField
    assert properties["handling_duration"]["type"] == ["number", "null"]  # DoubleField
    assert {"agent_id_label", "queue_id_label", "closed_by_label"} <= set(
        properties
    )  # UUID/String labels
    assert (
        properties["closed_by"]["description"]
        == "User closing the conversation (Agent, Enduser or Unknown)"
    )
    # Keyed by the conversation and when it closed (a reopened conversation closes again); never
    # by a measure or a field that merely cannot be null, such as closed_by.
    # The account first, as in every stream (the core adds it).
    assert stream["key_properties"] == ["_account_id", "conversation_id", "primary_timestamp"]
    keys = {s["tap_stream_id"]: s["key_properties"][1:] for s in found.catalog["streams"]}
    assert keys["records_conversations"] == ["csid"]
    assert keys["records_ratings"] == ["conversation_id", "primary_timestamp"]
    assert keys["records_first_response_times"] == ["conversation_id"]
    assert keys["records_agent_presence"] == ["agent_id", "primary_timestamp"]
    root = next(m["metadata"] for m in stream["metadata"] if m["breadcrumb"] == [])
    assert root["valid-replication-keys"] == ["primary_timestamp"]

    conversations = found.stream("records_conversations")["schema"]["properties"]
    assert conversations["is_reopened"]["type"] == ["boolean", "null"]  # BooleanField
    assert conversations["tags"]["type"] == ["array", "null"]  # ListField
    ratings = found.stream("records_ratings")["schema"]["properties"]
    assert ratings["rating_score"]["type"] == ["integer", "null"]  # IntField
    first = found.stream("records_first_response_times")["schema"]["properties"]
    assert first["first_response_at"]["format"] == "date-time"  # InstantField
    assert first["business_hours_delay"]["type"] == ["object", "null"]  # unknown `_type`: JSON


def test_a_record_id_dixa_adds_becomes_a_stream(dixa, monkeypatch):
    monkeypatch.setitem(
        RECORDS,
        "sla_events",
        {
            "description": "SLA events",
            "filters": ["queue_id"],
            "fieldsMetadata": [{"field": "sla_id", "description": "SLA", "nullable": False}],
            "relatedMetricIds": [],
        },
    )
    found = discover(dixa_config(dixa))
    stream = found.stream("records_sla_events")
    # No data yet for the new record: its field is typed as text until values are seen.
    assert stream["schema"]["properties"]["sla_id"]["type"] == ["string", "null"]
    assert "sla_id" in found.stderr and "typed as text" in found.stderr


def test_catalogue_pages_are_followed(dixa):
    # Pages of 2: the catalogues (7 metrics, 5 records) take several pages each.
    dixa.default_page_limit = 2
    found = discover(dixa_config(dixa))
    assert found.returncode == 0, found.stderr
    assert {s["tap_stream_id"] for s in found.catalog["streams"]} >= {
        f"records_{r}" for r in RECORDS
    }
    assert len(dixa.calls("/v1/analytics/metrics")) == 4
    assert [
        c.query.get("pageKey") is not None
        for c in dixa.calls("/v1/analytics/records")
        if c.method == "GET"
    ] == [False, True, True]


def test_run_with_a_catalog_extracts_only_what_is_selected_with_the_catalog_schema(dixa):
    config = dixa_config(dixa)
    catalog = select_only(discover(config).catalog, "records_ratings")
    # A column the discovery typed as integer is typed as text in this catalog: the run follows
    # the catalog.
    ratings = next(s for s in catalog["streams"] if s["tap_stream_id"] == "records_ratings")
    ratings["schema"]["properties"]["rating_score"] = {"type": ["string", "null"]}
    dixa.reset_log()
    run = run_tap("tap_dixa", config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert {m["stream"] for m in run.messages if m["type"] in ("RECORD", "SCHEMA")} == {
        "records_ratings"
    }
    scores = [r["rating_score"] for r in run.records()]
    assert scores and all(isinstance(score, str) for score in scores)
    # The catalogue is read again (it is the truth), nothing is sampled, only ratings are asked.
    assert {b["id"] for b in dixa.data_queries("records")} == {"ratings"}
    assert not dixa.data_queries("metrics")


def test_wrong_token_names_api_token_and_never_shows_it(dixa):
    found = discover(dixa_config(dixa, api_token="not-the-token-123", max_retries=0))
    assert found.returncode != 0
    assert "discovery needs the API" in found.stderr
    assert "HTTP 401" in found.stderr and "`api_token`" in found.stderr
    assert "not-the-token-123" not in found.stderr


def test_wrong_path_names_api_url(dixa):
    found = discover(dixa_config(dixa, api_url=dixa.url + "/api", max_retries=0))
    assert found.returncode != 0
    assert "HTTP 404" in found.stderr and "`api_url`" in found.stderr


def test_unreachable_url_names_api_url():
    with DixaSimulator() as sim:
        url = sim.url  # a port that was just free
    found = discover(
        {
            "api_token": API_TOKEN,
            "api_url": url,
            "start_date": "2025-01-06",
            "max_retries": 1,
            "retry_base_wait": 0.05,
        }
    )
    assert found.returncode != 0
    assert "could not connect" in found.stderr and f"`api_url` setting (now {url})" in found.stderr


def test_bad_settings_are_named_before_dixa_is_asked(dixa):
    cases = {
        "timezone": dixa_config(dixa, timezone="Mars/Olympus"),
        "filters": dixa_config(dixa, filters=[{"attribute": "channel", "values": []}]),
        "page_limit": dixa_config(dixa, page_limit=0),
        "end_date": dixa_config(dixa, end_date="2025-01-01"),
    }
    for setting, config in cases.items():
        found = discover(config)
        assert found.returncode != 0
        assert f"`{setting}`" in found.stderr, (setting, found.stderr[-500:])
    assert not dixa.calls()


def test_unknown_record_or_metric_ids_are_named(dixa):
    found = discover(dixa_config(dixa, record_ids=["ratings", "nope"]))
    assert found.returncode != 0
    assert (
        "`record_ids`" in found.stderr
        and "'nope'" in found.stderr
        and "closed_conversations" in found.stderr
    )
    found = discover(dixa_config(dixa, metric_ids=["csatt"]))
    assert "`metric_ids`" in found.stderr and "'csatt'" in found.stderr


def test_record_ids_limit_the_record_streams(dixa):
    found = discover(dixa_config(dixa, record_ids=["ratings"]))
    names = {s["tap_stream_id"] for s in found.catalog["streams"]}
    assert names == STATIC | {"records_ratings"}
    assert {b["id"] for b in dixa.data_queries("records")} == {
        "ratings"
    }  # only ratings was sampled


def test_a_filter_attribute_dixa_refuses_is_skipped_with_a_warning(dixa, monkeypatch):
    ratings = dict(RECORDS["ratings"], filters=[*RECORDS["ratings"]["filters"], "brand_id"])
    monkeypatch.setitem(RECORDS, "ratings", ratings)
    config = dixa_config(dixa, record_ids=["ratings"], metric_ids=["csat"], end_date="2025-01-07")
    run = run_tap("tap_dixa", config)
    assert run.returncode == 0, run.stderr
    assert "Skipping filter attribute 'brand_id'" in run.stderr and "HTTP 400" in run.stderr
    expected = dixa.expected_primary_keys(config)["filter_values"]
    assert {
        (r["_account_id"], r["filterAttribute"], r["value"]) for r in run.records("filter_values")
    } == expected[1]
