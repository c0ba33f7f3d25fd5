"""The base REST stream every vendor stream extends: timeouts, retries, error messages
naming the endpoint and the setting at fault, JSON decoding, checkpoints and BATCH-aware state."""

from __future__ import annotations

import threading
import time
import typing as t
import weakref
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

import backoff
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel

from support_taps.accounts import ACCOUNT_KEY
from support_taps.compat import (
    ActivateVersionAfterSync,
    FastBookmarkStep,
    FastRecordMessages,
    tap_of,
    write_state_message,
)
from support_taps.endpoints import Endpoint
from support_taps.errors import (
    CredentialsRejected,
    EndpointNotFound,
    RetriesExhausted,
    UnexpectedShape,
    UnparseableResponse,
    VendorAPIError,
    body_snippet,
    endpoint_of,
    settings_phrase,
    unexpected_shape,
)
from support_taps.http import CredentialGuardSession, origin
from support_taps.jsonbody import (
    LONE_SURROGATE,
    NOT_A_NUMBER,
    OTHER_ENCODING,
    BodyNotJSON,
    Decoded,
    decode,
)
from support_taps.privacy import RecordPrivacy
from support_taps.progress import PROGRESS_INTERVAL, StreamStats
from support_taps.redaction import redact
from support_taps.retry import (
    RETRIABLE_EXCEPTIONS,
    UNUSABLE_ANSWERS,
    RetryPolicy,
    connect_failure_message,
    describe_failure,
    give_up_message,
    never_connected,
    raise_if_truncated,
    rate_limit_exhausted,
    rate_limit_reset_seconds,
    retry_waits,
    unusable_answer,
)

if t.TYPE_CHECKING:
    from support_taps.tap import SupportTap

_NOT_DECODED = object()
#: The warning for each thing `decode` mends (see `support_taps.jsonbody`).
_REPAIRED = {
    LONE_SURROGATE: "%s sent text with a lone UTF-16 surrogate (as a JavaScript string cut in two "
    "produces) for %s; it is kept as U+FFFD (no target can store the original).",
    NOT_A_NUMBER: "%s sent NaN, Infinity or a number beyond any double for %s (JSON has no such "
    "numbers); each is kept as null.",
    OTHER_ENCODING: "%s sent JSON in UTF-16 or UTF-32, not UTF-8, for %s; it is read as such.",
}
#: The context each request was sent with (see `SupportStream.request_context`); weak, so a
#: request (and the response that holds it) and its entry go together.
_REQUEST_CONTEXTS: weakref.WeakKeyDictionary[requests.PreparedRequest, t.Mapping | None] = (
    weakref.WeakKeyDictionary()
)


