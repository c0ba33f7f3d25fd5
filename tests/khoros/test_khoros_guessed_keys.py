"""Khoros publishes no column names: the keys the tap reads reports by are our reading of the
exports, except CONVERSATION_ID of the conversation report. A report without a guessed key
still lands, keyed by a hash of the whole row, with one warning naming the report and the
columns found; a conversation report without CONVERSATION_ID is an error naming the report."""

from __future__ import annotations

import re

import pytest
from kit_khoros import khoros_config, khoros_simulator
from tap_runner import run_tap

from support_simulators.khoros.reports import COLUMNS
from tap_khoros_care.streams import REPORT_STREAMS

HASH = re.compile(r"^[0-9a-f]{32}$")


def _warnings(run, about: str) -> list[str]:
    return [line for line in run.stderr.splitlines() if "WARNING" in line and about in line]


def _guessed() -> list[tuple[str, list[str], str, str]]:
    """Every report stream whose key columns are our reading of the exports (found from the
    tap): the report, metrics leaving every key column out, the key field, the missing names."""
    cases = []
    for name, stream in REPORT_STREAMS.items():
        keys = (stream.id_column,) if stream.id_column else stream.identity_columns
        if not keys or stream.key_published:
            continue
        metrics = [c.lower() for c in COLUMNS[name] if c not in keys][:3]
        cases.append((name, metrics, stream.id_column or "_row_hash", ", ".join(keys)))
    return cases


@pytest.mark.parametrize(("report", "metrics", "key", "missing"), _guessed())
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


def test_every_guessed_key_is_covered():
    """The reports above are the tap's own: every report but the one with a published key and
    the two without key columns (keyed by a hash of the whole row anyway)."""
    guessed = {case[0] for case in _guessed()}
    assert set(REPORT_STREAMS) - guessed == {
        "conversation",
        "conversation_actions",
        "conversation_history_action",
    }


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
