"""Khoros Care's base stream: one report type, run as asynchronous jobs, one per window.

The lifecycle of a window (vendor-notes, Khoros part):

1. start: `GET /reports/report/{report_type}?companyKey&startTime&endTime...`
   (`conversation_actions`: POST with a form body) -> `{"status": "PASS", "result":
   {"workflowId", "runId", "downloadUrl": "", "statusUrl"}}`;
2. poll: `GET /reports/report/{workflowId}/{runId}/status` (runId URL-encoded) until
   `runnerState` is `CLOSED`; `detail` `COMPLETED` means ready, anything else
   (`FAILED`, ...) means the job failed. `result` is an object or a one-item list;
3. download: `GET /reports/report/{workflowId}/{runId}/download` answers 307 to a
   short-lived pre-signed URL on another host, fetched without our credentials.

Every request to the API carries HTTP Basic credentials and `companyKey`, and goes
through the tap's request pacer (about 20 requests a minute). The pre-signed URL is
another host's: it is not paced, never gets the credentials, and never reaches a
log line, an error or the state (it is registered with the redactor on receipt).

Concurrency: a stream keeps up to `max_concurrent_reports` jobs running ahead of the
window it is emitting, and emits windows strictly in order on the main thread,
moving the bookmark after each. Once a stream has started its last window, free
slots start the first windows of the next selected report (see `ReportJobBoard`),
so no report waits for its first job from scratch. Everything runs on one thread:
the jobs run in parallel on Khoros's side, the tap only starts, polls and
downloads, which the rate limit serialises anyway.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from urllib.parse import quote, urljoin, urlsplit

import requests
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest, PageContext

from support_taps.client import SupportStream, window_context, window_of
from support_taps.compat import log_request_duration
from support_taps.errors import UnparseableResponse, VendorAPIError, body_snippet
from support_taps.redaction import redact
from support_taps.retry import RETRIABLE_EXCEPTIONS, describe_failure
from support_taps.windows import DateWindow, date_windows, floor_day, parse_utc
from tap_khoros_care.parsing import CHUNK_BYTES, ReportFormatError, iter_csv_rows, iter_json_rows
from tap_khoros_care.values import DAY_FIRST_LOCALES, converter_for, datetime_reader, report_zone, row_hash

DEFAULT_API_URL = "https://analytics-api.app.lithium.com/api/public"

#: Columns every record carries besides the report's own.
WINDOW_START, WINDOW_END, FIELDS, ROW_HASH = "window_start", "window_end", "fields", "_row_hash"
_OWN_COLUMNS = frozenset({WINDOW_START, WINDOW_END, FIELDS, ROW_HASH})

#: A job's requests, as named in request metrics.
_JOB_ENDPOINT = "/reports/report/{workflowId}/{runId}"
#: How many times a download is fetched again after the connection broke mid-file.
DOWNLOAD_ATTEMPTS = 3


def _download_failure(exc: BaseException) -> str:
    """Why a download attempt failed, in words that carry no URL."""
    if isinstance(exc, DownloadLinkExpired):
        return f"the file host refused the link (HTTP {exc}; expired?)"
    if isinstance(exc, ReportFormatError):
        return f"the file is not a valid report: {exc}"
    return describe_failure(exc)


class ReportFailed(VendorAPIError):
    """A report job ended without a result (FAILED) or did not finish in time."""


class DownloadLinkExpired(Exception):
    """The pre-signed URL was refused (expired); ask Khoros for a fresh one."""


@dataclass
class ReportJob:
    """One report run on Khoros's side: a window of one report type."""

    report_type: str
    window: DateWindow
    workflow_id: str
    run_id: str
    status_url: str | None
    started: float
    next_poll: float
    poll_wait: float
    polls: int = 0
    result: dict = field(default_factory=dict)

    def describe(self) -> str:
        return f"Khoros report `{self.report_type}` for window {self.window.label} (workflowId {self.workflow_id})"


