"""Test helpers for tap-dixa."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from support_simulators.dixa import DixaSimulator

API_TOKEN = "dixa-secret-token-4f8e2b"


def dixa_config(sim: DixaSimulator, **overrides) -> dict:
    config = {
        "api_token": API_TOKEN,
        "api_url": sim.url,
        "start_date": "2025-01-06",
        "end_date": "2025-01-09",
        "timezone": "UTC",
        "retry_base_wait": 0.05,
        "max_retry_after": 2,
        **overrides,
    }
    return {k: v for k, v in config.items() if v is not None}


@dataclass
class Discovery:
    returncode: int
    catalog: dict | None
    stderr: str

    def stream(self, name: str) -> dict:
        return next(s for s in self.catalog["streams"] if s["tap_stream_id"] == name)


def discover(config: dict, timeout: float = 120) -> Discovery:
    """`python -m tap_dixa --config ... --discover` (its catalog is indented JSON, unlike sync output)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "config.json")
        path.write_text(json.dumps(config))
        done = subprocess.run([sys.executable, "-m", "tap_dixa", "--config", str(path), "--discover"],
                              capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
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


def keys_of(records: list[dict], columns: tuple[str, ...]) -> set[tuple]:
    return {tuple(r[c] for c in columns) for r in records}
