"""Every Khoros schema keeps the source row whole: `fields` survives the SDK's flattening as
one column."""

from __future__ import annotations

import json
from pathlib import Path

from singer_sdk.helpers._flattening import flatten_record, flatten_schema

from support_simulators.khoros.reports import REPORT_TYPES
from tap_khoros_care.streams import REPORT_STREAMS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "khoros"


def test_every_report_type_has_a_stream_and_a_schema():
    assert set(REPORT_STREAMS) == set(REPORT_TYPES)
    # Besides the reports, the teams list (GET /teams).
    assert {p.stem for p in SCHEMAS.glob("*.json")} == {*REPORT_TYPES, "teams"}


def test_fields_is_one_json_column_after_flattening():
    for name in REPORT_TYPES:
        schema = json.loads((SCHEMAS / f"{name}.json").read_text())
        flat = flatten_schema(schema, max_level=10)
        assert "fields" in flat["properties"], name
        assert not any(key.startswith("fields__") for key in flat["properties"]), name
        row = {"window_start": "2025-03-01T00:00:00+00:00", "fields": {"NEW_COLUMN": "x", "A": "1"}}
        flattened = flatten_record(row, flat, max_level=10)
        assert json.loads(flattened["fields"]) == {"NEW_COLUMN": "x", "A": "1"}, name
