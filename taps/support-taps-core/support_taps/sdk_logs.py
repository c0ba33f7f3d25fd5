"""Which of the SDK's own log lines a run shows by default.

- The SDK logs a METRIC line for every HTTP request (`http_request_duration`) and one
  `http_request_count` per request context (for a windowed stream, per window): most of a
  run's log, and read by no one but a metrics pipeline. They are left out unless the
  `log_request_metrics` setting is on, through the SDK's public `MetricExclusionFilter` on
  its metrics logger. The per-stream `record_count` and `sync_duration` stay.
- "Skipping parse of env var settings..." says nothing a user can act on, and under Meltano
  it appears once per tap process (discovery and the run): it goes to DEBUG.
"""

from __future__ import annotations

import logging

from singer_sdk import metrics

#: The SDK's metrics that come once per request (or per window of a windowed stream).
REQUEST_METRICS = (metrics.Metric.HTTP_REQUEST_DURATION, metrics.Metric.HTTP_REQUEST_COUNT)

_REQUEST_METRICS_OFF = metrics.MetricExclusionFilter(metrics=[m.value for m in REQUEST_METRICS])
_SDK_CHATTER = ("Skipping parse of env var settings...",)


class _SdkChatterToDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.msg in _SDK_CHATTER:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_CHATTER_TO_DEBUG = _SdkChatterToDebug()


def quiet_sdk_chatter(tap_logger: logging.Logger) -> None:
    """Before the SDK's plugin starts: its chatter on the tap's logger at DEBUG. Idempotent."""
    if _CHATTER_TO_DEBUG not in tap_logger.filters:
        tap_logger.addFilter(_CHATTER_TO_DEBUG)


def log_request_metrics(on: bool) -> None:
    """The SDK's per-request METRIC lines on or off (off by default, see above)."""
    logger = metrics.get_metrics_logger()
    if on:
        logger.removeFilter(_REQUEST_METRICS_OFF)
    elif _REQUEST_METRICS_OFF not in logger.filters:
        logger.addFilter(_REQUEST_METRICS_OFF)
