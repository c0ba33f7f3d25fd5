"""Khoros report jobs: what one is, what it is asked with, and how its window splits.

A job is one report run on Khoros's side, for one window of one report type (and, for
`conversation`, one `conversationReportType`: the job's variant). `ReportRequest` is
what the jobs of a report type are asked with besides their window, as plain data the
stream shapes. Starting, checking and downloading a job is `tap_khoros_care.job_api`'s
business; when each job starts and is checked, `tap_khoros_care.scheduler`'s.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import quote

from support_taps.errors import VendorAPIError
from support_taps.windows import DateWindow, floor_day
from tap_khoros_care.status import JobStatus

#: A job's requests, as named in request metrics (without ids).
JOB_ENDPOINT = "/reports/report/{workflowId}/{runId}"


class ReportFailed(VendorAPIError):
    """A report job ended without a result (FAILED) or did not finish in time."""


class WindowTooLarge(Exception):
    """Khoros refused a job for its range, or its file is above the size budget."""


#: How a refusal of a job for its range reads (Khoros publishes only "Too many buckets").
RANGE_REFUSAL = re.compile(
    r"too many buckets|time range|date range|range too|exceed|maximum|three months|"
    r"3 months|too large|too long",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReportRequest:
    """What the jobs of one report type are asked with, besides their window: plain data
    the stream shapes from its settings (named as the vendor names them).

    The job API puts `startTime` and `endTime` (the window, epoch milliseconds) first and,
    for a report run in variants, `variant_parameter` (the job's variant) last among the
    report's parameters: in `form`, the body of a POST, if there is one, else in `query`.
    The credentials and `companyKey` are added when the request is sent.
    """

    report_type: str
    method: str
    #: The start request's path under the API's base URL (and its name in request metrics).
    path: str
    query: t.Mapping[str, str | list[str]]
    form: t.Mapping[str, str | list[str]] | None = None
    variant_parameter: str | None = None


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
    download_url: str | None = None
    variant: str = ""
    polls: int = 0
    status: JobStatus | None = None
    finished: bool = False
    error: Exception | None = None
    any_size: bool = False  # read the file whatever its size (its window cannot be split)

    def describe(self) -> str:
        kind = f" ({self.variant})" if self.variant else ""
        return (
            f"Khoros report `{self.report_type}`{kind} for window {self.window.label} "
            f"(workflowId {self.workflow_id})"
        )

    def path(self, action: str) -> str:
        """The documented path of this job's `status` or `download` request."""
        # runId is base64 (may hold "/", "+", "="): it must be encoded as one segment.
        workflow_id, run_id = quote(self.workflow_id, safe=""), quote(self.run_id, safe="")
        return f"/reports/report/{workflow_id}/{run_id}/{action}"


#: Windows shorter than this are not split any further.
MIN_SPLIT = dt.timedelta(hours=1)


def split_window(window: DateWindow) -> tuple[DateWindow, DateWindow] | None:
    """The two halves of a window (cut at midnight for windows of days), or None if too short."""
    span = window.end - window.start
    if span < 2 * MIN_SPLIT:
        return None
    middle = window.start + span / 2
    if span >= dt.timedelta(days=2):
        middle = floor_day(middle)
    else:
        middle = middle.replace(minute=0, second=0, microsecond=0)
    if not window.start < middle < window.end:
        return None
    return DateWindow(window.start, middle), DateWindow(middle, window.end)
