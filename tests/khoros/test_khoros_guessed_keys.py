"""Khoros publishes no column names: the keys the tap reads reports by are our reading of the
exports, except CONVERSATION_ID of the conversation report. A report without a guessed key
still lands, keyed by a hash of the whole row, with one warning naming the report and the
columns found; a conversation report without CONVERSATION_ID is an error naming the report."""

from __future__ import annotations

import re

import pytest
from kit_khoros import khoros_config, khoros_simulator
from tap_runner import run_tap

HASH = re.compile(r"^[0-9a-f]{32}$")


def _warnings(run, about: str) -> list[str]:
    return [line for line in run.stderr.splitlines() if "WARNING" in line and about in line]


@pytest.mark.parametrize(
    ("report", "metrics", "key", "missing"),
    [
        # An id column we guessed: POST_ID of the posts and responses reports.
        ("response", ["conversation_id", "agent_id", "content"], "POST_ID", "POST_ID"),
        ("combined", ["conversation_id", "network", "content"], "POST_ID", "POST_ID"),
        ("incoming_post", ["conversation_id", "author_id", "content"], "POST_ID", "POST_ID"),
        # Identity columns we guessed: the row hash then covers the whole row.
        (
            "raw_agent_states",
            ["agent_id", "state", "duration_seconds"],
            "_row_hash",
            "STATE_STARTED_AT",
        ),
    ],
)
def test_a_report_without_a_guessed_key_lands_keyed_by_a_hash_of_the_whole_row(
    report, metrics, key, missing
):
    with khoros_simulator() as sim:
        config = khoros_config(
            sim, report_types=[report], reportMetrics={report: metrics}, end_date="2025-03-02"
        )
        first = run_tap("tap_khoros_care", config)
        again = run_tap("tap_khoros_care", config)
    assert first.returncode == 0, first.stderr[-3000:]
    records = first.records(report)
    assert records, "the simulator served rows"
    assert all(HASH.match(r[key]) for r in records)
    # Stable: the same rows get the same keys in the next run.
    assert sorted(r[key] for r in records) == sorted(r[key] for r in again.records(report))
    # Nothing of the row is lost: every field Khoros sent is in `fields`.
    assert all(set(r["fields"]) == {m.upper() for m in metrics} for r in records)
    [warning] = _warnings(first, f"report `{report}`")
    assert f"without {missing}, the key this tap reads it by (a guess" in warning
    assert f"Columns found: {', '.join(sorted(m.upper() for m in metrics))}." in warning


def test_a_conversation_report_without_its_published_key_is_an_error_naming_the_report():
    with khoros_simulator() as sim:
        config = khoros_config(
            sim,
            report_types=["conversation"],
            reportMetrics={"conversation": ["status", "network"]},
            end_date="2025-03-02",
        )
        run = run_tap("tap_khoros_care", config)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert "Khoros sent a row of report `conversation` (CREATED) for window " in last
    assert "without CONVERSATION_ID, which Khoros documents as its key. " in last
    assert last.endswith("Columns found: NETWORK, STATUS.")
    assert run.bookmark("conversation") is None


def test_rows_with_their_guessed_keys_say_nothing():
    with khoros_simulator() as sim:
        config = khoros_config(sim, report_types=["response", "raw_agent_states"])
        run = run_tap("tap_khoros_care", config)
    assert run.returncode == 0, run.stderr[-3000:]
    assert not _warnings(run, "the key this tap reads it by")
