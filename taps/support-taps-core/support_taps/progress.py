"""What a run is doing and what it did: progress lines per stream and the end-of-run summary.

Progress is logged at INFO when a stream starts its first window and then at most every
`interval` seconds (window k of n, records so far, rate, ETA), so a long backfill says
where it is without flooding the log. The summary, one line per stream at the end of
the run (also when it fails or is stopped), counts records, windows, requests, retries,
HTTP 429 answers and skipped streams; a skipped stream is a WARNING, so it shows under
Meltano.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Seconds between two progress lines of one stream.
PROGRESS_INTERVAL = 30.0


def duration_text(span: dt.timedelta) -> str:
    """A window length as people write it: "14 days", "1 day", "6 hours", "90 minutes"."""
    seconds = int(span.total_seconds())
    for unit, size in _UNITS[:3]:
        if seconds >= size and seconds % size == 0:
            return _count(seconds // size, unit)
        if seconds + 1 >= size and (seconds + 1) % size == 0:  # an end-exclusive limit
            return f"{_count((seconds + 1) // size, unit)} less 1 second"
    return _count(seconds, "second")


#: Units of a spoken duration, largest first.
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'s' if number != 1 else ''}"


def spoken_duration(seconds: float) -> str:
    """A time span as people say it, to the two largest units: "less than a second",
    "40 seconds", "1 minute 30 seconds", "2 hours 5 minutes", "3 days 1 hour"."""
    left = max(0, int(round(seconds)))
    if left == 0:
        return "less than a second"
    parts = []
    for unit, size in _UNITS:
        if left >= size:
            parts.append(_count(left // size, unit))
            left %= size
        elif parts:
            break  # "2 hours 5 minutes", never "2 hours 0 minutes 5 seconds"
        if len(parts) == 2:
            break
    return " ".join(parts)


@dataclass
class StreamStats:
    """Counters of one stream over a run (all its partitions)."""

    records: int = 0
    windows: int = 0
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    skipped: list[str] = field(default_factory=list)
    started: float | None = None
    finished: float | None = None

    def summary(self, now: float) -> str:
        seconds = ((self.finished or now) - self.started) if self.started is not None else 0.0
        return (
            f"{self.records:,} records, {self.windows:,} windows, {self.requests:,} requests, "
            f"{self.retries:,} retries, {self.rate_limited:,} answered 429, "
            f"in {spoken_duration(seconds)}"
        )


class RunStats:
    """The counters of every stream of one tap run (thread-safe: some taps fetch in parallel)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.streams: dict[str, StreamStats] = {}
        self.lock = threading.Lock()

    def stream(self, name: str) -> StreamStats:
        with self.lock:
            stats = self.streams.get(name)
            if stats is None:
                stats = self.streams[name] = StreamStats()
            return stats

    def count(self, name: str, counter: str, amount: int = 1) -> None:
        stats = self.stream(name)
        with self.lock:
            setattr(stats, counter, getattr(stats, counter) + amount)
            if stats.started is None:
                stats.started = self.clock()

    def skip(self, name: str, reason: str) -> None:
        stats = self.stream(name)
        with self.lock:
            stats.skipped.append(reason)

    def log_summary(self, logger: logging.Logger, *, outcome: str) -> None:
        """One line per stream, then the totals; skipped streams as warnings."""
        now = self.clock()
        for name, stats in sorted(self.streams.items()):
            logger.info("Summary of %s: %s", name, stats.summary(now))
            for reason in stats.skipped:
                logger.warning("Summary of %s: skipped: %s", name, reason)
        streams = self.streams.values()
        skipped = sum(1 for stats in streams if stats.skipped)
        logger.info(
            "Run %s: %d streams, %s records, %s requests, %s retries, %s answered 429, %d skipped.",
            outcome,
            len(self.streams),
            f"{sum(s.records for s in streams):,}",
            f"{sum(s.requests for s in streams):,}",
            f"{sum(s.retries for s in streams):,}",
            f"{sum(s.rate_limited for s in streams):,}",
            skipped,
        )


class WindowProgress:
    """Progress of one stream (or partition) through its windows, logged at a modest rate.

    Counted when a window is checkpointed (all its records emitted), which also holds
    for taps that fetch several windows at once."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        stats: StreamStats,
        total: int | None,
        *,
        interval: float = PROGRESS_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.stream, self.stats, self.total = logger, stream, stats, total
        self.interval, self.clock = interval, clock
        self.started = clock()
        self.records_at_start = stats.records
        self.last_logged: float | None = None
        self.done = 0

    def window_done(self, label: str) -> None:
        """A window's records are all out: log the first, the last, and one every `interval`."""
        self.done = self.done + 1 if self.total is None else min(self.done + 1, self.total)
        now = self.clock()
        due = self.last_logged is None or now - self.last_logged >= self.interval
        if not (due or self.done == self.total):
            return
        self.last_logged = now
        of_total = f" of {self.total}" if self.total is not None else ""
        self.logger.info(
            "%s: window %d%s done (%s)%s",
            self.stream,
            self.done,
            of_total,
            label,
            self._so_far(now),
        )

    def _so_far(self, now: float) -> str:
        records = self.stats.records - self.records_at_start
        elapsed = now - self.started
        remaining = self.total - self.done if self.total is not None else None
        so_far = " so far" if remaining != 0 else ""
        if elapsed <= 0:
            return f", {records:,} records{so_far}"
        text = f", {records:,} records{so_far}, {records / elapsed:,.0f} records/s"
        if remaining is None:
            return text
        if remaining:
            return text + f", ETA {spoken_duration(elapsed / self.done * remaining)}"
        return text + f", in {spoken_duration(elapsed)}"
