"""The demo's DuckDB tables hold exactly what the simulators served for the demo's range.

Runs the real demo (scripts/demo.py: Meltano, each tap, its simulator, target-duckdb)
into a temporary DuckDB file, then compares every stream's table with the primary
keys the simulator says a full run over that configuration delivers: the same
number of rows, no duplicates, and the same keys. This is also what proves the
loader keeps every record (see the duckdb pin in meltano.yml).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import demo  # scripts/demo.py (pytest pythonpath)
import duckdb
import kit_meltano_project as meltano_project
import pytest
from kit_keys import plain

from support_simulators.registry import simulator_class

ROOT = Path(__file__).resolve().parents[1]

TAPS = demo.demo_taps()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    warehouse, summary = out / "warehouse.duckdb", out / "summary.json"
    with meltano_project.installing():  # the demo installs its plugins first
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "scripts" / "demo.py"),
                "--duckdb",
                str(warehouse),
                "--summary",
                str(summary),
                "--logs",
                str(out / "logs"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return warehouse, json.loads(summary.read_text()), done.stdout


def test_demo_covers_every_tap_with_a_simulator(demo_run):
    _, summary, stdout = demo_run
    assert "tap-thena" in TAPS
    assert summary["failed"] == []
    assert "What landed in" in stdout
    for tap in TAPS:
        schema = tap.replace("-", "_")
        assert any(table.startswith(schema + ".") for table in summary["tables"]), (
            f"{tap} loaded nothing"
        )


@pytest.mark.parametrize("tap", TAPS)
def test_tables_hold_exactly_what_the_simulator_served(demo_run, tap):
    warehouse, summary, _ = demo_run
    simulator = simulator_class(demo.SIMULATOR_OF[tap])(seed=7)
    expected = simulator.expected_primary_keys(demo.simulator_config(tap))
    schema = tap.replace("-", "_")
    assert any(keys for _, keys in expected.values()), f"{tap}: nothing to compare"
    if tap == "tap-thena":
        assert sum(len(keys) for _, keys in expected.values()) >= 5000  # the minimum volume
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for stream, (key_columns, keys) in expected.items():
            table = f'"{schema}"."{stream.lower()}"'
            columns = ", ".join(f'"{c.lower()}"' for c in key_columns)
            rows = con.execute(f"select {columns} from {table}").fetchall()
            loaded = {tuple(plain(v) for v in row) for row in rows}
            assert len(rows) == len(loaded), f"{schema}.{stream}: duplicate keys"
            assert len(rows) == len(keys), (
                f"{schema}.{stream}: {len(rows)} rows, simulator served {len(keys)}"
            )
            assert loaded == {tuple(plain(v) for v in key) for key in keys}, (
                f"{schema}.{stream}: keys differ"
            )


@pytest.mark.parametrize(
    ("executable", "rows_kept"), [("target-duckdb-exact", 3), ("target-duckdb", 2)]
)
def test_loader_keeps_the_first_row_of_an_all_text_batch(demo_run, tmp_path, executable, rows_kept):
    """The demo's loader keeps every row; the unwrapped target-duckdb 0.8.0 drops one (why the
    wrapper exists)."""
    loader = ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / executable
    schema = {
        "type": "SCHEMA",
        "stream": "letters",
        "key_properties": ["id"],
        "schema": {"properties": {"id": {"type": "string"}, "label": {"type": ["string", "null"]}}},
    }
    records = [
        {"type": "RECORD", "stream": "letters", "record": {"id": f"id-{n}", "label": f"label {n}"}}
        for n in range(3)
    ]
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"filepath": str(tmp_path / "letters.duckdb"), "default_target_schema": "s"})
    )
    lines = "\n".join(json.dumps(m) for m in [schema, *records]) + "\n"
    subprocess.run(
        [str(loader), "--config", str(config)],
        input=lines,
        text=True,
        check=True,
        capture_output=True,
        timeout=120,
    )
    with duckdb.connect(str(tmp_path / "letters.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from s.letters").fetchone()[0] == rows_kept
