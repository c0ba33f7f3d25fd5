"""tap-thankful's request shape and row building, in process (no server needed)."""

from __future__ import annotations

import logging

from kit_thankful import day_request

from tap_thankful.tap import TapThankful

CONFIG = {"api_key": "thankful-unit-key", "start_date": "2025-01-01"}
DAY = {"day": "2025-01-05", "filter_action_id": None}


def _tap(**overrides) -> TapThankful:
    return TapThankful(config={**CONFIG, **overrides})


def test_requests_carry_the_day_and_filters_as_the_docs_write_them():
    stream = _tap(statuses=[2, 1, 2], channels=[9, 3]).streams["savings"]
    request = day_request(stream, "2025-01-05", 3001)
    assert request.url == "https://dashboard.thankful.ai/api/v1/savings"
    assert (
        request.encode_params()
        == "s=2025-01-05T00:00:00Z&e=2025-01-05T23:59:59Z&a=3001&ss=1,2&fs=3,9"
    )


def test_day_series_sum_points_inside_the_day_and_ignore_the_rest():
    stream = _tap().streams["tickets_over_time"]
    payload = {
        "TicketsOverTime": {
            # Finer than daily points (granularity is not published) add up...
            "Received": [
                {"Val": 10, "CreatedAt": "2025-01-05T00:00:00Z"},
                {"Val": 5, "CreatedAt": "2025-01-05T13:00:00Z"},
                # ...and a point of another day is not this day's.
                {"Val": 99, "CreatedAt": "2025-01-06T00:00:00Z"},
            ],
            "Captured": [{"Val": "7", "CreatedAt": "2025-01-05T00:00:00Z"}],
            "Transferred": [],
            # Resolved missing altogether.
        }
    }
    row = stream.series_row(payload, DAY)
    assert row == {
        "day": "2025-01-05",
        "filter_action_id": None,
        "filter_statuses": "all",
        "filter_channels": "all",
        "received": 15,
        "captured": 7,
        "transferred": None,
        "resolved": None,
        "raw": payload["TicketsOverTime"],
    }


def test_a_point_outside_the_day_is_named_once_a_run(caplog):
    stream = _tap().streams["tickets_over_time"]
    outside = {"TicketsOverTime": {"Received": [{"Val": 1, "CreatedAt": "2025-01-06T00:00:00Z"}]}}
    with caplog.at_level(logging.WARNING):
        stream.series_row(outside, DAY)
        stream.series_row(outside, {"day": "2025-01-04", "filter_action_id": None})
    told = [r.getMessage() for r in caplog.records if "TicketsOverTime point" in r.getMessage()]
    assert told == [
        "Thankful sent a TicketsOverTime point outside the day asked for "
        "(2025-01-06T00:00:00+00:00 for 2025-01-05); such points are ignored."
    ]


def test_top_actions_rows_are_typed_and_keyed_once_per_action():
    stream = _tap().streams["top_actions"]
    payload = {
        "TopActions": [
            {
                "ID": 3759,
                "Name": "Return Order",
                "Capture": 94,
                "Resolve": "17",
                "Pending": 2,
                "Transfer": 30,
                "Handoff": 77,
                "Skip": 0,
                "Enabled": True,
            },
            {"ID": 3759, "Name": "Return Order (again)"},
            {"ID": "3016", "Name": "Track Order", "Enabled": "false"},
        ]
    }
    rows = list(stream.rows(payload, DAY))
    assert [(r["action_id"], r["name"], r["resolve"], r["enabled"]) for r in rows] == [
        (3759, "Return Order", 17, True),
        (3016, "Track Order", None, False),
    ]


def test_handoff_types_null_or_missing_give_no_rows():
    stream = _tap().streams["handoffs"]
    payload = [
        {"ActionID": 3623, "Types": None},
        {"ActionID": 3624},
        {
            "ActionID": 3759,
            "Types": [
                {"ID": 1, "Cause": "SLA breached", "ActionHandoffCount": 1},
                {"ID": 3, "Cause": "Failed to evaluate JS", "ActionHandoffCount": "2"},
            ],
        },
    ]
    rows = list(stream.rows(payload, DAY))
    assert [(r["action_id"], r["cause_id"], r["action_handoff_count"]) for r in rows] == [
        (3759, 1, 1),
        (3759, 3, 2),
    ]


def test_recommendations_for_one_action_keep_every_text():
    stream = _tap().streams["recommendations"]
    payload = {
        "Recommendations": [
            {"ActionID": 3257, "Impact": "Increase automation by 4%"},
            {"ActionID": 3257, "Impact": "Enable the action"},
            {"ActionID": 3210, "Impact": "Increase automation by 1%"},
        ]
    }
    rows = list(stream.rows(payload, DAY))
    assert [(r["action_id"], r["impact"]) for r in rows] == [
        (3257, "Increase automation by 4%; Enable the action"),
        (3210, "Increase automation by 1%"),
    ]


def test_keys_include_the_action_filter_only_when_action_ids_is_set():
    plain = _tap().streams
    scoped = _tap(action_ids=[3001]).streams
    account = "_account_id"  # first in every key (the core adds it)
    filters = ("filter_statuses", "filter_channels")
    assert plain["handoffs"].primary_keys == (account, "day", *filters, "action_id", "cause_id")
    assert scoped["handoffs"].primary_keys == (
        account,
        "day",
        "filter_action_id",
        *filters,
        "action_id",
        "cause_id",
    )
    assert scoped["savings"].primary_keys == (account, "day", "filter_action_id", *filters)
    assert scoped["actions"].primary_keys == (account, "action_id")
