"""Which of the SDK's own log lines a run shows by default.

- Metrics. The SDK logs a METRIC line for every HTTP request (`http_request_duration`), a
  request count per request context (for a windowed stream, per window), and a record count
  and sync duration per partition or child-stream context (for Thankful's daily child streams,
  per day): most of a run's log, read by no one but a metrics pipeline. Unless the
  `log_request_metrics` setting is on, the request metrics are left out (through the SDK's
  public `MetricExclusionFilter` on its metrics logger), and so are the per-context counts;
  each stream's own `record_count` and `sync_duration` stay, and the tap's summary counts
  every stream.
- Chatter. "Skipping parse of env var settings..." and "Added 'x' as child stream to 'y'" say
  nothing a user acts on, and under Meltano they come twice (discovery, then the run): DEBUG.
  "Beginning sync of 'x' ... with context keys" and "Starting incremental sync of 'x' with
  bookmark value" come once per context: shown once per stream, the repeats at DEBUG.
"""

from __future__ import annotations

import logging
import typing as t

from singer_sdk import metrics

#: The SDK's metrics that come once per request (or per window of a windowed stream).
REQUEST_METRICS = (metrics.Metric.HTTP_REQUEST_DURATION, metrics.Metric.HTTP_REQUEST_COUNT)

_REQUEST_METRICS_OFF = metrics.MetricExclusionFilter(metrics=[m.value for m in REQUEST_METRICS])

#: The SDK's INFO lines that go to DEBUG.
_TO_DEBUG = ("Skipping parse of env var settings...", "Added '%s' as child stream to '%s'")
#: The SDK's INFO lines repeated per context: shown once per stream (the first argument).
_ONCE_PER_STREAM = (
    "Beginning sync of '%s' in %s mode with context keys: %s",
    "Starting incremental sync of '%s' with bookmark value: %s",
)


class _PerContextMetricsOff(logging.Filter):
    """Leaves out the SDK's metric points of one partition or child-stream context."""

    def filter(self, record: logging.LogRecord) -> bool:
        point = record.args[0] if isinstance(record.args, tuple) and record.args else None
        return not (isinstance(point, metrics.Point) and point.tags.get(metrics.Tag.CONTEXT))


class _SdkChatter(logging.Filter):
    """Put on handlers (every record passes them, whatever logger made it): the same record
    may pass several handlers, so each record's verdict is made once and kept on it."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[str, t.Any]] = set()

    def forget(self) -> None:
        self._seen.clear()

    def filter(self, record: logging.LogRecord) -> bool:
        demoted = getattr(record, _VERDICT, None)
        if demoted is None:
            demoted = record.levelno == logging.INFO and self._chatter(record)
            setattr(record, _VERDICT, demoted)
            if demoted:
                record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return not demoted or logging.getLogger(record.name).isEnabledFor(logging.DEBUG)

    def _chatter(self, record: logging.LogRecord) -> bool:
        if record.msg in _TO_DEBUG:
            return True
        if record.msg in _ONCE_PER_STREAM and isinstance(record.args, tuple) and record.args:
            key = (str(record.msg), record.args[0])
            seen = key in self._seen
            self._seen.add(key)
            return seen
        return False


#: Where a record keeps the chatter filter's verdict (it may pass several handlers).
_VERDICT = "support_taps_sdk_chatter"


_PER_CONTEXT_METRICS_OFF = _PerContextMetricsOff()
_CHATTER = _SdkChatter()


def quiet_sdk_chatter(*, new_run: bool = False) -> None:
    """Attach the chatter filter to every handler there is (the SDK's console handler, and any
    a logging config file set up), before the SDK's plugin starts and again once it has.
    Idempotent; `new_run` (a tap starts) shows each stream's first line again."""
    if new_run:
        _CHATTER.forget()
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if _CHATTER not in handler.filters:
                handler.addFilter(_CHATTER)


def log_request_metrics(on: bool) -> None:
    """The SDK's per-request and per-context METRIC lines on or off (off by default)."""
    logger = metrics.get_metrics_logger()
    for metric_filter in (_REQUEST_METRICS_OFF, _PER_CONTEXT_METRICS_OFF):
        if on:
            logger.removeFilter(metric_filter)
        elif metric_filter not in logger.filters:
            logger.addFilter(metric_filter)
