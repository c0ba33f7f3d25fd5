"""The base REST stream and base tap every vendor tap extends."""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterator
from functools import cached_property
from http import HTTPStatus

import backoff
import msgspec
import requests
from singer_sdk import RESTStream, Tap
from singer_sdk.exceptions import ConfigValidationError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel

from support_taps.compat import PROGRESS_MARKERS, FastRecordMessages, write_state_message
from support_taps.errors import (
    CredentialsRejected,
    EndpointNotFound,
    RetriesExhausted,
    UnparseableResponse,
    VendorAPIError,
    body_snippet,
    endpoint_of,
    settings_phrase,
)
from support_taps.pacing import RequestPacer
from support_taps.redaction import install_log_redaction, redact
from support_taps.writer import BufferedMsgSpecWriter
from support_taps.retry import RETRIABLE_EXCEPTIONS, RetryPolicy, describe_failure, give_up_message, retry_waits
from support_taps.windows import DateWindow, date_windows, floor_day, parse_utc

UTC = dt.timezone.utc
_json_decoder = msgspec.json.Decoder()


class SupportTap(Tap):
    """Base tap: settings checked and secrets masked before the first request, the
    batched msgspec writer, one clock per run and, where the vendor publishes a rate
    limit, one request pacer shared by all streams."""

    message_writer_class = BufferedMsgSpecWriter

    #: The vendor's request rate limit per credential (requests/second and burst);
    #: None means the vendor publishes none and we do not pace.
    requests_per_second: t.ClassVar[float | None] = None
    request_burst: t.ClassVar[int] = 1

    @cached_property
    def run_started(self) -> dt.datetime:
        """The run's one clock: every stream agrees on "now" (and today), even across midnight."""
        return dt.datetime.now(UTC)

    @cached_property
    def pacer(self) -> RequestPacer | None:
        """One pacer per tap run, shared by all its streams and threads."""
        if not self.requests_per_second:
            return None
        return RequestPacer(self.requests_per_second, self.request_burst)

    def __init__(self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any) -> None:
        self._check_settings_at_start = validate_config
        self._prepared = False
        super().__init__(*args, validate_config=validate_config, **kwargs)
        self.prepare()

    def setup_mapper(self) -> None:
        # The SDK discovers streams while it sets up stream maps, inside its __init__;
        # a tap whose discovery asks the API (a dynamic catalogue) must be ready by then.
        self.prepare()
        super().setup_mapper()

    def prepare(self) -> None:
        """Before the first request, once: register secrets for redaction and check settings."""
        if self._prepared:
            return
        self._prepared = True
        redact.add(*self.secret_values())
        install_log_redaction()
        if self._check_settings_at_start:
            errors = self.setting_errors()
            if errors:
                msg = f"Invalid {self.name} configuration: " + " ".join(errors)
                raise ConfigValidationError(msg, errors=errors)

    def setting_errors(self) -> list[str]:
        """Problems with the settings, each naming the setting; extend in each tap (call super)."""
        errors = []
        bounds = {}
        for name in ("start_date", "end_date"):
            if self.config.get(name):
                try:
                    bounds[name] = parse_utc(self.config[name], setting=name)
                except ValueError as exc:
                    errors.append(str(exc))
        if len(bounds) == 2 and bounds["end_date"] <= bounds["start_date"]:
            errors.append("The setting `end_date` must be later than `start_date`.")
        return errors

    def secret_values(self) -> list[str]:
        """Values of every setting the config schema marks secret, nested ones included."""
        # Secrets obtained at run time (auth tokens) are registered with `redact` when obtained.
        return list(_secret_leaves(self.config_jsonschema, dict(self.config)))


def _marks_secret_inside(schema: dict) -> bool:
    items = schema.get("items")
    return any(_marks_secret(p) for p in schema.get("properties", {}).values()) or bool(items and _marks_secret(items))


def _marks_secret(schema: dict) -> bool:
    return bool(schema.get("secret")) or _marks_secret_inside(schema)


def _secret_leaves(schema: dict, value: t.Any, inherited: bool = False) -> Iterator[str]:
    """Scalar values under secret-marked settings.

    A container marked secret whose own fields mark the secret ones (a list of
    {name, api_key}) yields only those fields, so harmless names stay readable.
    """
    secret = inherited or bool(schema.get("secret"))
    pass_down = secret and not _marks_secret_inside(schema)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            yield from _secret_leaves(properties.get(key, {}), item, pass_down)
    elif isinstance(value, list):
        for item in value:
            yield from _secret_leaves(schema.get("items") or {}, item, pass_down)
    elif secret and value not in (None, ""):
        yield str(value)


