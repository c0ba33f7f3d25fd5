"""`raw` stays one JSON column when a target flattens records (target-postgres does, with
`flattening_enabled`): the SDK's own flattening, applied to what the tap emits."""

from __future__ import annotations

import json

from kit_xenioo import STREAMS, xenioo_config
from singer_sdk.helpers._flattening import flatten_record, flatten_schema
from tap_runner import run_tap


def test_raw_survives_the_sdks_flattening(xenioo):
    run = run_tap("tap_xenioo", xenioo_config(xenioo, types=[3, 12], bot_types=[18]))
    assert run.returncode == 0, run.stderr
    for stream in STREAMS:
        schema = run.schemas()[stream]["schema"]
        flat_schema = flatten_schema(schema, max_level=10)
        # Declared as an object with no properties: flattened into one JSON column.
        assert "raw" in flat_schema["properties"], stream
        assert not [name for name in flat_schema["properties"] if name.startswith("raw__")], stream
        records = run.records(stream)
        assert records, stream
        for record in records[:50]:
            flat = flatten_record(record, flattened_schema=flat_schema, max_level=10)
            assert not [key for key in flat if key.startswith("raw__")], (stream, sorted(flat))
            assert set(flat) <= set(flat_schema["properties"]), stream
            assert json.loads(flat["raw"]) == record["raw"]
            assert record["raw"]["GroupLabel"] == record["group_label"]
