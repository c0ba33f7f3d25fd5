"""Job states and broken downloads against the simulator: every way a window can end without a file
is an error within a few polls, naming report, window and workflow id, and nothing is bookmarked."""

from __future__ import annotations

import base64
import gzip
import io
import json
import zipfile
from urllib.parse import quote

import pytest
from kit_hostile import dripping
from kit_khoros import COMPANY_KEY, PASSWORD, USERNAME, khoros_config, khoros_simulator, run_reports
from tap_runner import run_tap

from support_simulators.framework import Fault, SimResponse

WINDOW_2 = (
    "Khoros report `response` for window [2025-03-02T00:00:00+00:00, 2025-03-03T00:00:00+00:00)"
)


def _records_match_expected(run, sim, config):
    for stream, (columns, keys) in sim.expected_primary_keys(config).items():
        got = [tuple(r[c] for c in columns) for r in run.records(stream)]
        assert set(got) == keys, stream


@pytest.mark.parametrize("shape", ["object", "list", "inner-list", "flat", "mixed"])
def test_a_run_completes_whatever_the_published_status_shape(shape):
    with khoros_simulator(status_shape=shape) as sim:
        config = khoros_config(sim, report_types=["response", "author"])
        run = run_tap("tap_khoros_care", config)
        assert run.returncode == 0, run.stderr
        _records_match_expected(run, sim, config)
        assert run.bookmark("response") == "2025-03-03T00:00:00+00:00"
        # Status checks went to the statusUrl Khoros gave (with its access token), which
        # never leaks.
        statuses = [c for c in sim.calls() if c.path.endswith("/status")]
        assert statuses and all("analyticsAccessToken" in c.query for c in statuses)
        tokens = {
            form for job in sim.jobs.values() for form in (job.token, quote(job.token, safe=""))
        }
        assert len(tokens) == 2 * len(sim.jobs)
        assert not any(token in run.output for token in tokens)


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("failing", "ended as CLOSED/FAILED"),
        ("no_file", "closed without a file (no `detail` and no `downloadUrl`)"),
        ("unreadable", "expected a nested job with `result.result.runnerState`, found object{"),
    ],
)
def test_a_window_without_a_file_fails_within_a_few_polls(fault, says):
    with khoros_simulator(**{fault: {("response", "2025-03-02")}}, job_latency=(0.05, 0.05)) as sim:
        config = khoros_config(sim, report_types=["response"], report_timeout=3600)
        run = run_tap("tap_khoros_care", config, timeout=120)
        assert run.returncode != 0
        job = next(
            j for j in sim.jobs.values() if j.params.start.date().isoformat() == "2025-03-02"
        )
        assert says in run.stderr
        assert WINDOW_2 in run.stderr and f"workflowId {job.workflow_id}" in run.stderr
        assert job.status_calls <= 4  # not an hour of polling: the answer ended it
        assert run.seconds < 60
        assert run.bookmark("response") == "2025-03-02T00:00:00+00:00"
        assert {r["window_start"][:10] for r in run.records("response")} == {"2025-03-01"}
        if fault == "unreadable":  # the keys found are named, never the values
            assert "result: object{jobInfo: object{" in run.stderr and "state: string" in run.stderr


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("empty-200", "answered HTTP 200 with an empty body"),
        ("204", "HTTP 204 (no content)"),
        ("307-no-location", "(HTTP 307) without a Location header"),
    ],
)
def test_a_download_without_a_file_is_an_error_not_an_empty_window(fault, says):
    with khoros_simulator(bad_downloads={("response", "2025-03-02"): fault}) as sim:
        config = khoros_config(
            sim, report_types=["response"], start_date="2025-03-01", end_date="2025-03-04"
        )
        run = run_tap("tap_khoros_care", config)
        assert run.returncode != 0
        assert says in run.stderr and WINDOW_2 in run.stderr
        assert run.bookmark("response") == "2025-03-02T00:00:00+00:00"
        assert "2025-03-03T00:00:00+00:00" not in run.bookmarks("response")
        assert {r["window_start"][:10] for r in run.records("response")} == {"2025-03-01"}
        token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        assert token not in run.output and PASSWORD not in run.output


def _csv_of_response() -> bytes:
    return b"CONVERSATION_ID,RESPONSE_ID,SENT_AT\r\n1,2,2025-03-02 10:00:00\r\n"


