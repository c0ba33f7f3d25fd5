"""Test helpers for tap-thankful."""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import Counter

from kit_settings import tap_config
from singer_sdk.streams.rest import PageContext
from tap_runner import TapRun

from support_simulators.thankful import ThankfulSimulator

UTC = dt.timezone.utc
API_KEY = "thankful-secret-key-4b9e1d"
TICKET_STREAMS = ("tickets_over_time", "ticket_totals", "top_actions", "recommendations")
DAY_STREAMS = (*TICKET_STREAMS, "handoffs", "savings")
ALL_STREAMS = ("actions", *DAY_STREAMS)
#: Day streams with rows every day (a quiet day may have no recommendation).
DENSE_STREAMS = tuple(s for s in DAY_STREAMS if s != "recommendations")


def thankful_config(sim: ThankfulSimulator, **overrides) -> dict:
    settings = {
        "api_key": API_KEY,
        "start_date": "2025-01-01",
        "end_date": "2025-01-08",
        "lookback_days": 3,
        "max_retry_wait": 5,
    }
    return tap_config(sim, settings, overrides)


def days(first: str, last: str) -> list[str]:
    """Day keys first..last inclusive, as the tap writes them (UTC dates)."""
    day = dt.datetime.fromisoformat(first).replace(tzinfo=UTC)
    end = dt.datetime.fromisoformat(last).replace(tzinfo=UTC)
    out = []
    while day <= end:
        out.append(day.date().isoformat())
        day += dt.timedelta(days=1)
    return out


def keys_of(run: TapRun, stream: str, columns: tuple[str, ...]) -> list[tuple]:
    return [tuple(record[c] for c in columns) for record in run.records(stream)]


def assert_delivers_expected(
    run: TapRun, sim: ThankfulSimulator, config: dict, streams=ALL_STREAMS
) -> None:
    expected = sim.expected_primary_keys(config)
    for stream in streams:
        columns, wanted = expected[stream]
        got = keys_of(run, stream, columns)
        duplicates = [key for key, count in Counter(got).items() if count > 1]
        assert not duplicates, f"{stream}: keys emitted twice in one run: {duplicates[:3]}"
        assert set(got) == wanted, (
            f"{stream}: {len(set(got) - wanted)} unexpected, {len(wanted - set(got))} missing"
        )


def select_only(config: dict, streams: set[str]) -> dict:
    """A catalog from discovery with only `streams` selected."""
    from tap_thankful.tap import TapThankful

    catalog = TapThankful(config=config, validate_config=False).catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] in streams
    return catalog


def day_request(stream: t.Any, day: str, action_id: int | None) -> t.Any:
    """The request a day stream makes for `day` and the action `action_id` (built, not sent)."""
    return stream.get_http_request(
        page=PageContext({"day": day, "filter_action_id": action_id}, None)
    )


def day_queries(sim: ThankfulSimulator, endpoint: str) -> list[tuple[str, str]]:
    """The (s, e) of each call, in day order: the tap asks two days at once, so the order
    the calls arrive in varies."""
    return sorted((c.query["s"][0], c.query["e"][0]) for c in sim.calls(f"/api/v1/{endpoint}"))


def midnight(day_key: str) -> str:
    """A bookmark value: the instant a day starts (the previous day's end)."""
    return f"{day_key}T00:00:00+00:00"


def z_day(day_key: str) -> tuple[str, str]:
    """The s/e a day key is asked with."""
    day = day_key[:10]
    return f"{day}T00:00:00Z", f"{day}T23:59:59Z"
