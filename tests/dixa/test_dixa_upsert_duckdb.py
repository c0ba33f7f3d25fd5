"""A record whose measure Dixa revised lands on the row it revises: two loads into DuckDB through
the demo's loader (target-duckdb via loaders/target-duckdb-exact), same row counts, new values."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest
from kit_dixa import API_TOKEN, dixa_config
from support_simulators.dixa import DixaSimulator
from tap_runner import run_tap

ROOT = Path(__file__).resolve().parents[2]
LOADER = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "target-duckdb-exact"
MEASURED = {"records_closed_conversations": "handling_duration", "records_ratings": "rating_score",
            "records_first_response_times": "response_time", "records_agent_presence": "duration"}


@pytest.fixture(scope="module")
def loader() -> Path:
    """The demo's loader, installed the way `make demo` installs it."""
    if not LOADER.exists():
        env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
        subprocess.run([str(ROOT / ".venv" / "bin" / "meltano"), "install", "target-duckdb"],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    return LOADER


def load(loader: Path, singer_lines: str, database: Path, workdir: Path) -> None:
    config = workdir / "target.json"
    config.write_text(json.dumps({"filepath": str(database), "default_target_schema": "tap_dixa",
                                  "add_metadata_columns": False}))
    done = subprocess.run([str(loader), "--config", str(config)], input=singer_lines, text=True,
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


def table(database: Path, stream: str, columns: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f'select {columns} from tap_dixa."{stream}" order by all').fetchall()


def test_a_revised_measure_upserts_onto_the_same_key(loader, tmp_path):
    database = tmp_path / "warehouse.duckdb"
    with DixaSimulator(api_token=API_TOKEN) as sim:
        config = dixa_config(sim, end_date="2025-01-08", metric_ids=["csat"])
        first = run_tap("tap_dixa", config)
        assert first.returncode == 0, first.stderr
        load(loader, first.stdout, database, tmp_path)
        before = {s: table(database, s, f'"{m}"') for s, m in MEASURED.items()}
        counts = {s: len(first.records(s)) for s in MEASURED}

        sim.dataset.revise()  # Dixa recomputes every duration, score and response time
        second = run_tap("tap_dixa", config)
        assert second.returncode == 0, second.stderr
        load(loader, second.stdout, database, tmp_path)

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