def _zipped(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("response.csv"), data)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            b'{"error": "AccessDenied", "message": "Request has expired"}',
            "the body is JSON, not a CSV report: JSON object{error: string, message: string}",
        ),
        (
            b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>',
            "the body is an HTML or XML page, not a report file",
        ),
        (b"<html><body>Service Unavailable</body></html>", "an HTML or XML page"),
        (_zipped(_csv_of_response()), "the body is a ZIP archive"),
        (gzip.compress(_csv_of_response(), mtime=0), "the body is a gzip-compressed file"),
        (_csv_of_response().decode().encode("utf-16"), "the body is UTF-16 text"),
        (b"Service Unavailable", "its first line is not a header of this report"),
    ],
    ids=["json", "xml", "html", "zip", "gzip", "utf-16", "text"],
)
def test_csv_mode_refuses_a_file_that_is_no_report(body, says):
    # The file host answers HTTP 200 with something that is no CSV report, for the second
    # window (each of the three attempts): an error naming the download, never rows or a
    # bookmarked window.
    with khoros_simulator() as sim:
        sim.file_host.faults.add(
            Fault(status=200, body=body, skip=1), *[Fault(status=200, body=body)] * 2
        )
        config = khoros_config(
            sim,
            report_types=["response"],
            report_format="csv",
            start_date="2025-03-01",
            end_date="2025-03-04",
        )
        run = run_tap("tap_khoros_care", config)
        assert run.returncode != 0
        assert f"The file of {WINDOW_2}" in run.stderr
        assert "could not be read after 3 attempts: the file is not a valid report: " in run.stderr
        assert says in run.stderr
        assert run.bookmark("response") == "2025-03-02T00:00:00+00:00"
        assert {r["window_start"][:10] for r in run.records()} == {"2025-03-01"}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_error_page_quoting_a_secret_is_named_masked(fmt):
    # An error page from the file host that echoes what it was sent (here the company key and
    # the password): quoted in the error, the secrets masked.
    body = f"<html><body>Denied: key={COMPANY_KEY} pass={PASSWORD}</body></html>".encode()
    with khoros_simulator() as sim:
        sim.file_host.faults.add(*[Fault(status=200, body=body)] * 3)
        config = khoros_config(
            sim,
            report_types=["response"],
            report_format=fmt,
            start_date="2025-03-01",
            end_date="2025-03-02",
        )
        run = run_tap("tap_khoros_care", config)
    assert run.returncode != 0
    assert "the body is an HTML or XML page, not a report file: '<html><body>Denied: key=" in (
        run.stderr
    )
    assert COMPANY_KEY not in run.output and PASSWORD not in run.output
    assert run.bookmark("response") is None and run.records("response") == []


def test_new_exports_and_their_parameters(khoros):
    config, run = run_reports(
        khoros,
        report_types=["user", "conversation_history_action", "raw_agent_states", "incoming_post"],
        teamIds=["101", "102"],
        agentIds=["5000", "5001", "5003"],
        includeDisabled=True,
        raiselimit=True,
        enableBusinessHour=True,
        businessHourType=True,
        priorities=[1, 2],
    )
    calls = {
        c.path.rsplit("/", 1)[-1]: c
        for c in khoros.calls()
        if "/reports/report/" in c.path and c.path.count("/") == 5
    }
    user = calls["user"]
    assert user.method == "GET"
    assert user.query["teamId"] == ["101", "102"] and user.query["agentId"] == [
        "5000",
        "5001",
        "5003",
    ]
    assert user.query["includeDisabled"] == ["true"]
    for name in ("priorities", "enableBusinessHour", "businessHourType", "teamIds", "raiselimit"):
        assert name not in user.query  # Khoros documents none of these for the user export
    history = calls["conversation_history_action"]
    assert history.method == "POST" and history.query["raiselimit"] == ["true"]
    form = next(
        j.form
        for j in khoros.jobs.values()
        if j.params.report_type == "conversation_history_action"
    )
    assert "startTime" not in history.query and "startTime" in form and "raiselimit" not in form
    assert form["enableBusinessHour"] == ["true"] and form["businessHourType"] == ["true"]
    assert calls["raw_agent_states"].query["teamIds"] == ["101,102"]
    incoming = calls["incoming_post"].query
    assert (
        incoming["enableBusinessHour"] == ["true"]
        and "teamIds" not in incoming
        and "raiselimit" not in incoming
    )
    users = run.records("user")
    assert {r["AGENT_ID"] for r in users} == {"5000", "5001", "5003"}
    assert all(
        isinstance(r["AGENT_ENABLED"], bool) and isinstance(r["TOTAL_TIME_SECONDS"], (int, float))
        for r in users
    )
    assert run.records("conversation_history_action")
    assert {r["TEAM_ID"] for r in run.records("raw_agent_states")} <= {"101", "102"}
    _records_match_expected(run, khoros, config)


def test_business_hour_type_without_enable_is_refused_naming_the_setting(khoros):
    run = run_tap("tap_khoros_care", khoros_config(khoros, businessHourType=False))
    assert (
        run.returncode != 0
        and "`businessHourType`" in run.stderr
        and "`enableBusinessHour`" in run.stderr
    )
    assert not khoros.calls()


