"""The Khoros simulator answers like the vendor: refusals, validation, job lifecycle,
signed links."""

from __future__ import annotations

import time
from urllib.parse import quote

import requests
from kit_khoros import COMPANY_KEY, PASSWORD, USERNAME, khoros_simulator, start_report

AUTH = (USERNAME, PASSWORD)
WINDOW = {"startTime": "1740787200000", "endTime": "1740873600000"}


def _start(sim, report="incoming_post", **params):
    return start_report(sim, report, **{**WINDOW, **params})


def test_refuses_missing_basic_auth_and_wrong_company_key(khoros):
    url = f"{khoros.api_url}/reports/report/author"
    assert (
        requests.get(url, params={"companyKey": COMPANY_KEY, **WINDOW}, timeout=10).status_code
        == 401
    )
    wrong = requests.get(url, auth=AUTH, params={"companyKey": "nope", **WINDOW}, timeout=10)
    assert wrong.status_code == 403 and wrong.json()["status"] == "FAIL"


def test_validates_report_parameters(khoros):
    assert _start(khoros, startTime="").status_code == 400
    assert _start(khoros, "team_performance_interval", timeInterval="12345").status_code == 400
    assert _start(khoros, reportMetrics="no_such_metric").status_code == 400
    assert _start(khoros, locale="xx").status_code == 400
    assert _start(khoros, "tickets").status_code == 404


def test_job_lifecycle_and_signed_download_link():
    with khoros_simulator(job_latency=(0.3, 0.3), link_ttl=1.0) as sim:
        started = _start(sim).json()
        assert started["status"] == "PASS" and started["result"]["downloadUrl"] == ""
        run_id = started["result"]["runId"]
        assert "/" in run_id and "+" in run_id and run_id.endswith("=")
        workflow_id = started["result"]["workflowId"]
        job = f"{sim.api_url}/reports/report/{workflow_id}/{quote(run_id, safe='')}"
        params = {"companyKey": COMPANY_KEY}
        running = requests.get(
            started["result"]["statusUrl"], auth=AUTH, params=params, timeout=10
        ).json()["result"]
        running = running[0] if isinstance(running, list) else running
        assert (running["result"]["runnerState"], running["result"]["detail"]) == ("RUNNING", "")
        assert running["jobInfo"]["downloadUrl"] == ""  # the nested shape of Khoros's OpenAPI
        assert (
            requests.get(
                job + "/download", auth=AUTH, params=params, timeout=10, allow_redirects=False
            ).status_code
            == 409
        )
        time.sleep(0.35)
        done = requests.get(job + "/status", auth=AUTH, params=params, timeout=10).json()["result"]
        done = done[0] if isinstance(done, list) else done
        assert (done["result"]["runnerState"], done["result"]["detail"]) == ("CLOSED", "COMPLETED")
        assert "/download?analyticsAccessToken=" in done["jobInfo"]["downloadUrl"]
        redirect = requests.get(
            job + "/download", auth=AUTH, params=params, timeout=10, allow_redirects=False
        )
        assert redirect.status_code == 307
        location = redirect.headers["Location"]
        assert location.startswith(sim.file_host.url) and sim.file_host.url != sim.url
        rows = requests.get(location, timeout=10).json()
        assert rows and all(isinstance(v, str) for row in rows for v in row.values())
        assert (
            requests.get(location.replace("Signature=", "Signature=0"), timeout=10).status_code
            == 403
        )
        time.sleep(1.1)
        expired = requests.get(location, timeout=10)
        assert expired.status_code == 403 and b"expired" in expired.content


def test_failed_jobs_close_as_failed():
    with khoros_simulator(
        failing={("author", "2025-03-01")}, job_latency=(0.0, 0.0), status_shape="list"
    ) as sim:
        started = _start(sim, "author").json()["result"]
        status = requests.get(
            started["statusUrl"], auth=AUTH, params={"companyKey": COMPANY_KEY}, timeout=10
        ).json()
        [job] = status["result"]
        assert (job["jobInfo"]["workflowId"], job["jobInfo"]["runId"]) == (
            started["workflowId"],
            started["runId"],
        )
        assert (
            job["jobInfo"]["downloadUrl"],
            job["result"]["runnerState"],
            job["result"]["detail"],
        ) == ("", "CLOSED", "FAILED")
