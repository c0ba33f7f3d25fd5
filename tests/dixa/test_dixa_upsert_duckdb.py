"""A record whose measure Dixa revised lands on the row it revises: two loads into DuckDB through
the demo's loader (target-duckdb via loaders/target-duckdb-exact), same row counts, new values."""

from __future__ import annotations

from pathlib import Path

import duckdb
from kit_dixa import (
    API_TOKEN,
    catalog_of,
    dixa_config,
    limit_recovered_before_each_run,
    load_into_duckdb,
)
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator

MEASURED = {
    "records_closed_conversations": "handling_duration",
    "records_ratings": "rating_score",
    "records_first_response_times": "response_time",
    "records_agent_presence": "duration",
}


def table(database: Path, stream: str, columns: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f'select {columns} from tap_dixa."{stream}" order by all').fetchall()


def test_a_revised_measure_upserts_onto_the_same_key(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    with DixaSimulator(api_token=API_TOKEN) as sim, limit_recovered_before_each_run(sim):
        config = dixa_config(sim, end_date="2025-01-08", metric_ids=["csat"])
        # The streams of the measures Dixa revises, not every conversation's notes.
        catalog = catalog_of(config, *MEASURED)
        first = run_tap("tap_dixa", config, catalog=catalog)
        assert first.returncode == 0, first.stderr
        load_into_duckdb(first.stdout, database, tmp_path)
        before = {s: table(database, s, f'"{m}"') for s, m in MEASURED.items()}
        counts = {s: len(first.records(s)) for s in MEASURED}

        sim.dataset.revise()  # Dixa recomputes every duration, score and response time
        second = run_tap("tap_dixa", config, catalog=catalog)
        assert second.returncode == 0, second.stderr
        load_into_duckdb(second.stdout, database, tmp_path)

    for stream, measure in MEASURED.items():
        keys = ", ".join(f'"{k}"' for k in first.schemas()[stream]["key_properties"])
        assert measure not in first.schemas()[stream]["key_properties"]
        rows = table(database, stream, keys)
        assert counts[stream] > 10
        assert len(rows) == counts[stream] == len(set(rows)), f"{stream}: a revision added rows"
        after = table(database, stream, f'"{measure}"')
        assert after != before[stream], f"{stream}: the revised {measure} did not land"
    revised = {r["conversation_id"]: r["rating_score"] for r in second.records("records_ratings")}
    original = {r["conversation_id"]: r["rating_score"] for r in first.records("records_ratings")}
    assert revised.keys() == original.keys()
    assert all(revised[c] == original[c] % 5 + 1 for c in original)