class SupportStream(FastRecordMessages, RESTStream):
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
    #: Statuses retried besides 5xx.
    extra_retry_statuses: t.ClassVar[list[int]] = [HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.REQUEST_TIMEOUT]

    # Records are normalised to their schema types while parsing, in one pass; the
    # SDK's conformance step would walk every record a second time for nothing.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    # ---- records ----------------------------------------------------------------

    # ---- requests and retries -------------------------------------------------

    @property
    def timeout(self) -> float:  # type: ignore[override]
        return float(self.config.get("request_timeout", 60))

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_config(dict(self.config))

    def backoff_wait_generator(self) -> t.Generator[float, t.Any, None]:  # type: ignore[override]
        return retry_waits(self.retry_policy, connect_hint=self.url_hint())

    def url_hint(self) -> str:
        """What to check when the vendor cannot be reached at all."""
        try:
            base = self.url_base
        except Exception:  # noqa: BLE001 - a broken URL setting is what we are pointing at
            base = "?"
        return f"Check {settings_phrase(self.url_settings)} (the base URL in use is {redact(base)})."

    def backoff_max_tries(self) -> int:
        return self.retry_policy.max_tries

    def backoff_jitter(self, value: float) -> float:
        # retry_waits adds its own jitter to exponential waits and none to Retry-After.
        return value

    def backoff_handler(self, details: t.Mapping[str, t.Any]) -> None:
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
        raise RetriesExhausted(give_up_message(details, "Raise `max_retries` or try again later.")) from None

    def request_decorator(self, func: t.Callable, *, paced: bool = True) -> t.Callable:
        """Retries (and pacing, unless `paced` is False: for hosts other than the vendor's API)."""
        pacer = getattr(self._tap, "pacer", None) if paced else None
        if pacer is not None:
            unpaced = func

            def func(*args: t.Any, **kwargs: t.Any) -> t.Any:  # every attempt, retries too
                pacer.acquire()
                return unpaced(*args, **kwargs)

        return backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            on_giveup=self._give_up,
            jitter=self.backoff_jitter,
            logger=None,
        )(func)

    # ---- responses ------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
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
            msg = (
                f"{self.vendor} answered HTTP 404 Not Found for {endpoint}: "
                f"check {settings_phrase(self.url_settings)} (the base URL in use is {redact(self.url_base)})."
            )
            raise EndpointNotFound(msg)
        msg = f"{self.vendor} rejected {endpoint} with HTTP {status}: {body_snippet(response.content)}"
        raise VendorAPIError(msg)

    def response_error_message(self, response: requests.Response) -> str:
        return redact(
            f"HTTP {response.status_code} {response.reason or ''} for {endpoint_of(response)}: "
            f"{body_snippet(response.content)}"
        )

    def decode_json(self, response: requests.Response) -> t.Any:
        """The response body as JSON, or an error naming the endpoint, status and first bytes."""
        try:
            return _json_decoder.decode(response.content)
        except msgspec.DecodeError:
            msg = (
                f"{self.vendor} sent a body that is not valid JSON for {endpoint_of(response)} "
                f"(HTTP {response.status_code}, {len(response.content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type', 'unknown')!r}). "
                f"First bytes: {body_snippet(response.content)}"
            )
            raise UnparseableResponse(msg) from None

    def expect_list(self, payload: t.Any, response: requests.Response) -> list:
        return self._expect(list, "a list", payload, response)

    def expect_object(self, payload: t.Any, response: requests.Response) -> dict:
        return self._expect(dict, "an object", payload, response)

    def _expect(self, kind: type, name: str, payload: t.Any, response: requests.Response) -> t.Any:
        if isinstance(payload, kind):
            return payload
        found = {dict: "object", list: "list"}.get(type(payload), type(payload).__name__)
        msg = (
            f"{self.vendor} sent a JSON {found} where {name} was expected for "
            f"{endpoint_of(response)} (HTTP {response.status_code}). First bytes: {body_snippet(response.content)}"
        )
        raise UnparseableResponse(msg)

    # ---- windows and state ----------------------------------------------------

    #: Length of one date window; streams or settings may change it.
    window_size: dt.timedelta = dt.timedelta(days=1)
    #: How far before the bookmark each run starts again (re-reads revised data).
    lookback: dt.timedelta = dt.timedelta(0)

    def sync_range_start(self, context: t.Mapping | None) -> dt.datetime:
        """Where this run starts: the bookmark minus the lookback, never before start_date."""
        start_date = parse_utc(self.config["start_date"], setting="start_date")
        bookmark = self.bookmark(context)
        if bookmark is None:
            return start_date
        return max(start_date, bookmark - self.lookback)

    def sync_range_end(self) -> dt.datetime:
        end_date = self.config.get("end_date")
        now = self._tap.run_started
        return min(parse_utc(end_date, setting="end_date"), now) if end_date else now

    def bookmark(self, context: t.Mapping | None) -> dt.datetime | None:
        value = self.get_starting_replication_key_value(context)
        return parse_utc(value) if value else None

    def date_windows(self, context: t.Mapping | None, *, align_to_days: bool = True) -> Iterator[DateWindow]:
        start = self.sync_range_start(context)
        if align_to_days:
            start = floor_day(start)
        end = self.sync_range_end()
        if start >= end:
            self.logger.info("Nothing to extract: the range starts at %s and ends at %s.", start, end)
            return
        self.logger.info("Extracting [%s, %s) in windows of %s.", start.isoformat(), end.isoformat(), self.window_size)
        state = self.get_context_state(context)
        # The SDK tracks the max replication value of emitted records in progress
        # markers; we keep them too but move them at each window end (checkpoint).
        state.setdefault(PROGRESS_MARKERS, {"Note": "The bookmark moves at the end of each completed window."})
        yield from date_windows(start, end, self.window_size)

    def checkpoint(self, context: t.Mapping | None, bookmark: dt.datetime) -> None:
        """Record that everything before `bookmark` has been emitted, and say so in a STATE message.

        Called after a window's last record went out, so a run killed later resumes
        at this window's end. The bookmark never moves backwards (a lookback re-reads
        windows that an earlier run already covered).
        """
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
        self.write_state_now()

    def write_state_now(self) -> None:
        """Emit a STATE message with the current state (the SDK has no public hook for it)."""
        write_state_message(self)


def window_context(window: DateWindow) -> dict[str, str]:
    """A request context carrying one window (JSON-safe, as metrics log it)."""
    return {"window_start": window.start.isoformat(), "window_end": window.end.isoformat()}


def window_of(context: t.Mapping) -> DateWindow:
    return DateWindow(parse_utc(context["window_start"]), parse_utc(context["window_end"]))

