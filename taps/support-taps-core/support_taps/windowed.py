"""The windowed stream: the core runs the loop, a stream declares how one window is read.

Every incremental stream of the collection reads its vendor window by window: where the
run starts (bookmark minus lookback, never before `start_date`), where it ends (`end_date`
or the run's one clock), the windows in between, which records belong to a window, the
checkpoint after each window's last record, and the progress lines. `WindowedStream`
owns all of that; a stream overrides `window_records` ("the records of this window") and,
where its vendor differs, `windows` or `window_bookmark`. The core README's "Writing a
stream" lists every hook.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing as t
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Sized
from functools import cached_property

from support_taps.compat import PROGRESS_MARKERS, write_state_message
from support_taps.errors import VendorAPIError
from support_taps.progress import PROGRESS_INTERVAL, WindowProgress, duration_text
from support_taps.redaction import redact
from support_taps.state import StateError
from support_taps.stream import SupportStream
from support_taps.windows import DateWindow, date_windows, floor_day, parse_utc

#: What `window_records` may give: records, or a generator whose return value False says
#: the window was not finished (re-planned, e.g. split in two), so it is not bookmarked.
WindowRecords = Iterable[dict] | Generator[dict, None, bool | None]


class WindowedStream(SupportStream):
    """An incremental stream read window by window, bookmarked at each window's end.

    Declare, besides path and schema:
    - `window_setting` / `lookback_setting`: the settings sizing windows and the lookback
      (their defaults live in the tap's config schema), in `window_unit`/`lookback_unit`;
    - `window_field`: the record field placing a record in a window, when the vendor may
      answer records outside the range asked (an inclusive end, a whole day); a record
      outside belongs to a neighbouring window, which emits it;
    - `align_to_days`: whether windows start at midnight UTC;
    - `prefetch_windows`: whether the next window is read while this one's records go out
      (`window_answer` in a worker thread, `answer_records` in the main one).
    """

    #: Setting with the window length, in `window_unit`; None: `default_window`.
    window_setting: t.ClassVar[str | None] = None
    window_unit: t.ClassVar[str] = "days"
    default_window: t.ClassVar[dt.timedelta] = dt.timedelta(days=1)
    #: Setting with how far before the bookmark each run starts again, in `lookback_unit`.
    lookback_setting: t.ClassVar[str | None] = None
    lookback_unit: t.ClassVar[str] = "days"
    #: Setting with how long before now a run stops, in `settle_unit`: what the vendor records
    #: late (its recording lag) is in place by the time the range reaches it, next run.
    settle_setting: t.ClassVar[str | None] = None
    settle_unit: t.ClassVar[str] = "minutes"
    #: Field whose ISO 8601 UTC value places a record in [window.start, window.end).
    window_field: t.ClassVar[str | None] = None
    #: How far after the run's clock a record may be dated and still be the next run's (a
    #: vendor clock ahead of ours, dates in a zone it does not state, a record made while the
    #: run goes: a day asked up to now is answered up to the moment it is asked). A record
    #: dated later stops the run: no run would emit it before that date.
    future_tolerance: t.ClassVar[dt.timedelta] = dt.timedelta(days=1)
    align_to_days: t.ClassVar[bool] = True
    #: Read window k+1 (in a worker thread) while window k's records go out: for vendors
    #: whose answers take long to build and whose limits allow two requests at once.
    prefetch_windows: t.ClassVar[bool] = False
    #: With `prefetch_windows`: how many windows are read ahead at once (so at most this many
    #: windows' requests are open at a time).
    prefetch_depth: t.ClassVar[int] = 1
    #: Seconds between two progress lines of this stream.
    progress_interval: t.ClassVar[float] = PROGRESS_INTERVAL

    # ---- what a stream declares ------------------------------------------------------

    @cached_property
    def window_size(self) -> dt.timedelta:
        """Length of one window: the `window_setting` setting, or `default_window`."""
        return self._setting_span(self.window_setting, self.window_unit, self.default_window)

    @cached_property
    def lookback(self) -> dt.timedelta:
        """How far before the bookmark a run starts again (re-reads revised data)."""
        return self._setting_span(self.lookback_setting, self.lookback_unit, dt.timedelta(0))

    @cached_property
    def settle(self) -> dt.timedelta:
        """How long before the run's clock the range ends (the vendor's recording lag)."""
        return self._setting_span(self.settle_setting, self.settle_unit, dt.timedelta(0))

    def _setting_span(self, setting: str | None, unit: str, fallback: dt.timedelta) -> dt.timedelta:
        if setting is None or self.config.get(setting) is None:
            return fallback
        return dt.timedelta(**{unit: int(self.config[setting])})

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> WindowRecords:
        """The records of one window: by default the stream's request with the window in
        its context (`window_of(context)` reads it back in `get_url_params` and friends;
        `response_window(response)` in `parse_response`)."""
        return self.request_records({**(context or {}), **window_context(window)})

    def window_answer(self, window: DateWindow, context: t.Mapping | None) -> t.Any:
        """What `window`'s requests answer; with `prefetch_windows`, read in the worker thread
        while the previous window's records go out. By default the window's records, as a
        list. A stream whose records must be made in the main thread (they feed child
        streams) returns its answers here and makes the records in `answer_records`."""
        return list(self.window_records(window, context))

    def answer_records(
        self, window: DateWindow, answer: t.Any, context: t.Mapping | None
    ) -> WindowRecords:
        """The records of `window` from what `window_answer` read (by default, the answer)."""
        return t.cast(WindowRecords, answer)

    def window_filter(self, window: DateWindow) -> t.Callable[[t.Mapping[str, t.Any]], bool] | None:
        """Which records belong to `window` (None: all it answers), by `window_field`.

        A record without the field is kept; ISO strings in one offset (+00:00) compare
        like the instants they name, so no record is parsed.
        """
        field = self.window_field
        if field is None:
            return None
        lower, upper = window.start.isoformat(), window.end.isoformat()

        def inside(record: t.Mapping[str, t.Any]) -> bool:
            value = record.get(field)
            return value is None or lower <= value < upper

        return inside

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime | None:
        """Where the bookmark moves once `window`'s records are out (None: it stays)."""
        return window.end

    # ---- the range of this run ---------------------------------------------------------

    @cached_property
    def start_date(self) -> dt.datetime:
        """The `start_date` setting, as a UTC instant."""
        return parse_utc(self.config["start_date"], setting="start_date")

    def bookmark(self, context: t.Mapping | None) -> dt.datetime | None:
        """The bookmark this run started from for `context`'s state partition (None on a
        first run), read from the state as loaded, by the SDK's rule: a bookmark of another
        replication key does not count.

        Read once per partition, before any checkpoint moves it: planners that look ahead
        (Khoros) and child streams synced once per parent record all see the same start.
        """
        key = progress_key(self.state_partition(context))
        if key not in self._start_bookmarks:
            state = self.get_context_state(context)
            value = state.get("replication_key_value")
            same_key = state.get("replication_key") == self.replication_key
            self._start_bookmarks[key] = self._checked_bookmark(value) if same_key else None
        return self._start_bookmarks[key]

    def _checked_bookmark(self, value: t.Any) -> dt.datetime | None:
        """A bookmark from the state as an instant. One in the future (a clock that ran
        ahead, a hand edit) stops the run: resuming from it would silently extract nothing
        until that date."""
        if value in (None, ""):
            return None
        bookmark = parse_utc(value)  # SupportTap.load_state checked it reads
        now = self.tap.run_started
        if bookmark > now + dt.timedelta(minutes=5):  # a few minutes of clock skew is normal
            msg = (
                f"The state's bookmark of `{self.name}` ({bookmark.isoformat()}) is in the "
                f"future (now is {now.replace(microsecond=0).isoformat()}): it was written by "
                "a machine whose clock ran ahead, or edited by hand. Fix or remove it."
            )
            raise StateError(msg)
        return bookmark

    def sync_range_start(self, context: t.Mapping | None) -> dt.datetime:
        """Where this run starts: the bookmark minus the lookback, never before start_date."""
        bookmark = self.bookmark(context)
        if bookmark is None:
            return self.start_date
        return max(self.start_date, bookmark - self.lookback)

    def sync_range_end(self) -> dt.datetime:
        """`end_date`, or the run's one clock less the settle margin (never past it)."""
        end_date = self.config.get("end_date")
        now = self.tap.run_started - self.settle
        return min(parse_utc(end_date, setting="end_date"), now) if end_date else now

    def windows(self, context: t.Mapping | None) -> Iterable[DateWindow]:
        """The windows of this run, in order: `window_size` steps over [sync_range_start,
        sync_range_end). Override for calendar months, local days (`local_day_windows`), a
        scheduler's plan; a list gives progress lines a total, a lazy iterable may say how
        many are left with `windows_left`."""
        return self.date_windows(context, align_to_days=self.align_to_days)

    def date_windows(
        self, context: t.Mapping | None, *, align_to_days: bool = True
    ) -> list[DateWindow]:
        """Windows of `window_size` over this run's range."""
        start = self.sync_range_start(context)
        if align_to_days:
            start = floor_day(start)
        end = self.sync_range_end()
        if start >= end:
            self.logger.info(
                "Nothing to extract: the range starts at %s and ends at %s.",
                start.isoformat(),
                end.isoformat(),
            )
            return []
        self.logger.info(
            "Extracting [%s, %s) in windows of %s.",
            start.isoformat(),
            end.isoformat(),
            duration_text(self.window_size),
        )
        return list(date_windows(start, end, self.window_size))

    def local_day_windows(self, context: t.Mapping | None, zone: dt.tzinfo) -> list[DateWindow]:
        """Calendar days in `zone`, each from its local midnight to the next: from
        start_date's date, or the bookmarked local day minus the lookback, up to end_date's
        date (exclusive), through today (a day not over yet; see `window_bookmark`)."""
        first = self.start_date.date()
        bookmark = self.bookmark(context)
        if bookmark is not None:
            first = max(first, (bookmark.astimezone(zone) - self.lookback).date())
        last = self.tap.run_started.astimezone(zone).date() + dt.timedelta(days=1)
        if self.config.get("end_date"):
            last = min(last, parse_utc(self.config["end_date"], setting="end_date").date())
        days = []
        day = first
        while day < last:
            following = day + dt.timedelta(days=1)
            days.append(DateWindow(local_midnight(day, zone), local_midnight(following, zone)))
            day = following
        return days

    # ---- the loop ----------------------------------------------------------------------

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        windows = self.windows(context)
        self._track(context, windows)
        outside = _Outside(self.sync_range_end(), self.tap.run_started, self.future_tolerance)
        for window, records in self._window_answers(windows, context):
            finished = yield from self._kept(records, window, outside)
            if finished is False:
                continue  # re-planned: its parts come as windows of their own
            bookmark = self.window_bookmark(window, context)
            if bookmark is not None and self.selected:
                self.checkpoint(context, bookmark)
        self._report_outside(outside)

    def _report_outside(self, outside: _Outside) -> None:
        """Records no window of this run emits, counted: those dated before the run's range
        were answered outside the range asked (a warning); those after its end are the next
        run's (a note). (One dated after the run's own clock, which no run would reach until
        that date, stopped the run at its window: see `_kept`.)"""
        if outside.before:
            self.logger.warning(
                "%s answered %d record(s) of `%s` dated (`%s`) before this run's range, which "
                "starts at %s: outside the range asked, so no window of this run emits them.",
                self.vendor,
                outside.before,
                self.name,
                self.window_field,
                outside.start,
            )
        if outside.after:
            self.logger.info(
                "%d record(s) of `%s` dated (`%s`) at or after this run's end (%s) were not "
                "emitted; the next run emits them.",
                outside.after,
                self.name,
                self.window_field,
                outside.end,
            )

    def _window_answers(
        self, windows: Iterable[DateWindow], context: t.Mapping | None
    ) -> Iterator[tuple[DateWindow, WindowRecords]]:
        if not self.prefetch_windows:
            return ((window, self.window_records(window, context)) for window in windows)
        answers = _prefetched(
            windows,
            lambda window: self.window_answer(window, context),
            self.name,
            self.prefetch_depth,
        )
        return (
            (window, self.answer_records(window, answer, context)) for window, answer in answers
        )

    def _kept(
        self, records: WindowRecords, window: DateWindow, outside: _Outside
    ) -> Generator[dict, None, t.Any]:
        """The window's records inside it; returns what `window_records` returned. Those
        outside the run's range so far are counted in `outside`."""
        inside = self.window_filter(window)
        if inside is None:
            return (yield from records)
        outside.extend(window)
        field = self.window_field
        iterator = iter(records)
        while True:
            try:
                record = next(iterator)
            except StopIteration as stop:
                return stop.value
            if inside(record):
                yield record
            elif field is not None:
                value = record.get(field)
                if outside.count(value, self._outside_key(record)) == "future":
                    # No run would emit it before that date: stop before this window's
                    # checkpoint, so the bookmark never passes a record it did not emit.
                    raise self._dated_in_the_future(window, t.cast(str, value), outside)

    def _dated_in_the_future(
        self, window: DateWindow, value: str, outside: _Outside
    ) -> VendorAPIError:
        own = self.endpoints()
        by = f" to {own[0].label}" if own else ""
        msg = (
            f"{self.vendor} answered a record of `{self.name}` dated (`{self.window_field}`) "
            f"{parse_utc(value).isoformat()}, more than {duration_text(self.future_tolerance)} "
            f"after this run's clock ({outside.now}), in its "
            f"answer{by} for {window.label}: no run would emit it before that date, so the run "
            "stops here and the window is not bookmarked. The vendor's dates are wrong; "
            "check its data."
        )
        return VendorAPIError(msg)

    def _outside_key(self, record: t.Mapping[str, t.Any]) -> t.Hashable | None:
        """The record's key, so a record that two windows answer (an inclusive end, a day
        asked twice) is counted once; None (each counted) for a stream without one."""
        if not self.primary_keys:
            return None
        return repr(tuple(record.get(name) for name in self.primary_keys))

    # ---- progress --------------------------------------------------------------------

    def _track(self, context: t.Mapping | None, windows: Iterable[DateWindow]) -> None:
        """Progress lines for this partition's windows, and progress markers that the
        checkpoints move (the SDK's would follow emitted records, ahead of the windows).

        A stream synced only to feed its children (not selected) keeps neither. A child
        stream is synced once per parent record: its windows add up under one tracker,
        without a total."""
        if not self.selected:
            return
        self.get_context_state(context).setdefault(
            PROGRESS_MARKERS, {"Note": "The bookmark moves at the end of each completed window."}
        )
        key = progress_key(self.state_partition(context))
        progress = self._progress.get(key)
        count = len(windows) if isinstance(windows, Sized) else None
        if progress is None:
            partition = ", ".join(f"{k}={v}" for k, v in (context or {}).items())
            if self.parent_stream_type is not None:
                partition, count = "", None
            name = redact(f"{self.name} {partition}".strip())
            self._progress[key] = WindowProgress(
                self.logger, name, self.stats, count, interval=self.progress_interval
            )
        elif count is not None and progress.total is not None:
            progress.total += count

    def windows_left(self, context: t.Mapping | None, count: int) -> None:
        """For windows planned as they go (a window may be split in parts): `count` windows
        of this partition remain, so progress lines count the parts."""
        progress = self._progress.get(progress_key(self.state_partition(context)))
        if progress is not None:
            progress.total = progress.done + count

    @cached_property
    def _progress(self) -> dict[str, WindowProgress]:
        """The progress of each state partition's windows."""
        return {}

    @cached_property
    def _start_bookmarks(self) -> dict[str, dt.datetime | None]:
        return {}

    def state_partition(self, context: t.Mapping | None) -> dict:
        """The part of `context` that names its state partition (`state_partitioning_keys`)."""
        keys = self.state_partitioning_keys
        if not context:
            return {}
        if keys is None:
            return dict(context)
        return {k: v for k, v in context.items() if k in keys}

    # ---- state ----------------------------------------------------------------------

    def checkpoint(self, context: t.Mapping | None, bookmark: dt.datetime) -> None:
        """Record that everything before `bookmark` has been emitted, and say so in a STATE message.

        Called after a window's last record went out, so a run killed later resumes
        at this window's end. The bookmark never moves backwards (a lookback re-reads
        windows that an earlier run already covered).

        In BATCH mode the window's records sit in a batch file not yet announced, and any
        stream's STATE message carries every stream's bookmarks: the bookmark only moves
        once the BATCH message that carries the records is out (see `get_batches`).
        """
        self._count("windows")
        progress = self._progress.get(progress_key(self.state_partition(context)))
        if progress is not None:
            progress.window_done(f"up to {bookmark.isoformat()}")
        if self.batch_mode:
            self._pending_checkpoints.append((context, bookmark))
            return
        self._move_bookmark(context, bookmark)
        self.write_state_now()

    def _move_bookmark(self, context: t.Mapping | None, bookmark: dt.datetime) -> None:
        state = self.get_context_state(context)
        current = state.get("replication_key_value")
        if current and parse_utc(current) >= bookmark:
            value = current
        else:
            value = bookmark.isoformat()
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = value
        # The SDK promotes the progress markers to the bookmark when the sync ends;
        # records of this window are all earlier than its end, so the end is the max.
        markers = state.setdefault(PROGRESS_MARKERS, {})
        markers["replication_key"] = self.replication_key
        markers["replication_key_value"] = value
        self.state_manager.is_flushed = False

    @cached_property
    def _pending_checkpoints(self) -> list[tuple[t.Mapping | None, dt.datetime]]:
        return []

    def get_batches(
        self, batch_config: t.Any, context: t.Mapping | None = None
    ) -> t.Iterator[tuple[t.Any, list[str]]]:
        """The SDK's batches, with the bookmarks reached while producing each one applied
        right after its BATCH message (the SDK writes that message when we yield).

        Batches are cut lazily from the record stream: a checkpoint reached while a batch
        was being filled covers only records in it or in earlier batches.
        """
        batches = super().get_batches(batch_config, context)
        for encoding, manifest in batches:
            yield encoding, manifest
            self._apply_pending_checkpoints()
        self._apply_pending_checkpoints()  # every record is out (or there were none)

    def _apply_pending_checkpoints(self) -> None:
        pending, self._pending_checkpoints[:] = list(self._pending_checkpoints), []
        for context, bookmark in pending:
            self._move_bookmark(context, bookmark)
        if pending:
            write_state_message(self)


