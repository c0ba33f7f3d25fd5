"""The core README's "Writing a new tap", followed for a tiny vendor ("acme").

The steps that make a runnable tap (schemas with their link, `tap.py`, `client.py`,
`streams.py`, `__main__.py`, a simulator) are written into a temporary folder exactly as the
README says, and the tap runs from there: a full run delivers what the simulator serves, in
weekly windows with a checkpoint each, and a run from its last state resumes there.
"""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from pathlib import Path

import pytest
from tap_runner import run_tap

from support_simulators.framework import SimRequest, SimResponse, VendorSimulator, json_response

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc

FILES = {
    "schemas/acme/events.json": """
        {"type": "object", "properties": {
            "id": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "raw": {"type": ["object", "null"]}}}
    """,
    "taps/tap-acme/tap_acme/__init__.py": "",
    "taps/tap-acme/tap_acme/__main__.py": """
        from tap_acme.tap import TapAcme

        TapAcme.cli()
    """,
    "taps/tap-acme/tap_acme/client.py": """
        from functools import cached_property

        from singer_sdk.authenticators import BearerTokenAuthenticator

        from support_taps.windowed import WindowedStream


        class AcmeStream(WindowedStream):
            vendor = "Acme"
            credential_settings = ("api_key",)
            url_settings = ("api_url",)
            api_url_setting = "api_url"

            @cached_property
            def authenticator(self):
                return BearerTokenAuthenticator(token=self.config["api_key"])

            def get_new_paginator(self):
                return None  # one answer per window
    """,
    "taps/tap-acme/tap_acme/streams.py": """
        import typing as t

        from singer_sdk import StreamSchema

        from support_taps.schemas import schema_directory
        from support_taps.windowed import window_of
        from tap_acme.client import AcmeStream

        ACME_SCHEMAS = schema_directory("acme", __package__)


        class EventsStream(AcmeStream):
            name = "events"
            path = "/v1/events"
            primary_keys = ("id",)
            replication_key = "created_at"
            schema = StreamSchema(ACME_SCHEMAS)
            window_setting = "window_days"
            lookback_setting = "lookback_days"
            window_field = "created_at"

            def get_url_params(self, context, next_page_token):
                window = window_of(context)
                return {"from": window.start.isoformat(), "to": window.end.isoformat()}

            def parse_response(self, response) -> t.Iterable[dict]:
                for event in self.expect_list(self.decode_json(response), response):
                    yield {"id": event["id"], "created_at": event["created_at"], "raw": event}
    """,
    "taps/tap-acme/tap_acme/tap.py": """
        from singer_sdk import typing as th

        from support_taps.settings import COMMON_SETTINGS, START_END_SETTINGS, credential
        from support_taps.tap import SupportTap
        from tap_acme.streams import EventsStream


        class TapAcme(SupportTap):
            name = "tap-acme"
            config_jsonschema = th.PropertiesList(
                credential("api_key", "ACME API key."),
                th.Property("api_url", th.StringType, default="https://api.acme.example"),
                th.Property("window_days", th.IntegerType(minimum=1), default=7),
                th.Property("lookback_days", th.IntegerType(minimum=0), default=0),
                *START_END_SETTINGS,
                *COMMON_SETTINGS,
            ).to_dict()

            def discover_streams(self):
                return [EventsStream(self)]
    """,
}
KEY = "acme-secret-key-123"


class AcmeSimulator(VendorSimulator):
    """Step 5: one event at noon each day of 2025, `GET /v1/events?from&to`, Bearer key."""

    name = "acme"

    def routes(self):
        import re

        yield "GET", re.compile(r"/v1/events"), self.events

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.headers.get("Authorization") == f"Bearer {KEY}":
            return None
        return json_response({"message": "bad key"}, 401)

    def events(self, request: SimRequest) -> SimResponse:
        low = dt.datetime.fromisoformat(request.arg("from") or "")
        high = dt.datetime.fromisoformat(request.arg("to") or "")
        days = [dt.datetime(2025, 1, 1, 12, tzinfo=UTC) + dt.timedelta(days=n) for n in range(365)]
        return json_response(
            [
                {"id": n, "created_at": day.isoformat()}
                for n, day in enumerate(days)
                if low <= day < high
            ]
        )


@pytest.fixture
def acme_checkout(tmp_path: Path) -> Path:
    for name, text in FILES.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    # Step 3: the link that ships the schemas inside the package.
    (tmp_path / "taps/tap-acme/tap_acme/schemas").symlink_to("../../../schemas/acme")
    return tmp_path


def test_a_new_tap_written_as_the_readme_says_runs_and_resumes(acme_checkout):
    env = {"PYTHONPATH": os.pathsep.join([str(acme_checkout / "taps/tap-acme")])}
    with AcmeSimulator() as sim:
        config = {
            "api_key": KEY,
            "api_url": sim.url,
            "start_date": "2025-01-01",
            "end_date": "2025-02-01",
            "retry_base_wait": 0.01,
        }
        first = run_tap("tap_acme", config, env=env, fresh_interpreter=True)
        assert first.returncode == 0, first.stderr[-3000:]
        assert sorted(r["id"] for r in first.records("events")) == list(range(31))
        # Weekly windows, each checkpointed: [1, 8), [8, 15), ... [29, Feb 1).
        assert first.bookmarks("events")[0] == "2025-01-08T00:00:00+00:00"
        assert first.bookmark("events") == "2025-02-01T00:00:00+00:00"
        assert len(sim.calls("/v1/events")) == 5

        sim.reset_log()
        config["end_date"] = "2025-02-15"
        later = run_tap(
            "tap_acme", config, state=first.final_state, env=env, fresh_interpreter=True
        )
        assert later.returncode == 0, later.stderr[-3000:]
        assert sorted(r["id"] for r in later.records("events")) == list(range(31, 45))
        assert len(sim.calls("/v1/events")) == 2
        assert KEY not in later.output
