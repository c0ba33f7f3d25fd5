"""Test helpers for tap-dixa."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import typing as t
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import kit_meltano_project as meltano_project
import tap_runner
from kit_settings import tap_config
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator

API_TOKEN = "dixa-secret-token-4f8e2b"
#: Conversations a day for a simulator whose test needs some rows of every kind but not Dixa's
#: volume (the simulator's default is 40 a day). The tap paces itself at Dixa's published rate
#: (9.5 requests a second) and asks each conversation's notes, so a run of every stream over
#: `dixa_config`'s three days makes about 65 requests instead of about 160.
FEW_CONVERSATIONS = 4


@contextlib.contextmanager
def limit_recovered_before_each_run(sim: DixaSimulator) -> t.Iterator[None]:
    """Each tap run (tap_runner) meets Dixa's rate limit recovered, as a new process does after
    the interpreter's start-up (over half a second: the bucket of 4 refills in 0.4 s). A forked
    run starts at once: a sync right after a discovery would start its burst into the bucket the
    discovery emptied, and be told off with 429s a user never sees."""

    def recover() -> None:
        # The simulator's control API: a fault update (none here) starts a full bucket.
        request = urllib.request.Request(f"{sim.url}/_simulator/faults", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    tap_runner.BEFORE_EACH_RUN.append(recover)
    try:
        yield
    finally:
        tap_runner.BEFORE_EACH_RUN.remove(recover)


def dixa_config(sim: DixaSimulator, **overrides) -> dict:
    settings = {
        "api_token": API_TOKEN,
        "start_date": "2025-01-06",
        "end_date": "2025-01-09",
        "timezone": "UTC",
        "max_retry_after": 2,
    }
    return tap_config(sim, settings, overrides)


@dataclass
class Discovery:
    returncode: int
    catalog: dict | None
    stderr: str

    def stream(self, name: str) -> dict:
        return next(s for s in self.catalog["streams"] if s["tap_stream_id"] == name)


def discover(config: dict, timeout: float = 120) -> Discovery:
    """`python -m tap_dixa --config ... --discover` (its catalog is indented JSON, unlike sync
    output)."""
    done = run_tap("tap_dixa", config, args=("--discover",), timeout=timeout)
    catalog = json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None
    return Discovery(done.returncode, catalog, done.stderr)


def select_only(catalog: dict, *names: str) -> dict:
    """The catalog with only `names` selected."""
    catalog = json.loads(json.dumps(catalog))
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in names
    return catalog


def catalog_of(config: dict, *names: str) -> dict:
    """The catalog discovered with `config`, only `names` selected."""
    found = discover(config)
    assert found.returncode == 0, found.stderr
    return select_only(found.catalog, *names)


#: The streams of the Exports API and the main API's lists (not the Analytics API's).
EXPORTS_AND_LISTS = (
    "conversations",
    "messages",
    "activity_logs",
    "agents",
    "end_users",
    "queues",
    "tags",
    "teams",
    "custom_attributes",
)

#: The queue fields Dixa's model publishes that the tap once kept only in `raw` (issue 19).
QUEUE_FIELDS_ADDED = (
    "doNotOfferTimeouts",
    "offerAbandonedConversations",
    "personalAgentOfflineTimeout",
    "preferredAgentOfflineTimeout",
    "preferredAgentTimeouts",
    "slaCalculationMethod",
)


def keys_of(records: list[dict], columns: tuple[str, ...]) -> set[tuple]:
    return {tuple(r[c] for c in columns) for r in records}


def assert_delivered_exactly(
    run: t.Any, sim: DixaSimulator, config: dict, streams: t.Iterable[str]
) -> None:
    """The run succeeded, and each of `streams` emitted every key the simulator serves for
    `config`, once, keyed as expected."""
    assert run.returncode == 0, run.stderr
    expected = sim.expected_primary_keys(config)
    for stream in streams:
        columns, keys = expected[stream]
        records = run.records(stream)
        assert keys and keys_of(records, columns) == keys, stream
        assert len(records) == len(keys), f"{stream}: a record was emitted twice"
        assert run.schemas()[stream]["key_properties"] == list(columns), stream


ROOT = Path(__file__).resolve().parents[1]
#: The demo's loader: target-duckdb 0.8.0 through loaders/target-duckdb-exact (see meltano.yml).
DUCKDB_LOADER = (
    ROOT / ".meltano" / "loaders" / "target-duckdb" / "venv" / "bin" / "target-duckdb-exact"
)


def duckdb_loader() -> Path:
    """The demo's loader, installed the way `make demo` installs it when it is not there yet."""
    if DUCKDB_LOADER.exists():
        return DUCKDB_LOADER
    with meltano_project.installing():
        if not DUCKDB_LOADER.exists():  # another test may have installed it meanwhile
            env = {**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"}
            subprocess.run(
                [str(Path(sys.executable).parent / "meltano"), "install", "target-duckdb"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=600,
            )
    return DUCKDB_LOADER


def load_into_duckdb(singer_lines: str, database: Path, workdir: Path) -> None:
    """Feed a tap's output to the demo's loader, into schema `tap_dixa` of `database`
    (upserting on keys)."""
    config = workdir / "target.json"
    config.write_text(
        json.dumps(
            {
                "filepath": str(database),
                "default_target_schema": "tap_dixa",
                "add_metadata_columns": False,
            }
        )
    )
    loader = duckdb_loader()
    with meltano_project.running():
        done = subprocess.run(
            [str(loader), "--config", str(config)],
            input=singer_lines,
            text=True,
            capture_output=True,
            timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