def _prefetched(
    windows: Iterable[DateWindow], fetch: t.Callable[[DateWindow], t.Any], name: str, depth: int
) -> Iterator[tuple[DateWindow, t.Any]]:
    """(window, its answer) in order, the next `depth` windows' answers read in worker threads
    while window k's records go out (never more than `depth` windows ahead, so never more
    than `depth` windows' requests at once).

    The workers are daemon threads: a signal or an error in the main thread ends the run at
    once, whatever request a worker is waiting on (its answer is then never used). A
    failure of window k+1 surfaces only after window k is out and bookmarked.
    """
    upcoming = iter(windows)
    ahead: deque[_Fetch] = deque()

    def read_ahead() -> None:
        window = next(upcoming, None)
        if window is not None:
            ahead.append(_Fetch(window, fetch, name))

    for _ in range(depth):
        read_ahead()
    while ahead:
        current = ahead.popleft()
        answer = current.result()
        read_ahead()  # read while this window's records go out
        yield current.window, answer


class _Fetch:
    """One window's answer, read in a daemon thread of its own."""

    def __init__(self, window: DateWindow, fetch: t.Callable[[DateWindow], t.Any], name: str):
        self.window = window
        self._done = threading.Event()
        self._answer: t.Any = None
        self._error: BaseException | None = None
        thread = threading.Thread(
            target=self._read, args=(fetch,), name=f"prefetch-{name}", daemon=True
        )
        thread.start()

    def _read(self, fetch: t.Callable[[DateWindow], t.Any]) -> None:
        try:
            self._answer = fetch(self.window)
        except BaseException as exc:  # handed to the main thread, raised there
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> t.Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._answer


