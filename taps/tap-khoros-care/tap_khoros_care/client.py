"""Khoros Care's base stream: one report type, run as asynchronous jobs, one per window.

A stream declares its report (its parameters, as the vendor names them, and its key),
shapes what its jobs are asked with (`report_request`), turns the rows of a job's file
into records, and walks its windows. It holds the credentials (HTTP Basic and
`companyKey` on every API call) and sends each request through the core (the run's
pacer, about 20 requests a minute; retries; error checks), handed to the job API as a
`Connection`.

Windows are the largest Khoros allows (three calendar months, or `window_days`), never
reaching back past the 18 months Khoros keeps (`history_months`); a window Khoros
refuses for its range, or whose file is above `max_file_mb`, is split in two.
A job's life is read in one direction: the stream asks the scheduler
(`tap_khoros_care.scheduler`) for a window's job, the scheduler starts and checks it
through the job API (`tap_khoros_care.job_api`), which reads its status
(`tap_khoros_care.status`) and downloads its file (`tap_khoros_care.download`).
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterable, Iterator
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

import requests
from singer_sdk.authenticators import BasicAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest

from support_taps.compat import log_request_duration
from support_taps.endpoints import Endpoint
from support_taps.errors import body_snippet, endpoint_of
from support_taps.normalize import MISSING, row_hash
from support_taps.retry import retry_after_seconds
from support_taps.stream import SupportStream
from support_taps.windowed import WindowedStream
from support_taps.windows import (
    DateWindow,
    add_months,
    date_windows,
    floor_day,
    month_windows,
)
from tap_khoros_care.concurrency import JobRefused
from tap_khoros_care.connection import Connection, FileRequest
from tap_khoros_care.jobs import (
    JOB_ENDPOINT,
    RANGE_REFUSAL,
    ReportJob,
    ReportRequest,
    WindowTooLarge,
    split_window,
)
from tap_khoros_care.scheduler import ReportPlan, ReportScheduler
from tap_khoros_care.values import (
    DAY_FIRST_LOCALES,
    Occurrences,
    converter_for,
    datetime_reader,
    report_zone,
    text,
)

if t.TYPE_CHECKING:
    from tap_khoros_care.tap import TapKhorosCare

#: Columns every record carries besides the report's own.
WINDOW_START, WINDOW_END, FIELDS, ROW_HASH = "window_start", "window_end", "fields", "_row_hash"
_OWN_COLUMNS = frozenset({WINDOW_START, WINDOW_END, FIELDS, ROW_HASH, "conversation_report_type"})

#: Khoros: "three months is the maximum time range of data possible to return in an export".
MAX_WINDOW_MONTHS = 3


class KhorosAPIStream(SupportStream):
    """What every call to Khoros's Analytics API carries: HTTP Basic credentials and the
    company key as `companyKey`, on the configured (regional) host."""

    vendor = "Khoros"
    credential_settings = ("username", "password", "company_key")
    url_settings = ("api_url",)
    # Khoros publishes no redirect of its API calls (only the download's, which the job API
    # follows itself): one is reported, never followed with `companyKey` in its URL.
    allow_redirects = False

    @cached_property
    def authenticator(self) -> BasicAuthenticator:
        auth = BasicAuthenticator(
            username=self.config["username"], password=self.config["password"]
        )
        # Khoros wants the company key as a query parameter on every API call.
        auth.auth_params["companyKey"] = self.config["company_key"]
        return auth

    def get_new_paginator(self) -> None:
        # A report is one file per job, a list one answer; nothing pages.
        return None


class KhorosStream(KhorosAPIStream, WindowedStream):
    """One Khoros Care analytics report type (the stream's name)."""

    replication_key = WINDOW_START
    #: Besides the job's start (the stream's own request): its status, its download (a
    #: redirect), and the file on the pre-signed host the redirect names (tap_khoros_care.job_api).
    extra_endpoints = (
        Endpoint("GET", JOB_ENDPOINT + "/status", "api_url", "job status"),
        Endpoint("GET", JOB_ENDPOINT + "/download", "api_url", "download"),
        Endpoint("GET", "/{pre-signed link}", None, "report file"),
    )

    #: The report's own id column, used as primary key where the report has one.
    id_column: t.ClassVar[str | None] = None
    #: Whether Khoros publishes the key columns (`id_column`, `identity_columns`): then a row
    #: without them is an error. Otherwise they are our reading of the exports, and such a row
    #: is keyed by a hash of the whole row, with one warning.
    key_published: t.ClassVar[bool] = False
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
    #: Khoros's metrics are "near-real-time": a run stops this long before now.
    settle_setting = "settle_minutes"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.primary_keys = (self.id_column,) if self.id_column else (ROW_HASH,)
        self._unlisted_columns: set[str] = set()

    # The SDK declares `path` a class attribute; a report's path follows from its name.
    @property
    def path(self) -> str:  # type: ignore[override]
        return f"/reports/report/{self.name}"

    @property
    def khoros_tap(self) -> TapKhorosCare:
        """The tap of this run, with what Khoros streams share (the scheduler, one warning)."""
        return t.cast("TapKhorosCare", self.tap)

    @property
    def scheduler(self) -> ReportScheduler:
        return self.khoros_tap.scheduler

    @property
    def plan(self) -> ReportPlan:
        """This stream's windows still to emit and their jobs (see `ReportScheduler`)."""
        return self.scheduler.plans[self.name]

    #: The reports run for each window (one job each), in emitting order; "" = the type itself.
    variants: t.ClassVar[tuple[str, ...]] = ("",)
    #: The start parameter a variant sets (None: the report runs once per window).
    variant_parameter: t.ClassVar[str | None] = None

    # ---- what a report job is asked with ------------------------------------------------

    def report_parameters(self) -> dict[str, str | list[str]]:
        """The report's parameters besides its window, from the settings (vendor names)."""
        params: dict[str, str | list[str]] = {"reportFormat": self.config["report_format"]}
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

    def report_request(self) -> ReportRequest:
        """What this report's jobs are asked with, besides their window (see `ReportRequest`)."""
        return ReportRequest(
            report_type=self.name,
            method=self.http_method,
            path=self.path,
            query=self.report_parameters(),
            variant_parameter=self.variant_parameter,
        )

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
        if status == HTTPStatus.TOO_MANY_REQUESTS and self._starts_a_job(response):
            # Refused for load: the scheduler starts it again later, with fewer jobs running,
            # rather than the retry loop asking again while the same jobs still run.
            raise JobRefused(
                f"HTTP 429 to {endpoint_of(response)}: {body_snippet(response.content)}",
                retry_after_seconds(RetriableAPIError("429", response)),
            )
        if status == HTTPStatus.BAD_REQUEST:
            refusal = RANGE_REFUSAL.search(response.text or "")
            if refusal:
                raise WindowTooLarge(f"Khoros refused the range (HTTP 400, {refusal.group(0)!r})")
        super().validate_response(response)

    def _starts_a_job(self, response: requests.Response) -> bool:
        request = response.request
        return request is not None and urlsplit(request.url or "").path.endswith(self.path)

    def backoff_handler(self, details: t.Mapping[str, t.Any]) -> None:
        super().backoff_handler(details)
        response = getattr(details.get("exception"), "response", None)
        if response is not None and response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            self.scheduler.limit.back_off("answered HTTP 429 (too many requests)")

    def connection(self) -> Connection:
        """This stream's way to the API, for the job API: it knows no stream."""
        return Connection(
            base_url=self.url_base,
            headers=self.http_headers,
            send=self.send,
            decode_json=self.decode_json,
            unpaced_retries=self._unpaced_retries,
            user_agent=self.user_agent,
            timeout=self.timeout,
            retry_statuses=tuple(self.extra_retry_statuses),
            logger=self.logger,
            columns=frozenset(self._converters),
            deadline=float(self.config["request_deadline"]),
        )

    def _unpaced_retries(self, func: FileRequest) -> FileRequest:
        # Retried like any request, but not paced: the file host is not the API.
        return self.request_decorator(func, paced=False)

    # ---- records ---------------------------------------------------------------------

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

    def records_of(
        self, job: ReportJob, rows: Iterable[dict[str, t.Any]]
    ) -> Iterator[dict[str, t.Any]]:
        """The records of the rows of `job`'s file."""
        start, end = job.window.start.isoformat(), job.window.end.isoformat()
        converters = tuple(self._converters.items())
        id_column, identity = self.id_column, self.identity_columns
        occurrences = Occurrences()
        first = True
        for row in rows:
            if first:
                self._note_columns(row)
                first = False
            record: dict[str, t.Any] = {WINDOW_START: start, WINDOW_END: end}
            get = row.get
            for name, convert in converters:
                value = get(name)
                # `text` inlined for its common case (a plain string): most columns, every row.
                # `strip` gives the string itself when it has no whitespace at either end
                # (else a copy, and `text` reads it).
                if (
                    convert is text
                    and value.__class__ is str
                    and value.strip() is value
                    and value not in MISSING
                ):
                    record[name] = value
                else:
                    record[name] = convert(value)
            record[FIELDS] = row
            if id_column:
                if record.get(id_column) is None:
                    self.missing_key(
                        self._keyless(job),
                        (id_column,),
                        row,
                        published=self.key_published,
                        keyed_by=f"`{id_column}`",
                    )
                    record[id_column] = row_hash("", row)
            elif identity and all(row.get(name) not in (None, "") for name in identity):
                record[ROW_HASH] = row_hash(start, {name: row[name] for name in identity})
            else:
                if identity:
                    self.missing_key(
                        self._keyless(job),
                        [name for name in identity if row.get(name) in (None, "")],
                        row,
                        published=self.key_published,
                        keyed_by=f"`{ROW_HASH}` (with the window)",
                    )
                # Identical rows are rows of their own (two equal posts, say): numbered.
                key = row_hash(start, row)
                occurrence = occurrences(key)
                record[ROW_HASH] = row_hash(start, row, occurrence) if occurrence else key
            yield record

    def _keyless(self, job: ReportJob) -> str:
        """What a row without its key is a row of: the job (an error), or the report (a
        warning, once per run)."""
        return (
            job.describe().removeprefix("Khoros ")
            if self.key_published
            else (f"report `{self.name}`")
        )

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
                yield from self.records_of(job, scheduler.rows(job))
            except WindowTooLarge as exc:
                if split_window(window) is None:
                    self.logger.warning(
                        "%s: %s, but the window cannot be split further; reading it whole.",
                        job.describe(),
                        exc,
                    )
                    job.any_size = True
                    yield from self.records_of(job, scheduler.rows(job))
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