def test_about_lists_every_new_setting_with_its_type():
    run = run_tap("tap_khoros_care", {}, args=("--about", "--format", "json"))
    about = json.loads(run.stdout)
    properties = about["settings"]["properties"]
    for name in (
        "agentIds",
        "enableBusinessHour",
        "businessHourType",
        "raiselimit",
        "history_months",
        "max_file_mb",
        "conversation_report_types",
        "window_days",
    ):
        assert name in properties
    assert properties["raiselimit"]["type"] == ["boolean", "null"]
    assert (
        "number" in properties["max_file_mb"]["type"]
        and properties["max_file_mb"]["default"] == 1024
    )
    assert (
        "integer" in properties["history_months"]["type"]
        and properties["history_months"]["default"] == 18
    )
    assert (
        "default" not in properties["window_days"]
        and "three calendar months" in properties["window_days"]["description"]
    )
    assert properties["conversation_report_types"]["default"] == ["CREATED", "CLOSED"]
    # Ranges are declared in the schema, so `--about` and the Hub document them.
    assert (properties["window_days"]["minimum"], properties["window_days"]["maximum"]) == (1, 92)
    assert properties["max_file_mb"]["exclusiveMinimum"] == 0
    for name in ("requests_per_minute", "poll_interval", "max_poll_interval", "report_timeout"):
        assert "number" in properties[name]["type"], name  # decimals are numbers, not integers


def test_a_job_start_answered_with_a_redirect_is_one_line_naming_it():
    # Khoros's requests follow no redirect (the download's leads off the API host); a
    # redirect's body, JSON or not, is never the job asked for.
    with khoros_simulator() as sim:
        sim.faults.add(
            Fault(
                status=307,
                location="http://localhost:9/elsewhere",
                path_prefix="/api/public/reports/report/response",
            )
        )
        run = run_tap("tap_khoros_care", khoros_config(sim, report_types=["response"]))
    error = run.one_error_line()
    assert (
        "answered GET /api/public/reports/report/response with a redirect (HTTP 307, to "
        "localhost) that is not followed there: check the `api_url` setting."
    ) in error
    assert run.records() == []


def _one_error(run) -> str:
    error = run.one_error_line()
    assert "Traceback" not in run.stderr
    return error


def test_a_report_file_that_cannot_be_decompressed_is_one_line_not_fetched_again():
    def gzip_said(request, normal):
        response = normal()
        body = b"".join(response.chunks) if response.chunks is not None else response.body
        return SimResponse(200, body, {"Content-Type": "text/csv", "Content-Encoding": "gzip"})

    with khoros_simulator() as sim:
        sim.file_host.intercept("GET", ".*", gzip_said)
        run = run_tap("tap_khoros_care", khoros_config(sim, report_types=["response"]))
        fetched = len(sim.file_host.requests)
    line = _one_error(run)
    assert "cannot be decompressed" in line and "report `response`" in line
    assert fetched == 1


def test_a_report_file_whose_headers_drip_fails_within_the_deadline():
    def dripping_headers(request, normal):
        head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"." * 2000 + b"\r\n\r\n[]"
        return SimResponse(200, write=dripping(head, 0.05))

    with khoros_simulator() as sim:
        sim.file_host.intercept("GET", ".*", dripping_headers)
        config = khoros_config(sim, report_types=["response"], request_deadline=0.5, max_retries=0)
        run = run_tap("tap_khoros_care", config, timeout=60)
    line = _one_error(run)
    assert "did not complete within 0.5s" in line and run.seconds < 20


def test_a_job_request_refused_in_its_envelope_names_the_endpoint():
    def failed(request, normal):
        return SimResponse(200, b'{"status": "FAIL", "message": "no"}', {})

    with khoros_simulator() as sim:
        sim.intercept("GET", r".*/status", failed)
        run = run_tap("tap_khoros_care", khoros_config(sim, report_types=["response"]))
    line = _one_error(run)
    assert "Khoros refused the status of Khoros report `response`" in line
    assert "(GET /api/public/reports/report/response-" in line and "/status): status 'FAIL'" in line


def test_a_download_that_answers_something_else_than_a_file_names_the_request():
    def not_a_file(request, normal):
        return SimResponse(200, b"<html>Service error</html>", {"Content-Type": "text/html"})

    with khoros_simulator() as sim:
        sim.intercept("GET", r".*/download", not_a_file)
        run = run_tap("tap_khoros_care", khoros_config(sim, report_types=["response"]))
    line = _one_error(run)
    assert "(served by GET /api/public/reports/report/response-" in line
    assert "/download) could not be read after 3 attempts" in line


def test_a_report_file_redirected_in_a_loop_is_one_line_naming_the_file():
    def loop(request, normal):
        return SimResponse(302, b"", {"Location": request.path})

    with khoros_simulator() as sim:
        sim.file_host.intercept("GET", ".*", loop)
        run = run_tap("tap_khoros_care", khoros_config(sim, report_types=["response"]))
    line = _one_error(run)
    assert "The file of Khoros report `response` for window [2025-03-01" in line
    assert ", on the file host: Khoros answered GET *** with a redirect loop" in line
