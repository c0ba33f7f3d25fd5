"""What a warehouse needs after year one: an edit Dixa records late lands on the next run with
the default settings, and an object deleted in Dixa is announced to the target
(ACTIVATE_VERSION after the stream's last record) so it can delete it too.

tests/integration/test_deletes_postgres.py follows the deleted tag into PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request

import pytest
from kit_dixa import (
    API_TOKEN,
    catalog_selecting,
    dixa_config,
    keys_of,
    limit_recovered_before_each_run,
)
from tap_runner import run_tap

from support_simulators.dixa import DixaSimulator

UTC = dt.timezone.utc
#: The end of the first run, by the simulator's clock and the tap's `end_date`.
FIRST_END = dt.datetime(2025, 1, 20, 12, tzinfo=UTC)


def _config(sim, end: dt.datetime, **overrides):
    return dixa_config(
        sim,
        start_date="2025-01-20",
        end_date=end.isoformat(),
        record_ids=["ratings"],
        metric_ids=["csat"],
        **overrides,
    )


def _control(sim: DixaSimulator, action: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{sim.url}/_simulator/{action}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


@pytest.mark.parametrize(
    ("lookback", "lands"),
    [(None, True), (0, False)],
    ids=["default-settings", "no-lookback"],
)
def test_an_edit_recorded_late_lands_on_the_next_run(lookback, lands):
    """An edit stamped 11:55, which the export shows only from 12:03: the run ending at 12:00
    cannot see it, and the next run starts at its bookmark (12:00) less the lookback."""
    with DixaSimulator(api_token=API_TOKEN, now=FIRST_END) as sim:
        with limit_recovered_before_each_run(sim):
            config = _config(sim, FIRST_END, export_lookback_minutes=lookback)
            catalog = catalog_selecting(config, "conversations")
            # A conversation last changed before the first run's range.
            csid = sim.exports.conversations_created(dt.date(2025, 1, 15))[0]["id"]
            # Through the control endpoint, as a user trying the pipeline would.
            _control(
                sim,
                "edit",
                {
                    "csid": csid,
                    "updated_at": "2025-01-20T11:55:00Z",
                    "recorded_at": "2025-01-20T12:03:00Z",
                },
            )
            first = run_tap("tap_dixa", config, catalog=catalog)
            assert first.returncode == 0, first.stderr
            assert csid not in {r["id"] for r in first.records("conversations")}
            assert first.bookmark("conversations") == "2025-01-20T12:00:00+00:00"

            later = FIRST_END + dt.timedelta(minutes=30)
            _control(sim, "clock", {"now": later.isoformat()})
            second = run_tap(
                "tap_dixa",
                _config(sim, later, export_lookback_minutes=lookback),
                catalog=catalog,
                state=first.final_state,
            )
    assert second.returncode == 0, second.stderr
    landed = {r["id"]: r for r in second.records("conversations")}
    assert (csid in landed) is lands
    if lands:
        assert landed[csid]["updated_at"] == "2025-01-20T11:55:00+00:00"
        assert landed[csid]["tags"][-1] == "edited-1"


def test_the_default_lookback_is_an_hour():
    from tap_dixa.tap import TapDixa

    setting = TapDixa.config_jsonschema["properties"]["export_lookback_minutes"]
    assert setting["default"] == 60
    assert "guess" in setting["description"]


@pytest.fixture
def dixa_at_noon():
    with DixaSimulator(api_token=API_TOKEN, now=FIRST_END) as sim:
        with limit_recovered_before_each_run(sim):
            yield sim


def test_a_tag_deleted_between_runs_is_announced_after_the_last_tag(dixa_at_noon):
    sim = dixa_at_noon
    config = _config(sim, FIRST_END, emit_activate_version_messages=True)
    catalog = catalog_selecting(config, "tags", "teams", "team_members", "conversations")
    first = run_tap("tap_dixa", config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    tag = first.records("tags")[2]["id"]
    agent = first.records("team_members")[0]["id"]
    assert _control(sim, "delete", {"object": "tags", "id": tag}) == {"ok": True}
    sim.delete("agents", agent)  # the method the control endpoint calls
    second = run_tap("tap_dixa", config, catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr
    assert tag not in {r["id"] for r in second.records("tags")}
    assert agent not in {r["id"] for r in second.records("team_members")}
    expected = sim.expected_primary_keys(config)
    for stream in ("tags", "team_members"):
        assert keys_of(second.records(stream), expected[stream][0]) == expected[stream][1]
    for run in (first, second):
        for stream in ("tags", "team_members"):
            kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
            last_record = max(i for i, kind in enumerate(kinds) if kind == "RECORD")
            assert kinds.count("ACTIVATE_VERSION") == 1 and kinds[-1] == "ACTIVATE_VERSION"
            assert kinds.index("ACTIVATE_VERSION") > last_record, stream
        # Incremental streams are never activated: a run reads only what changed.
        assert not [
            m
            for m in run.messages
            if m["type"] == "ACTIVATE_VERSION"
            and m["stream"]
            in (
                "conversations",
                "notes",
            )
        ]


def test_deletes_are_checked_by_the_simulator(dixa_at_noon):
    sim = dixa_at_noon
    request = urllib.request.Request(
        f"{sim.url}/_simulator/delete",
        data=json.dumps({"object": "tags", "id": "no-such-tag"}).encode(),
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 404
    assert len(sim.directory.listing("tags")) == 7
