"""tap-khoros-care against its simulator: records, lifecycle, failures, redirect,
concurrency, resume."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from kit_khoros import (
    COMPANY_KEY,
    PASSWORD,
    USERNAME,
    assert_delivers_expected,
    khoros_config,
    khoros_simulator,
    run_reports,
    run_until_bookmarks,
)
from singer_sdk.exceptions import ConfigValidationError
from tap_runner import run_tap

from support_simulators.khoros.reports import ID_COLUMNS, REPORT_TYPES
from tap_khoros_care.tap import TapKhorosCare

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "khoros"


def _starts(sim, report_type):
    return [c for c in sim.calls() if c.path == f"/api/public/reports/report/{report_type}"]


def test_delivers_every_report_type_exactly(khoros):
    config = khoros_config(khoros)
    run = run_tap("tap_khoros_care", config)
    assert run.returncode == 0, run.stderr
    counts = Counter(m["stream"] for m in run.messages if m["type"] == "RECORD")
    assert set(counts) == {*REPORT_TYPES, "teams"}
    assert all(counts[name] > 0 for name in counts), counts
    assert_delivers_expected(run, khoros, config)
    for stream in REPORT_TYPES:
        assert run.bookmark(stream) == "2025-03-03T00:00:00+00:00"


def test_records_are_typed_and_keep_every_field(khoros):
    run = run_tap(
        "tap_khoros_care", khoros_config(khoros, report_types=["conversation", "team_performance"])
    )
    assert run.returncode == 0, run.stderr
    schemas = run.schemas()
    assert schemas["conversation"]["key_properties"] == ["_account_id", "CONVERSATION_ID"]
    assert schemas["team_performance"]["key_properties"] == ["_account_id", "_row_hash"]
    assert run.records("conversation") and run.records("team_performance")
    for record in run.records("conversation"):
        raw = record["fields"]
        assert all(isinstance(v, str) for v in raw.values())  # Khoros exports strings only
        assert (
            "CSAT_SCORE" in raw and "CSAT_SCORE" not in record
        )  # a column the schema does not know, kept
        assert record["PRIORITY"] == int(raw["PRIORITY"])
        assert record["INCOMING_POSTS"] == int(raw["INCOMING_POSTS"])
        assert ISO_UTC.match(record["CREATED_AT"])
        assert record["CREATED_AT"].replace("T", " ")[:19] == raw["CREATED_AT"]
        assert (
            record["CLOSED_AT"] is None
            if raw["CLOSED_AT"] == ""
            else ISO_UTC.match(record["CLOSED_AT"])
        )
        assert (record["window_start"], record["window_end"]) in {
            ("2025-03-01T00:00:00+00:00", "2025-03-02T00:00:00+00:00"),
            ("2025-03-02T00:00:00+00:00", "2025-03-03T00:00:00+00:00"),
        }
    for record in run.records("team_performance"):
        assert isinstance(record["AGENT_ENABLED"], bool)
        assert isinstance(record["RESPONSES_SENT"], int)
        assert re.fullmatch(r"[0-9a-f]{32}", record["_row_hash"])
    assert "AGENT_EMAIL" in run.stderr  # the user is told which columns only live in `fields`


def test_schemas_declare_window_and_fields_columns():
    for name in REPORT_TYPES:
        schema = json.loads((SCHEMAS / f"{name}.json").read_text())
        properties = schema["properties"]
        assert {"window_start", "window_end", "fields"} <= set(properties)
        assert (ID_COLUMNS.get(name) or "_row_hash") in properties


def test_rerunning_a_window_gives_the_same_keys(khoros):
    config = khoros_config(khoros, report_types=["raw_agent_states", "author", "incoming_post"])
    first, second = run_tap("tap_khoros_care", config), run_tap("tap_khoros_care", config)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    for stream, column in (
        ("raw_agent_states", "_row_hash"),
        ("author", "_row_hash"),
        ("incoming_post", "POST_ID"),
    ):
        keys = [r[column] for r in first.records(stream)]
        assert keys and keys == [r[column] for r in second.records(stream)], stream


def test_csv_and_json_exports_give_the_same_records(khoros):
    types = ["incoming_post", "conversation_actions", "team_performance_interval"]
    as_json = run_tap("tap_khoros_care", khoros_config(khoros, report_types=types))
    as_csv = run_tap(
        "tap_khoros_care", khoros_config(khoros, report_types=types, report_format="csv")
    )
    assert as_json.returncode == 0 and as_csv.returncode == 0, as_json.stderr + as_csv.stderr
    assert {
        c.query["reportFormat"][0]
        for c in khoros.calls("/api/public/reports/report/incoming_post")
        if c.path.endswith("/incoming_post")
    } == {"json", "csv"}
    for stream in types:
        assert as_json.records(stream), stream
        assert as_csv.records(stream) == as_json.records(stream)
    # The simulator's texts hold commas, quotes and line breaks: CSV kept them intact.
    assert any("\n" in r["CONTENT"] for r in as_csv.records("incoming_post"))
    assert any('"' in r["CONTENT"] for r in as_csv.records("incoming_post"))


@pytest.mark.parametrize("shape", ["object", "list"])
def test_both_status_shapes(shape):
    with khoros_simulator(status_shape=shape) as sim:
        config = khoros_config(sim, report_types=["response"])
        run = run_tap("tap_khoros_care", config)
        assert run.returncode == 0, run.stderr
        assert_delivers_expected(run, sim, config)
        body = sim.calls("/api/public/reports/report/")  # the simulator answered in that shape
        assert any(c.path.endswith("/status") for c in body)


def test_lifecycle_requests_carry_credentials_and_encoded_run_ids(khoros):
    run = run_tap("tap_khoros_care", khoros_config(khoros, report_types=["raw_expert_help"]))
    assert run.returncode == 0, run.stderr
    calls = khoros.calls("/api/public/reports/report/")
    basic = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert calls and all(c.headers.get("Authorization") == basic for c in calls)
    assert all(c.query["companyKey"] == [COMPANY_KEY] for c in calls)
    starts = [c for c in calls if c.path == "/api/public/reports/report/raw_expert_help"]
    assert [(c.query["startTime"], c.query["endTime"]) for c in starts] == [
        (["1740787200000"], ["1740873600000"]),
        (["1740873600000"], ["1740960000000"]),
    ]
    # runIds are base64 with "/" and "+": each went as one encoded path segment.
    status = [c for c in calls if c.path.endswith("/status")]
    assert status and all("%2F" in c.path and "%2B" in c.path for c in status)
    assert len([c for c in calls if c.path.endswith("/download")]) == 2


def test_conversation_actions_are_started_with_a_form_post(khoros):
    run = run_tap("tap_khoros_care", khoros_config(khoros, report_types=["conversation_actions"]))
    assert run.returncode == 0, run.stderr
    starts = _starts(khoros, "conversation_actions")
    assert starts and all(c.method == "POST" and "startTime" not in c.query for c in starts)
    assert run.records("conversation_actions")


def test_report_parameters_are_sent_and_honoured(khoros):
    config, run = run_reports(
        khoros,
        report_types=["conversation", "team_performance", "team_performance_interval"],
        conversation_report_type="CREATED",
        priorities=[4, 5],
        workqueueIds=["21", "52"],
        teamIds=["101"],
        includeDisabled=True,
        timeInterval=21600000 * 2,
        locale="en",
        reportMetrics={"team_performance": ["team_id", "agent_id", "responses_sent"]},
    )
    start = _starts(khoros, "conversation")[0]
    assert start.query["conversationReportType"] == ["CREATED"]
    assert start.query["priorities"] == ["4,5"] and start.query["workqueueIds"] == ["21,52"]
    assert "teamIds" not in start.query  # only the reports that take it get it
    perf = _starts(khoros, "team_performance")[0]
    assert perf.query["reportMetrics"] == ["team_id", "agent_id", "responses_sent"]
    assert perf.query["teamIds"] == ["101"] and perf.query["includeDisabled"] == ["true"]
    assert _starts(khoros, "team_performance_interval")[0].query["timeInterval"] == ["43200000"]
    conversations = run.records("conversation")
    assert conversations and {r["PRIORITY"] for r in conversations} <= {4, 5}
    assert {r["WORKQUEUE_ID"] for r in conversations} <= {"21", "52"}
    assert all(
        r["CREATED_AT"] >= "2025-03-01" for r in conversations
    )  # CREATED: created in the range
    assert all(
        set(r["fields"]) == {"TEAM_ID", "AGENT_ID", "RESPONSES_SENT"}
        for r in run.records("team_performance")
    )
    intervals = {r["INTERVAL_START"][11:16] for r in run.records("team_performance_interval")}
    assert intervals <= {"00:00", "12:00"}
    assert_delivers_expected(run, khoros, config)


def test_dates_in_a_report_timezone_come_back_as_utc(khoros):
    base = run_tap("tap_khoros_care", khoros_config(khoros, report_types=["incoming_post"]))
    zoned = run_tap(
        "tap_khoros_care",
        khoros_config(khoros, report_types=["incoming_post"], timezone="America/New_York"),
    )
    offset = run_tap(
        "tap_khoros_care",
        khoros_config(khoros, report_types=["incoming_post"], timezoneOffset=19800000),
    )
    assert zoned.returncode == 0 and offset.returncode == 0, zoned.stderr + offset.stderr
    utc = {r["POST_ID"]: r for r in base.records("incoming_post")}
    for run in (zoned, offset):
        assert utc and {r["POST_ID"] for r in run.records("incoming_post")} == set(utc)
        for record in run.records("incoming_post"):
            assert record["POSTED_AT"] == utc[record["POST_ID"]]["POSTED_AT"]
            assert record["fields"]["POSTED_AT"] != utc[record["POST_ID"]]["fields"]["POSTED_AT"]


def test_failed_job_stops_the_stream_with_a_clear_error_and_keeps_state():
    with khoros_simulator(failing={("response", "2025-03-03")}) as sim:
        config = khoros_config(
            sim, report_types=["response"], start_date="2025-03-01", end_date="2025-03-05"
        )
        run = run_tap("tap_khoros_care", config)
        assert run.returncode != 0
        job = next(j for j in sim.jobs.values() if j.outcome == "FAILED")
        assert "Khoros report `response`" in run.stderr
        assert "[2025-03-03T00:00:00+00:00, 2025-03-04T00:00:00+00:00)" in run.stderr
        assert f"workflowId {job.workflow_id}" in run.stderr
        assert "FAILED" in run.stderr
        assert run.bookmark("response") == "2025-03-03T00:00:00+00:00"
        assert {r["window_start"] for r in run.records("response")} == {
            "2025-03-01T00:00:00+00:00",
            "2025-03-02T00:00:00+00:00",
        }


def test_a_job_that_never_finishes_times_out_naming_the_report_and_window():
    with khoros_simulator(stuck={("author", "2025-03-02")}) as sim:
        config = khoros_config(sim, report_types=["author"], report_timeout=1.0)
        run = run_tap("tap_khoros_care", config)
        assert run.returncode != 0
        job = next(j for j in sim.jobs.values() if j.outcome == "STUCK")
        assert "`report_timeout`" in run.stderr and f"workflowId {job.workflow_id}" in run.stderr
        assert "Khoros report `author` for window [2025-03-02T00:00:00+00:00" in run.stderr
        assert run.bookmark("author") == "2025-03-02T00:00:00+00:00"
        assert job.status_calls >= 2  # it kept polling, with backoff, until the timeout


def test_download_redirect_never_carries_credentials_and_is_never_logged(khoros):
    run = run_tap(
        "tap_khoros_care", khoros_config(khoros, report_types=["incoming_post", "conversation"])
    )
    assert run.returncode == 0, run.stderr
    served = khoros.file_host.requests
    assert (
        len(served) == 6
    )  # two windows of incoming_post and conversation (CREATED, CLOSED), once each
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for request in served:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert "authorization" not in headers
        assert "companyKey" not in request["query"]
        assert all(secret not in json.dumps(request) for secret in (PASSWORD, COMPANY_KEY, token))
    for request in served:  # neither the signed URL nor its path appear in what the tap wrote
        signature = request["query"]["X-Amz-Signature"][0]
        assert signature not in run.output and request["path"] not in run.output


def test_download_that_breaks_off_is_fetched_again_without_duplicates():
    with khoros_simulator() as sim:
        sim.file_host.cut_next, sim.file_host.cut_after_bytes = 1, 3000
        config = khoros_config(sim, report_types=["combined"])
        run = run_tap("tap_khoros_care", config)
        assert run.returncode == 0, run.stderr
        assert "Fetching the file of Khoros report `combined`" in run.stderr
        assert_delivers_expected(run, sim, config)
        assert len(sim.file_host.requests) == 3  # the broken one, again, and the second window


def test_an_expired_download_link_is_replaced_by_a_fresh_one():
    with khoros_simulator() as sim:
        sim.file_host.expire_next = 1
        config = khoros_config(sim, report_types=["author"])
        run = run_tap("tap_khoros_care", config)
        assert run.returncode == 0, run.stderr
        assert "the file host refused the link (HTTP 403; expired?)" in run.stderr
        assert_delivers_expected(run, sim, config)
        assert len(sim.calls(status=307)) == 3  # a second redirect for the refused link


def test_a_file_host_redirecting_elsewhere_is_reported_as_a_redirect():
    # Issue 18: the file host answering 307 to another host, which refuses (404), ended as
    # "refused the link (HTTP 404; expired?)". The redirect is followed (the link is Khoros's,
    # and nothing of ours goes with it) and the error says it was a redirect, and to where.
    from kit_hostile import Elsewhere

    from support_simulators.framework import SimResponse

    with khoros_simulator() as sim, Elsewhere() as elsewhere:
        sim.file_host.intercept(
            "GET",
            r"/.*",
            lambda request, normal: SimResponse(
                307, b"", {"Location": f"{elsewhere.named_url}{request.path}"}
            ),
        )
        config = khoros_config(sim, report_types=["author"], end_date="2025-03-02")
        run = run_tap("tap_khoros_care", config)
        error = run.one_error_line()
        assert (
            "could not be read after 3 attempts: the file host redirected the link (HTTP 307) "
            "to another host (localhost), which answered HTTP 404." in error
        )
        assert "expired?" not in error
        assert len(elsewhere.requests) == 3
        token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        for request in elsewhere.requests:
            assert all(secret not in request for secret in (PASSWORD, COMPANY_KEY, token))
            assert "authorization" not in request.lower()


def test_a_report_file_whose_body_drips_fails_within_request_deadline():
    # Issue 18: the file host sends its headers at once, then a byte every 0.05 s, each well
    # inside `request_timeout`: only the body's deadline (`request_deadline`, then a minimum
    # rate) ends each fetch, and the run fails naming the file and the setting.
    from kit_hostile import dripping, http_head

    from support_simulators.framework import SimResponse

    def drip(request, normal):
        body = b"[" + b" " * 5_000 + b"]"
        head = http_head(200, {"Content-Type": "application/json", "Content-Length": "5002"})
        return SimResponse(200, write=dripping(head + body, 0.05, after=len(head)))

    with khoros_simulator() as sim:
        sim.file_host.intercept("GET", r"/.*", drip)
        config = khoros_config(
            sim, report_types=["author"], end_date="2025-03-02", request_deadline=1
        )
        run = run_tap("tap_khoros_care", config, timeout=60)
        assert run.seconds < 15  # three fetches of about a second each, and the job
        error = run.one_error_line()
        assert "The file of Khoros report `author`" in error
        assert "did not complete within 1s of reading, nor keep coming at 4 KiB/s" in error
        assert "(see `request_deadline`)" in error
        assert len(sim.file_host.requests) == 3


def test_a_fresh_link_to_the_same_file_is_followed_and_stays_masked():
    # Pre-signed links name the file in their path (an S3 object key): the fresh link after an
    # expired one has the first one's path, only its signature and expiry differ. It is the
    # vendor's link, not a credential of ours: followed to the host it names, and masked.
    with khoros_simulator() as sim:
        sim.file_host.expire_next = 1
        config = khoros_config(sim, report_types=["author"], end_date="2025-03-02")
        run = run_tap("tap_khoros_care", config)
        assert run.returncode == 0, run.stderr
        assert "credential in the URL" not in run.stderr
        first, again = sim.file_host.requests
        assert first["path"] == again["path"] and first["query"] != again["query"]
        assert_delivers_expected(run, sim, config)
        assert first["path"] not in run.output and again["path"] not in run.output


def test_wrong_credentials_name_the_settings_and_leak_nothing(khoros):
    for override in (
        {"password": "not-the-password-123"},
        {"company_key": "not-the-company-key-456"},
    ):
        run = run_tap("tap_khoros_care", khoros_config(khoros, report_types=["author"], **override))
        assert run.returncode != 0
        assert "Khoros refused the credentials" in run.stderr
        assert "`username`, `password` and `company_key`" in run.stderr
        secret = next(iter(override.values()))
        assert secret not in run.output


def test_jobs_run_concurrently_within_the_limit_and_the_rate():
    # The simulator refuses more than 10 requests a second (burst 3) with 429s; the tap
    # is told 600 a minute: it must never be refused.
    with khoros_simulator(job_latency=(0.3, 0.6)) as sim:
        sim.faults.rate_limit, sim.faults.burst = 10.0, 3
        config, run = run_reports(
            sim,
            report_types=["incoming_post", "response"],
            start_date="2025-03-01",
            end_date="2025-03-05",
            max_concurrent_reports=3,
            requests_per_minute=600,
        )
        assert sim.calls(status=429) == []
        assert (
            2 <= sim.stats.peak_running <= 3
        )  # never more jobs running on Khoros's side than allowed
        assert (
            sim.stats.peak_open > 3
        )  # finished jobs wait for their stream's turn without holding a slot
        assert_delivers_expected(run, sim, config)
        # Records of each stream in window order, each window's STATE after its records.
        for stream in ("incoming_post", "response"):
            starts = [r["window_start"] for r in run.records(stream)]
            assert starts == sorted(starts)
        # Free slots started the second report's first jobs while the first was finishing.
        events = sim.stats.events
        assert events.index(("start", "response", "2025-03-01")) < events.index(
            ("download", "incoming_post", "2025-03-04")
        )


def test_jobs_started_early_for_the_next_report_follow_its_bookmark(khoros):
    bookmark = {
        "replication_key": "window_start",
        "replication_key_value": "2025-03-03T00:00:00+00:00",
    }
    state = {"bookmarks": {name: dict(bookmark) for name in ("author", "response")}}
    config, run = run_reports(
        khoros,
        report_types=["author", "response"],
        start_date="2025-03-01",
        end_date="2025-03-06",
        max_concurrent_reports=4,
        state=state,
    )
    started = khoros.stats.log
    assert sorted(started) == [
        (r, d) for r in ("author", "response") for d in ("2025-03-03", "2025-03-04", "2025-03-05")
    ]
    assert khoros.stats.events.index(
        ("start", "response", "2025-03-03")
    ) < khoros.stats.events.index(("download", "author", "2025-03-05"))  # started early, and used
    assert {r["window_start"][:10] for r in run.records("response")} == {
        "2025-03-03",
        "2025-03-04",
        "2025-03-05",
    }


def test_state_after_each_window_follows_its_records(khoros):
    run = run_tap(
        "tap_khoros_care",
        khoros_config(
            khoros, report_types=["combined"], start_date="2025-03-01", end_date="2025-03-04"
        ),
    )
    assert run.bookmarks("combined") == [
        "2025-03-02T00:00:00+00:00",
        "2025-03-03T00:00:00+00:00",
        "2025-03-04T00:00:00+00:00",
    ]
    # Each STATE comes after every record of the windows it covers, never before one.
    bookmark, last_window_end, windows_before_state = None, None, []
    for message in run.messages:
        if message["type"] == "STATE":
            moved = run.bookmark("combined", message["value"])
            if moved and moved != bookmark:
                windows_before_state.append(last_window_end)
            bookmark = moved or bookmark
        elif message["type"] == "RECORD" and message["stream"] == "combined":
            last_window_end = message["record"]["window_end"]
            assert bookmark is None or message["record"]["window_start"] >= bookmark
    # The record just before each new bookmark belongs to the window that bookmark closes.
    assert windows_before_state == run.bookmarks("combined")


def test_resume_after_a_failed_window_asks_for_it_again():
    with khoros_simulator(failing={("incoming_post", "2025-03-03")}) as sim:
        config = khoros_config(
            sim, report_types=["incoming_post"], start_date="2025-03-01", end_date="2025-03-05"
        )
        first = run_tap("tap_khoros_care", config)
        assert (
            first.returncode != 0 and first.bookmark("incoming_post") == "2025-03-03T00:00:00+00:00"
        )
        sim.failing.clear()
        sim.stats.log.clear()
        second = run_tap("tap_khoros_care", config, state=first.final_state)
        assert second.returncode == 0, second.stderr
        assert sim.stats.log[0] == ("incoming_post", "2025-03-03")
        first_ids = [r["POST_ID"] for r in first.records("incoming_post")]
        second_ids = [r["POST_ID"] for r in second.records("incoming_post")]
        assert not set(first_ids) & set(second_ids)
        assert {(i,) for i in first_ids + second_ids} == sim.expected_vendor_keys(config)[
            "incoming_post"
        ][1]


def test_resume_after_the_run_is_killed_midway(tmp_path):
    """SIGKILL after the second window's STATE: the state it left resumes with nothing lost."""
    with khoros_simulator(job_latency=(0.05, 0.1)) as sim:
        config = khoros_config(
            sim,
            report_types=["response"],
            start_date="2025-03-01",
            end_date="2025-03-07",
            requests_per_minute=600,
        )
        messages = run_until_bookmarks(config, tmp_path, "response", 2)
        state = [m["value"] for m in messages if m["type"] == "STATE"][-1]
        assert (
            state["bookmarks"]["response"]["replication_key_value"] == "2025-03-03T00:00:00+00:00"
        )
        before = [m["record"] for m in messages if m["type"] == "RECORD"]
        assert {r["window_start"] for r in before} == {
            "2025-03-01T00:00:00+00:00",
            "2025-03-02T00:00:00+00:00",
        }
        resumed = run_tap("tap_khoros_care", config, state=state)
        assert resumed.returncode == 0, resumed.stderr
        assert (
            min(r["window_start"] for r in resumed.records("response"))
            == "2025-03-03T00:00:00+00:00"
        )
        ids = [r["POST_ID"] for r in before + resumed.records("response")]
        assert len(ids) == len(set(ids))
        assert {(i,) for i in ids} == sim.expected_vendor_keys(config)["response"][1]


