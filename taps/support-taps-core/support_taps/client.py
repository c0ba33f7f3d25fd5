"""The base REST stream and base tap every vendor tap extends."""

from __future__ import annotations

import datetime as dt
import re
import signal
import time
import typing as t
from collections.abc import Iterator
from functools import cached_property
from http import HTTPStatus

import backoff
import msgspec
import requests
from singer_sdk import RESTStream, Tap
from singer_sdk.exceptions import ConfigValidationError, RetriableAPIError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from singer_sdk.helpers.conform import TypeConformanceLevel

from support_taps.compat import (
    PROGRESS_MARKERS,
    FastRecordMessages,
    TerminationHook,
    own_requests_session,
    tap_of,
    write_state_message,
)
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
from support_taps.http import CredentialGuardSession
from support_taps.pacing import RequestPacer
from support_taps.progress import PROGRESS_INTERVAL, RunStats, StreamStats, WindowProgress
from support_taps.redaction import install_log_redaction, redact
from support_taps.retry import (
    RETRIABLE_EXCEPTIONS,
    RetryPolicy,
    describe_failure,
    give_up_message,
    raise_if_truncated,
    retry_waits,
)
from support_taps.settings import (
    date_setting_errors,
    known_settings,
    unknown_setting_errors,
    url_setting_errors,
)
from support_taps.windows import parse_utc
from support_taps.writer import BufferedMsgSpecWriter

UTC = dt.timezone.utc
_json_decoder = msgspec.json.Decoder()
_NOT_DECODED = object()


class SupportTap(TerminationHook, Tap):
    """Base tap: settings checked and secrets masked before the first request, the
    batched msgspec writer, one clock per run and, where the vendor publishes a rate
    limit, one request pacer shared by all streams."""

    message_writer_class = BufferedMsgSpecWriter

    #: Declared so Meltano reads our JSON log lines (warnings as warnings) and offers
    #: `batch_config`; every tap of the collection supports both through the core.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        *(
            c
            for c in Tap.capabilities
            if c not in (PluginCapabilities.BATCH, PluginCapabilities.STRUCTURED_LOGGING)
        ),
        PluginCapabilities.BATCH,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

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
        try:
            super().__init__(*args, validate_config=validate_config, **kwargs)
        except ConfigValidationError as exc:
            # The SDK's schema check words errors as "-1 is less than the minimum of 0 in
            # config['max_retries']"; lead with the setting, as every other message does.
            exc.errors = [_name_the_setting(error) for error in exc.errors]
            raise
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
        secrets = self.secret_values()
        redact.add(*secrets)
        # HTTP Basic credentials are base64 of `user:password`: mask that for every setting
        # that could be the user half. (The session also registers each credential header
        # it sends, whatever its form.)
        for name, value in self.config.items():
            if isinstance(value, str) and value not in secrets and _USER_SETTING.search(name):
                for secret in secrets:
                    redact.add_basic_auth(value, secret)
        install_log_redaction()
        if self._check_settings_at_start:
            errors = _without_repeats(self.setting_errors())
            if errors:
                msg = f"Invalid {self.name} configuration: " + " ".join(errors)
                raise ConfigValidationError(msg, errors=errors)

    # ---- what the run did ---------------------------------------------------------

    @cached_property
    def run_stats(self) -> RunStats:
        """Counters per stream for the progress lines and the end-of-run summary."""
        return RunStats()

    def skip_stream(self, stream: str, reason: str) -> None:
        """Say that `stream` (or part of it) is skipped in this run: a WARNING now, and again
        in the end-of-run summary, so a user sees it under Meltano."""
        self.logger.warning("Skipping %s: %s", stream, reason)
        self.run_stats.skip(stream, reason)

    def after_sync(self) -> None:
        """A tap's end-of-run check, after every stream ran; an error it raises fails the run
        (and the summary says so)."""

    # The SDK marks `sync_all` final, but has no hook after the last stream: the end-of-run
    # check and the summary (with the run's outcome) need this wrapper.
    def sync_all(self) -> None:  # type: ignore[misc]
        outcome = "failed"
        try:
            super().sync_all()
            self.after_sync()
            outcome = "complete"
        except SystemExit:
            outcome = "stopped"
            raise
        finally:
            self.run_stats.log_summary(self.logger, outcome=outcome)

    # ---- termination -----------------------------------------------------------

    def on_termination(self, signum: int) -> None:
        """SIGTERM/SIGINT (through compat.TerminationHook): stop at once with a non-zero status,
        never as a success.

        The SDK's handler writes the in-memory state and exits 0, so an orchestrator
        records an interrupted run as a success, and that state may run ahead of what
        was emitted (BATCH mode, records in flight). Here every STATE already written
        is consistent (each follows the records it covers), so nothing more is written:
        records already made are flushed and the run exits with 128 + the signal number.
        A signal that arrives while a message is being written waits for the write.
        """
        writer = self.message_writer
        if getattr(writer, "writing", False):
            # The SDK types the writer as its base class; ours (BufferedMsgSpecWriter) has the hook.
            writer.on_written = lambda: self._terminate(signum)  # type: ignore[attr-defined]
            return
        self._terminate(signum)

    def _terminate(self, signum: int) -> t.NoReturn:
        status = 128 + signum
        self.logger.warning(
            "Stopped by %s. The last STATE message covers every record emitted before it; "
            "the next run resumes there. Exiting with status %d.",
            signal.Signals(signum).name,
            status,
        )
        flush = getattr(self.message_writer, "flush", None)
        if flush is not None:
            flush()
        raise SystemExit(status)

    def setting_errors(self) -> list[str]:
        """Problems with the settings, each naming the setting; extend in each tap (call super).

        Ranges and types are checked by the SDK against the config schema (JSON-schema
        `minimum`, `exclusiveMinimum`...), which documents them too; these are the checks
        a schema cannot express."""
        config = dict(self.config)
        return [
            *unknown_setting_errors(config, known_settings(type(self))),
            *url_setting_errors(config),
            *date_setting_errors(config, self.run_started),
        ]

    def secret_values(self) -> list[str]:
        """Values of every setting the config schema marks secret, nested ones included."""
        # Secrets obtained at run time (auth tokens) are registered with `redact` when obtained.
        return list(_secret_leaves(self.config_jsonschema, dict(self.config)))


