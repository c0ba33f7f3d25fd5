"""BATCH mode: a bookmark only ever follows the BATCH message that carries its records."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from urllib.parse import urlsplit

from kit_thankful import API_KEY as THANKFUL_KEY
from kit_thankful import thankful_config
from kit_thena import API_KEY as THENA_KEY
from kit_thena import expected_ids, thena_config
from tap_runner import TapRun, run_tap

from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator


def _batch_config(root: Path, size: int) -> dict:
    return {
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "storage": {"root": root.as_uri(), "prefix": "batch-"},
        "batch_size": size,
    }


def _batched_records(message: dict) -> list[dict]:
    rows = []
    for uri in message["manifest"]:
        with gzip.open(urlsplit(uri).path, "rt") as handle:
            rows += [json.loads(line) for line in handle if line.strip()]
    return rows


def _walk(run: TapRun):
    """(state, records of every stream delivered in BATCH messages before it), for each STATE."""
    delivered: dict[str, list[dict]] = {}
    for message in run.messages:
        if message["type"] == "RECORD":
            raise AssertionError("RECORD message in BATCH mode")
        if message["type"] == "BATCH":
            delivered.setdefault(message["stream"], []).extend(_batched_records(message))
        if message["type"] == "STATE":
            yield message["value"], {stream: list(rows) for stream, rows in delivered.items()}


def _utc(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _bookmarks(run: TapRun):
    """(stream, bookmark, records of every stream delivered before it), for every bookmark."""
    for state, delivered in _walk(run):
        for stream, entry in state.get("bookmarks", {}).items():
            bookmark = (entry or {}).get("replication_key_value")
            if bookmark:
                yield stream, bookmark, delivered


def _batched_run(module: str, config: dict, root: Path, size: int) -> TapRun:
    """A run of `module` in BATCH mode: files of `size` records under `root`."""
    run = run_tap(module, {**config, "batch_config": _batch_config(root, size)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert len([m for m in run.messages if m["type"] == "BATCH"]) > 1  # several: a real test
    return run


def test_thena_bookmarks_follow_the_batch_that_carries_their_records(tmp_path):
    with ThenaSimulator(api_key=THENA_KEY) as sim:
        config = thena_config(sim, start_date="2025-01-01", end_date="2025-03-01")
        run = _batched_run("tap_thena", config, tmp_path, 400)
        checked = 0
        for _, bookmark, delivered in _bookmarks(run):
            if _utc(bookmark) <= _utc("2025-01-01"):
                continue
            wanted = set(expected_ids(sim, "2025-01-01", bookmark[:19]))
            got = {row["request_id"] for row in delivered.get("requests", [])}
            assert wanted <= got, (
                f"STATE at {bookmark} before {len(wanted - got)} of its records were in a BATCH"
            )
            checked += 1
        every = {
            row["request_id"]
            for _, delivered in [list(_walk(run))[-1]]
            for row in delivered["requests"]
        }
        assert every == set(expected_ids(sim, "2025-01-01", "2025-03-01"))
        assert checked >= 2


def test_thankful_bookmarks_follow_the_batch_that_carries_their_records(tmp_path):
    with ThankfulSimulator(api_key=THANKFUL_KEY) as sim:
        config = thankful_config(sim, start_date="2025-01-01", end_date="2025-01-15")
        run = _batched_run("tap_thankful", config, tmp_path, 5)
    # Day streams: every day before the bookmark is in an earlier BATCH.
    day_bookmarks = [found for found in _bookmarks(run) if found[0] != "actions"]
    for stream, bookmark, delivered in day_bookmarks:
        days = {row["day"] for row in delivered.get(stream, [])}
        day = dt.date(2025, 1, 1)
        while day < _utc(bookmark).date():
            assert day.isoformat() in days or stream == "recommendations", (stream, bookmark, day)
            day += dt.timedelta(days=1)
    assert len(day_bookmarks) >= 5
