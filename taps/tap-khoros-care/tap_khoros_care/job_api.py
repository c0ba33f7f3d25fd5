"""Khoros's report job API, for one report type: start a job, read its status, download its file.

The lifecycle of a job (vendor-notes, Khoros part):

1. start: `GET /reports/report/{report_type}?companyKey&startTime&endTime...`
   (`conversation_actions`, `conversation_history_action`: POST with a form body) ->
   `{"status": "PASS", "result": {"workflowId", "runId", "downloadUrl": "", "statusUrl"}}`;
2. status: `GET /reports/report/{workflowId}/{runId}/status` (runId URL-encoded) until
   `runnerState` is `CLOSED`; `detail` `COMPLETED` (or, with no detail, a `downloadUrl`)
   means ready, anything else (`FAILED`, ...) means the job failed. Where these sit
   (nested under `jobInfo`/`result`, or flat) is `tap_khoros_care.status`'s business;
3. download: `GET /reports/report/{workflowId}/{runId}/download` answers 307 to a
   short-lived pre-signed URL on another host, fetched without our credentials
   (`tap_khoros_care.download`).

Every request to the API goes through the `Connection` the job API is given: the
stream's HTTP Basic credentials and `companyKey`, the core's retries and the run's pacer
(about 20 requests a minute). It knows no stream and no scheduler: the scheduler decides
when a job starts and when its status is read, and calls this.
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
from singer_sdk.streams.rest import HTTPRequest

from support_taps.errors import (
    VendorAPIError,
    body_snippet,
    endpoint_of,
    response_place,
    unexpected_shape,
)
from support_taps.redaction import redact
from support_taps.windowed import window_context
from support_taps.windows import DateWindow
from tap_khoros_care.connection import Connection
from tap_khoros_care.download import ReportFiles
from tap_khoros_care.jobs import (
    JOB_ENDPOINT,
    RANGE_REFUSAL,
    ReportFailed,
    ReportJob,
    ReportRequest,
    WindowTooLarge,
)
from tap_khoros_care.status import (
    FAILED_STATES,
    EnvelopeShapeError,
    envelope_result,
    read_status,
)

VENDOR = "Khoros"


@dataclass(frozen=True)
class JobSettings:
    """The settings of a job's life: when its status is read, and what file it makes."""

    #: Seconds after the start before the first status check; later checks back off by 1.5x.
    poll_interval: float
    #: Longest wait, in seconds, between two status checks.
    max_poll_interval: float
    #: Seconds a job may run before its window fails.
    report_timeout: float
    #: `json` or `csv` (`reportFormat`).
    report_format: str
    #: Largest file, in MB by its Content-Length, read in one piece.
    max_file_mb: float

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> JobSettings:
        return cls(
            poll_interval=float(config["poll_interval"]),
            max_poll_interval=float(config["max_poll_interval"]),
            report_timeout=float(config["report_timeout"]),
            report_format=str(config["report_format"]),
            max_file_mb=float(config["max_file_mb"]),
        )