def test_rate_limited_requests_are_retried_after_the_wait_asked(khoros):
    khoros.faults.rate_limit, khoros.faults.burst = 4.0, 1  # far below what the tap is told
    config = khoros_config(khoros, report_types=["raw_expert_help"], max_retry_after=0.3)
    run = run_tap("tap_khoros_care", config)
    assert run.returncode == 0, run.stderr
    assert khoros.calls(status=429) and "HTTP 429" in run.stderr
    assert_delivers_expected(run, khoros, config)


def test_lookback_asks_again_for_recent_days(khoros):
    state = {
        "bookmarks": {
            "author": {
                "replication_key": "window_start",
                "replication_key_value": "2025-03-05T00:00:00+00:00",
            }
        }
    }
    config, run = run_reports(
        khoros,
        report_types=["author"],
        start_date="2025-03-01",
        end_date="2025-03-06",
        lookback_days=2,
        state=state,
    )
    assert [d for _, d in khoros.stats.log] == ["2025-03-03", "2025-03-04", "2025-03-05"]
    assert run.bookmark("author") == "2025-03-06T00:00:00+00:00"


def test_credentials_only_go_to_the_configured_api_host(khoros):
    tap = TapKhorosCare(config=khoros_config(khoros))
    api = tap.job_api(tap.streams["author"])
    base = khoros.api_url
    assert (
        api.api_url(f"{base}/reports/report/w/r/status", "/x")
        == f"{base}/reports/report/w/r/status"
    )
    assert api.api_url("https://elsewhere.example/reports/report/w/r/status", "/x") == base + "/x"
    assert (
        api.api_url(None, "/reports/report/w/r%2F/download")
        == base + "/reports/report/w/r%2F/download"
    )