class ReportJobBoard:
    """The tap's report jobs in flight, across all its streams (one tap run, one thread).

    Holds the `max_concurrent_reports` budget and the jobs a stream started early for
    the next report type, which that stream adopts when its turn comes.
    """

    def __init__(self, max_concurrent: int) -> None:
        self.max_concurrent = max(1, max_concurrent)
        self.in_flight = 0
        self.peak_in_flight = 0
        self._early: dict[tuple[str, DateWindow], ReportJob] = {}

    def free_slots(self) -> int:
        return self.max_concurrent - self.in_flight

    def started(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1

    def park(self, job: ReportJob) -> None:
        self._early[(job.report_type, job.window)] = job

    def adopt(self, report_type: str, window: DateWindow) -> ReportJob | None:
        return self._early.pop((report_type, window), None)

    def parked(self, report_type: str) -> int:
        return sum(1 for key in self._early if key[0] == report_type)

    def drop_parked(self, report_type: str) -> None:
        """Forget early jobs a stream did not use (its windows turned out different)."""
        for key in [key for key in self._early if key[0] == report_type]:
            del self._early[key]
            self.finished()


class KhorosStream(SupportStream):
    """One Khoros Care analytics report type (the stream's name)."""

    vendor = "Khoros"
    credential_settings = ("username", "password", "company_key")
    url_settings = ("api_url",)
    replication_key = WINDOW_START

    #: The report's own id column, used as primary key where the report has one.
    id_column: t.ClassVar[str | None] = None
    #: Columns that identify a row of a report without an id (an aggregate's dimensions).
    #: The row key is a hash of the window and these; of the whole row if one is absent.
    identity_columns: t.ClassVar[tuple[str, ...]] = ()
    #: Report parameters (vendor names) this report type accepts beyond the common ones.
    extra_parameters: t.ClassVar[tuple[str, ...]] = ()

    #: Parameters every report type accepts (settings named as the vendor names them).
    COMMON_PARAMETERS: t.ClassVar[tuple[str, ...]] = (
        "locale", "priorities", "smartViewId", "timezone", "timezoneOffset", "workqueueIds",
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.window_size = dt.timedelta(days=int(self.config.get("window_days", 1)))
        self.lookback = dt.timedelta(days=int(self.config.get("lookback_days", 0)))
        self.primary_keys = (self.id_column,) if self.id_column else (ROW_HASH,)
        self._unlisted_columns: set[str] = set()

    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/reports/report/{self.name}"

    @property
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        auth = BasicAuthenticator(username=self.config["username"], password=self.config["password"])
        # Khoros wants the company key as a query parameter on every API call.
        auth.auth_params["companyKey"] = self.config["company_key"]
        return auth

    def get_new_paginator(self) -> None:
        # A report is one file per job; nothing pages.
        return None

    @property
    def board(self) -> ReportJobBoard:
        return self._tap.job_board  # type: ignore[attr-defined]

    # ---- the start request ---------------------------------------------------------

    def get_url_params(self, context: t.Mapping | None, next_page_token: None) -> dict[str, t.Any]:
        window = window_of(context or {})
        params: dict[str, t.Any] = {
            "startTime": str(int(window.start.timestamp() * 1000)),
            "endTime": str(int(window.end.timestamp() * 1000)),
            "reportFormat": self.config.get("report_format", "json"),
        }
        for name in (*self.COMMON_PARAMETERS, *self.extra_parameters):
            value = self.config.get(name)
            if value is None or value == "" or value == []:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ",".join(str(item) for item in value)  # documented as comma lists
            params[name] = str(value)
        metrics = (self.config.get("reportMetrics") or {}).get(self.name)
        if metrics:
            params["reportMetrics"] = list(metrics)  # one parameter per metric, as documented
        return params

    def start_report(self, window: DateWindow) -> ReportJob:
        context = window_context(window)
        request = self.get_http_request(page=PageContext(stream_context=context, next_page_token=None))
        response = self.send(request, context, endpoint=self.path)
        result = self._result(response, f"the start of report `{self.name}` for window {window.label}")
        workflow_id, run_id = result.get("workflowId"), result.get("runId")
        if not workflow_id or not run_id:
            msg = (
                f"Khoros started report `{self.name}` for window {window.label} but sent no workflowId/runId "
                f"(HTTP {response.status_code}): {body_snippet(response.content)}"
            )
            raise UnparseableResponse(msg)
        now = time.monotonic()
        first_wait = float(self.config.get("poll_interval", 5))
        job = ReportJob(
            self.name, window, str(workflow_id), str(run_id), result.get("statusUrl") or None,
            started=now, next_poll=now + first_wait, poll_wait=first_wait,
        )
        self.board.started()
        self.logger.info("Started %s.", job.describe())
        return job

    # ---- requests --------------------------------------------------------------------

    def send(self, request: HTTPRequest, context: t.Mapping | None, *, endpoint: str,
             stream: bool = False) -> requests.Response:
        """Send one API request: credentials, pacing, retries, error checks and the SDK's request metric.

        `endpoint` names the request in metrics without ids (e.g. `.../{runId}/status`).
        """
        prepared = self.build_prepared_request(
            method=request.method,
            url=request.url,
            params=request.encode_params(),
            headers=request.headers,
            data=request.data or None,
        )
        return self._paced_send(prepared, context, endpoint, stream)

    @cached_property
    def _paced_send(self) -> t.Callable[..., requests.Response]:
        return self.request_decorator(self._send_prepared)

    def _send_prepared(self, prepared: requests.PreparedRequest, context: t.Mapping | None, endpoint: str,
                       stream: bool) -> requests.Response:
        # Redirects are never followed with our session: the only one Khoros sends
        # (the download's) leads to another host that must not see the credentials.
        response = self.requests_session.send(prepared, timeout=self.timeout, allow_redirects=False, stream=stream)
        log_request_duration(self, endpoint=endpoint, response=response, context=context)
        self.validate_response(response)
        return response

    def _result(self, response: requests.Response, what: str) -> dict:
        """The `result` of a Khoros envelope: an object, or a one-item list of one."""
        payload = self.decode_json(response)
        if not isinstance(payload, dict):
            msg = f"Khoros answered {what} with a JSON {type(payload).__name__}, not an envelope: {body_snippet(response.content)}"
            raise UnparseableResponse(msg)
        status = str(payload.get("status", "PASS")).upper()
        if status not in ("PASS", "SUCCESS", "OK"):
            msg = f"Khoros refused {what}: status {status}: {body_snippet(response.content)}"
            raise VendorAPIError(msg)
        result = payload.get("result")
        if isinstance(result, list):
            if len(result) != 1 or not isinstance(result[0], dict):
                msg = f"Khoros answered {what} with a result list of {len(result)} items (expected one): {body_snippet(response.content)}"
                raise UnparseableResponse(msg)
            result = result[0]
        if not isinstance(result, dict):
            msg = f"Khoros answered {what} without a result object: {body_snippet(response.content)}"
            raise UnparseableResponse(msg)
        return result

    def _api_url(self, candidate: str | None, default_path: str) -> str:
        """A URL Khoros returned, if it is on the API host; else the documented path.

        Our credentials go to the configured API host only.
        """
        if candidate:
            absolute = urljoin(self.url_base + "/", candidate)
            mine, theirs = urlsplit(self.url_base), urlsplit(absolute)
            if (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc):
                return absolute
        return self.url_base + default_path

    def _job_path(self, job: ReportJob, action: str) -> str:
        # runId is base64 (may hold "/", "+", "="): it must be encoded as one segment.
        return f"/reports/report/{quote(job.workflow_id, safe='')}/{quote(job.run_id, safe='')}/{action}"

    # ---- polling ---------------------------------------------------------------------

    def poll(self, job: ReportJob) -> bool:
        """Ask for the job's status once; True when its file is ready."""
        url = self._api_url(job.status_url, self._job_path(job, "status"))
        response = self.send(HTTPRequest(url=url, headers=self.http_headers), window_context(job.window),
                             endpoint=_JOB_ENDPOINT + "/status")
        result = self._result(response, f"the status of {job.describe()}")
        job.polls += 1
        job.result = result
        runner_state = str(result.get("runnerState") or "").upper()
        detail = str(result.get("detail") or "").upper()
        if runner_state != "CLOSED":
            return False
        if detail in ("COMPLETED", ""):
            return True
        msg = (
            f"{job.describe()} ended as {runner_state}/{detail or 'unknown'}: Khoros produced no file. "
            f"Nothing of this window was emitted and the bookmark stays at {job.window.start.isoformat()}; "
            "the next run asks for the window again."
        )
        raise ReportFailed(msg)

    def wait_until_ready(self, job: ReportJob) -> None:
        timeout = float(self.config.get("report_timeout", 3600))
        max_wait = float(self.config.get("max_poll_interval", 60))
        while True:
            now = time.monotonic()
            if now < job.next_poll:
                time.sleep(job.next_poll - now)
            if self.poll(job):
                self.logger.info("%s is ready after %d status checks.", job.describe(), job.polls)
                return
            now = time.monotonic()
            if now - job.started > timeout:
                msg = (
                    f"{job.describe()} was still {job.result.get('runnerState') or 'running'} after "
                    f"{now - job.started:.0f}s, past `report_timeout` ({timeout:.0f}s). Nothing of this window "
                    f"was emitted and the bookmark stays at {job.window.start.isoformat()}; raise `report_timeout` "
                    "or shorten `window_days` for reports this large."
                )
                raise ReportFailed(msg)
            job.poll_wait = min(job.poll_wait * 1.5, max_wait)
            job.next_poll = now + job.poll_wait

    # ---- download --------------------------------------------------------------------

    @cached_property
    def file_session(self) -> requests.Session:
        """A session for the pre-signed file host: no credentials, no company key."""
        session = requests.Session()
        session.headers["User-Agent"] = self.user_agent
        return session

    def _download_location(self, job: ReportJob) -> requests.Response | str:
        """The pre-signed URL Khoros redirects to (or the file itself, if served directly)."""
        url = self._api_url(job.result.get("downloadUrl"), self._job_path(job, "download"))
        response = self.send(HTTPRequest(url=url, headers=self.http_headers), window_context(job.window),
                             endpoint=_JOB_ENDPOINT + "/download", stream=True)
        if not response.is_redirect:
            return response  # the API served the file itself
        location = response.headers.get("Location") or ""
        response.close()
        if not location:
            msg = f"Khoros redirected the download of {job.describe()} without a Location header."
            raise UnparseableResponse(msg)
        parts = urlsplit(location)
        # Never logged nor stored: mask it (and its parts) anywhere text is produced.
        redact.add(location, parts.path, parts.query)
        return urljoin(response.url, location)

    def _fetch_file(self, location: str) -> requests.Response:
        return self.request_decorator(self._get_file, paced=False)(location)  # not the API: unpaced

    def _get_file(self, location: str) -> requests.Response:
        try:
            response = self.file_session.get(location, timeout=self.timeout, stream=True, allow_redirects=True)
        except RETRIABLE_EXCEPTIONS as exc:
            # requests quotes the URL in its messages: raise a clean one instead.
            raise type(exc)(describe_failure(exc)) from None
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            return response
        response.close()
        if status in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
            raise DownloadLinkExpired(status)
        if status in self.extra_retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(f"HTTP {status} from the report file host", response)
        msg = f"The report file host refused the download with HTTP {status}."
        raise VendorAPIError(msg)

    def download_rows(self, job: ReportJob) -> Iterator[dict[str, t.Any]]:
        """The report's rows, parsed while the file streams in.

        If the connection breaks mid-file, the file is fetched again (fresh link) and
        the rows already yielded are skipped, so each row is emitted once.
        """
        parse = iter_csv_rows if self.config.get("report_format", "json") == "csv" else iter_json_rows
        yielded = 0
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                target = self._download_location(job)
                response = target if isinstance(target, requests.Response) else self._fetch_file(target)
                with response:
                    rows = parse(response.iter_content(CHUNK_BYTES))
                    for index, row in enumerate(rows):
                        if index >= yielded:
                            yielded += 1
                            yield row
                return
            except (DownloadLinkExpired, ReportFormatError, *RETRIABLE_EXCEPTIONS) as exc:
                reason = _download_failure(exc)
                if attempt == DOWNLOAD_ATTEMPTS:
                    error = UnparseableResponse if isinstance(exc, ReportFormatError) else VendorAPIError
                    msg = (
                        f"The file of {job.describe()} could not be read after {attempt} attempts: {reason}. "
                        f"The bookmark stays at {job.window.start.isoformat()}."
                    )
                    raise error(msg) from None
                self.logger.warning(
                    "Fetching the file of %s again (%d rows read so far): %s", job.describe(), yielded, reason)

    # ---- records ---------------------------------------------------------------------

    @cached_property
    def _converters(self) -> dict[str, t.Callable[[object], t.Any]]:
        read_datetime = datetime_reader(
            report_zone(self.config), day_first=self.config.get("locale") in DAY_FIRST_LOCALES)
        return {
            name: converter_for(spec, read_datetime)
            for name, spec in self.schema["properties"].items()
            if name not in _OWN_COLUMNS
        }

    def records_of(self, job: ReportJob) -> Iterator[dict[str, t.Any]]:
        start, end = job.window.start.isoformat(), job.window.end.isoformat()
        converters = self._converters
        id_column, identity = self.id_column, self.identity_columns
        first = True
        for row in self.download_rows(job):
            if first:
                self._note_columns(row)
                first = False
            record: dict[str, t.Any] = {WINDOW_START: start, WINDOW_END: end}
            for name, convert in converters.items():
                record[name] = convert(row.get(name))
            record[FIELDS] = row
            if id_column:
                if record.get(id_column) is None:
                    msg = (
                        f"A row of {job.describe()} has no {id_column}, the report's key "
                        f"(does `reportMetrics` leave it out?). Columns: {sorted(row)[:20]}"
                    )
                    raise VendorAPIError(msg)
            elif identity and all(row.get(name) not in (None, "") for name in identity):
                record[ROW_HASH] = row_hash(start, {name: row[name] for name in identity})
            else:
                record[ROW_HASH] = row_hash(start, row)
            yield record

    def _note_columns(self, row: t.Mapping[str, t.Any]) -> None:
        new = set(row) - set(self._converters) - self._unlisted_columns
        if new:
            self._unlisted_columns |= new
            self.logger.info(
                "Report `%s` has columns without a typed column; they are kept in `fields`: %s",
                self.name, ", ".join(sorted(new)))

    # ---- windows, in order -------------------------------------------------------------

    def planned_windows(self) -> list[DateWindow]:
        """The windows this stream will ask for when its sync starts (used to start jobs early).

        Before its sync the SDK has not yet set the stream's starting value, so the
        bookmark is read from the state as loaded; the rest is `sync_range_start`'s rule.
        """
        start_date = parse_utc(self.config["start_date"], setting="start_date")
        state = self.get_context_state(None)
        bookmark = state.get("replication_key_value") if state.get("replication_key") == self.replication_key else None
        start = max(start_date, parse_utc(bookmark) - self.lookback) if bookmark else start_date
        start, end = floor_day(start), self.sync_range_end()
        return list(date_windows(start, end, self.window_size)) if start < end else []

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict[str, t.Any]]:
        board = self.board
        windows = deque(self.date_windows(context))
        pending: deque[ReportJob] = deque()
        try:
            while windows or pending:
                # Keep up to max_concurrent_reports jobs running ahead of the one we emit.
                while windows:
                    early = board.adopt(self.name, windows[0])
                    if early is None and board.free_slots() <= 0:
                        break
                    pending.append(early or self.start_report(windows[0]))
                    windows.popleft()
                if not windows:
                    self._tap.start_next_reports(self)  # type: ignore[attr-defined]
                job = pending[0]
                self.wait_until_ready(job)
                yield from self.records_of(job)
                pending.popleft()
                board.finished()
                self.checkpoint(context, job.window.end)
        finally:
            for job in pending:  # abandoned (the run is failing): free their slots
                board.finished()
            board.drop_parked(self.name)
