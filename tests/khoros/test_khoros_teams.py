"""Khoros's teams (`GET /teams`): Khoros's published example through the tap's parsing, the
simulator's answer through the tap's CLI, and a team without its published key refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from kit_khoros import COMPANY_KEY, khoros_config, khoros_simulator
from tap_runner import run_tap

from support_taps.errors import UnparseableResponse
from tap_khoros_care.tap import TapKhorosCare

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "khoros"
API = "https://analytics-api.app.lithium.com/api/public"
CONFIG = {
    "username": "contract-user",
    "password": "contract-password-1",
    "company_key": "contract-key-2",
    "start_date": "2025-03-01",
}


def _response(body: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body  # a response as `requests` builds it from the wire
    response.headers["Content-Type"] = "application/json"
    response.url = f"{API}/teams?companyKey=contract-key-2"
    response.request = requests.Request("GET", response.url).prepare()
    return response


def _parse(body: bytes) -> list[dict]:
    stream = TapKhorosCare(config=CONFIG).streams["teams"]
    return list(stream.parse_response(_response(body)))


def test_the_published_example_lands_typed_with_the_whole_object():
    body = (CONTRACTS / "teams_result.json").read_bytes()
    published = json.loads(body)["result"]
    assert _parse(body) == [
        {
            "teamId": 6222,
            "uuid": "4c1d5194-8946-4e7f-aa8e-6315b3379bf3",
            "name": "North West",
            "description": None,
            "numberOfMembers": 3,
            "raw": published[0],
        },
        {
            "teamId": 7031,
            "uuid": "6af42c52-ff19-4b3b-bd0c-d4cf617f27f8",
            "name": "South West",
            "description": None,
            "numberOfMembers": 3,
            "raw": published[1],
        },
    ]


def test_every_published_field_is_typed_in_the_schema():
    schema = TapKhorosCare(config=CONFIG).streams["teams"].schema["properties"]
    assert schema["teamId"]["type"] == ["integer"]
    assert schema["numberOfMembers"]["type"] == ["integer", "null"]
    for name in ("uuid", "name", "description"):
        assert schema[name]["type"] == ["string", "null"], name
    assert schema["raw"]["type"] == ["object", "null"]


def test_a_team_without_its_published_teamid_is_an_error_naming_the_endpoint():
    body = json.dumps(
        {"status": "PASS", "result": [{"uuid": "u-1", "name": "North", "numberOfMembers": 2}]}
    ).encode()
    with pytest.raises(UnparseableResponse) as error:
        _parse(body)
    message = str(error.value)
    assert "GET /api/public/teams" in message and "result item 0" in message
    assert "without teamId, which Khoros documents as its key" in message
    assert message.endswith("Columns found: name, numberOfMembers, uuid.")


def test_an_answer_without_a_list_of_teams_is_an_error_naming_the_endpoint():
    with pytest.raises(Exception, match=r"GET /api/public/teams .*a list of teams in `result`"):
        _parse(b'{"status": "PASS", "result": {"teamId": 1}}')


def test_the_simulator_serves_the_published_shape_and_the_tap_lands_every_team():
    with khoros_simulator() as sim:
        config = khoros_config(sim, report_types=["author"])
        run = run_tap("tap_khoros_care", config)
        teams = sim.team_list()
        calls = [c for c in sim.calls() if c.path == "/api/public/teams"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(calls) == 1 and calls[0].query["companyKey"] == [COMPANY_KEY]
    records = run.records("teams")
    assert records == [
        {
            "teamId": team["teamId"],
            "uuid": team["uuid"],
            "name": team["name"],
            "description": team["description"],
            "numberOfMembers": team["numberOfMembers"],
            "raw": team,
            "_account_id": "default",
        }
        for team in teams
    ]
    assert set(teams[0]) == {"uuid", "teamId", "name", "description", "numberOfMembers"}
    assert run.schemas()["teams"]["key_properties"] == ["_account_id", "teamId"]
    # Full table: no bookmark, the whole list every run.
    assert run.bookmark("teams") is None


@pytest.mark.parametrize("emit", [True, False])
def test_teams_is_full_table_and_activates_its_version_when_asked(emit):
    """A team Khoros removes is gone from the target too: with
    `emit_activate_version_messages` the teams stream sends ACTIVATE_VERSION; the reports,
    incremental, never do."""
    with khoros_simulator() as sim:
        config = khoros_config(sim, report_types=["author"], emit_activate_version_messages=emit)
        run = run_tap("tap_khoros_care", config)
    assert run.returncode == 0, run.stderr[-3000:]
    activated = [m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert activated == (["teams"] if emit else [])
    versions = {r.get("version") for r in run.messages if r["type"] == "RECORD"}
    assert (versions != {None}) is emit
