"""Settings every tap in the collection accepts (request shaping and retries)."""

from __future__ import annotations

from singer_sdk import typing as th

COMMON_SETTINGS = th.PropertiesList(
    th.Property(
        "request_timeout",
        th.NumberType,
        default=60,
        description="Seconds to wait for a response before the request counts as failed and is retried.",
    ),
    th.Property(
        "max_retries",
        th.IntegerType,
        default=7,
        description="Retries per request on HTTP 429/408/5xx, timeouts and dropped connections.",
    ),
    th.Property(
        "retry_base_wait",
        th.NumberType,
        default=1.0,
        description="Seconds before the first retry when the server gives no Retry-After; doubles each retry (max 60).",
    ),
    th.Property(
        "max_retry_after",
        th.NumberType,
        default=300,
        description="Longest wait, in seconds, honoured from a Retry-After header.",
    ),
    th.Property(
        "max_retry_wait",
        th.NumberType,
        default=900,
        description=(
            "Total seconds one request may spend waiting between retries; past it the run "
            "fails with a message naming the endpoint and the last error."
        ),
    ),
)

START_END_SETTINGS = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        required=True,
        description="Earliest date (UTC, ISO 8601) to extract on the first run.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        description="Extract up to this moment (UTC, exclusive). Default: now.",
    ),
)