_USER_SETTING = re.compile(r"user|login|email|client|account|name", re.IGNORECASE)
_SCHEMA_ERROR = re.compile(
    r"^(?P<what>.*) in config\['(?P<name>[^']+)'\](?P<item>(\[\d+\])*)$", re.DOTALL
)


def _name_the_setting(error: str) -> str:
    """ "0 is ... in config['x']" -> "The setting `x` is invalid: 0 is ..."; an item of a
    list setting, "... in config['x'][1]", is named by its position: "`x` item 2"."""
    match = _SCHEMA_ERROR.match(error)
    if not match:
        return error
    where = ""
    if match["item"]:
        positions = re.findall(r"\[(\d+)\]", match["item"])
        where = " (" + ", ".join(f"item {int(p) + 1}" for p in positions) + ")"
    return f"The setting `{match['name']}` is invalid{where}: {redact(match['what'])}."


def _marks_secret_inside(schema: dict) -> bool:
    items = schema.get("items")
    return any(_marks_secret(p) for p in schema.get("properties", {}).values()) or bool(
        items and _marks_secret(items)
    )


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
    #: The setting holding the API's base URL; its default (the vendor's public URL) is
    #: declared once, in the tap's config schema, which the SDK fills into the config.
    api_url_setting: t.ClassVar[str] = "api_url"
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
        run_stats = getattr(self.tap, "run_stats", None)
        return run_stats.stream(self.name) if run_stats is not None else StreamStats()

    def _count(self, counter: str, amount: int = 1) -> None:
        run_stats = getattr(self.tap, "run_stats", None)
        if run_stats is not None:
            run_stats.count(self.name, counter, amount)

    @cached_property
    def _emits_records(self) -> bool:
        return self.selected

    def post_process(self, row: dict, context: t.Mapping | None = None) -> dict | None:
        # Records come out of get_records in the main thread: no lock needed, and this
        # runs for every record, so it stays two attribute lookups.
        if self._emits_records:
            stats = self.stats
            stats.records += 1
            if stats.started is None:
                stats.started = time.monotonic()
        return row

    @property
    def url_base(self) -> str:
        """The base URL: the `api_url_setting` setting, without a trailing slash."""
        value = self.config.get(self.api_url_setting)
        if not value:
            msg = f"Set `{self.api_url_setting}` (the base URL of the {self.vendor} API)."
            raise ValueError(msg)
        return str(value).rstrip("/")

    # ---- requests and retries -------------------------------------------------

    @property
    def requests_session(self) -> requests.Session:
        """A session that never sends a credential to a host other than the API's."""
        return own_requests_session(
            self,
            CredentialGuardSession,
            lambda: CredentialGuardSession(home_url=lambda: self.url_base),
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
        except Exception:  # noqa: BLE001 - a broken URL setting is what we are pointing at
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
        raise RetriesExhausted(
            give_up_message(details, "Raise `max_retries` or try again later.")
        ) from None

    def request_decorator(self, func: t.Callable, *, paced: bool = True) -> t.Callable:
        """Retries (and pacing, unless `paced` is False: for hosts other than the vendor's API)."""
        pacer = getattr(self.tap, "pacer", None) if paced else None
        send = func

        def attempt(*args: t.Any, **kwargs: t.Any) -> t.Any:  # every attempt, retries too
            if pacer is not None:
                pacer.acquire()
            self._count("requests")
            return send(*args, **kwargs)

        return backoff.on_exception(
            self.backoff_wait_generator,
            RETRIABLE_EXCEPTIONS,
            max_tries=self.backoff_max_tries,
            on_backoff=self.backoff_handler,
            on_giveup=self._give_up,
            jitter=self.backoff_jitter,
            logger=None,
        )(attempt)

    # ---- responses ------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
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
            msg = (
                f"{self.vendor} answered HTTP 404 Not Found for {endpoint}: "
                f"check {settings_phrase(self.url_settings)} "
                f"(the base URL in use is {redact(self.url_base)})."
            )
            raise EndpointNotFound(msg)
        msg = (
            f"{self.vendor} rejected {endpoint} with HTTP {status}: "
            f"{body_snippet(response.content)}"
        )
        raise VendorAPIError(msg)

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
        cached = getattr(response, "decoded_json", _NOT_DECODED)
        if cached is not _NOT_DECODED:
            return cached
        try:
            return _json_decoder.decode(response.content)
        except msgspec.DecodeError:
            msg = (
                f"{self.vendor} sent a body that is not valid JSON for {endpoint_of(response)} "
                f"(HTTP {response.status_code}, {len(response.content)} bytes, "
                f"Content-Type {response.headers.get('Content-Type', 'unknown')!r}): "
                f"{body_snippet(response.content)}"
            )
            raise UnparseableResponse(msg) from None

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

    def expect_object(self, payload: t.Any, response: requests.Response) -> dict:
        if isinstance(payload, dict):
            return payload
        raise self.unexpected_shape(response, "a JSON object", payload)

    # ---- state ----------------------------------------------------------------

    def bookmark(self, context: t.Mapping | None) -> dt.datetime | None:
        """The bookmark this run started from (None on a first run)."""
        value = self.get_starting_replication_key_value(context)
        return parse_utc(value) if value else None

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
        progress = self._progress.get(progress_key(context))
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
    def batch_mode(self) -> bool:
        """Whether records go out in BATCH files (`batch_config`) instead of RECORD messages."""
        return bool(self.get_batch_config(self.config))

    @cached_property
    def _progress(self) -> dict[str, WindowProgress]:
        """The progress of each partition's windows, by context."""
        return {}

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

    def write_state_now(self) -> None:
        """Emit a STATE message with the current state (the SDK has no public hook for it).

        In BATCH mode the state is only marked pending: the SDK writes it after the next
        BATCH message, with the records produced before it.
        """
        if self.batch_mode:
            self.state_manager.is_flushed = False
        else:
            write_state_message(self)


def _without_repeats(errors: list[str]) -> list[str]:
    """A tap may still check a URL setting the core checks too: one message per problem."""
    kept: list[str] = []
    url_settings_named: set[str] = set()
    for error in dict.fromkeys(errors):
        match = re.match(r"The setting `([^`]+)` must be an http\(s\) URL", error)
        if match:
            if match[1] in url_settings_named:
                continue
            url_settings_named.add(match[1])
        kept.append(error)
    return kept


def progress_key(context: t.Mapping | None) -> str:
    """One partition's key among a stream's progress trackers."""
    return repr(sorted((context or {}).items()))