def test_discovery_follows_report_types(khoros):
    tap = TapKhorosCare(config=khoros_config(khoros, report_types=["response", "author"]))
    # The teams list is not a report: every run has it.
    assert sorted(tap.streams) == ["author", "response", "teams"]
    assert set(TapKhorosCare(config=khoros_config(khoros)).streams) == {*REPORT_TYPES, "teams"}


BAD_SETTINGS = {
    "report_types": ["tickets"],
    "timeInterval": 123,
    "priorities": [7],
    "timezone": "Mars/Olympus",
    "api_url": "analytics-api.app.lithium.com",
    "reportMetrics": {"tickets": ["a"]},
}


def test_bad_settings_are_refused_naming_each_setting(khoros):
    with pytest.raises(ConfigValidationError) as refused:
        TapKhorosCare(config=khoros_config(khoros, **BAD_SETTINGS))
    for setting in BAD_SETTINGS:
        assert f"`{setting}`" in str(refused.value)
    assert len(refused.value.errors) == len(BAD_SETTINGS)
    assert not khoros.calls()


#: Ranges the config schema declares (and `--about` documents), checked by the SDK.
OUT_OF_RANGE = {
    "window_days": (0, "0 is less than the minimum of 1"),
    "lookback_days": (-1, "-1 is less than the minimum of 0"),
    "history_months": (0, "0 is less than the minimum of 1"),
    "max_concurrent_reports": (0, "0 is less than the minimum of 1"),
    "max_file_mb": (0, "0 is less than or equal to the minimum of 0"),
    "requests_per_minute": (0, "0 is less than or equal to the minimum of 0"),
    "poll_interval": (-5, "-5 is less than or equal to the minimum of 0"),
    "max_poll_interval": (0, "0 is less than or equal to the minimum of 0"),
    "report_timeout": (0, "0 is less than or equal to the minimum of 0"),
}