class ReportJobAPI:
    """The report jobs of one report type, on Khoros's side: start, status, download."""

    def __init__(
        self, report: ReportRequest, connection: Connection, settings: JobSettings
    ) -> None:
        self.report = report
        self.connection = connection
        self.settings = settings
        self.files = ReportFiles(
            connection, report_format=settings.report_format, max_file_mb=settings.max_file_mb
        )

    @property
    def report_type(self) -> str:
        return self.report.report_type

    @property
    def logger(self) -> logging.Logger:
        """The logger of the report's stream: the job's lines are the stream's."""
        return self.connection.logger

    # ---- the start request -------------------------------------------------------------

    def start_request(self, window: DateWindow, variant: str = "") -> HTTPRequest:
        """The request that starts the job of `window` (and `variant`)."""
        report = self.report
        parameters: dict[str, t.Any] = {
            "startTime": str(int(window.start.timestamp() * 1000)),
            "endTime": str(int(window.end.timestamp() * 1000)),
            **(report.query if report.form is None else report.form),
        }
        if report.variant_parameter:
            parameters[report.variant_parameter] = variant
        query: dict[str, t.Any] = parameters if report.form is None else dict(report.query)
        return HTTPRequest(
            url=self.connection.base_url + report.path,
            method=report.method,
            headers=dict(self.connection.headers),
            params=query,
            data=None if report.form is None else parameters,
        )

    def start(self, window: DateWindow, variant: str = "") -> ReportJob:
        """Start the job of `window` (and `variant`); WindowTooLarge if Khoros refuses its range."""
        context = {**window_context(window), "variant": variant}
        try:
            response = self.connection.send(
                self.start_request(window, variant), context, endpoint=self.report.path
            )
        except VendorAPIError as exc:
            if RANGE_REFUSAL.search(str(exc)):
                raise WindowTooLarge(f"Khoros refused the range: {exc}") from None
            raise
        name = self.report_type
        kind = f" ({variant})" if variant else ""
        result = self._result(
            response, f"the start of report `{name}`{kind} for window {window.label}"
        )
        workflow_id, run_id = result.get("workflowId"), result.get("runId")
        if not workflow_id or not run_id:
            raise unexpected_shape(
                VENDOR,
                response_place(
                    response, f", the start of report `{name}` for window {window.label}"
                ),
                "`result` with workflowId and runId",
                result,
            )
        now = time.monotonic()
        first_wait = self.settings.poll_interval
        job = ReportJob(
            name,
            window,
            str(workflow_id),
            str(run_id),
            self._adopt_url(result.get("statusUrl")),
            started=now,
            next_poll=now + first_wait,
            poll_wait=first_wait,
            download_url=self._adopt_url(result.get("downloadUrl")),
            variant=variant,
        )
        self.logger.info("Started %s.", job.describe())
        return job

    # ---- envelopes and URLs ------------------------------------------------------------

    def _payload(self, response: requests.Response, what: str) -> object:
        """The decoded JSON of a Khoros envelope whose `status` is a pass."""
        payload = self.connection.decode_json(response)
        if isinstance(payload, dict):
            status = str(payload.get("status", "PASS")).upper()
            if status not in ("PASS", "SUCCESS", "OK"):
                said = " ".join(str(payload.get(key) or "") for key in ("message", "result"))
                if RANGE_REFUSAL.search(said):
                    raise WindowTooLarge(f"Khoros refused the range: {said.strip()[:200]}")
                msg = (
                    f"Khoros refused {what} ({endpoint_of(response)}): status {status[:40]!r}: "
                    f"{body_snippet(response.content)}"
                )
                raise VendorAPIError(msg)
        return payload

    def _result(self, response: requests.Response, what: str) -> dict:
        """The `result` of a Khoros envelope: an object, or a one-item list of one."""
        payload = self._payload(response, what)
        try:
            return envelope_result(payload)
        except EnvelopeShapeError as exc:
            raise unexpected_shape(
                VENDOR, response_place(response, f", {what}"), exc.expected, exc.found
            ) from None

    def _adopt_url(self, candidate: object) -> str | None:
        """A URL Khoros returned (status or download), kept only if it is on the API host.

        Its `analyticsAccessToken` is a credential: it is masked wherever text is
        produced. `companyKey` is dropped (the credentials add the configured one).
        """
        if not candidate or not isinstance(candidate, str):
            return None
        base_url = self.connection.base_url
        absolute = urljoin(base_url + "/", candidate.strip())
        mine, theirs = urlsplit(base_url), urlsplit(absolute)
        if (theirs.scheme, theirs.netloc) != (mine.scheme, mine.netloc):
            return None
        query = parse_qsl(theirs.query, keep_blank_values=True)
        for name, value in query:
            if name != "companyKey" and value and "token" in name.lower():
                redact.add(value, quote(value, safe=""))
        kept = [(name, value) for name, value in query if name != "companyKey"]
        return urlunsplit((theirs.scheme, theirs.netloc, theirs.path, urlencode(kept), ""))

    def api_url(self, candidate: str | None, default_path: str) -> str:
        """A URL Khoros returned, if it is on the API host; else the documented path.

        Our credentials go to the configured API host only.
        """
        return self._adopt_url(candidate) or self.connection.base_url + default_path

    # ---- status ------------------------------------------------------------------------

    def poll(self, job: ReportJob) -> bool:
        """Ask for the job's status once; True when its file is ready.

        FAILED, CLOSED without a file, and an answer the tap cannot read each end the
        window at once, naming the report, the window and the workflow id.
        """
        url = self.api_url(job.status_url, job.path("status"))
        response = self.connection.send(
            HTTPRequest(url=url, headers=dict(self.connection.headers)),
            window_context(job.window),
            endpoint=JOB_ENDPOINT + "/status",
        )
        payload = self._payload(response, f"the status of {job.describe()}")
        job.polls += 1
        kept = (
            "Nothing of this window was emitted and the bookmark stays at "
            f"{job.window.start.isoformat()}"
        )
        try:
            status = read_status(payload)
        except EnvelopeShapeError as exc:
            place = (
                f"GET {JOB_ENDPOINT}/status (HTTP {response.status_code}), "
                f"the status of {job.describe()}"
            )
            raise unexpected_shape(VENDOR, place, exc.expected, exc.found, f"{kept}.") from None
        job.status = status
        job.status_url = self._adopt_url(status.status_url) or job.status_url
        job.download_url = self._adopt_url(status.download_url) or job.download_url
        if status.ready:
            return True
        if status.running:
            return False
        why = f" ({status.reason})" if status.reason else ""
        if status.runner_state == "CLOSED" and not status.detail:
            problem = "closed without a file (no `detail` and no `downloadUrl`)"
        elif status.runner_state == "CLOSED" or status.runner_state in FAILED_STATES:
            problem = f"ended as {status.outcome}{why}: Khoros produced no file"
        else:
            problem = (
                f"is in a state the tap does not know, runnerState {status.runner_state!r} "
                f"(documented: RUNNING, CLOSED)"
            )
        msg = f"{job.describe()} {problem}. {kept}; the next run asks for the window again."
        raise ReportFailed(msg)

    def check(self, job: ReportJob) -> None:
        """One status check of `job` (the scheduler decides when): sets `job.finished` when ready,
        raises when the job failed or ran past `report_timeout`, else schedules the next check."""
        if self.poll(job):
            job.finished = True
            self.logger.info("%s is ready after %d status checks.", job.describe(), job.polls)
            return
        timeout = self.settings.report_timeout
        max_wait = self.settings.max_poll_interval
        now = time.monotonic()
        if now - job.started > timeout:
            state = job.status.runner_state if job.status else "running"
            msg = (
                f"{job.describe()} was still {state} after "
                f"{now - job.started:.0f}s, past `report_timeout` ({timeout:.0f}s). "
                "Nothing of this window "
                f"was emitted and the bookmark stays at {job.window.start.isoformat()}; "
                "raise `report_timeout` "
                "or shorten `window_days` for reports this large."
            )
            raise ReportFailed(msg)
        job.poll_wait = min(job.poll_wait * 1.5, max_wait)
        job.next_poll = now + job.poll_wait

    # ---- download ----------------------------------------------------------------------

    def rows(self, job: ReportJob) -> Iterator[dict[str, t.Any]]:
        """The rows of a ready job's file, parsed while it streams in (see `ReportFiles.rows`)."""
        return self.files.rows(job, self.api_url(job.download_url, job.path("download")))
