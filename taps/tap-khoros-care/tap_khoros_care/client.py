"""Khoros Care's base stream: one report type, run as asynchronous jobs, one per window.

The lifecycle of a window (vendor-notes, Khoros part):

1. start: `GET /reports/report/{report_type}?companyKey&startTime&endTime...`
   (`conversation_actions`: POST with a form body) -> `{"status": "PASS", "result":
   {"workflowId", "runId", "downloadUrl": "", "statusUrl"}}`;
2. poll: `GET /reports/report/{workflowId}/{runId}/status` (runId URL-encoded) until
   `runnerState` is `CLOSED`; `detail` `COMPLETED` (or, with no detail, a `downloadUrl`)
   means ready, anything else (`FAILED`, ...) means the job failed. Where these sit
   (nested under `jobInfo`/`result`, or flat) is `tap_khoros_care.status`'s business;
3. download: `GET /reports/report/{workflowId}/{runId}/download` answers 307 to a
   short-lived pre-signed URL on another host, fetched without our credentials.

Every request to the API carries HTTP Basic credentials and `companyKey`, and goes
through the tap's request pacer (about 20 requests a minute). The pre-signed URL is
another host's: it is not paced, never gets the credentials, and never reaches a
log line, an error or the state (it is registered with the redactor on receipt).

Windows are the largest Khoros allows (three calendar months, or `window_days`), never
reaching back past the 18 months Khoros keeps (`history_months`); a window Khoros
refuses for its range, or whose file is above `max_file_mb`, is split in two.
The job model and the concurrency across report types are `tap_khoros_care.jobs`'s
business; the download and reading of a file, `tap_khoros_care.download`'s.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import typing as t
from collections.abc import Iterator
from functools import cached_property
from http import HTTPStatus
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import requests
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.streams.rest import HTTPRequest, PageContext

from support_taps.compat import log_request_duration
from support_taps.errors import VendorAPIError, body_snippet, response_place
from support_taps.redaction import redact
from support_taps.windowed import WindowedStream, window_context, window_of
from support_taps.windows import (
    DateWindow,
    add_months,
    date_windows,
    floor_day,
    month_windows,
)
from tap_khoros_care.download import ReportFiles
from tap_khoros_care.jobs import (
    JOB_ENDPOINT,
    ReportFailed,
    ReportJob,
    ReportScheduler,
    StreamPlan,
    WindowTooLarge,
    split_window,
)
from tap_khoros_care.status import (
    FAILED_STATES,
    EnvelopeShapeError,
    envelope_result,
    read_status,
)
from tap_khoros_care.values import (
    DAY_FIRST_LOCALES,
    converter_for,
    datetime_reader,
    report_zone,
    row_hash,
)

if t.TYPE_CHECKING:
    from tap_khoros_care.tap import TapKhorosCare

#: Columns every record carries besides the report's own.
WINDOW_START, WINDOW_END, FIELDS, ROW_HASH = "window_start", "window_end", "fields", "_row_hash"
_OWN_COLUMNS = frozenset({WINDOW_START, WINDOW_END, FIELDS, ROW_HASH, "conversation_report_type"})

#: Khoros: "three months is the maximum time range of data possible to return in an export".
MAX_WINDOW_MONTHS = 3
#: How a refusal of a job for its range reads (Khoros publishes only "Too many buckets").
_RANGE_REFUSAL = re.compile(
    r"too many buckets|time range|date range|range too|exceed|maximum|three months|"
    r"3 months|too large|too long",
    re.IGNORECASE,
)


class KhorosStream(WindowedStream):
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
    #: Parameters sent once per value (`agentId=1&agentId=2`): vendor name -> setting.
    repeated_parameters: t.ClassVar[dict[str, str]] = {}
    #: Parameters sent in the query string even when the others travel in a form body.
    query_parameters: t.ClassVar[tuple[str, ...]] = ()

    #: Parameters (settings named as the vendor names them) the report types accept
    #: unless a type says otherwise (Khoros's OpenAPI lists them for every export but `user`).
    COMMON_PARAMETERS: t.ClassVar[tuple[str, ...]] = (
        "locale",
        "priorities",
        "smartViewId",
        "timezone",
        "timezoneOffset",
        "workqueueIds",
        "enableBusinessHour",
        "businessHourType",
    )

    #: Unset, windows are MAX_WINDOW_MONTHS calendar months, the largest Khoros allows.
    window_setting = "window_days"
    lookback_setting = "lookback_days"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.primary_keys = (self.id_column,) if self.id_column else (ROW_HASH,)
        self._unlisted_columns: set[str] = set()

    # The SDK declares `path` a class attribute; a report's path follows from its name.
    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/reports/report/{self.name}"

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        auth = BasicAuthenticator(
            username=self.config["username"], password=self.config["password"]
        )
        # Khoros wants the company key as a query parameter on every API call.
        auth.auth_params["companyKey"] = self.config["company_key"]
        return auth

    def get_new_paginator(self) -> None:
        # A report is one file per job; nothing pages.
        return None

    @property
    def khoros_tap(self) -> TapKhorosCare:
        """The tap of this run, with what Khoros streams share (the scheduler, one warning)."""
        return t.cast("TapKhorosCare", self.tap)

    @property
    def scheduler(self) -> ReportScheduler:
        return self.khoros_tap.scheduler

    @property
    def plan(self) -> StreamPlan:
        """This stream's windows still to emit and their jobs (see `ReportScheduler`)."""
        return self.scheduler.plan(self)

    #: The reports run for each window (one job each), in emitting order; "" = the type itself.
    variants: t.ClassVar[tuple[str, ...]] = ("",)

    def report_error(self, message: str) -> ReportFailed:
        return ReportFailed(message)

    # ---- the start request ---------------------------------------------------------

    def get_url_params(self, context: t.Mapping | None, next_page_token: None) -> dict[str, t.Any]:
        window = window_of(context or {})
        params: dict[str, t.Any] = {
            "startTime": str(int(window.start.timestamp() * 1000)),
            "endTime": str(int(window.end.timestamp() * 1000)),
            "reportFormat": self.config["report_format"],
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
        for name, setting in self.repeated_parameters.items():
            values = self.config.get(setting)
            if values:
                params[name] = [str(value) for value in values]
        metrics = (self.config.get("reportMetrics") or {}).get(self.name)
        if metrics:
            params["reportMetrics"] = list(metrics)  # one parameter per metric, as documented
        return params

    def start_report(self, window: DateWindow, variant: str = "") -> ReportJob:
        context = {**window_context(window), "variant": variant}
        request = self.get_http_request(
            page=PageContext(stream_context=context, next_page_token=None)
        )
        try:
            response = self.send(request, context, endpoint=self.path)
        except VendorAPIError as exc:
            if _RANGE_REFUSAL.search(str(exc)):
                raise WindowTooLarge(f"Khoros refused the range: {exc}") from None
            raise
        kind = f" ({variant})" if variant else ""
        result = self._result(
            response, f"the start of report `{self.name}`{kind} for window {window.label}"
        )
        workflow_id, run_id = result.get("workflowId"), result.get("runId")
        if not workflow_id or not run_id:
            raise self.unexpected_shape(
                response_place(
                    response, f", the start of report `{self.name}` for window {window.label}"
                ),
                "`result` with workflowId and runId",
                result,
            )
        now = time.monotonic()
        first_wait = float(self.config["poll_interval"])
        job = ReportJob(
            self.name,
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

    # ---- requests --------------------------------------------------------------------

    def send(
        self,
        request: HTTPRequest,
        context: t.Mapping | None,
        *,
        endpoint: str,
        stream: bool = False,
    ) -> requests.Response:
        """Send one API request: credentials, pacing, retries, error checks and the SDK's
        request metric.

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

    def _send_prepared(
        self,
        prepared: requests.PreparedRequest,
        context: t.Mapping | None,
        endpoint: str,
        stream: bool,
    ) -> requests.Response:
        # Redirects are never followed with our session: the only one Khoros sends
        # (the download's) leads to another host that must not see the credentials.
        response = self.requests_session.send(
            prepared, timeout=self.timeout, allow_redirects=False, stream=stream
        )
        log_request_duration(self, endpoint=endpoint, response=response, context=context)
        self.validate_response(response)
        return response

    def validate_response(self, response: requests.Response) -> None:
        # A job refused for its range (Khoros: "Too many buckets ... requested") splits
        # its window instead of failing the run; the whole body is read, not a snippet.
        status = response.status_code
        if status == HTTPStatus.BAD_REQUEST:
            refusal = _RANGE_REFUSAL.search(response.text or "")
            if refusal:
                raise WindowTooLarge(f"Khoros refused the range (HTTP 400, {refusal.group(0)!r})")
        super().validate_response(response)

    def _payload(self, response: requests.Response, what: str) -> object:
        """The decoded JSON of a Khoros envelope whose `status` is a pass."""
        payload = self.decode_json(response)
        if isinstance(payload, dict):
            status = str(payload.get("status", "PASS")).upper()
            if status not in ("PASS", "SUCCESS", "OK"):
                said = " ".join(str(payload.get(key) or "") for key in ("message", "result"))
                if _RANGE_REFUSAL.search(said):
                    raise WindowTooLarge(f"Khoros refused the range: {said.strip()[:200]}")
                msg = f"Khoros refused {what}: status {status}: {body_snippet(response.content)}"
                raise VendorAPIError(msg)
        return payload

    def _result(self, response: requests.Response, what: str) -> dict:
        """The `result` of a Khoros envelope: an object, or a one-item list of one."""
        payload = self._payload(response, what)
        try:
            return envelope_result(payload)
        except EnvelopeShapeError as exc:
            raise self.unexpected_shape(
                response_place(response, f", {what}"), exc.expected, exc.found
            ) from None

    def _adopt_url(self, candidate: object) -> str | None:
        """A URL Khoros returned (status or download), kept only if it is on the API host.

        Its `analyticsAccessToken` is a credential: it is masked wherever text is
        produced. `companyKey` is dropped (the authenticator adds the configured one).
        """
        if not candidate or not isinstance(candidate, str):
            return None
        absolute = urljoin(self.url_base + "/", candidate.strip())
        mine, theirs = urlsplit(self.url_base), urlsplit(absolute)
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
        return self._adopt_url(candidate) or self.url_base + default_path

    # ---- polling ---------------------------------------------------------------------

    def poll(self, job: ReportJob) -> bool:
        """Ask for the job's status once; True when its file is ready.

        FAILED, CLOSED without a file, and an answer the tap cannot read each end the
        window at once, naming the report, the window and the workflow id.
        """
        url = self.api_url(job.status_url, job.path("status"))
        response = self.send(
            HTTPRequest(url=url, headers=self.http_headers),
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
            raise self.unexpected_shape(place, exc.expected, exc.found, f"{kept}.") from None
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
        timeout = float(self.config["report_timeout"])
        max_wait = float(self.config["max_poll_interval"])
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

    # ---- records ---------------------------------------------------------------------

    @cached_property
    def files(self) -> ReportFiles:
        """Downloads of this stream's report files (see `tap_khoros_care.download`)."""
        return ReportFiles(self)

    @cached_property
    def _converters(self) -> dict[str, t.Callable[[object], t.Any]]:
        read_datetime = datetime_reader(
            report_zone(self.config), day_first=self.config.get("locale") in DAY_FIRST_LOCALES
        )
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
        for row in self.files.rows(job):
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
                self.name,
                ", ".join(sorted(new)),
            )

    # ---- windows, in order -------------------------------------------------------------

    def sync_range_start(self, context: t.Mapping | None) -> dt.datetime:
        """The bookmark (or start_date) minus the lookback, never older than Khoros keeps."""
        start = super().sync_range_start(context)
        months = int(self.config["history_months"])
        # A day's margin: Khoros measures its 18 months when the job starts, a little later.
        earliest = floor_day(add_months(self.tap.run_started, -months)) + dt.timedelta(days=2)
        if start < earliest:
            self.khoros_tap.warn_history(start, earliest, months)
            return earliest
        return start

    def planned_windows(self) -> list[DateWindow]:
        """The windows this stream will emit, planned before its sync to start jobs early."""
        start, end = floor_day(self.sync_range_start(None)), self.sync_range_end()
        if start >= end:
            return []
        if self.config.get("window_days"):
            return list(date_windows(start, end, self.window_size))
        return list(month_windows(start, end, MAX_WINDOW_MONTHS))

    def windows(self, context: t.Mapping | None) -> t.Iterator[DateWindow]:
        """The plan's next window, while any remain; a split window is replaced by its halves."""
        plan = self.plan
        if plan.windows:
            self.logger.info(
                "Extracting [%s, %s) in %d windows.",
                plan.windows[0].start.isoformat(),
                plan.windows[-1].end.isoformat(),
                len(plan.windows),
            )
        while plan.windows:
            self.windows_left(context, len(plan.windows))
            yield plan.windows[0]

    def window_records(
        self, window: DateWindow, context: t.Mapping | None
    ) -> t.Generator[dict, None, bool]:
        """The window's records, variant after variant; False if the window was split instead."""
        scheduler, plan = self.scheduler, self.plan
        for variant in self.variants:
            job = scheduler.wait(plan, window, variant)
            if job is None:
                return False  # refused for its range: the plan now holds its halves
            try:
                yield from self.records_of(job)
            except WindowTooLarge as exc:
                if split_window(window) is None:
                    self.logger.warning(
                        "%s: %s, but the window cannot be split further; reading it whole.",
                        job.describe(),
                        exc,
                    )
                    job.any_size = True
                    yield from self.records_of(job)
                    continue
                scheduler.split(plan, window, str(exc))
                return False
        return True

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime:
        """The window's records are all out: the scheduler forgets it, the bookmark moves."""
        self.scheduler.done(self.plan, window)
        return window.end

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict[str, t.Any]]:
        try:
            yield from super().get_records(context)
        finally:
            # Failed or stopped: free the job slots this stream still holds.
            self.scheduler.abandon(self.plan)