class _Outside:
    """Counts of records outside every window of a run (by their ISO `window_field`): before
    its first window, or at or after its end. Each record once, by its key: a warning's count
    is how many records were left out, not how many answers held them."""

    def __init__(
        self, end: dt.datetime, now: dt.datetime, tolerance: dt.timedelta = dt.timedelta(0)
    ) -> None:
        self.start: str | None = None
        self.end = end.isoformat()
        self.now = now.astimezone(dt.timezone.utc).isoformat()
        #: Past this instant a record is in the future (before it, the next run's).
        self.future = now + tolerance
        self._keys: dict[str, set[t.Hashable]] = {"before": set(), "after": set(), "future": set()}

    @property
    def before(self) -> int:
        return len(self._keys["before"])

    @property
    def after(self) -> int:
        return len(self._keys["after"])

    def extend(self, window: DateWindow) -> None:
        start = window.start.isoformat()
        self.start = start if self.start is None else min(self.start, start)
        self.end = max(self.end, window.end.isoformat())

    def count(self, value: object, key: t.Hashable | None = None) -> str | None:
        """Count a record dated `value` outside the run's windows; `key` names the record
        (None: a record of its own). Returns where it is: "before", "after", "future"."""
        # Only ISO strings compare as instants (a vendor's own stamp is the stream's concern).
        if not isinstance(value, str) or self.start is None:
            return None
        if value < self.start:
            where = "before"
        elif value > self.now and _later_than(value, self.future):
            where = "future"
        elif value >= self.end:
            where = "after"
        else:
            return None
        self._keys[where].add(object() if key is None else key)
        return where


