"""The Exports API streams (conversations, messages) and the main API's activity log and lists:
exact keys, 31-day windows in epoch milliseconds, state per window, updates that land again and
upsert, resume after a kill, and discovery that skips the Analytics API when it is not needed."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from kit_dixa import (
    API_TOKEN,
    EXPORTS_AND_LISTS,
    FEW_CONVERSATIONS,
    assert_delivered_exactly,
    catalog_of,
    dixa_config,
    keys_of,
    limit_recovered_before_each_run,
    load_into_duckdb,
)
from tap_runner import TapRun, run_tap

from support_simulators.dixa.exports import DAY_MS

UTC = dt.timezone.utc
EXPORTS = EXPORTS_AND_LISTS


def _config(sim, **overrides):
    return dixa_config(
        sim, **{"record_ids": ["ratings"], "metric_ids": ["csat"], "page_limit": 1000, **overrides}
    )


@pytest.fixture(scope="module")
def long_run():
    """73 days of the export streams only: three windows of (at most) 31 days."""
    from support_simulators.dixa import DixaSimulator

    with DixaSimulator(api_token=API_TOKEN) as sim, limit_recovered_before_each_run(sim):
        config = _config(sim, start_date="2025-01-01", end_date="2025-03-15")
        catalog = catalog_of(config, *EXPORTS)
        sim.reset_log()
        run = run_tap("tap_dixa", config, catalog=catalog)
        yield sim, config, run


def test_export_streams_deliver_exactly_what_the_simulator_serves(long_run):
    sim, config, run = long_run
    assert_delivered_exactly(run, sim, config, EXPORTS)
    expected = sim.expected_primary_keys(config)
    assert all(
        run.schemas()[stream]["key_properties"] == ["_account_id", "id"] for stream in EXPORTS
    )
    assert len(expected["conversations"][1]) > 1500 and len(expected["messages"][1]) > 5000


def test_discovery_is_skipped_when_only_export_streams_are_selected(long_run):
    sim, _, _ = long_run
    assert sim.calls("/v1/analytics") == []  # no catalogue read, no sampling


def test_windows_are_at_most_31_days_in_epoch_milliseconds_and_contiguous(long_run):
    sim, _, run = long_run
    calls = sim.calls("/v1/conversation_export")
    assert len(calls) == 3
    # Two windows are asked at once: their calls may arrive in either order.
    bounds = sorted(
        (int(c.query["updated_after"][0]), int(c.query["updated_before"][0])) for c in calls
    )
    assert all(before - after <= 31 * DAY_MS for after, before in bounds)
    assert bounds[0][0] == int(dt.datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000) - 1
    assert bounds[-1][1] == int(dt.datetime(2025, 3, 15, tzinfo=UTC).timestamp() * 1000)
    for (_, before), (after, _) in zip(bounds, bounds[1:], strict=False):
        assert after == before - 1  # the next window starts where this one ended (widened by 1 ms)
    assert all(c.headers["Authorization"] == f"Bearer {API_TOKEN}" for c in calls)
    # State after each window, and the last one at the end of the range.
    assert len(run.bookmarks("conversations")) == 3
    assert run.bookmark("conversations") == "2025-03-15T00:00:00+00:00"


def test_two_export_windows_are_asked_at_once_never_more():
    from support_simulators.dixa import DixaSimulator

    with (
        DixaSimulator(api_token=API_TOKEN, conversations_per_day=FEW_CONVERSATIONS) as sim,
        limit_recovered_before_each_run(sim),
    ):
        sim.faults.latency = 0.3  # Dixa takes a while to build an export
        config = _config(sim, start_date="2025-01-01", end_date="2025-03-15")
        catalog = catalog_of(config, "conversations", "messages")
        sim.reset_log()
        run = run_tap("tap_dixa", config, catalog=catalog)
        assert run.returncode == 0, run.stderr
        assert sim.peak_open_requests == 2
        expected = sim.expected_primary_keys(config)
        for stream in ("conversations", "messages"):
            assert keys_of(run.records(stream), expected[stream][0]) == expected[stream][1]
            assert run.bookmark(stream) == "2025-03-15T00:00:00+00:00"


def test_conversations_carry_every_published_field_typed(long_run):
    _, _, run = long_run
    properties = run.schemas()["conversations"]["schema"]["properties"]
    records = run.records("conversations")
    for record in records[:200]:
        raw = record["raw"]
        assert record["id"] == raw["id"] and isinstance(record["id"], int)
        assert (
            record["created_at"]
            == dt.datetime.fromtimestamp(raw["created_at"] / 1000, UTC).isoformat()
        )
        assert (
            record["updated_at"]
            == dt.datetime.fromtimestamp(raw["updated_at"] / 1000, UTC).isoformat()
        )
        assert set(raw) <= set(properties)  # every field the export sends is a column
        assert (
            record["ratings"] == raw["ratings"] and record["custom_fields"] == raw["custom_fields"]
        )
    assert any(r["custom_fields"] for r in records) and any(r["ratings"] for r in records)
    assert properties["created_at"]["format"] == "date-time" and properties["raw"]["type"] == [
        "object",
        "null",
    ]
    message = run.records("messages")[0]
    assert isinstance(message["csid"], int) and message["created_at"].endswith("+00:00")


def test_the_31_day_rule_is_answered_with_400(dixa):
    start = int(dt.datetime(2025, 1, 1, tzinfo=UTC).timestamp() * 1000)
    url = (
        f"{dixa.url}/v1/conversation_export"
        f"?updated_after={start}&updated_before={start + 32 * DAY_MS}"
    )
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    run = run_tap("tap_dixa", _config(dixa, export_window_days=32), args=("--discover",))
    assert run.returncode != 0 and "export_window_days" in run.stderr


def test_a_conversation_updated_between_runs_lands_again_and_upserts(small_dixa, tmp_path):
    config = _config(small_dixa, start_date="2025-01-06", end_date="2025-01-20")
    catalog = catalog_of(config, "conversations", "messages")
    first = run_tap("tap_dixa", config, catalog=catalog)
    assert first.returncode == 0, first.stderr
    edited = first.records("conversations")[0]["id"]
    small_dixa.exports.update(edited, dt.datetime(2025, 1, 25, 10, tzinfo=UTC))
    later = {**config, "end_date": "2025-01-30"}
    second = run_tap("tap_dixa", later, catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr
    again = {r["id"]: r for r in second.records("conversations")}
    assert edited in again and again[edited]["tags"][-1] == "edited-1"
    assert again[edited]["updated_at"] == "2025-01-25T10:00:00+00:00"
    # Only what changed since the bookmark (less the default lookback of an hour): the edited
    # conversation and those updated after it.
    assert all(r["updated_at"] >= "2025-01-19T23:00:00+00:00" for r in again.values())

    database = tmp_path / "warehouse.duckdb"
    load_into_duckdb(first.stdout, database, tmp_path)
    load_into_duckdb(second.stdout, database, tmp_path)
    import duckdb

    ids = {r["id"] for r in first.records("conversations")} | set(again)
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute(
            'select count(*), count(distinct id) from tap_dixa."conversations"'
        ).fetchone() == (len(ids), len(ids))
        tags = con.execute(
            f'select tags from tap_dixa."conversations" where id = {edited}'
        ).fetchone()[0]
        assert "edited-1" in str(tags)
        messages = {r["id"] for r in first.records("messages")} | {
            r["id"] for r in second.records("messages")
        }
        assert con.execute('select count(*) from tap_dixa."messages"').fetchone()[0] == len(
            messages
        )


def test_a_run_killed_after_a_window_resumes_from_its_bookmark(small_dixa):
    config = _config(
        small_dixa, start_date="2025-01-01", end_date="2025-03-01", export_window_days=10
    )
    catalog = catalog_of(config, "conversations")
    killed = _run_until_first_bookmark(config, catalog, "conversations")
    bookmark = killed.bookmark("conversations")
    assert bookmark == "2025-01-10T23:59:59.999000+00:00"  # the first window's end (10 days - 1 ms)
    resumed = run_tap("tap_dixa", config, catalog=catalog, state=killed.final_state)
    assert resumed.returncode == 0, resumed.stderr
    columns, expected = small_dixa.expected_primary_keys(config)["conversations"]
    assert (
        keys_of(killed.records("conversations"), columns)
        | keys_of(resumed.records("conversations"), columns)
        == expected
    )
    resumed_records = resumed.records("conversations")
    # From the bookmark, less the default lookback of an hour.
    start = (dt.datetime.fromisoformat(bookmark) - dt.timedelta(hours=1)).isoformat()
    assert resumed_records and all(r["updated_at"] >= start for r in resumed_records)


def _run_until_first_bookmark(config: dict, catalog: dict, stream: str) -> TapRun:
    """Run the tap and SIGKILL it as soon as it writes its first bookmark for `stream`."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.json").write_text(json.dumps(config))
        Path(tmp, "catalog.json").write_text(json.dumps(catalog))
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tap_dixa",
                "--config",
                f"{tmp}/config.json",
                "--catalog",
                f"{tmp}/catalog.json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines = []
        for line in process.stdout:
            lines.append(line)
            message = json.loads(line)
            if message["type"] == "STATE" and stream in message["value"].get("bookmarks", {}):
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=30)
        process.stdout.close()
    return TapRun(process.returncode, "".join(lines), "", 0.0, [json.loads(line) for line in lines])


