"""Downloading a finished job's report file, and reading its rows as it streams in.

`GET /reports/report/{workflowId}/{runId}/download` answers 307 to a short-lived
pre-signed URL on another host. That host is not paced, never gets our credentials,
and its URL never reaches a log line, an error or the state (it is registered with the
redactor on receipt). A file above `max_file_mb` (by its Content-Length) splits its
window before any row is read; a connection that breaks mid-file, or a link that
expired, is fetched again with a fresh link, skipping the rows already yielded.
The job API (`tap_khoros_care.job_api`) calls this with the job's download URL on the API.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.streams.rest import HTTPRequest

from support_taps.deadline import read_body
from support_taps.errors import UnparseableResponse, VendorAPIError, endpoint_of
from support_taps.http import CredentialGuardSession, origin
from support_taps.redaction import redact
from support_taps.retry import RETRIABLE_EXCEPTIONS, describe_failure
from support_taps.windowed import window_context
from tap_khoros_care.connection import Connection
from tap_khoros_care.jobs import JOB_ENDPOINT, ReportJob, WindowTooLarge
from tap_khoros_care.parsing import CHUNK_BYTES, ReportFormatError, iter_csv_rows, iter_json_rows

#: How many times a download is fetched again after the connection broke mid-file.
DOWNLOAD_ATTEMPTS = 3


class DownloadLinkExpired(Exception):
    """The pre-signed URL was refused (expired); ask Khoros for a fresh one."""

    def __init__(self, status: int, redirected: str = "") -> None:
        super().__init__(status)
        self.status = status
        #: How the file host redirected the link before the refusal (see `_redirected`).
        self.redirected = redirected


def _download_failure(exc: BaseException) -> str:
    """Why a download attempt failed, in words that carry no URL."""
    if isinstance(exc, DownloadLinkExpired) and exc.redirected:
        return f"the file host {exc.redirected}, which answered HTTP {exc.status}"
    if isinstance(exc, DownloadLinkExpired):
        return f"the file host refused the link (HTTP {exc.status}; expired?)"
    if isinstance(exc, ReportFormatError):
        return f"the file is not a valid report: {exc}"
    return describe_failure(exc)


#: What a fresh link may cure: an expired link, a file cut short, a broken connection.
_FETCH_AGAIN: tuple[type[BaseException], ...] = (
    DownloadLinkExpired,
    ReportFormatError,
    *RETRIABLE_EXCEPTIONS,
)


class _CountedChunks:
    """The chunks of a body, counting the bytes that went by."""

    def __init__(self, chunks: t.Iterable[bytes]) -> None:
        self._chunks, self.size = chunks, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            yield chunk


class ReportFiles:
    """The report files of one report type's jobs: the API's download request (through the
    connection: credentials, pacing, retries), then the file host's, without either."""

    def __init__(self, connection: Connection, *, report_format: str, max_file_mb: float) -> None:
        self.connection = connection
        self.report_format = report_format
        self.max_file_mb = max_file_mb

    @cached_property
    def session(self) -> requests.Session:
        """A session for the pre-signed file host: no credentials, no company key; its
        connection and headers within `request_deadline` (the core's session), its body read
        with the core's `read_body` (see `rows`)."""
        session = CredentialGuardSession(deadline=self.connection.deadline)
        session.headers["User-Agent"] = self.connection.user_agent
        return session

    def rows(self, job: ReportJob, url: str) -> Iterator[dict[str, t.Any]]:
        """The report's rows, parsed while the file streams in; `url` is the job's download
        request on the API.

        If the connection breaks mid-file, the file is fetched again (fresh link) and
        the rows already yielded are skipped, so each row is emitted once.
        """
        parse = self._parser(job)
        yielded = 0
        #: The API request that answered the file itself, rather than a link to it.
        served_by = ""
        for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
            try:
                target = self._location(job, url)
                if isinstance(target, requests.Response):
                    served_by = f" (served by {endpoint_of(target)})"
                response = (
                    target if isinstance(target, requests.Response) else self._file(job, target)
                )
                if yielded == 0 and not job.any_size:
                    self._check_size(response)
                with response:
                    # A file may be too large for any fixed total: past `request_deadline` it
                    # goes on only while it keeps coming (the core's minimum rate).
                    body = _CountedChunks(
                        read_body(response, CHUNK_BYTES, self.connection.deadline)
                    )
                    rows = parse(body)
                    for index, row in enumerate(rows):
                        if index >= yielded:
                            yielded += 1
                            yield row
                if body.size == 0:
                    # A real export is at least `[]` or a CSV header: no bytes is a failed
                    # download, not an empty report (bookmarking it would lose the window).
                    msg = (
                        f"The download of {job.describe()} answered HTTP "
                        f"{response.status_code} with an empty "
                        f"body, not a report file. The bookmark stays at "
                        f"{job.window.start.isoformat()}."
                    )
                    raise UnparseableResponse(msg)
                return
            except requests.exceptions.ContentDecodingError:
                # The same bytes again would not decompress either: no second fetch.
                msg = (
                    f"The file of {job.describe()} cannot be decompressed (it is not in the "
                    "Content-Encoding its headers name). The bookmark stays at "
                    f"{job.window.start.isoformat()}."
                )
                raise VendorAPIError(msg) from None
            except _FETCH_AGAIN as exc:
                reason = _download_failure(exc)
                if attempt == DOWNLOAD_ATTEMPTS:
                    error = (
                        UnparseableResponse
                        if isinstance(exc, ReportFormatError)
                        else VendorAPIError
                    )
                    msg = (
                        f"The file of {job.describe()}{served_by} could not be read after "
                        f"{attempt} attempts: {reason}. "
                        f"The bookmark stays at {job.window.start.isoformat()}."
                    )
                    raise error(msg) from None
                self.connection.logger.warning(
                    "Fetching the file of %s again (%d rows read so far): %s",
                    job.describe(),
                    yielded,
                    reason,
                )

    def _parser(
        self, job: ReportJob
    ) -> t.Callable[[t.Iterable[bytes]], t.Iterator[dict[str, t.Any]]]:
        if self.report_format != "csv":
            return iter_json_rows

        def warn(message: str) -> None:
            self.connection.logger.warning("The file of %s %s.", job.describe(), message)

        return lambda chunks: iter_csv_rows(chunks, self.connection.columns, warn)

    def _location(self, job: ReportJob, url: str) -> requests.Response | str:
        """The pre-signed URL Khoros redirects to (or the file itself, if served directly).

        A 204, or a redirect without `Location`, is not an empty report: it is an error
        (the window is not bookmarked), as is a body of zero bytes (see `rows`).
        """
        response = self.connection.send(
            HTTPRequest(url=url, headers=dict(self.connection.headers)),
            window_context(job.window),
            endpoint=JOB_ENDPOINT + "/download",
            stream=True,
        )
        status = response.status_code
        if status == HTTPStatus.NO_CONTENT:
            response.close()
            msg = (
                f"Khoros answered the download of {job.describe()} with HTTP 204 "
                f"(no content), not a file. "
                f"The bookmark stays at {job.window.start.isoformat()}."
            )
            raise UnparseableResponse(msg)
        if not HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            return response  # the API served the file itself
        location = response.headers.get("Location") or ""
        response.close()
        if not location:
            msg = (
                f"Khoros redirected the download of {job.describe()} (HTTP {status}) "
                f"without a Location "
                f"header. The bookmark stays at {job.window.start.isoformat()}."
            )
            raise UnparseableResponse(msg)
        parts = urlsplit(location)
        # Never logged nor stored: mask it (and its parts) anywhere text is produced. Not a
        # credential of ours: the same file's link handed out again (its path names the file)
        # is followed to the host it names, not refused by the redirect guard.
        redact.add(location, parts.path, parts.query, credential=False)
        return urljoin(response.url, location)

    def _file(self, job: ReportJob, location: str) -> requests.Response:
        """The file at `location` (retried); an error that ends the run says which file, since
        the core's message can only name the link, masked."""
        try:
            return self._fetch(location)
        except VendorAPIError as exc:
            raise type(exc)(f"The file of {job.describe()}, on the file host: {exc}") from None

    @cached_property
    def _fetch(self) -> t.Callable[[str], requests.Response]:
        # Retried like any request, but not paced: the file host is not the API.
        return self.connection.unpaced_retries(self._get)

    def _get(self, location: str) -> requests.Response:
        try:
            response = self.session.get(
                location, timeout=self.connection.timeout, stream=True, allow_redirects=True
            )
        except RETRIABLE_EXCEPTIONS as exc:
            # requests quotes the URL in its messages: raise a clean one instead.
            raise type(exc)(describe_failure(exc)) from None
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            return response
        response.close()
        # Followed (the link is Khoros's, not a credential; this session sends none), but an
        # error at the end of a redirect is the redirect's, not the link's: said so.
        redirected = _redirected(response)
        if status in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND, HTTPStatus.GONE):
            raise DownloadLinkExpired(status, redirected)
        where = f" ({redirected})" if redirected else ""
        if status in self.connection.retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(f"HTTP {status} from the report file host{where}", response)
        msg = f"The report file host refused the download with HTTP {status}{where}."
        raise VendorAPIError(msg)

    def _check_size(self, response: requests.Response) -> None:
        """A file above `max_file_mb` (by its Content-Length) splits its window, before
        any row is read."""
        limit = self.max_file_mb * 1024 * 1024
        length = response.headers.get("Content-Length")
        if length and length.isdigit() and int(length) > limit:
            response.close()
            raise WindowTooLarge(f"its file is {int(length) / 2**20:.1f} MB, above `max_file_mb`")


def _redirected(response: requests.Response) -> str:
    """How the file host redirected its link ("redirected the link (HTTP 307) to another
    host (files.example.com)"), or "" if it did not; no path or query (the link's, masked)."""
    if not response.history:
        return ""
    first = response.history[0]
    to = origin(response.url or "")
    if to == origin(first.url or ""):
        return f"redirected the link (HTTP {first.status_code}) within the file host"
    return f"redirected the link (HTTP {first.status_code}) to another host ({redact(to[0])})"