def test_settings_out_of_their_range_are_refused_naming_each_setting(khoros):
    bad = {name: value for name, (value, _) in OUT_OF_RANGE.items()}
    with pytest.raises(ConfigValidationError) as refused:
        TapKhorosCare(config=khoros_config(khoros, **bad))
    assert sorted(refused.value.errors) == sorted(
        f"The setting `{name}` is invalid: {says}." for name, (_, says) in OUT_OF_RANGE.items()
    )
    with pytest.raises(ConfigValidationError) as too_long:
        TapKhorosCare(config=khoros_config(khoros, window_days=93))
    assert too_long.value.errors == [
        "The setting `window_days` is invalid: 93 is greater than the maximum of 92."
    ]
    assert not khoros.calls()


JSON_ONLY_USER_COLUMNS = (
    "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS",
    "TOTAL_GREEN_STATE_TIME_MILLIS",
    "TOTAL_YELLOW_STATE_TIME_MILLIS",
    "TOTAL_RED_STATE_TIME_MILLIS",
    "TOTAL_MOBILE_TIME_MILLIS",
)


@pytest.mark.parametrize("report_format", ["json", "csv"])
def test_the_user_exports_published_millis_columns_are_typed_columns(khoros, report_format):
    """Khoros's user export reference lists five JSON-only columns: typed integers from a JSON
    file (not only in `fields`), null from a CSV file, which does not have them."""
    run = run_tap(
        "tap_khoros_care",
        khoros_config(khoros, report_types=["user"], report_format=report_format),
    )
    assert run.returncode == 0, run.stderr
    schema = run.schemas()["user"]["schema"]["properties"]
    records = run.records("user")
    assert records
    for name in JSON_ONLY_USER_COLUMNS:
        assert schema[name]["type"] == ["integer", "null"], name
        for record in records:
            if report_format == "json":
                assert record[name] == int(record["fields"][name]), name
            else:
                assert record[name] is None and name not in record["fields"], name
    if report_format == "json":
        assert any(record["TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS"] > 0 for record in records)
        assert not any(name in run.stderr for name in JSON_ONLY_USER_COLUMNS)