def test_the_lists_follow_every_page(dixa):
    config = _config(dixa, page_limit=7)
    catalog = catalog_of(config, "agents", "end_users", "queues", "tags", "teams")
    dixa.reset_log()
    run = run_tap("tap_dixa", config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    expected = dixa.expected_primary_keys(config)
    for stream in ("agents", "end_users", "queues", "tags", "teams"):
        assert keys_of(run.records(stream), expected[stream][0]) == expected[stream][1], stream
    assert len(dixa.calls("/v1/endusers")) == -(-60 // 7)  # 60 end users, 7 a page
    assert run.records("end_users")[0]["createdAt"].endswith("+00:00")
    assert all(r["raw"]["id"] == r["id"] for r in run.records("queues"))


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/v1/conversation_export",
            {"data": []},
            "GET /v1/conversation_export (HTTP 200), the export (Dixa sends a JSON array): "
            "expected a list, found object{data: list[]}",
        ),
        (
            "/v1/conversation_export",
            [1],
            "GET /v1/conversation_export (HTTP 200), an object of the conversations export: "
            "expected an object, found int",
        ),
        (
            "/v1/conversation_export",
            [{"id": 7, "updated_at": "yesterday"}],
            "GET /v1/conversation_export (HTTP 200), `updated_at`: expected epoch milliseconds (a "
            "number), found string",
        ),
        (
            "/v1/conversation_export",
            [{"created_at": 1}],
            "GET /v1/conversation_export (HTTP 200): expected conversations objects with `id`, "
            "found object{",
        ),
        (
            # Issue 18: a csid spelt as text reached the notes request, whose error named it.
            "/v1/conversation_export",
            [{"id": "REQ-7", "updated_at": 1736164800000}],
            "GET /v1/conversation_export (HTTP 200), `id`: expected the conversation id (`id`, "
            "the csid) as a number, as the Exports API model publishes it (text is refused",
        ),
        (
            "/v1/conversation_export",
            [{"id": "7", "updated_at": 1736164800000}],
            "GET /v1/conversation_export (HTTP 200), `id`: expected the conversation id",
        ),
        (
            "/v1/conversation_export",
            [{"id": 7, "updated_at": 2**70}],
            "GET /v1/conversation_export (HTTP 200), `updated_at`: expected epoch milliseconds of "
            "a date-time (years 1 to 9999), found int",
        ),
        (
            "/v1/message_export",
            [{"id": "m", "created_at": -(2**70)}],
            "GET /v1/message_export (HTTP 200), `created_at`: expected epoch milliseconds of "
            "a date-time (years 1 to 9999), found int",
        ),
        (
            "/v1/agents",
            {"data": {"id": "a"}},
            "GET /v1/agents (HTTP 200), `data`: expected a list, found object{id: string}",
        ),
    ],
)
def test_an_export_or_list_in_a_shape_the_tap_does_not_expect_fails_clearly(
    dixa, path, body, message
):
    from support_simulators.framework import Fault

    config = _config(dixa, start_date="2025-01-06", end_date="2025-01-08")
    stream = {"/v1/conversation_export": "conversations", "/v1/message_export": "messages"}.get(
        path, "agents"
    )
    catalog = catalog_of(config, stream)
    dixa.faults.add(Fault(body=json.dumps(body).encode(), path_prefix=path))
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode != 0
    assert message in run.stderr, run.stderr[-1500:]
    assert "AttributeError" not in run.stderr and "TypeError" not in run.stderr
    assert run.records(stream) == [] and run.bookmark(stream) is None


