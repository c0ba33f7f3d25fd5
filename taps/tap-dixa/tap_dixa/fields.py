"""Dixa record fields: how each field `_type` becomes a typed column, and its values."""

from __future__ import annotations

import json
import typing as t

from support_taps.normalize import to_integer, to_number, to_utc_iso

#: Each documented field `_type`: (column JSON schema, which key holds the value, has a label).
FIELD_TYPES: dict[str, tuple[dict[str, t.Any], str, bool]] = {
    "BooleanField": ({"type": ["boolean", "null"]}, "value", False),
    "DoubleField": ({"type": ["number", "null"]}, "value", False),
    "IntField": ({"type": ["integer", "null"]}, "value", False),
    "LongField": ({"type": ["integer", "null"]}, "value", False),
    "InstantField": ({"type": ["string", "null"], "format": "date-time"}, "value", False),
    "TimestampField": ({"type": ["string", "null"], "format": "date-time"}, "timestamp", False),
    "StringField": ({"type": ["string", "null"]}, "value", True),
    "UUIDField": ({"type": ["string", "null"]}, "value", True),
    "ListField": ({"type": ["array", "null"], "items": {}}, "values", False),
}
#: A `_type` the tap does not know: the field object is kept whole, as JSON.
JSON_COLUMN: dict[str, t.Any] = {"type": ["object", "null"], "additionalProperties": True}
#: A field discovery never saw a value of: kept as text, whatever its `_type` turns out to be.
TEXT_COLUMN: dict[str, t.Any] = {"type": ["string", "null"]}
PRIMARY_TIMESTAMP = "primary_timestamp"


#: Names Dixa gives a conversation's id in records: `fieldsMetadata` says `conversation_id`
#: where the published rows of the same record carry `csid` (Dixa's docs, closed_conversations).
CONVERSATION_IDS = ("conversation_id", "csid")
RAW = "raw"
RAW_COLUMN: dict[str, t.Any] = {
    "type": ["object", "null"],
    "description": "The record exactly as Dixa sent it (primaryTimestampField and every field).",
}


def column_schema(observed: set[str]) -> tuple[dict[str, t.Any], bool]:
    """(JSON schema, has a label column) for a field whose values had these `_type`s."""
    known = observed & FIELD_TYPES.keys()
    if not observed:
        return dict(TEXT_COLUMN), False
    if observed - known:
        return (dict(JSON_COLUMN), False) if not known else (dict(TEXT_COLUMN), False)
    if len(known) == 1:
        schema, _, labelled = FIELD_TYPES[next(iter(known))]
        return dict(schema), labelled
    if known <= {"IntField", "LongField"}:
        return {"type": ["integer", "null"]}, False
    if known <= {"IntField", "LongField", "DoubleField"}:
        return {"type": ["number", "null"]}, False
    if known <= {"InstantField", "TimestampField"}:
        return {"type": ["string", "null"], "format": "date-time"}, False
    labelled = bool(known & {"StringField", "UUIDField"})
    return dict(TEXT_COLUMN), labelled


def record_schema(
    entry: t.Mapping[str, t.Any], observed: t.Mapping[str, set[str]]
) -> dict[str, t.Any]:
    """A record id's schema: the primary timestamp, a column per field (those `fieldsMetadata`
    lists, then those seen in sampled rows that it does not list), typed from the `_type`s seen
    (and a `<field>_label` column for labelled types), and `raw`, the whole row."""
    properties: dict[str, t.Any] = {
        PRIMARY_TIMESTAMP: {
            "type": ["string"],
            "format": "date-time",
            "description": "The record's primary timestamp (primaryTimestampField), UTC.",
        },
    }
    metadata = {m.get("field"): m for m in entry.get("fieldsMetadata") or [] if m.get("field")}
    for name in [*metadata, *[n for n in observed if n not in metadata]]:
        if name in (PRIMARY_TIMESTAMP, RAW) or name in properties:
            continue
        seen = observed.get(name, set())
        if not seen and name in CONVERSATION_IDS:  # typed like its alias (csid for conversation_id)
            seen = next((observed[a] for a in CONVERSATION_IDS if observed.get(a)), set())
        schema, labelled = column_schema(seen)
        description = (metadata.get(name) or {}).get("description")
        schema["description"] = (
            str(description)
            if description
            else "A field Dixa sends that fieldsMetadata does not list."
        )
        properties[name] = schema
        if labelled:
            properties[f"{name}_label"] = {
                "type": ["string", "null"],
                "description": f"Label of {name}.",
            }
    properties[RAW] = dict(RAW_COLUMN)
    return {"type": "object", "properties": properties}


class Column:
    """How one field's values become a column value, given the column's schema type."""

    def __init__(self, name: str, schema: t.Mapping[str, t.Any], label: str | None) -> None:
        self.name, self.label = name, label
        types = schema.get("type") or []
        types = {types} if isinstance(types, str) else set(types)
        if "object" in types:
            self.kind = "json"
        elif "array" in types:
            self.kind = "array"
        elif "boolean" in types:
            self.kind = "boolean"
        elif "integer" in types:
            self.kind = "integer"
        elif "number" in types:
            self.kind = "number"
        elif schema.get("format") == "date-time":
            self.kind = "datetime"
        else:
            self.kind = "text"

    def convert(self, field: dict[str, t.Any]) -> tuple[t.Any, bool]:
        """(column value, whether it fits the column)."""
        spec = FIELD_TYPES.get(str(field.get("_type")))
        if self.kind == "json":
            return field, True
        if spec is None:  # an unknown `_type` in a typed column: keep it as JSON text where we can
            return (
                (json.dumps(field, sort_keys=True), True) if self.kind == "text" else (None, False)
            )
        raw = field.get(spec[1])
        if raw is None:
            return None, True
        kind = self.kind
        value: t.Any
        if kind == "text":
            return (raw if isinstance(raw, str) else json.dumps(raw)), True
        if kind == "integer":
            value = to_integer(raw) if not isinstance(raw, bool) else None
        elif kind == "number":
            value = to_number(raw) if not isinstance(raw, bool) else None
        elif kind == "boolean":
            value = raw if isinstance(raw, bool) else None
        elif kind == "datetime":
            value = to_utc_iso(raw)
        else:  # array
            value = raw if isinstance(raw, list) else [raw]
        return value, value is not None
