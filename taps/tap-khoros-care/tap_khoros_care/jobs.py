"""Khoros report jobs: what one is, and when each is started and checked.

A job is one report run on Khoros's side, for one window of one report type (and, for
`conversation`, one `conversationReportType`); `ReportScheduler` runs the jobs of one
tap run, across every selected report type.

The SDK syncs streams one after another, but Khoros runs jobs in parallel on its side.
So the tap plans every selected stream's windows up front and shares one budget of
`max_concurrent_reports` *running* jobs between them: whenever a slot is free it starts
the job of the oldest window across all report types (ties in stream order), whatever
stream is being emitted. A job holds its slot until a status check sees it finished;
a finished job waits, costing nothing, until its stream's turn (its file link is asked
for only then, so it never expires). Records still go out stream by stream, window by
window, and each stream's bookmark moves after its window's last record.

Requests are the scarce resource (about 20 a minute), so status checks are spent only
where they unblock something: on the job the emitting stream needs next, and, when
every slot is busy and jobs wait to start, on whichever running job is due for its
next check (each job backs off on its own). A job
that fails while its stream is not yet emitting keeps its error until the stream
reaches it, so the error names the right stream and nothing before it is lost.

Windows: a window whose start Khoros refuses for its range (or whose file is above
`max_file_mb`) is replaced by its two halves, in place, so no row is lost or doubled.
"""

from __future__ import annotations

import datetime as dt
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import quote

from support_taps.errors import VendorAPIError
from support_taps.windows import DateWindow, floor_day
from tap_khoros_care.status import JobStatus

if t.TYPE_CHECKING:
    from tap_khoros_care.client import KhorosStream

#: A job's requests, as named in request metrics (without ids).
JOB_ENDPOINT = "/reports/report/{workflowId}/{runId}"


class ReportFailed(VendorAPIError):
    """A report job ended without a result (FAILED) or did not finish in time."""


class WindowTooLarge(Exception):
    """Khoros refused a job for its range, or its file is above the size budget."""


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


@dataclass
class StreamPlan:
    """A stream's windows still to emit, in order, and the jobs started for them."""

    stream: KhorosStream
    index: int
    windows: deque[DateWindow]
    jobs: dict[tuple[DateWindow, str], ReportJob] = field(default_factory=dict)

    def next_unstarted(self) -> tuple[DateWindow, str] | None:
        for window in self.windows:
            for variant in self.stream.variants:
                if (window, variant) not in self.jobs:
                    return window, variant
        return None


class ReportScheduler:
    """Starts, polls and hands out the report jobs of one tap run (one thread)."""

    def __init__(self, streams: list[KhorosStream], max_concurrent: int) -> None:
        self.max_concurrent = max(1, max_concurrent)
        #: Jobs started but not yet downloaded, beyond which only the emitting stream starts more.
        self.max_waiting = max(4 * self.max_concurrent, 40)
        self.running = 0
        self.plans: dict[str, StreamPlan] = {}
        for stream in streams:
            self.plan(stream)

    def plan(self, stream: KhorosStream) -> StreamPlan:
        plan = self.plans.get(stream.name)
        if plan is None:
            plan = StreamPlan(stream, len(self.plans), deque(stream.planned_windows()))
            self.plans[stream.name] = plan
        return plan

    # ---- starting jobs ---------------------------------------------------------------

    def _waiting(self) -> int:
        return sum(len(plan.jobs) for plan in self.plans.values())

    def fill(self, needed: tuple[StreamPlan, DateWindow, str] | None = None) -> None:
        """Start jobs while slots are free: the one `needed` first, then the oldest windows."""
        if needed is not None:
            plan, window, variant = needed
            if (window, variant) not in plan.jobs and self.running < self.max_concurrent:
                self._start(plan, window, variant)
        while self.running < self.max_concurrent and self._waiting() < self.max_waiting:
            candidates = [
                (entry[0].start, plan.index, plan, entry)
                for plan in self.plans.values()
                if (entry := plan.next_unstarted()) is not None
            ]
            if not candidates:
                return
            _, _, plan, (window, variant) = min(candidates, key=lambda c: (c[0], c[1]))
            self._start(plan, window, variant)

    def _start(self, plan: StreamPlan, window: DateWindow, variant: str) -> None:
        try:
            job = plan.stream.start_report(window, variant)
        except WindowTooLarge as exc:
            self.split(plan, window, str(exc))
            return
        plan.jobs[(window, variant)] = job
        self.running += 1

    def split(self, plan: StreamPlan, window: DateWindow, why: str) -> None:
        """Replace `window` by its halves (forgetting its jobs), or fail if it cannot be split."""
        halves = split_window(window)
        if halves is None:
            msg = (
                f"Khoros report `{plan.stream.name}` for window {window.label} "
                "cannot be split further "
                f"({why}); lower `window_days` or the report's filters."
            )
            raise plan.stream.report_error(msg)
        for variant in plan.stream.variants:
            job = plan.jobs.pop((window, variant), None)
            if job is not None and not job.finished:
                self.running -= 1
        position = plan.windows.index(window)
        plan.windows[position] = halves[1]
        plan.windows.insert(position, halves[0])
        plan.stream.logger.info(
            "Khoros report `%s`: window %s split into %s and %s (%s).",
            plan.stream.name,
            window.label,
            halves[0].label,
            halves[1].label,
            why,
        )

    # ---- waiting for jobs -------------------------------------------------------------

    def wait(self, plan: StreamPlan, window: DateWindow, variant: str) -> ReportJob | None:
        """The job of `window`/`variant`, once its file is ready; None if the window was split."""
        while True:
            self.fill((plan, window, variant))
            if window not in plan.windows:
                return None  # refused for its range and split while starting
            job = plan.jobs.get((window, variant))
            if job is not None and job.finished:
                if job.error is not None:
                    raise job.error
                return job
            candidates = [job] if job is not None else []
            if self.running >= self.max_concurrent and any(
                p.next_unstarted() for p in self.plans.values()
            ):
                # Every slot is busy and jobs wait to start: a check that finds a job done
                # frees a slot. Each job keeps its own backoff, so checks go where they are due.
                candidates += [
                    j for p in self.plans.values() for j in p.jobs.values() if not j.finished
                ]
            if not candidates:
                msg = (
                    "No job could be started for Khoros report "
                    f"`{plan.stream.name}` window {window.label}."
                )
                raise plan.stream.report_error(msg)
            target = min(candidates, key=lambda j: j.next_poll)
            delay = target.next_poll - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._check(target, needed=target is job)

    def _check(self, job: ReportJob, *, needed: bool) -> None:
        stream = self.plans[job.report_type].stream
        try:
            stream.check(job)
        except Exception as exc:
            if needed:
                raise
            job.error = exc  # raised when its stream reaches it
            job.finished = True
        if job.finished:
            self.running -= 1

    def done(self, plan: StreamPlan, window: DateWindow) -> None:
        """The window's records are all out: forget it and its jobs."""
        for variant in plan.stream.variants:
            plan.jobs.pop((window, variant), None)
        plan.windows.popleft()

    def abandon(self, plan: StreamPlan) -> None:
        """The stream failed: free the slots of its jobs still running."""
        for job in plan.jobs.values():
            if not job.finished:
                self.running -= 1
        plan.jobs.clear()
        plan.windows.clear()