def test_an_instant_out_of_range_besides_the_window_field_lands_as_null_with_one_warning(dixa):
    # Dixa publishes no range for `closed_at` and the like: the rows land, `raw` keeps the number.
    from support_simulators.framework import Fault

    config = _config(dixa, start_date="2025-01-06", end_date="2025-01-08")
    catalog = catalog_of(config, "conversations")
    stamp = int(dt.datetime(2025, 1, 6, 12, tzinfo=UTC).timestamp() * 1000)
    body = [{"id": n, "updated_at": stamp, "closed_at": 2**70, "created_at": stamp} for n in (1, 2)]
    dixa.faults.add(Fault(body=json.dumps(body).encode(), path_prefix="/v1/conversation_export"))
    run = run_tap("tap_dixa", config, catalog=catalog, timeout=60)
    assert run.returncode == 0, run.stderr[-1500:]
    records = run.records("conversations")
    assert [(r["id"], r["closed_at"], r["raw"]["closed_at"]) for r in records] == [
        (1, None, 2**70),
        (2, None, 2**70),
    ]
    assert records[0]["updated_at"] == "2025-01-06T12:00:00+00:00"
    said = "export sent `closed_at` as epoch milliseconds outside years 1 to 9999; it lands as null"
    assert run.stderr.count(said) == 1
    assert run.bookmark("conversations") is not None


def test_an_id_sent_twice_newest_first_lands_once_as_its_newest_version(dixa):
    # Each conversation is served twice in its window's answer, the newest first: an upserting
    # target would keep the older one; only the newest version is emitted.
    config = _config(dixa, start_date="2025-01-06", end_date="2025-01-08")
    catalog = catalog_of(config, "conversations")
    plain = run_tap("tap_dixa", config, catalog=catalog)
    assert plain.returncode == 0, plain.stderr
    dixa.exports.stale_duplicates = True
    run = run_tap("tap_dixa", config, catalog=catalog)
    assert run.returncode == 0, run.stderr
    records = run.records("conversations")
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == len(plain.records("conversations")) > 0
    assert records == plain.records("conversations")  # the newest versions, as without copies
    assert run.stderr.count("sent an id more than once in one answer") == 1
    assert run.bookmark("conversations") == plain.bookmark("conversations")
