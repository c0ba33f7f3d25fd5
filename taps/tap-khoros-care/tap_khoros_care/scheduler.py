"""When each Khoros report job is started and checked, across every selected report type.

The SDK syncs streams one after another, but Khoros runs jobs in parallel on its side.
So the tap plans every selected stream's windows up front and shares one budget of
*running* jobs between them (adaptive, at most `max_concurrent_reports`: see
`tap_khoros_care.concurrency`): whenever a slot is free it starts
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

A start Khoros refuses for load (HTTP 429) halves the budget; the job is started again
once a slot is free and the refusal's Retry-After has passed.

Windows: a window whose start Khoros refuses for its range (or whose file is above
`max_file_mb`) is replaced by its two halves, in place, so no row is lost or doubled.

The scheduler owns each report type's job API (`tap_khoros_care.job_api`) and calls it;
the streams call the scheduler (`wait`, `rows`, `split`, `done`, `abandon`), never the
other way round.
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from support_taps.windows import DateWindow
from tap_khoros_care.concurrency import ConcurrencyLimit, JobRefused
from tap_khoros_care.job_api import ReportJobAPI
from tap_khoros_care.jobs import ReportFailed, ReportJob, WindowTooLarge, split_window


@dataclass
class ReportPlan:
    """A report type's windows still to emit, in order, and the jobs started for them."""

    api: ReportJobAPI
    #: The reports run for each window (one job each), in emitting order.
    variants: tuple[str, ...]
    index: int
    windows: deque[DateWindow]
    jobs: dict[tuple[DateWindow, str], ReportJob] = field(default_factory=dict)

    @property
    def report_type(self) -> str:
        return self.api.report_type

    def next_unstarted(self) -> tuple[DateWindow, str] | None:
        for window in self.windows:
            for variant in self.variants:
                if (window, variant) not in self.jobs:
                    return window, variant
        return None


