"""The windowed stream: the core runs the loop, a stream declares how one window is read.

Every incremental stream of the collection reads its vendor window by window: where the
run starts (bookmark minus lookback, never before `start_date`), where it ends (`end_date`
or the run's one clock), the windows in between, which records belong to a window, and
the checkpoint after each window's last record. `WindowedStream.get_records` owns all of
that; a stream overrides `window_records` ("the records of this window") and, where its
vendor differs, `windows` or `window_bookmark`.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Generator, Iterable, Iterator
from functools import cached_property

from support_taps.client import SupportStream, progress_key
from support_taps.compat import PROGRESS_MARKERS
from support_taps.progress import WindowProgress
from support_taps.redaction import redact
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
    - `align_to_days`: whether windows start at midnight UTC.
    """

    #: Setting with the window length, in `window_unit`; None: `default_window`.
    window_setting: t.ClassVar[str | None] = None
    window_unit: t.ClassVar[str] = "days"
    default_window: t.ClassVar[dt.timedelta] = dt.timedelta(days=1)
    #: Setting with how far before the bookmark each run starts again, in `lookback_unit`.
    lookback_setting: t.ClassVar[str | None] = None
    lookback_unit: t.ClassVar[str] = "days"
    #: Field whose ISO 8601 UTC value places a record in [window.start, window.end).
    window_field: t.ClassVar[str | None] = None
    align_to_days: t.ClassVar[bool] = True

    # ---- what a stream declares ------------------------------------------------------

    @cached_property
    def window_size(self) -> dt.timedelta:
        """Length of one window: the `window_setting` setting, or `default_window`."""
        return self._setting_span(self.window_setting, self.window_unit, self.default_window)

    @cached_property
    def lookback(self) -> dt.timedelta:
        """How far before the bookmark a run starts again (re-reads revised data)."""
        return self._setting_span(self.lookback_setting, self.lookback_unit, dt.timedelta(0))

    def _setting_span(self, setting: str | None, unit: str, fallback: dt.timedelta) -> dt.timedelta:
        if setting is None or self.config.get(setting) is None:
            return fallback
        return dt.timedelta(**{unit: int(self.config[setting])})

    def window_records(self, window: DateWindow, context: t.Mapping | None) -> WindowRecords:
        """The records of one window: by default the stream's request with the window in
        its context (`window_of(context)` reads it back in `get_url_params` and friends)."""
        return self.request_records({**(context or {}), **window_context(window)})

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

    def sync_range_start(self, context: t.Mapping | None) -> dt.datetime:
        """Where this run starts: the bookmark minus the lookback, never before start_date."""
        start_date = parse_utc(self.config["start_date"], setting="start_date")
        bookmark = self.bookmark(context)
        if bookmark is None:
            return start_date
        return max(start_date, bookmark - self.lookback)

    def sync_range_end(self) -> dt.datetime:
        """`end_date`, or the run's one clock (never past it)."""
        end_date = self.config.get("end_date")
        now = self.tap.run_started
        return min(parse_utc(end_date, setting="end_date"), now) if end_date else now

    def windows(self, context: t.Mapping | None) -> Iterable[DateWindow]:
        """The windows of this run, in order (override for calendar months, local days...)."""
        return self.date_windows(context, align_to_days=self.align_to_days)

    def date_windows(
        self, context: t.Mapping | None, *, align_to_days: bool = True
    ) -> Iterator[DateWindow]:
        """Windows of `window_size` over this run's range, with progress lines."""
        start = self.sync_range_start(context)
        if align_to_days:
            start = floor_day(start)
        end = self.sync_range_end()
        if start >= end:
            self.logger.info(
                "Nothing to extract: the range starts at %s and ends at %s.", start, end
            )
            return iter(())
        self.logger.info(
            "Extracting [%s, %s) in windows of %s.",
            start.isoformat(),
            end.isoformat(),
            self.window_size,
        )
        windows = list(date_windows(start, end, self.window_size))
        self.track_windows(context, len(windows))
        return iter(windows)

    def track_windows(self, context: t.Mapping | None, count: int) -> None:
        """Progress lines for `count` windows of this partition, and progress markers the
        checkpoints move (the SDK's would follow emitted records, ahead of the windows)."""
        self.bookmark_by_windows(context)
        partition = ", ".join(f"{k}={v}" for k, v in (context or {}).items())
        name = redact(f"{self.name} {partition}".strip())
        self._progress[progress_key(context)] = WindowProgress(
            self.logger, name, self.stats, count, interval=self.progress_interval
        )

    def bookmark_by_windows(self, context: t.Mapping | None) -> None:
        """Say in the partition's progress markers that its bookmark moves at window ends
        (`checkpoint`), not with each record as the SDK's markers would."""
        self.get_context_state(context).setdefault(
            PROGRESS_MARKERS, {"Note": "The bookmark moves at the end of each completed window."}
        )

    def windows_left(self, context: t.Mapping | None, count: int) -> None:
        """For windows planned as they go (a window may be split in parts): `count` windows
        of this partition remain, so progress lines count the parts."""
        progress = self._progress.get(progress_key(context))
        if progress is not None:
            progress.total = progress.done + count

    # ---- the loop ----------------------------------------------------------------------

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        for window in self.windows(context):
            finished = yield from self._kept(self.window_records(window, context), window)
            if finished is False:
                continue  # re-planned: its parts come as windows of their own
            bookmark = self.window_bookmark(window, context)
            if bookmark is not None:
                self.checkpoint(context, bookmark)

    def _kept(self, records: WindowRecords, window: DateWindow) -> Generator[dict, None, t.Any]:
        """The window's records inside it; returns what `window_records` returned."""
        inside = self.window_filter(window)
        if inside is None:
            return (yield from records)
        iterator = iter(records)
        while True:
            try:
                record = next(iterator)
            except StopIteration as stop:
                return stop.value
            if inside(record):
                yield record


def window_context(window: DateWindow) -> dict[str, str]:
    """A request context carrying one window (JSON-safe, as metrics log it)."""
    return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}


def window_of(context: t.Mapping | None) -> DateWindow:
    """The window a request context carries (see `window_context`)."""
    if not context or "window_start" not in context:
        msg = "A windowed request needs a context with `window_start` and `window_end`."
        raise ValueError(msg)
    return DateWindow(parse_utc(context["window_start"]), parse_utc(context["window_end"]))