def _later_than(value: str, instant: dt.datetime) -> bool:
    """Whether `value` reads as an instant after `instant` (one that does not read is not)."""
    try:
        return parse_utc(value) > instant
    except (ValueError, TypeError, OverflowError):
        return False


def local_midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """The UTC instant of `day`'s midnight in `zone`."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(dt.timezone.utc)


def window_context(window: DateWindow) -> dict[str, str]:
    """A request context carrying one window (JSON-safe, as metrics log it)."""
    return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}


def window_of(context: t.Mapping | None) -> DateWindow:
    """The window a request context carries (see `window_context`)."""
    if not context or "window_start" not in context:
        msg = "A windowed request needs a context with `window_start` and `window_end`."
        raise ValueError(msg)
    return DateWindow(parse_utc(context["window_start"]), parse_utc(context["window_end"]))


def response_window(response: t.Any) -> DateWindow | None:
    """The window a response was asked for (`SupportStream.request_context`); None for a
    response not asked through a window (a published example fed to `parse_response`)."""
    context = SupportStream.request_context(response)
    return window_of(context) if context and "window_start" in context else None


def progress_key(context: t.Mapping | None) -> str:
    """One partition's key among a stream's progress trackers and start bookmarks."""
    return repr(sorted((context or {}).items()))


__all__ = [
    "WindowRecords",
    "WindowedStream",
    "local_midnight",
    "progress_key",
    "response_window",
    "window_context",
    "window_of",
]
