"""An action deleted in Thankful between two runs: the simulator stops listing it (through its
control endpoint, as a user trying a pipeline would), and the next run of `actions` does not
send it, then announces the table's new version after its last record.

tests/integration/test_deletes_postgres.py follows the deleted action into PostgreSQL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from kit_thankful import API_KEY, thankful_config
from tap_runner import run_tap

from support_simulators.thankful import ThankfulSimulator
from support_simulators.thena import ThenaSimulator


def _delete(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{url}/_simulator/delete", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _catalog_of_actions(config: dict) -> dict:
    found = run_tap("tap_thankful", config, args=("--discover",))
    assert found.returncode == 0, found.stderr
    catalog = json.loads(found.stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] == "actions"
    return catalog


def test_an_action_deleted_between_runs_is_not_sent_again():
    with ThankfulSimulator(api_key=API_KEY) as sim:
        config = thankful_config(sim, emit_activate_version_messages=True)
        catalog = _catalog_of_actions(config)
        first = run_tap("tap_thankful", config, catalog=catalog)
        assert first.returncode == 0, first.stderr
        listed = [r["action_id"] for r in first.records("actions")]
        assert listed and set(listed) == {a.id for a in sim.dataset.actions}

        gone = listed[1]
        assert _delete(sim.url, {"object": "actions", "id": str(gone)}) == {"ok": True}
        second = run_tap("tap_thankful", config, catalog=catalog)
        assert second.returncode == 0, second.stderr
        assert {r["action_id"] for r in second.records("actions")} == set(listed) - {gone}
        assert sim.expected_primary_keys(config)["actions"][1] == {
            ("default", a) for a in listed if a != gone
        }
        kinds = [m["type"] for m in second.messages if m.get("stream") == "actions"]
        assert kinds.count("ACTIVATE_VERSION") == 1
        assert kinds.index("ACTIVATE_VERSION") > max(
            i for i, kind in enumerate(kinds) if kind == "RECORD"
        )


@pytest.mark.parametrize("emit", [True, False])
def test_actions_activates_its_version_when_asked(thankful, emit):
    config = thankful_config(thankful, end_date="2025-01-03", emit_activate_version_messages=emit)
    run = run_tap("tap_thankful", config)
    assert run.returncode == 0, run.stderr[-3000:]
    activated = [m["stream"] for m in run.messages if m["type"] == "ACTIVATE_VERSION"]
    assert activated == (["actions"] if emit else [])
    assert run.records("actions") and run.records("savings")


@pytest.mark.parametrize(
    "body",
    [
        {"object": "actions", "id": "999999"},  # no such action
        {"object": "tags", "id": "3001"},  # Thankful has no tags
        {"object": "actions"},  # no id
    ],
)
def test_deletes_of_what_is_not_there_are_refused(body):
    with ThankfulSimulator(api_key=API_KEY) as sim:
        with pytest.raises(urllib.error.HTTPError) as refused:
            _delete(sim.url, body)
        assert refused.value.code == 404
        assert sim.deleted_actions == set()


def test_a_simulator_whose_vendor_deletes_nothing_refuses_deletes():
    with ThenaSimulator() as sim:
        with pytest.raises(urllib.error.HTTPError) as refused:
            _delete(sim.url, {"object": "requests", "id": "1"})
        assert refused.value.code == 404
        assert "thena has no requests to delete" in refused.value.read().decode()