class ReportScheduler:
    """Starts, polls and hands out the report jobs of one tap run (one thread)."""

    #: Refused starts in a row, with none of our jobs running, before the run gives up.
    MAX_IDLE_REFUSALS = 10

    def __init__(
        self,
        max_concurrent: int,
        *,
        logger: logging.Logger | None = None,
        refusal_wait: float = 5.0,
    ) -> None:
        logger = logger or logging.getLogger("tap-khoros-care")
        #: How many jobs may run at once (adaptive, at most `max_concurrent`).
        self.limit = ConcurrencyLimit.starting(max_concurrent, logger)
        #: Jobs started but not yet downloaded, beyond which only the emitting stream starts more.
        self.max_waiting = max(4 * self.limit.ceiling, 40)
        self.running = 0
        self.plans: dict[str, ReportPlan] = {}
        #: Seconds to wait after a refused start that gave no Retry-After.
        self.refusal_wait = refusal_wait
        #: No job starts before this (monotonic) time: a refused start's Retry-After.
        self.not_before = 0.0
        self.idle_refusals = 0

    @property
    def max_concurrent(self) -> int:
        """Jobs that may run at once now."""
        return self.limit.limit

    def add(
        self, api: ReportJobAPI, variants: tuple[str, ...], windows: Iterable[DateWindow]
    ) -> ReportPlan:
        """Plan a report type's windows (in the order they are emitted), run as `variants`."""
        plan = ReportPlan(api, variants, len(self.plans), deque(windows))
        self.plans[api.report_type] = plan
        return plan

    # ---- starting jobs ---------------------------------------------------------------

    def _waiting(self) -> int:
        return sum(len(plan.jobs) for plan in self.plans.values())

    def fill(self, needed: tuple[ReportPlan, DateWindow, str] | None = None) -> None:
        """Start jobs while slots are free: the one `needed` first, then the oldest windows."""
        if time.monotonic() < self.not_before:
            return  # Khoros refused a start: not before its Retry-After
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
            if not self._start(plan, window, variant):
                return

    def _start(self, plan: ReportPlan, window: DateWindow, variant: str) -> bool:
        """Start a job; False if Khoros refused it for load (it is started again later)."""
        try:
            job = plan.api.start(window, variant)
        except WindowTooLarge as exc:
            self.split(plan, window, str(exc))
            return True
        except JobRefused as exc:
            self._refused(plan, exc)
            return False
        plan.jobs[(window, variant)] = job
        self.running += 1
        self.idle_refusals = 0
        self.limit.started()
        return True

    def _refused(self, plan: ReportPlan, exc: JobRefused) -> None:
        self.limit.back_off(f"refused to start a report job ({exc})")
        wait = exc.retry_after if exc.retry_after is not None else self.refusal_wait
        self.not_before = time.monotonic() + wait
        if self.running == 0:
            self.idle_refusals += 1
            if self.idle_refusals >= self.MAX_IDLE_REFUSALS:
                msg = (
                    f"Khoros refused to start report `{plan.report_type}` "
                    f"{self.idle_refusals} times in a row while none of this run's jobs ran "
                    f"({exc}). Try again later."
                )
                raise ReportFailed(msg)

    def split(self, plan: ReportPlan, window: DateWindow, why: str) -> None:
        """Replace `window` by its halves (forgetting its jobs), or fail if it cannot be split."""
        halves = split_window(window)
        if halves is None:
            msg = (
                f"Khoros report `{plan.report_type}` for window {window.label} "
                "cannot be split further "
                f"({why}); lower `window_days` or the report's filters."
            )
            raise ReportFailed(msg)
        for variant in plan.variants:
            job = plan.jobs.pop((window, variant), None)
            if job is not None and not job.finished:
                self.running -= 1
        position = plan.windows.index(window)
        plan.windows[position] = halves[1]
        plan.windows.insert(position, halves[0])
        plan.api.logger.info(
            "Khoros report `%s`: window %s split into %s and %s (%s).",
            plan.report_type,
            window.label,
            halves[0].label,
            halves[1].label,
            why,
        )

    # ---- waiting for jobs -------------------------------------------------------------

    def wait(self, plan: ReportPlan, window: DateWindow, variant: str) -> ReportJob | None:
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
            held = time.monotonic() < self.not_before  # a refused start's Retry-After
            if (self.running >= self.max_concurrent or held) and any(
                p.next_unstarted() for p in self.plans.values()
            ):
                # Every slot is busy and jobs wait to start: a check that finds a job done
                # frees a slot. Each job keeps its own backoff, so checks go where they are due.
                candidates += [
                    j for p in self.plans.values() for j in p.jobs.values() if not j.finished
                ]
            if not candidates and held:
                time.sleep(max(0.0, self.not_before - time.monotonic()))
                continue
            if not candidates:
                msg = (
                    "No job could be started for Khoros report "
                    f"`{plan.report_type}` window {window.label}."
                )
                raise ReportFailed(msg)
            target = min(candidates, key=lambda j: j.next_poll)
            if held and job is None and self.not_before < target.next_poll:
                time.sleep(max(0.0, self.not_before - time.monotonic()))
                continue  # the needed job may start now
            delay = target.next_poll - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self._check(target, needed=target is job)

    def _check(self, job: ReportJob, *, needed: bool) -> None:
        api = self.plans[job.report_type].api
        try:
            api.check(job)
        except Exception as exc:
            if needed:
                raise
            job.error = exc  # raised when its stream reaches it
            job.finished = True
        if job.finished:
            self.running -= 1
            if job.error is None:
                self.limit.finished()

    def rows(self, job: ReportJob) -> Iterator[dict[str, t.Any]]:
        """The rows of a finished job's file, downloaded and parsed as they are read."""
        return self.plans[job.report_type].api.rows(job)

    def done(self, plan: ReportPlan, window: DateWindow) -> None:
        """The window's records are all out: forget it and its jobs."""
        for variant in plan.variants:
            plan.jobs.pop((window, variant), None)
        plan.windows.popleft()

    def abandon(self, plan: ReportPlan) -> None:
        """The stream failed: free the slots of its jobs still running."""
        for job in plan.jobs.values():
            if not job.finished:
                self.running -= 1
        plan.jobs.clear()
        plan.windows.clear()
