"""Khoros's own published examples (tests/contracts/khoros), fed through the tap's parsing path.

Each fixture is the body of a response as Khoros's developer-portal OpenAPI publishes it,
byte for byte, with its source in the `.source` sidecar. The tap reads it exactly as it
reads a live answer: the job API's `start` / `poll` (`ReportJobAPI`, wired by the tap from
the report's stream) with the HTTP exchange replaced by a response carrying the fixture's
bytes (no network here reaches Khoros). The default `api_url` is Khoros's own host, so the
published URLs are on it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests

from support_taps.redaction import redact
from support_taps.windows import DateWindow
from tap_khoros_care.job_api import ReportJobAPI
from tap_khoros_care.jobs import ReportFailed, ReportJob
from tap_khoros_care.status import read_status
from tap_khoros_care.tap import TapKhorosCare

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts" / "khoros"
API = "https://analytics-api.app.lithium.com/api/public"
WINDOW = DateWindow(
    dt.datetime(2025, 3, 1, tzinfo=dt.timezone.utc), dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc)
)
CONFIG = {
    "username": "contract-user",
    "password": "contract-password-1",
    "company_key": "contract-key-2",
    "start_date": "2025-03-01",
    "end_date": "2025-06-01",
    "poll_interval": 0.01,
}


def _body(name: str) -> bytes:
    return (CONTRACTS / name).read_bytes()


def _response(body: bytes, url: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = body  # a response as `requests` builds it from the wire
    response.headers["Content-Type"] = "application/json"
    response.url = url
    return response


def _api(
    name: str, answers: list[bytes], seen: list[str] | None = None, report: str = "author"
) -> ReportJobAPI:
    tap = TapKhorosCare(config=CONFIG)
    stream = tap.streams[report]

    def send(
        request, context, *, endpoint, stream=False
    ):  # the HTTP exchange, answered by the fixture
        if seen is not None:
            seen.append(request.url)
        return _response(answers.pop(0), request.url)

    stream.send = send  # type: ignore[method-assign]
    return tap.job_api(stream)


def _job(api: ReportJobAPI, **overrides) -> ReportJob:
    fields = {
        "workflow_id": "f71ccb0c-afdc-32c6-8bfd-443f8eabae87",
        "run_id": "23nUak09Gc3t5K65L3GMQ3Y1onNYtvSsfUSuqEO0+pkHA=",
        "status_url": None,
        "started": 0.0,
        "next_poll": 0.0,
        "poll_wait": 0.01,
    }
    return ReportJob(api.report_type, WINDOW, **{**fields, **overrides})


def test_every_fixture_names_its_source_and_is_published_json():
    fixtures = sorted(CONTRACTS.glob("*.json"))
    assert len(fixtures) >= 12
    for path in fixtures:
        source = Path(str(path) + ".source").read_text()
        assert "khoros" in source.lower() and (
            "developer.khoros.com" in source or "github.com" in source
        )
        assert isinstance(json.loads(path.read_bytes()), dict)


def test_report_ready_to_download_nested_object():
    seen: list[str] = []
    api = _api("author", [_body("status_ready_object.json")], seen)
    job = _job(api)
    assert api.poll(job) is True
    # Read where Khoros's OpenAPI nests it: the state in `result.result` (`result` has none
    # of its own), the URLs in `result.jobInfo`.
    published = json.loads(_body("status_ready_object.json"))["result"]
    assert "runnerState" not in published and "downloadUrl" not in published
    assert (job.status.runner_state, job.status.detail) == ("CLOSED", "COMPLETED")
    assert job.status.download_url == published["jobInfo"]["downloadUrl"]
    # The download URL Khoros gives is on the API host: it is used, its access token masked.
    assert job.download_url.startswith(
        f"{API}/reports/report/f71ccb0c-afdc-32c6-8bfd-443f8eabae87/"
    )
    assert "/download?analyticsAccessToken=" in job.download_url
    token, encoded = "oMqgB5T7BikRH3ISPxlqIw==", "oMqgB5T7BikRH3ISPxlqIw%3D%3D"
    assert encoded in job.download_url
    assert encoded not in redact(f"see {job.download_url}") and token not in redact(
        f"token {token}"
    )
    assert seen == [
        (
            f"{API}/reports/report/f71ccb0c-afdc-32c6-8bfd-443f8eabae87/"
            "23nUak09Gc3t5K65L3GMQ3Y1onNYtvSsfUSuqEO0%2BpkHA%3D/status"
        )
    ]


def test_export_still_running_as_a_one_item_list():
    api = _api("author", [_body("status_running_list.json")])
    job = _job(api)
    assert api.poll(job) is False
    assert (job.status.runner_state, job.status.detail, job.status.download_url) == (
        "RUNNING",
        "",
        "",
    )
    # The statusUrl it carries is the one polled next.
    assert job.status_url.startswith(f"{API}/reports/report/57113d95-0745-320b-9269-00de3a9a3128/")
    assert job.status_url.endswith("/status?analyticsAccessToken=53u6j8zjSLAe6e%2F8s80LtA%3D%3D")


def test_export_finished_but_failed_ends_the_window_naming_report_window_and_workflow():
    api = _api("author", [_body("status_failed_list.json")])
    job = _job(api, workflow_id="57113d95-0745-320b-9269-00de3a9a3128")
    with pytest.raises(ReportFailed) as failed:
        api.poll(job)
    message = str(failed.value)
    assert "Khoros report `author`" in message
    assert "[2025-03-01T00:00:00+00:00, 2025-06-01T00:00:00+00:00)" in message
    assert "workflowId 57113d95-0745-320b-9269-00de3a9a3128" in message
    assert "CLOSED/FAILED" in message and "bookmark stays at 2025-03-01T00:00:00+00:00" in message


def test_deprecated_jobs_examples_say_details_and_mean_ready_by_their_download_url():
    running = read_status(json.loads(_body("jobs_running.json")))
    assert (running.runner_state, running.detail, running.running) == ("RUNNING", "", True)
    api = _api("author", [_body("jobs_finished.json")])
    job = _job(api)
    assert api.poll(job) is True  # CLOSED, no detail, a downloadUrl: the file is there
    assert job.download_url == (
        f"{API}/reports/report/b8520152-0f68-338e-8c49-db6190be58f9/"
        "233mkcTFbmE%2B40bqQ3db%2F4SnnqomXScvqbK%2FkdzMtD0qo%3D/download"
    )  # companyKey dropped


@pytest.mark.parametrize(
    ("fixture", "report", "workflow_id", "run_id", "status_on_api_host"),
    [
        (
            "start_conversation_actions_get.json",
            "conversation_actions",
            "2951efa0-ea55-3a74-8a60-66ea888bb83d",
            "239cSQoLhKk0Z4YSzWvYX4Z92E9ybFgvwNcrbwc3O8Hms=",
            True,
        ),
        (
            "start_conversation_actions_post.json",
            "conversation_actions",
            "cc645bd3-9def-3d5c-bf05-20efeb11f453",
            "23IS1+Anp9mm9Bl+C2VZV3UY2T6g4H6eoODJUFQPVpvlI=",
            True,
        ),
        (
            "start_conversation_history_action.json",
            "conversation_history_action",
            "example-9def-3d5c-bf05-20efeb11f453",
            "examplenp9mm9Bl+C2VZV3UY2T6g4H6eoODJUFQPVpvlI=",
            True,
        ),
        (
            "start_user_get.json",
            "user",
            "39b3a89d-1e79-3233-8127-8aa617f6f9d0",
            "23evvPscL2zWpQgpSqGPu6H5B+rqoJ7YgYws8e96uMyRM=",
            True,
        ),
        (
            "start_user_post.json",
            "user",
            "ec76f5df-7687-39cd-bde7-9e096c274469",
            "23LC2OQ4fUTembCkirAt5OinVWmrzWRb10mdJE+JOLNZM=",
            True,
        ),
        (
            "start_report_type.json",
            "author",
            "54e567db-997a-363b-8512-951ea98cf84a",
            "23Sh5Bd9Y9UAehNOtA",
            False,
        ),
        # Published with a QA host in its statusUrl: our credentials never go there.
        (
            "start_author.json",
            "author",
            "88cfc7fe-dfde-3b7d-b201-ec48e640f349",
            "23ycjuGsfv/xWjagJgnWRp8uV6mZHF3aSNmIivNLM1TyM=",
            False,
        ),
    ],
)
def test_start_answers_give_the_job(fixture, report, workflow_id, run_id, status_on_api_host):
    seen: list[str] = []
    api = _api(fixture, [_body(fixture)], seen, report=report)
    job = api.start(WINDOW)
    assert (job.report_type, job.workflow_id, job.run_id) == (report, workflow_id, run_id)
    if status_on_api_host:
        assert (
            job.status_url.startswith(f"{API}/reports/report/")
            and "companyKey" not in job.status_url
        )
    else:
        assert (
            job.status_url is None
        )  # polled at the documented path on the configured host instead
    assert seen[0] == f"{API}/reports/report/{report}"


def test_the_user_export_start_may_already_carry_its_download_url():
    api = _api("start_user_get.json", [_body("start_user_get.json")], report="user")
    job = api.start(WINDOW)
    assert job.download_url == (
        f"{API}/reports/report/39b3a89d-1e79-3233-8127-8aa617f6f9d0/"
        "23evvPscL2zWpQgpSqGPu6H5B%2BrqoJ7YgYws8e96uMyRM%3D/download"
    )


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (
            b'{"status": "PASS", "result": {"jobInfo": {"workflowId": "w"}, "state": "DONE"}}',
            "expected a nested job with `result.result.runnerState`, "
            "found object{status: string, result: object{"
            "jobInfo: object{workflowId: string}, state: string}}",
        ),
        (
            b'{"status": "PASS", "result": {"workflowId": "w", "state": "DONE"}}',
            "expected `runnerState` in `result` or in `result.result`, found object{",
        ),
        (
            b'{"status": "PASS", "result": []}',
            "expected `result` as an object or a one-item list, "
            "found object{status: string, result: list[]}",
        ),
        (
            b'{"status": "PASS", "data": {"runnerState": "CLOSED"}}',
            "expected an envelope with a `result` key, "
            "found object{status: string, data: object{runnerState: string}}",
        ),
        (
            b'[{"runnerState": "CLOSED"}]',
            "expected an envelope object {status, result}, "
            "found list[1 × object{runnerState: string}]",
        ),
    ],
)
def test_a_status_the_tap_cannot_read_fails_at_once_naming_the_keys(body, found):
    api = _api("author", [body])
    job = _job(api, workflow_id="wf-unreadable")
    with pytest.raises(Exception) as failed:
        api.poll(job)
    message = str(failed.value)
    assert (
        found in message
        and "workflowId wf-unreadable" in message
        and "Khoros report `author`" in message
    )
    assert "/status" in message and job.polls == 1
