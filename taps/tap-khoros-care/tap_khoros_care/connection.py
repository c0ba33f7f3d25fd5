"""How the job API reaches Khoros: what a report stream hands it, as functions and values.

The stream holds the credentials (HTTP Basic and `companyKey`) and sends each API request
through the core (the run's pacer, retries, error checks, the SDK's request metric); the
job API (`tap_khoros_care.job_api`) and the download (`tap_khoros_care.download`) are given
a `Connection` and know no stream.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

import requests
from singer_sdk.streams.rest import HTTPRequest


class SendRequest(t.Protocol):
    """Send one request to the API: credentials and `companyKey`, pacing, retries, error
    checks and the request metric; redirects are not followed.

    `context` is what the request was asked with (its window); `endpoint` names the request
    in metrics without ids (e.g. `.../{runId}/status`); `stream` leaves the body unread.
    """

    def __call__(
        self,
        request: HTTPRequest,
        context: t.Mapping | None,
        *,
        endpoint: str,
        stream: bool = False,
    ) -> requests.Response: ...


#: A request function made to retry like any API request, but not paced (the file host).
FileRequest = t.Callable[[str], requests.Response]


@dataclass(frozen=True)
class Connection:
    """The API of one report stream, as the job API and the download use it."""

    #: The configured API's base URL: credentials go to its host only.
    base_url: str
    #: Headers of every API request (besides the credentials, which `send` adds).
    headers: t.Mapping[str, str]
    send: SendRequest
    #: The body of a response as JSON, or an error naming the endpoint and what came.
    decode_json: t.Callable[[requests.Response], object]
    #: The core's retries without pacing, for requests to the pre-signed file host.
    unpaced_retries: t.Callable[[FileRequest], FileRequest]
    user_agent: str
    #: Seconds to wait for a response (`request_timeout`).
    timeout: float
    #: Statuses retried besides 5xx.
    retry_statuses: tuple[int, ...]
    logger: logging.Logger
    #: The report's columns the tap knows (its typed columns), to tell a CSV header.
    columns: frozenset[str] = frozenset()
    #: Seconds a whole answer may take (`request_deadline`); None: no limit.
    deadline: float | None = None