class SupportStream(ActivateVersionAfterSync, FastBookmarkStep, FastRecordMessages, RESTStream):
    """Auth-agnostic base: timeouts, retries, error messages, JSON parsing, windows.

    Vendor base streams set `vendor`, `credential_settings` and `url_settings`, and
    provide `url_base` and an authenticator.
    """

    #: Vendor name as users know it, for messages.
    vendor: t.ClassVar[str] = "The vendor"
    #: Settings that carry the credentials, named in 401/403 errors.
    credential_settings: t.ClassVar[tuple[str, ...]] = ("api_key",)
    #: Settings that decide the URL, named in 404 errors and when no connection can be made.
    url_settings: t.ClassVar[tuple[str, ...]] = ("api_url",)
    #: The setting holding the API's base URL; its default (the vendor's public URL) is
    #: declared once, in the tap's config schema, which the SDK fills into the config.
    api_url_setting: t.ClassVar[str] = "api_url"
    #: Requests this stream makes besides its own (`http_method` `path`): a token, a report
    #: job's status and download, a file on a host the vendor hands out (`endpoints`).
    extra_endpoints: t.ClassVar[tuple[Endpoint, ...]] = ()
    #: Statuses retried besides 5xx.
    extra_retry_statuses: t.Sequence[int] = [
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.REQUEST_TIMEOUT,
    ]

    # Records are normalised to their schema types while parsing, in one pass; the
    # SDK's conformance step would walk every record a second time for nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def tap(self) -> SupportTap:
        """The tap of this run: its clock, pacer, stats and anything its streams share."""
        # Every stream of the collection belongs to a SupportTap; the SDK types it as a Tap.
        return tap_of(self)  # type: ignore[return-value]

    # ---- records ----------------------------------------------------------------

    #: Seconds between two progress lines of this stream.
    progress_interval: t.ClassVar[float] = PROGRESS_INTERVAL

    @cached_property
    def stats(self) -> StreamStats:
        """This stream's counters in the run's summary."""
        return self.tap.run_stats.stream(self.name)

    def _count(self, counter: str, amount: int = 1) -> None:
        self.tap.run_stats.count(self.name, counter, amount)

    def warn_once(self, about: t.Hashable, message: str, *args: t.Any) -> None:
        """Log `message` the first time this stream meets `about` in a run (an unknown type, a
        value it cannot read, a field without a column): one line, however many rows repeat it."""
        with self._warned_lock:
            if about in self._warned:
                return
            self._warned.add(about)
        self.logger.warning(message, *args)

    def missing_key(
        self,
        what: str,
        missing: t.Sequence[str],
        found: t.Iterable[str],
        *,
        published: bool,
        keyed_by: str,
    ) -> None:
        """A row of `what` (a report, an endpoint) without the key columns `missing`.

        Where the vendor publishes them, the row is not what the vendor documents: an error
        naming `what` and the columns found. Where the key is our reading of the vendor's data,
        the guess is what failed: the caller keys the row by a hash of the whole row
        (`keyed_by` says where), and one warning per stream and run names `what`, the key and
        the columns found."""
        columns = ", ".join(sorted(map(str, found))[:40])
        key = ", ".join(missing)
        if published:
            msg = (
                f"{self.vendor} sent a row of {what} without {key}, which {self.vendor} "
                f"documents as its key. Columns found: {columns}."
            )
            raise UnparseableResponse(msg)
        self.warn_once(
            ("missing key", what, tuple(missing)),
            "%s sent rows of %s without %s, the key this tap reads it by (a guess: %s does not "
            "publish it); they are keyed by a hash of the whole row in %s. Columns found: %s.",
            self.vendor,
            what,
            key,
            self.vendor,
            keyed_by,
            columns,
        )

    @cached_property
    def _warned(self) -> set[t.Hashable]:
        return set()

    @cached_property
    def _warned_lock(self) -> threading.Lock:
        return threading.Lock()

    @cached_property
    def _emits_records(self) -> bool:
        return self.selected

    @cached_property
    def account_id(self) -> str:
        """The account of every record of this run (support_taps.accounts)."""
        return self.tap.account_id

    def post_process(self, row: dict, context: t.Mapping | None = None) -> dict | None:
        # Records come out of get_records in the main thread: no lock needed, and this
        # runs for every record, so it stays one assignment and two attribute lookups.
        row[ACCOUNT_KEY] = self.account_id
        if self._emits_records:
            stats = self.stats
            stats.records += 1
            if stats.started is None:
                stats.started = time.monotonic()
        # Personal data hashed or dropped before any message holds the record (one branch
        # when the privacy settings are unset).
        if self._privacy is not None:
            return self._privacy(row)
        return row

    @cached_property
    def _privacy(self) -> RecordPrivacy | None:
        return self.tap.record_privacy

    @property
    def url_base(self) -> str:
        """The base URL: the `api_url_setting` setting, without a trailing slash."""
        value = self.config.get(self.api_url_setting)
        if not value:
            msg = f"Set `{self.api_url_setting}` (the base URL of the {self.vendor} API)."
            raise ValueError(msg)
        return str(value).rstrip("/")

    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every request this stream makes: its own (none if it has no `path`: it reads what
        its parent was answered) and `extra_endpoints`."""
        path = getattr(self, "path", None)
        own = (Endpoint(self.http_method, path, self.api_url_setting),) if path else ()
        return (*own, *self.extra_endpoints)

    # ---- requests and retries -------------------------------------------------

    @property
    def requests_session(self) -> requests.Session:
        """A session that never sends a credential to a host other than the API's (the SDK's
        request loop sends through this property, so its own plain session stays unused)."""
        return self._credential_guard_session

    @cached_property
    def _credential_guard_session(self) -> CredentialGuardSession:
        return CredentialGuardSession(
            home_url=lambda: self.url_base,
            deadline=lambda: float(self.config["request_deadline"]),
        )

    @property
    # The SDK declares `timeout` a plain int attribute; ours is a setting and may be fractional.
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config["request_timeout"])

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_config(dict(self.config))

    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:
        return retry_waits(self.retry_policy, connect_hint=self.url_hint())

    def url_hint(self) -> str:
        """What to check when the vendor cannot be reached at all."""
        try:
            base = self.url_base
        except Exception:  # a broken URL setting is what we are pointing at
            base = "?"
        return (
            f"Check {settings_phrase(self.url_settings)} (the base URL in use is {redact(base)})."
        )

    def backoff_max_tries(self) -> int:
        return self.retry_policy.max_tries

    def backoff_jitter(self, value: float) -> float:
        # retry_waits adds its own jitter to exponential waits and none to Retry-After.
        return value

    def backoff_handler(self, details: t.Mapping[str, t.Any]) -> None:
        self._count("retries")
        response = getattr(details.get("exception"), "response", None)
        if response is not None and response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            self._count("rate_limited")
        self.logger.warning(
            "Retrying in %.1fs (attempt %d): %s",
            details.get("wait", 0),
            details.get("tries", 0),
            describe_failure(details.get("exception")),
        )

    def _give_up(self, details: t.Mapping[str, t.Any]) -> None:
        exc = details.get("exception")
        if isinstance(exc, VendorAPIError):
            return
        if never_connected(exc):  # more retries cannot help: the URL settings can
            raise RetriesExhausted(
                connect_failure_message(details.get("tries", 0), exc, self.url_hint())
            ) from None
        raise RetriesExhausted(
            give_up_message(details, "Raise `max_retries` or try again later.")
        ) from None

    def request_decorator(self, func: t.Callable, *, paced: bool = True) -> t.Callable:
        """Retries (and pacing, unless `paced` is False: for hosts other than the vendor's API).

        Each request is tied to the context it is sent with (`request_context`) before it
        goes, so `validate_response` and `parse_response`, which the SDK calls without one,
        can read its window."""
        pacer = self.tap.pacer if paced else None
        hold = self.tap.rate_hold if paced else None
        send = func

        def attempt(*args: t.Any, **kwargs: t.Any) -> t.Any:  # every attempt, retries too
            if hold is not None:
                hold.wait()
            if pacer is not None:
                pacer.acquire()
            self._count("requests")
            # The SDK calls `_request(prepared_request, context)`.
            request = kwargs.get("prepared_request", args[0] if args else None)
            context = kwargs.get("context", args[1] if len(args) > 1 else None)
            if isinstance(request, requests.PreparedRequest):
                _REQUEST_CONTEXTS[request] = context
            try:
                return send(*args, **kwargs)
            except UNUSABLE_ANSWERS as exc:
                raise unusable_answer(exc, self.vendor, self.url_hint(), request) from None

        return backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            on_giveup=self._give_up,
            jitter=self.backoff_jitter,
            logger=None,
        )(attempt)

    @staticmethod
    def request_context(response: requests.Response) -> t.Mapping | None:
        """The context `response` was asked with (its window, day, partition...): what
        `validate_response` and `parse_response` need to know about the request, kept with
        the request itself rather than on the stream, which may have several in flight."""
        first = response.history[0] if response.history else response  # a redirect's start
        request = first.request
        return _REQUEST_CONTEXTS.get(request) if request is not None else None

    # ---- responses ------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            if rate_limit_exhausted(response.headers):
                reset = rate_limit_reset_seconds(response.headers)
                if reset:  # the window's last request: the next waits for the reset
                    self.tap.rate_hold.hold(min(reset, self.retry_policy.max_retry_after))
            self._check_json_complete(response)
            return
        endpoint = endpoint_of(response)
        if status in self.extra_retry_statuses or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            raise RetriableAPIError(self.response_error_message(response), response)
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            msg = (
                f"{self.vendor} refused the credentials (HTTP {status}) for {endpoint}: "
                f"check {settings_phrase(self.credential_settings)}."
            )
            raise CredentialsRejected(msg)
        if status == HTTPStatus.NOT_FOUND:
            raise EndpointNotFound(self.not_found_message(response))
        msg = (
            f"{self.vendor} rejected {endpoint} with HTTP {status}: "
            f"{body_snippet(response.content)}"
        )
        raise VendorAPIError(msg)

    def not_found_message(self, response: requests.Response) -> str:
        """A 404 on the API's host points at the URL settings; one after a redirect to
        another host is that host's (the settings led to the API, which sent us away)."""
        endpoint = endpoint_of(response)
        if response.history:
            first = response.history[0]
            host = urlsplit(response.url or "").hostname or "?"
            if origin(response.url or "") != origin(first.request.url or ""):
                return (
                    f"{self.vendor} redirected {endpoint_of(first)} to another host "
                    f"({redact(host)}), which answered HTTP 404 Not Found for {endpoint}."
                )
        return (
            f"{self.vendor} answered HTTP 404 Not Found for {endpoint}: "
            f"check {settings_phrase(self.url_settings)} "
            f"(the base URL in use is {redact(self.url_base)})."
        )

    def _check_json_complete(self, response: requests.Response) -> None:
        """A 2xx JSON body cut short is retried like a 5xx (see `raise_if_truncated`)."""
        raise_if_truncated(response)

    def response_error_message(self, response: requests.Response) -> str:
        return redact(
            f"HTTP {response.status_code} {response.reason or ''} for {endpoint_of(response)}: "
            f"{body_snippet(response.content)}"
        )

    def decode_json(self, response: requests.Response) -> t.Any:
        """The response body as JSON, or an error naming the endpoint, status and what came."""
        if HTTPStatus.MULTIPLE_CHOICES <= response.status_code < HTTPStatus.BAD_REQUEST:
            # A redirect the stream did not follow (it sends without following any): its
            # body, even a JSON one, is never the answer asked for.
            location = response.headers.get("Location") or ""
            host = urlsplit(location).hostname
            where = f"to {redact(host)}" if host else "on its host" if location else "nowhere"
            msg = (
                f"{self.vendor} answered {endpoint_of(response)} with a redirect (HTTP "
                f"{response.status_code}, {where}) that is not followed there: check "
                f"{settings_phrase(self.url_settings)}."
            )
            raise VendorAPIError(msg)
        decoded = Decoded(
            getattr(response, "decoded_json", _NOT_DECODED),
            getattr(response, "json_repairs", frozenset()),
        )
        if decoded.payload is _NOT_DECODED:
            try:
                decoded = decode(response.content)
            except BodyNotJSON:
                msg = (
                    f"{self.vendor} sent a body that is not valid JSON for "
                    f"{endpoint_of(response)} (HTTP {response.status_code}, "
                    f"{len(response.content)} bytes, Content-Type "
                    f"{response.headers.get('Content-Type', 'unknown')!r}): "
                    f"{body_snippet(response.content)}"
                )
                raise UnparseableResponse(msg) from None
        for repair in sorted(decoded.repairs):
            self.warn_once(repair, _REPAIRED[repair], self.vendor, endpoint_of(response))
        return decoded.payload

    def unexpected_shape(
        self, response: requests.Response | str, expected: str, found: t.Any, note: str = ""
    ) -> UnexpectedShape:
        """ "<vendor> <endpoint>: expected <expected>, found <shape of found>" (raise it).

        `response` names the endpoint and status; a string names a place instead
        (e.g. "GET /v1/requests/exports, row 3")."""
        return unexpected_shape(self.vendor, response, expected, found, note)

    def expect_list(self, payload: t.Any, response: requests.Response) -> list:
        if isinstance(payload, list):
            return payload
        raise self.unexpected_shape(response, "a JSON list", payload)

    # ---- state ----------------------------------------------------------------

    @cached_property
    def batch_mode(self) -> bool:
        """Whether records go out in BATCH files (`batch_config`) instead of RECORD messages."""
        return bool(self.get_batch_config(self.config))

    def write_state_now(self) -> None:
        """Emit a STATE message with the current state (the SDK has no public hook for it).

        In BATCH mode the state is only marked pending: the SDK writes it after the next
        BATCH message, with the records produced before it.
        """
        if self.batch_mode:
            self.state_manager.is_flushed = False
        else:
            write_state_message(self)
