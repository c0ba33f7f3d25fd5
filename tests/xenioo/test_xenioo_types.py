"""The statistic type of each row, from what Xenioo publishes, against the simulator's variants."""

from __future__ import annotations

from kit_xenioo import primary_keys, simulator, xenioo_config
from tap_runner import run_tap

from tap_xenioo.client import STATISTIC_TYPES
from tap_xenioo.streams import STATISTICS_KEY

BREAKDOWN_LABELS = {
    "Greeting",
    "Order Status",
    "Refund",
    "Opening Hours",
    "Human Handover",
    "Lead Captured",
    "Ticket Created",
    "Order Tracked",
}


def test_by_default_every_row_is_typed_from_its_label_and_no_key_column_is_null(xenioo):
    config = xenioo_config(xenioo)
    run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    for stream in ("account_statistics", "bot_statistics"):
        records = run.records(stream)
        assert records, stream  # the checks below hold for every row, so there must be rows
        assert {r["stat_type_name"] for r in records} <= set(STATISTIC_TYPES.values())
        assert all(r["stat_type_name"] == r["event_label"] for r in records)
        assert all(r[c] is not None for r in records for c in STATISTICS_KEY), stream
    assert "cannot be told" not in run.stderr


def test_rows_labelled_by_intent_goal_or_tag_are_kept_untyped_with_one_warning():
    with simulator(breakdowns=True) as sim:
        config = xenioo_config(sim, bots=None)
        run = run_tap("tap_xenioo", config)
        expected = sim.expected_primary_keys(config)["account_statistics"][1]
    assert run.returncode == 0, run.stderr
    records = run.records("account_statistics")
    untyped = [r for r in records if r["stat_type_code"] == -1]
    assert untyped and {r["event_label"] for r in untyped} == BREAKDOWN_LABELS
    assert all(
        r["stat_type_name"] is None and r["raw"]["EventLabel"] == r["event_label"] for r in untyped
    )
    assert all(r[c] is not None for r in records for c in STATISTICS_KEY)
    assert {r["stat_type_code"] for r in records} == set(range(18)) - {6, 12} | {-1}
    warnings = [
        line for line in run.stderr.splitlines() if "not a statistic type Xenioo documents" in line
    ]
    assert len(warnings) == 1 and "| WARNING  |" in warnings[0]
    assert f"{len(untyped)} rows have an EventLabel" in warnings[0]
    assert "share their key" not in warnings[0]
    assert primary_keys(run, "account_statistics") == expected
    assert len(records) == len(expected)


def test_asking_for_one_type_types_its_labelled_rows():
    with simulator(breakdowns=True) as sim:
        config = xenioo_config(sim, types=[6], bot_types=[18])
        run = run_tap("tap_xenioo", config)
    assert run.returncode == 0, run.stderr
    account = run.records("account_statistics")
    assert account and {(r["stat_type_code"], r["stat_type_name"]) for r in account} == {
        (6, "NLP Detected")
    }
    assert {r["event_label"] for r in account} <= BREAKDOWN_LABELS
    bots = run.records("bot_statistics")
    assert bots and {r["stat_type_code"] for r in bots} == {18}
    assert {r["event_label"] for r in bots} == {"vip", "complaint", "returning", "promo"}
    assert "cannot be told" not in run.stderr


def test_an_unpublished_type_field_changes_nothing():
    with simulator(type_field=True) as sim:
        run = run_tap("tap_xenioo", xenioo_config(sim, bots=None, types=[0, 3]))
    assert run.returncode == 0, run.stderr
    records = run.records("account_statistics")
    assert records and all("Type" in r["raw"] for r in records)
    assert all(
        r["stat_type_code"] == r["raw"]["Type"] for r in records
    )  # told from the label, agreeing
