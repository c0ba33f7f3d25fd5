"""The Khoros Care Analytics API: report jobs started, polled, and downloaded from the file host."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import threading
import time
import typing as t
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, unquote

from support_simulators.framework import (
    LoopbackServer,
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
)
from support_simulators.framework.dataset import UTC, seeded
from support_simulators.khoros import expected
from support_simulators.khoros.dataset import KhorosDataset, add_months, epoch_ms
from support_simulators.khoros.files import KhorosFileHost, report_file
from support_simulators.khoros.params import WEEK_MS, parse_params
from support_simulators.khoros.reports import (
    FORM_BODY_REPORTS,
    ID_COLUMNS,
    REPORT_TYPES,
    ReportBuilder,
    ReportParams,
    columns_of,
    synthetic_rows,
)

DEFAULT_USERNAME = "analytics-demo"
DEFAULT_PASSWORD = "khoros-demo-password"
DEFAULT_COMPANY_KEY = "khoros-demo-company-key"
API_PREFIX = "/api/public"


@dataclass
class Job:
    workflow_id: str
    run_id: str
    params: ReportParams
    started: float
    ready_at: float
    outcome: str  # COMPLETED | FAILED | STUCK | NO_FILE | UNREADABLE
    index: int
    token: str = ""
    form: dict[str, list[str]] = field(default_factory=dict)  # the start's form body, if any
    downloaded: bool = False
    status_calls: int = 0


@dataclass
class JobStats:
    started: int = 0
    #: Starts refused because `max_running_jobs` were running.
    refused: int = 0
    open_now: int = 0
    peak_open: int = 0  # started, not yet downloaded
    peak_running: int = (
        0  # started, not yet finished on the simulator's side (what a job slot holds)
    )
    log: list[tuple[str, str]] = field(
        default_factory=list
    )  # jobs started: (report type, window start date)
    events: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # ("start" | "download", report, date)

    def count_start(self, window: tuple[str, str], running: int) -> None:
        self.started += 1
        self.open_now += 1
        self.peak_open = max(self.peak_open, self.open_now)
        self.peak_running = max(self.peak_running, running)
        self.log.append(window)
        self.events.append(("start", *window))


def _broken_download(kind: str | None) -> SimResponse | None:
    """The answer a `bad_downloads` entry asks for, in place of the redirect."""
    if kind == "empty-200":
        return SimResponse(200, b"", {"Content-Type": "application/json"})
    if kind == "204":
        return SimResponse(204, b"", {})
    if kind == "307-no-location":
        return SimResponse(307, b"", {"Content-Type": "text/plain"})
    return None


class KhorosSimulator(VendorSimulator):
    name = "khoros"

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        company_key: str = DEFAULT_COMPANY_KEY,
        conversations_per_day: int = 40,
        job_latency: tuple[float, float] = (0.2, 0.8),
        status_shape: str = "mixed",
        failing: t.Iterable[tuple[str, str]] = (),
        stuck: t.Iterable[tuple[str, str]] = (),
        no_file: t.Iterable[tuple[str, str]] = (),
        unreadable: t.Iterable[tuple[str, str]] = (),
        bad_downloads: t.Mapping[tuple[str, str], str] | None = None,
        history_months: int = 18,
        max_range_days: t.Mapping[str, float] | None = None,
        bulk_rows: t.Mapping[str, int] | None = None,
        link_ttl: float = 300.0,
        max_running_jobs: int | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.username, self.password, self.company_key = username, password, company_key
        self.job_latency, self.status_shape = job_latency, status_shape
        #: (report type, window start date "YYYY-MM-DD") of jobs that end FAILED / never finish.
        self.failing, self.stuck = set(failing), set(stuck)
        self.no_file, self.unreadable = set(no_file), set(unreadable)
        self.bad_downloads = dict(bad_downloads or {})
        self.history_months = history_months
        self.max_range_days = dict(max_range_days or {})
        self.bulk_rows = dict(bulk_rows or {})
        #: Jobs that may run at once (None: any number); a start beyond it is refused for load
        #: (HTTP 429, see `busy_refusal`). Khoros publishes no limit: this lets a client's
        #: back-off be tried. May be changed while the simulator runs.
        self.max_running_jobs = max_running_jobs
        super().__init__(**kwargs)
        self.dataset = KhorosDataset(seed=self.seed, conversations_per_day=conversations_per_day)
        self.builder = ReportBuilder(self.dataset)
        self.file_host = KhorosFileHost(self.host, link_ttl=link_ttl)
        self.jobs: dict[tuple[str, str], Job] = {}
        self.stats = JobStats()
        self._jobs_lock = threading.Lock()
        self._job_rng = seeded(self.seed, "jobs")

    # ---- lifecycle (the file host runs beside the API) ----------------------------

    def start(self) -> KhorosSimulator:
        self.file_host.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.file_host.stop()

    def companions(self) -> list[LoopbackServer]:
        return [self.file_host]

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def tap_settings(self) -> dict[str, str]:
        return {"api_url": self.api_url}

    def routes(self):
        yield "GET", re.compile(API_PREFIX + r"/teams"), self.teams
        job = r"/reports/report/(?P<workflow>[^/]+)/(?P<run>[^/]+)"
        yield "GET", re.compile(API_PREFIX + job + "/status"), self.status
        yield "GET", re.compile(API_PREFIX + job + "/download"), self.download
        yield (
            "GET",
            re.compile(API_PREFIX + r"/reports/report/(?P<report>[a-z_]+)"),
            self.start_report,
        )
        yield (
            "POST",
            re.compile(
                API_PREFIX + r"/reports/report/(?P<report>" + "|".join(FORM_BODY_REPORTS) + ")"
            ),
            self.start_report,
        )

    def authorized(self, request: SimRequest) -> SimResponse | None:
        basic = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != basic:
            return SimResponse(
                401,
                json.dumps({"status": "FAIL", "message": "Unauthorized"}).encode(),
                {"Content-Type": "application/json", "WWW-Authenticate": 'Basic realm="analytics"'},
            )
        if request.arg("companyKey") != self.company_key:
            return json_response({"status": "FAIL", "message": "Invalid companyKey"}, 403)
        return None

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        return expected.primary_keys(self, tap_config)

    # ---- teams -----------------------------------------------------------------------

    def teams(self, request: SimRequest) -> SimResponse:
        """`GET /teams`: every team, in the envelope of Khoros's published example."""
        return json_response(
            {"status": "PASS", "request": None, "message": None, "result": self.team_list()}
        )

    def team_list(self) -> list[dict[str, t.Any]]:
        teams: dict[str, dict[str, t.Any]] = {}
        for agent in self.dataset.agents:
            team = teams.setdefault(
                agent.team_id,
                {
                    "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"khoros-team-{agent.team_id}")),
                    "teamId": int(agent.team_id),
                    "name": agent.team_name,
                    "description": None,
                    "numberOfMembers": 0,
                },
            )
            team["numberOfMembers"] += 1
        return list(teams.values())

    # ---- starting a job --------------------------------------------------------------

    @staticmethod
    def _fail(message: str, status: int = 400) -> SimResponse:
        return json_response({"status": "FAIL", "message": message}, status)

    @staticmethod
    def _params(request: SimRequest) -> dict[str, list[str]]:
        params = {k: v for k, v in request.query.items()}
        if request.method == "POST" and request.body:
            for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        return params

    def start_report(self, request: SimRequest) -> SimResponse:
        report_type = request.match["report"]
        if report_type not in REPORT_TYPES:
            return self._fail(f"Unsupported report type {report_type}", 404)
        p = parse_params(report_type, self._params(request))
        if isinstance(p, str):
            return self._fail(p)
        earliest = add_months(dt.datetime.now(UTC), -self.history_months)
        if p.start < earliest:
            return self._fail(
                f"startTime is older than the {self.history_months} months of data Care Analytics "
                f"keeps (earliest {epoch_ms(earliest)})"
            )
        refusal = self.range_refusal(p)
        if refusal:
            return json_response(
                {"status": "FAIL", "request": None, "message": None, "result": refusal}, 400
            )
        job = self._open_job(p, request.body)
        if job is None:
            return self.busy_refusal()
        encoded = f"{quote(job.workflow_id, safe='')}/{quote(job.run_id, safe='')}"
        return json_response(
            {
                "status": "PASS",
                "result": {
                    "workflowId": job.workflow_id,
                    "runId": job.run_id,
                    "downloadUrl": "",
                    # The status OpenAPI: `analyticsAccessToken` is "returned in the statusUrl
                    # field".
                    "statusUrl": f"{self.api_url}/reports/report/{encoded}/status"
                    f"?analyticsAccessToken={quote(job.token, safe='')}",
                },
            }
        )

    def range_refusal(self, p: ReportParams) -> str | None:
        """Why Khoros would refuse this job's range (None if it would not)."""
        if p.end > add_months(p.start, 3):
            return "The date range exceeds the maximum of three months for an export"
        limit = self.max_range_days.get(p.report_type)
        if limit is not None and (p.end - p.start) > dt.timedelta(days=limit):
            return f"The date range exceeds the maximum of {limit:g} days for this export"
        if p.report_type == "team_performance_interval" and p.interval_ms <= WEEK_MS:
            buckets = -(-(epoch_ms(p.end) - epoch_ms(p.start)) // p.interval_ms)
            if buckets > 744:
                return (
                    "Unable to hydrate filter for export info: "
                    "com.lithium.socialweb.analytics.webapp.models.filter."
                    f"HydrationException: Too many buckets ({buckets}) requested. "
                    "Select a larger interval?"
                )
        return None

    def busy_refusal(self) -> SimResponse:
        """A job start refused because `max_running_jobs` are running: 429, as an API refuses
        work for load, with the Khoros envelope and a Retry-After."""
        response = self._fail(
            f"Too many report jobs running ({self.max_running_jobs}); try again later", 429
        )
        response.headers["Retry-After"] = "1"
        return response

    def _running(self, now: float) -> int:
        return sum(1 for j in self.jobs.values() if j.outcome == "STUCK" or now < j.ready_at)

    def _open_job(self, p: ReportParams, form_body: bytes) -> Job | None:
        """A new job, its ids and outcome drawn from the jobs' own seeded generator; None if
        `max_running_jobs` are running."""
        window = (p.report_type, p.start.date().isoformat())
        with self._jobs_lock:
            limit = self.max_running_jobs
            if limit is not None and self._running(time.monotonic()) >= limit:
                self.stats.refused += 1
                return None
            index = self.stats.started
            low, high = self.job_latency
            latency = low + (high - low) * self._job_rng.random()
            digest = hashlib.md5(f"{self.seed}:{index}".encode()).hexdigest()[:16]
            workflow_id = f"{p.report_type}-{digest}"
            # b"\xfb\xff" first: every runId has "+", "/" and "=" for clients to URL-encode.
            run_id = base64.b64encode(b"\xfb\xff" + self._job_rng.randbytes(23)).decode()
            now = time.monotonic()
            token = base64.b64encode(self._job_rng.randbytes(16)).decode()
            form = parse_qs(form_body.decode(), keep_blank_values=True) if form_body else {}
            job = Job(
                workflow_id,
                run_id,
                p,
                now,
                now + latency,
                self._outcome(window),
                index,
                token=token,
                form=form,
            )
            self.jobs[(workflow_id, run_id)] = job
            self.stats.count_start(window, self._running(now))
        return job

    def _outcome(self, window: tuple[str, str]) -> str:
        for outcome, windows in (
            ("FAILED", self.failing),
            ("STUCK", self.stuck),
            ("NO_FILE", self.no_file),
            ("UNREADABLE", self.unreadable),
        ):
            if window in windows:
                return outcome
        return "COMPLETED"

    # ---- status and download ---------------------------------------------------------

    def _job(self, request: SimRequest) -> Job | None:
        key = (unquote(request.match["workflow"]), unquote(request.match["run"]))
        with self._jobs_lock:
            return self.jobs.get(key)

    def status(self, request: SimRequest) -> SimResponse:
        job = self._job(request)
        if job is None:
            return self._fail("No such report run", 404)
        job.status_calls += 1
        done = job.outcome != "STUCK" and time.monotonic() >= job.ready_at
        detail = {"COMPLETED": "COMPLETED", "FAILED": "FAILED"}.get(job.outcome, "") if done else ""
        job_info = self._job_info(job, downloadable=done and detail == "COMPLETED")
        if done and job.outcome == "UNREADABLE":
            result: t.Any = {"jobInfo": job_info, "state": "DONE"}
        else:
            inner = {
                "runnerState": "CLOSED" if done else "RUNNING",
                "reason": None,
                "detail": detail,
                "currentCount": None,
                "totalCount": None,
                "lastAcknowledgeTime": None,
            }
            result = self._shaped(job, job_info, inner)
        return json_response({"status": "PASS", "request": None, "message": None, "result": result})

    def _job_info(self, job: Job, downloadable: bool) -> dict[str, str]:
        workflow, run = quote(job.workflow_id, safe=""), quote(job.run_id, safe="")
        base = f"{self.api_url}/reports/report/{workflow}/{run}"
        token = quote(job.token, safe="")
        return {
            "workflowId": job.workflow_id,
            "runId": job.run_id,
            "downloadUrl": f"{base}/download?analyticsAccessToken={token}" if downloadable else "",
            "statusUrl": f"{base}/status?analyticsAccessToken={token}",
        }

    def _shaped(self, job: Job, job_info: dict[str, str], inner: dict[str, t.Any]) -> t.Any:
        """The status `result` in the shape `status_shape` picks ("mixed": object and list
        alternating per job)."""
        shape = self.status_shape
        if shape == "mixed":
            shape = "list" if job.index % 2 else "object"
        if shape == "flat":
            return {**job_info, **inner}
        result = {"jobInfo": job_info, "result": [inner] if shape == "inner-list" else inner}
        return [result] if shape == "list" else result

    def download(self, request: SimRequest) -> SimResponse:
        job = self._job(request)
        if job is None:
            return self._fail("No such report run", 404)
        if job.outcome != "COMPLETED" or time.monotonic() < job.ready_at:
            return self._fail("The report is not available for download", 409)
        p = job.params
        window = (p.report_type, p.start.date().isoformat())
        with self._jobs_lock:
            if not job.downloaded:
                job.downloaded = True
                self.stats.open_now -= 1
            self.stats.events.append(("download", *window))
        broken = _broken_download(self.bad_downloads.get(window))
        if broken is not None:
            return broken
        hosted = report_file(
            lambda: self.report_rows(p),
            columns_of(p),
            p.fmt,
            time.time() + self.file_host.link_ttl,
            sized=p.report_type not in self.bulk_rows,
        )
        # One object per job: a job's file asked again gets a fresh link to the same path.
        key = hashlib.sha256(f"{job.workflow_id}:{job.run_id}".encode()).hexdigest()[:24]
        location = self.file_host.publish(hosted, f"{p.report_type}.{p.fmt}", key)
        return SimResponse(307, b"", {"Location": location, "Content-Type": "text/plain"})

    def report_rows(self, p: ReportParams) -> Iterator[dict[str, str]]:
        """The rows of a job's file: the dataset's, or `bulk_rows` synthetic ones."""
        bulk = self.bulk_rows.get(p.report_type)
        if bulk:
            return synthetic_rows(p, bulk)
        if self.late_edits:
            return self._edited(p.report_type, self.builder.rows(p))
        return self.builder.rows(p)

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is [report type, the row's id] (POST_ID, CONVERSATION_ID, HELP_REQUEST_ID);
        `changes` are the row's columns as they read from now on, e.g. {"CONTENT": "..."}."""
        report_type, row_id = key
        super().record_late_edit((str(report_type), str(row_id)), changes)

    def _edited(self, report_type: str, rows: Iterator[dict[str, str]]) -> Iterator[dict[str, str]]:
        id_column = ID_COLUMNS.get(report_type)
        for row in rows:
            edit = self.late_edits.get((report_type, row.get(id_column or "", "")))
            yield {**row, **{k: v for k, v in edit.items() if k in row}} if edit else row
