"""The `_type` mapping: how each documented field type becomes a typed column (in-process,
no HTTP)."""

from __future__ import annotations

import json

import pytest

from tap_dixa.fields import (
    FIELD_TYPES,
    JSON_COLUMN,
    TEXT_COLUMN,
    Column,
    column_schema,
    record_schema,
)

DOCUMENTED = {
    "BooleanField": (["boolean", "null"], None, False),
    "DoubleField": (["number", "null"], None, False),
    "IntField": (["integer", "null"], None, False),
    "LongField": (["integer", "null"], None, False),
    "InstantField": (["string", "null"], "date-time", False),
    "TimestampField": (["string", "null"], "date-time", False),
    "StringField": (["string", "null"], None, True),
    "UUIDField": (["string", "null"], None, True),
    "ListField": (["array", "null"], None, False),
}


def test_every_documented_type_is_mapped():
    assert set(FIELD_TYPES) == set(DOCUMENTED)


@pytest.mark.parametrize("kind", sorted(DOCUMENTED))
def test_documented_type_becomes_a_typed_column(kind):
    types, fmt, labelled = DOCUMENTED[kind]
    schema, has_label = column_schema({kind})
    assert schema["type"] == types
    assert schema.get("format") == fmt
    assert has_label is labelled


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ({"value": True, "_type": "BooleanField"}, True),
        ({"value": 1.5, "_type": "DoubleField"}, 1.5),
        ({"value": 7, "_type": "IntField"}, 7),
        ({"value": 184472, "_type": "LongField"}, 184472),
        (
            {"value": "2023-04-21T10:23:14.293Z", "_type": "InstantField"},
            "2023-04-21T10:23:14.293000+00:00",
        ),
        (
            {"name": "closed_at", "timestamp": "2023-04-21T10:24:04Z", "_type": "TimestampField"},
            "2023-04-21T10:24:04+00:00",
        ),
        ({"value": "EMAIL", "label": "Email", "_type": "StringField"}, "EMAIL"),
        (
            {"value": "5d6f3c7e-0000-4000-8000-000000000001", "_type": "UUIDField"},
            "5d6f3c7e-0000-4000-8000-000000000001",
        ),
        ({"values": ["vip", "refund"], "_type": "ListField"}, ["vip", "refund"]),
    ],
)
def test_values_convert_to_their_column_type(field, expected):
    schema, _ = column_schema({field["_type"]})
    assert Column("f", schema, None).convert(field) == (expected, True)


def test_unknown_type_is_kept_as_json():
    schema, labelled = column_schema({"DurationField"})
    assert schema == JSON_COLUMN and not labelled
    field = {"value": "PT5M", "_type": "DurationField"}
    assert Column("f", schema, None).convert(field) == (field, True)


def test_a_field_never_seen_is_text_and_takes_any_type():
    schema, _ = column_schema(set())
    assert schema == TEXT_COLUMN
    column = Column("f", schema, None)
    assert column.convert({"value": 3, "_type": "LongField"}) == ("3", True)
    assert column.convert({"values": ["a"], "_type": "ListField"}) == ('["a"]', True)
    assert column.convert({"value": "x", "_type": "NewField"}) == (
        '{"_type": "NewField", "value": "x"}',
        True,
    )


def test_mixed_types_widen():
    assert column_schema({"IntField", "LongField"})[0]["type"] == ["integer", "null"]
    assert column_schema({"IntField", "DoubleField"})[0]["type"] == ["number", "null"]
    assert column_schema({"InstantField", "TimestampField"})[0]["format"] == "date-time"
    assert column_schema({"StringField", "LongField"}) == (TEXT_COLUMN, True)


def test_a_value_that_does_not_fit_is_left_empty_and_reported():
    column = Column("f", column_schema({"LongField"})[0], None)
    assert column.convert({"value": 1.5, "_type": "DoubleField"}) == (None, False)
    assert column.convert({"value": "PT5M", "_type": "DurationField"}) == (None, False)
    assert column.convert({"_type": "LongField"}) == (None, True)  # null is always fine


def test_record_schema_from_fields_metadata():
    entry = {
        "id": "ratings",
        "fieldsMetadata": [
            {"field": "conversation_id", "description": "Conversation ID", "nullable": False},
            {"field": "agent_id", "description": "The agent", "nullable": True},
            {"field": "note", "description": "Never seen", "nullable": True},
        ],
    }
    schema = record_schema(entry, {"conversation_id": {"LongField"}, "agent_id": {"UUIDField"}})
    properties = schema["properties"]
    assert list(properties) == [
        "primary_timestamp",
        "conversation_id",
        "agent_id",
        "agent_id_label",
        "note",
        "raw",
    ]
    assert properties["primary_timestamp"] == {
        "type": ["string"],
        "format": "date-time",
        "description": "The record's primary timestamp (primaryTimestampField), UTC.",
    }
    assert properties["conversation_id"] == {
        "type": ["integer", "null"],
        "description": "Conversation ID",
    }
    assert properties["note"]["type"] == ["string", "null"]


def test_raw_survives_flattening_as_one_json_column():
    from singer_sdk.helpers._flattening import flatten_record, flatten_schema

    entry = {"id": "ratings", "fieldsMetadata": [{"field": "conversation_id", "nullable": False}]}
    schema = record_schema(entry, {"conversation_id": {"LongField"}})
    flat = flatten_schema(schema, max_level=3)
    assert flat["properties"]["raw"]["type"] == ["string", "null"]  # one JSON column
    assert not [name for name in flat["properties"] if name.startswith("raw__")]
    raw = {
        "primaryTimestampField": {"name": "rated_at", "timestamp": "2025-01-06T10:00:00.000Z"},
        "fields": [{"name": "conversation_id", "field": {"value": 7, "_type": "LongField"}}],
    }
    record = flatten_record({"conversation_id": 7, "raw": raw}, flat, max_level=3)
    assert json.loads(record["raw"]) == raw
