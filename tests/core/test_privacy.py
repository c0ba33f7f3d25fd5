"""support_taps.privacy: named fields hashed or dropped at every depth, never in place; the
output schema; the settings a tap refuses."""

from __future__ import annotations

import copy
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support_taps.privacy import (
    FieldRules,
    RecordPrivacy,
    key_errors,
    output_schema,
    privacy_setting_errors,
)

SALT = "a-salt-of-some-length-9f2c"


def expected(text: str, salt: str = SALT) -> str:
    """HMAC-SHA256 of `text`, computed here independently of the module under test."""
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def privacy(hashed=(), dropped=(), salt=SALT) -> RecordPrivacy:
    return RecordPrivacy(FieldRules(hashed, dropped), salt)


def test_a_named_field_is_hashed_everywhere_it_appears():
    record = {
        "requestor_email": "pat@globex.com",
        "raw": {
            "requestor_email": "pat@globex.com",
            "thread": [{"author": {"Requestor_Email": "kim@initech.com"}}],
        },
        "fields": {"REQUESTOR_EMAIL": "pat@globex.com", "OTHER": "kept"},
    }
    out = privacy(["requestor_email"])(record)
    assert out["requestor_email"] == expected("pat@globex.com")
    assert out["raw"]["requestor_email"] == expected("pat@globex.com")
    assert out["raw"]["thread"][0]["author"]["Requestor_Email"] == expected("kim@initech.com")
    assert out["fields"] == {"REQUESTOR_EMAIL": expected("pat@globex.com"), "OTHER": "kept"}


def test_patterns_match_any_case_and_dropped_fields_go_at_every_depth():
    record = {
        "assignee_email": "a@x.io",
        "phone": "+45 1234",
        "raw": {"requester": {"Email_Address": "b@y.io", "Phone": "+1 555", "id": 7}},
        "list": [{"phone": "1"}, {"keep": True}],
    }
    out = privacy(["*email*"], ["phone"])(record)
    assert out == {
        "assignee_email": expected("a@x.io"),
        "raw": {"requester": {"Email_Address": expected("b@y.io"), "id": 7}},
        "list": [{}, {"keep": True}],
    }


def test_dixa_name_field_pairs_are_hashed_or_dropped_by_their_name():
    raw = {
        "primaryTimestampField": {"name": "created_at", "timestamp": "2025-01-01T00:00:00Z"},
        "fields": [
            {"name": "csid", "field": {"_type": "LongField", "value": 42}},
            {"name": "rating_comment", "field": {"_type": "StringField", "value": "Rude!"}},
            {
                "name": "agent_id",
                "field": {"_type": "UUIDField", "value": "u-1", "label": "Jane Smith"},
            },
            {"name": "tags", "field": {"_type": "ListField", "values": ["vip", "angry"]}},
        ],
    }
    out = privacy(["rating_comment", "tags"], ["agent_id"])({"raw": raw})
    fields = out["raw"]["fields"]
    assert [f["name"] for f in fields] == ["csid", "rating_comment", "tags"]
    assert fields[0] == {"name": "csid", "field": {"_type": "LongField", "value": 42}}
    assert fields[1]["field"] == {"_type": "StringField", "value": expected("Rude!")}
    assert fields[2]["field"] == {
        "_type": "ListField",
        "values": [expected("vip"), expected("angry")],
    }
    assert out["raw"]["primaryTimestampField"] == raw["primaryTimestampField"]


def test_values_hash_as_text_shapes_and_empty_values_are_kept():
    out = privacy(["a", "b", "c", "d", "e", "f"])(
        {"a": 3292, "b": "3292", "c": None, "d": "", "e": [1, None], "f": {"x": True}}
    )
    assert out["a"] == out["b"] == expected("3292")  # a number and its text join
    assert out["c"] is None and out["d"] == ""
    assert out["e"] == [expected("1"), None]
    assert out["f"] == {"x": expected("true")}


def test_records_are_never_changed_in_place():
    """Thankful's four /tickets streams share one answer: hashing one stream's `raw` in place
    would hash the next stream's columns twice."""
    shared = {"TopActions": [{"ID": 1, "Name": "Return Order"}]}
    first = {"raw": shared}
    before = copy.deepcopy(shared)
    out = privacy(["Name"])(first)
    assert shared == before
    assert out["raw"]["TopActions"][0]["Name"] == expected("Return Order")


def test_the_same_value_gives_the_same_hash_in_every_run_and_another_salt_another_hash():
    one = privacy(["email"])({"email": "pat@globex.com"})
    two = privacy(["email"])({"email": "pat@globex.com"})
    other = privacy(["email"], salt="another-salt-of-length")({"email": "pat@globex.com"})
    assert one == two
    assert other != one


#: Texts that cannot be mistaken for a hash (lowercase hex) or a field name.
_texts = st.text(alphabet="GHJKLMNPQRSTUVWXYZ ", min_size=1, max_size=12)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), _texts)
_names = st.sampled_from(["email", "Email", "text", "id", "name", "note", "value", "field"])
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
    max_leaves=25,
)


def _texts_in(node, under_email: bool | None = None, named: bool = False):
    """The texts of `node`: those under an `email` name (any case) when `under_email` is True,
    the others when False."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _texts_in(value, under_email, named or key.lower() == "email")
    elif isinstance(node, list):
        for item in node:
            yield from _texts_in(item, under_email, named)
    elif isinstance(node, str) and (under_email is None or named is under_email):
        yield node


def _names_in(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _names_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from _names_in(item)


@given(st.dictionaries(_names, _json, max_size=6))
def test_generated_records_never_keep_a_named_value_or_a_dropped_name(record):
    """Whatever the nesting, no text under a hashed name survives (unless the same text also
    sits under a name that is not hashed) and no dropped name does."""
    out = privacy(["email"], ["note"])(copy.deepcopy(record))
    secret = set(_texts_in(record, under_email=True)) - set(_texts_in(record, under_email=False))
    assert not secret & set(_texts_in(out))
    assert "note" not in set(_names_in(out))


# ---- the schema the records leave with ---------------------------------------------------


SCHEMA = {
    "type": "object",
    "properties": {
        "request_id": {"type": ["integer"]},
        "csat_score": {"type": ["number", "null"]},
        "assigned_on": {"type": ["string", "null"], "format": "date-time"},
        "ai_tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "requestor_email": {"type": ["string", "null"]},
        "customer_name": {"type": ["string", "null"]},
        "raw": {"type": ["object", "null"]},
        "requester": {
            "type": ["object", "null"],
            "properties": {"id": {"type": ["integer", "null"]}, "phone": {"type": "string"}},
        },
    },
    "required": ["request_id", "customer_name"],
}


def test_hashed_typed_columns_become_text_and_dropped_ones_leave_the_schema():
    rules = FieldRules(["csat_score", "assigned_on", "ai_tags", "requestor_email", "requester"])
    rules_drop = FieldRules(["csat_score"], ["customer_name", "phone"])
    out = output_schema(SCHEMA, rules)
    assert out["properties"]["csat_score"] == {"type": ["string", "null"]}
    assert out["properties"]["assigned_on"] == {"type": ["string", "null"]}
    assert out["properties"]["ai_tags"] == SCHEMA["properties"]["ai_tags"]  # strings already
    assert out["properties"]["requestor_email"] == SCHEMA["properties"]["requestor_email"]
    assert out["properties"]["requester"]["properties"]["id"] == {"type": ["string", "null"]}
    assert out["properties"]["raw"] == SCHEMA["properties"]["raw"]
    dropped = output_schema(SCHEMA, rules_drop)
    assert "customer_name" not in dropped["properties"]
    assert "phone" not in dropped["properties"]["requester"]["properties"]
    assert dropped["required"] == ["request_id"]
    assert SCHEMA["required"] == ["request_id", "customer_name"]  # the input is left alone
    assert output_schema(SCHEMA, FieldRules(["unknown"])) is SCHEMA


def test_key_columns_cannot_be_named():
    rules = FieldRules(["*_id"], ["day"])
    errors = key_errors("handoffs", ("day", "action_id"), "day", rules)
    assert errors == [
        "The setting `pii_drop_fields` names `day`, a primary key column of stream `handoffs`: "
        "hashing or dropping it would merge or lose rows. Name the other fields only.",
        "The setting `pii_hash_fields` names `action_id`, a primary key column of stream "
        "`handoffs`: hashing or dropping it would merge or lose rows. Name the other fields only.",
        "The setting `pii_drop_fields` names `day`, the replication key of stream `handoffs`: "
        "hashing or dropping it would merge or lose rows. Name the other fields only.",
    ]
    assert key_errors("handoffs", ("day",), "day", FieldRules(["cause"])) == []


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"pii_hash_fields": ["email"]}, "needs `pii_salt`, a secret of at least 16"),
        ({"pii_hash_fields": ["email"], "pii_salt": "short"}, "needs `pii_salt`"),
        ({"pii_drop_fields": [" "]}, "`pii_drop_fields` has an empty field name"),
    ],
)
def test_settings_a_hash_cannot_work_with(config, error):
    errors = privacy_setting_errors(config)
    assert len(errors) == 1 and error in errors[0]


def test_no_setting_no_privacy_step():
    assert RecordPrivacy.from_config({}) is None
    assert RecordPrivacy.from_config({"pii_hash_fields": [], "pii_drop_fields": []}) is None
    assert privacy_setting_errors({"pii_drop_fields": ["phone"]}) == []
