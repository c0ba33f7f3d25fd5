"""Xenioo's base stream: the account auth token, statistics paths, and one call per window."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from urllib.parse import quote

import requests
from singer_sdk.exceptions import RetriableAPIError

from support_taps.endpoints import Endpoint
from support_taps.errors import (
    CredentialsRejected,
    VendorAPIError,
    body_snippet,
    describe_shape,
    endpoint_of,
    response_place,
)
from support_taps.normalize import row_hash, to_number, to_text
from support_taps.redaction import redact
from support_taps.windowed import WindowedStream, window_context, window_of
from support_taps.windows import DateWindow, parse_utc
from tap_xenioo.auth import AUTH_PATH, XeniooAuthenticator
from tap_xenioo.planning import (
    MAX_DAYS,
    CallPlan,
    lost_if_waiting,
    plan_days,
    read_through,
    throttle_wait,
)

if t.TYPE_CHECKING:
    from tap_xenioo.tap import TapXenioo

UTC = dt.timezone.utc

#: The documented statistic types (account endpoint: 0..17; the per-bot one adds 18).
STATISTIC_TYPES: dict[int, str] = {
    0: "New User",
    1: "Returning User",
    2: "Active User",
    3: "Messages",
    4: "Action Messages",
    5: "Fallback Reply",
    6: "NLP Detected",
    7: "NLP Missed",
    8: "Conversation Length",
    9: "Time To Pick Up",
    10: "Takeover Rate",
    11: "Support Conversation Length",
    12: "Goal Reached",
    13: "Incoming Message",
    14: "API Request",
    15: "API Request Error",
    16: "Time To First Message",
    17: "Operator Message",
    18: "Tag Hit",
}
ACCOUNT_TYPES = tuple(range(18))
BOT_TYPES = tuple(range(19))
GROUP_MODES = ("hour", "day", "month", "year")

# Xenioo does not publish the error of its documented throttle (one call an hour per account,
# every 30 minutes per bot); it answers other throttles with HTTP 400. A refusal is taken
# for that throttle only when it speaks of it; a plain "too many requests" or "rate limit"
# (with or without Retry-After) is ordinary rate limiting, retried like every other tap.
_THROTTLE_WORDS = re.compile(
    rb"throttl|per (account|bot)|per hour|an hour|30 minutes|once (per|an|every)|(one|1) call",
    re.IGNORECASE,
)
_RATE_LIMIT_WORDS = re.compile(rb"too many (calls|requests)|rate.?limit", re.IGNORECASE)


class XeniooThrottled(VendorAPIError):
    """Xenioo refused a statistics call made inside its throttle window."""


class XeniooGap(VendorAPIError):
    """Dates would fall out of Xenioo's 30-day reach before they are read."""


def throttle_message(response: requests.Response) -> bool:
    """Whether a response is Xenioo's documented throttle refusal (HTTP 400/429 that says so)."""
    return response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.TOO_MANY_REQUESTS) and bool(
        _THROTTLE_WORDS.search(response.content[:2000] or b"")
    )


def rate_limit_message(response: requests.Response) -> bool:
    """Whether an HTTP 400 is ordinary rate limiting (Xenioo reports throttles as 400)."""
    return response.status_code == HTTPStatus.BAD_REQUEST and bool(
        _RATE_LIMIT_WORDS.search(response.content[:2000] or b"")
    )


#: The request context's key for the bookmark the call started from (see `XeniooCall`).
DELIVERED = "delivered"

#: Requests whose refused auth token (HTTP 401) was renewed once already; a retry of a request
#: is the same request object, so a second refusal of it ends the run.
_RENEWED_FOR: weakref.WeakSet[requests.PreparedRequest] = weakref.WeakSet()


#: The fields every statistics row is keyed by, and their columns. Published for account
#: statistics (an answer without them is an error); our reading for bot and DLR statistics.
KEY_FIELDS = {
    "GroupLabel": "group_label",
    "BotName": "bot_name",
    "ChannelName": "channel_name",
    "EventLabel": "event_label",
}


@dataclass(frozen=True)
class XeniooCall:
    """One statistics call, as `parse_response` reads it back from the request's context."""

    #: The first of the `days` days the call asks for (DAYS), the last being today.
    first_day: dt.date
    days: int
    #: What the rows cover, as records name it: `*` or the bot's configured name.
    scope: str
    #: The bookmark the call started from (the start of the newest bucket an earlier run
    #: delivered), or None.
    delivered: str | None
    #: Keys of the rows whose statistic type cannot be told (one warning per call names them).
    untyped: list[tuple[str, ...]] = field(default_factory=list)


def scope_phrase(scope: str) -> str:
    """A call's scope in messages: "all bots" or "bot 'name'"."""
    return "all bots" if scope == "*" else f"bot {scope!r}"


class XeniooStream(WindowedStream):
    """Base for the statistics streams.

    Each stream answers one GET whose path carries APIKEY (a bot key or `*`), TYPES,
    GROUPMODE and DAYS. Streams declare `statistics_path` (with those placeholders),
    `throttle` and how to build a record; this class:
    - fills the path (the bot key only ever goes into the URL, which is redacted
      wherever it is printed; the stream context carries the bot's name),
    - makes each call one window of the core's loop (`windows`): DAYS from the bookmark,
      capped at 30 (`planning.py`), and none inside the throttle window or in a
      connection test,
    - remembers in state when the endpoint was last called (`window_records`), and a
      throttle refusal stops only this stream (or bot) and leaves its state as it was.
    """

    vendor = "Xenioo"
    credential_settings = ("account_api_key",)
    url_settings = ("api_url", "bots")
    replication_key = "period_start"
    is_sorted = False
    #: Days before the bookmark each call asks again (Xenioo revises buckets after they close).
    lookback_setting = "lookback_days"
    #: Every stream's first request may be the account's token request (one token a run).
    extra_endpoints = (Endpoint("POST", AUTH_PATH, "auth_url", "token"),)

    #: The endpoint's path, with {APIKEY}, {TYPES}, {GROUPMODE} and {DAYS}.
    statistics_path: t.ClassVar[str] = ""
    #: Xenioo's throttle for this endpoint (one call per window per account or bot).
    throttle: t.ClassVar[dt.timedelta] = dt.timedelta(hours=1)
    #: How the vendor's docs name the endpoint in messages.
    endpoint_title: t.ClassVar[str] = "statistics"
    #: The object fields Xenioo publishes for this endpoint (all key columns): an object
    #: without one is an error. Empty where the object is our reading (a missing field is "").
    published_fields: t.ClassVar[tuple[str, ...]] = ()
    #: The setting that lists the statistic types this stream asks for.
    types_setting: t.ClassVar[str] = "types"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # What the SDK's request metrics log: the template, no key.
        self.path = self.statistics_path
        self._unparsed_labels: set[str] = set()  # each warned about once per run

    # ---- URL and auth ---------------------------------------------------------------------

    @property
    def tap(self) -> TapXenioo:
        """The tap of this run, with Xenioo's shared authenticator and run gaps."""
        return t.cast("TapXenioo", super().tap)

    @property
    def http_headers(self) -> dict:
        # As Xenioo's published requests send them (tests/contracts/xenioo/*_request.txt).
        return {**super().http_headers, "Content-Type": "application/json"}

    @cached_property
    def authenticator(self) -> XeniooAuthenticator:
        return self.tap.xenioo_authenticator  # one token for every stream of the run

    @property
    def group_mode(self) -> str:
        return str(self.config["group_mode"])

    def statistic_types(self) -> tuple[int, ...]:
        return ()

    def api_key_for(self, context: t.Mapping | None) -> str:
        """APIKEY for the call: `*` or the key of a configured bot."""
        raise NotImplementedError

    def scope_of(self, context: t.Mapping | None) -> str:
        """What the rows cover, as records name it: `*` or the bot's configured name."""
        raise NotImplementedError

    def scope_phrase_for(self, context: t.Mapping | None) -> str:
        return scope_phrase(self.scope_of(context))

    def call_of(self, context: t.Mapping | None) -> XeniooCall:
        """The call a request context carries (see `window_records`)."""
        window = window_of(context)
        return XeniooCall(
            first_day=window.start.date(),
            days=(window.end - window.start).days,
            scope=self.scope_of(context),
            delivered=(context or {}).get(DELIVERED),
        )

    def get_url(self, context: t.Mapping | None) -> str:
        values = {
            "APIKEY": quote(self.api_key_for(context), safe="*"),
            "TYPES": ",".join(str(code) for code in self.statistic_types()),
            "GROUPMODE": self.group_mode,
            "DAYS": str(self.call_of(context).days),
        }
        path = self.statistics_path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        return self.url_base + path

    # ---- responses ------------------------------------------------------------------------

    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if throttle_message(response):
            msg = (
                f"Xenioo refused the {self.endpoint_title} call {endpoint_of(response)} as "
                f"throttled (HTTP {status}): {body_snippet(response.content)}"
            )
            raise XeniooThrottled(msg)
        if rate_limit_message(response):
            raise RetriableAPIError(self.response_error_message(response), response)
        if status == HTTPStatus.UNAUTHORIZED:
            sent = (response.history[0] if response.history else response).request
            if sent is not None and sent not in _RENEWED_FOR:
                # The token expired early or was revoked: get a new one and try again, once.
                _RENEWED_FOR.add(sent)
                self.authenticator.invalidate()
                self.logger.info(
                    "Xenioo refused the auth token (HTTP 401) for %s: renewing the auth token "
                    "and asking again.",
                    endpoint_of(response),
                )
                raise RetriableAPIError(self.response_error_message(response), response)
            msg = (
                "Xenioo refused a freshly obtained auth token (HTTP 401) for "
                f"{endpoint_of(response)}: check `account_api_key` and that `auth_url` is the "
                "service endpoint of this account."
            )
            raise CredentialsRejected(msg)
        if status == HTTPStatus.NOT_FOUND and not response.history:  # (after a redirect: the
            # core's message names the host that answered)
            msg = (
                f"Xenioo answered HTTP 404 Not Found for {endpoint_of(response)} "
                f"({self.scope_phrase_for(self.request_context(response))}): the account or bot "
                "was not found. Check the bot keys in `bots`, `account_bot` and `api_url` (in "
                f"use: {redact(self.url_base)})."
            )
            raise VendorAPIError(msg)
        super().validate_response(response)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        rows = self.expect_list(self.decode_json(response), response)
        call = self.call_of(self.request_context(response))
        dropped = 0
        for index, raw in enumerate(rows):
            if not isinstance(raw, dict):
                # The shape, not the body: a well-formed answer of the wrong shape is still data.
                raise self.unexpected_shape(
                    response_place(response, f", item {index} of {len(rows)}"),
                    "statistics objects with GroupLabel, BotName, ChannelName and EventLabel",
                    raw,
                    f"The array holds {describe_shape(rows)}.",
                )
            missing = [name for name in self.published_fields if raw.get(name) is None]
            if missing:
                self.missing_key(
                    response_place(response, f", item {index} of {len(rows)}"),
                    missing,
                    raw,
                    published=True,
                    keyed_by="",
                )
            record = self.make_record(raw, call)
            guessed = [n for n in KEY_FIELDS if n not in self.published_fields and n not in raw]
            if guessed:
                self._key_by_whole_row(record, guessed)
            start = record.get("period_start")
            if (
                start is not None
                and start[:10] < call.first_day.isoformat()
                and call.delivered
                and call.delivered >= start
            ):
                # A bucket that starts before the first day this call covers holds only
                # part of its period (month/year modes); an earlier run delivered it
                # with more of its days in reach: keep that value, not this one.
                dropped += 1
                continue
            self._note_bucket(start, context=self.request_context(response))
            yield record
        if dropped:
            self.logger.info(
                "Left out %d %s buckets that start before %s: they are only partly inside the %d "
                "days asked for and an earlier run delivered them.",
                dropped,
                self.group_mode,
                call.first_day,
                call.days,
            )
        self.report_untyped(call)

    def report_untyped(self, call: XeniooCall) -> None:
        """One warning per call for the rows whose statistic type could not be told."""
        untyped = call.untyped
        if not untyped:
            return
        labels = sorted({key[-1] for key in untyped})
        shown = ", ".join(repr(label) for label in labels[:5]) + (
            ", ..." if len(labels) > 5 else ""
        )
        collisions = len(untyped) - len(set(untyped))
        self.logger.warning(
            "%s for %s: %d rows have an EventLabel that is not a statistic type Xenioo documents "
            "(%s) and the call asked for %d types, so their type cannot be told: they are kept "
            "with stat_type_code %d and the whole object in `raw`.%s Set `%s` to one type code to "
            "have every row typed.",
            self.name,
            scope_phrase(call.scope),
            len(untyped),
            shown,
            len(self.statistic_types()),
            UNTOLD_TYPE,
            f" {collisions} of them share their key with another such row, and a target that "
            "upserts keeps only one."
            if collisions
            else "",
            self.types_setting,
        )

    def base_record(self, raw: dict, call: XeniooCall) -> dict:
        label = to_text(raw.get("GroupLabel"))
        return {
            "bot_scope": call.scope,
            "group_mode": self.group_mode,
            "group_label": label or "",
            "period_start": self.period_start(label),
            # Key columns: a missing label is "" so the key stays complete.
            "bot_name": to_text(raw.get("BotName")) or "",
            "channel_name": to_text(raw.get("ChannelName")) or "",
            "event_label": to_text(raw.get("EventLabel")) or "",
            "value": to_number(raw.get("Value")),
            "raw": _redacted(raw),
        }

    def make_record(self, raw: dict, call: XeniooCall) -> dict:
        return self.base_record(raw, call)

    def _key_by_whole_row(self, record: dict, guessed: list[str]) -> None:
        """A row without key fields Xenioo does not publish for this object (our reading of
        its answers): keyed by a stable hash of the whole row in those columns, so rows that
        differ elsewhere do not share a key; one warning per stream and run."""
        columns = [KEY_FIELDS[name] for name in guessed]
        self.missing_key(
            self.endpoint_title,
            guessed,
            record["raw"],
            published=False,
            keyed_by=", ".join(f"`{column}`" for column in columns),
        )
        whole = f"row {row_hash('', record['raw'])}"
        for column in columns:
            record[column] = whole

    def period_start(self, label: str | None) -> str | None:
        """The start of a GroupLabel's period, as ISO UTC, from the labels Xenioo's modes give."""
        if not label:
            return None
        text = label.strip()
        try:
            if len(text) == 4 and text.isdigit():
                moment = dt.datetime(int(text), 1, 1, tzinfo=UTC)
            elif len(text) == 7 and text[4] in "-/":
                moment = dt.datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
            else:
                moment = parse_utc(text.replace("/", "-"))
        except ValueError:
            if text not in self._unparsed_labels:
                self._unparsed_labels.add(text)
                self.logger.warning(
                    "Xenioo sent a GroupLabel that is not a date, %r; period_start is null.", text
                )
            return None
        return moment.isoformat()

    # ---- one window per call: throttle, DAYS and state (the core runs the loop) -----------------

    def windows(self, context: t.Mapping | None) -> list[DateWindow]:
        """The one call of this stream (or bot) as a window, the DAYS=n days ending today; none
        in a connection test or inside the throttle window. Dates an earlier run left unread
        and that are now out of reach fail the stream (XeniooGap) unless `allow_gaps` is set.
        """
        now = self.tap.run_started  # the run's one clock: every stream agrees on today
        if self.ABORT_AT_RECORD_COUNT is not None:
            self.check_credentials(context)
            return []
        state = self.get_context_state(context)
        allowed_at = throttle_wait(state.get("last_called_at"), self.throttle, now)
        if allowed_at is not None:
            self.skip_call(
                context,
                f"throttled: Xenioo allows one call per {_duration(self.throttle)} and the last "
                f"one was at {state['last_called_at']}; next call after "
                f"{allowed_at.isoformat(timespec='seconds')}. The stream's state is unchanged",
                allowed_at,
            )
            return []
        # The bookmark, or start_date when later (the SDK's rule), or neither on a first run.
        start = self.get_starting_replication_key_value(context)
        wanted = parse_utc(start).date() if start else None
        if wanted is not None and state.get("replication_key_value") and self.lookback:
            wanted = self.first_day_of_bucket(wanted - self.lookback)
            if self.config.get("start_date"):
                wanted = max(wanted, self.start_date.date())
        plan = plan_days(
            wanted,
            read_through(state.get("replication_key_value"), state.get("last_called_at")),
            now.date(),
        )
        if plan.lost is not None:
            self.report_lost(context, plan)
        return [plan.window]

    def first_day_of_bucket(self, day: dt.date) -> dt.date:
        """The first day of the `group_mode` bucket holding `day`: a lookback asks for whole
        buckets, so a month or year re-read is complete (a partial one is left out)."""
        if self.group_mode == "month":
            return day.replace(day=1)
        if self.group_mode == "year":
            return day.replace(month=1, day=1)
        return day

    def window_records(
        self, window: DateWindow, context: t.Mapping | None
    ) -> t.Generator[dict, None, bool | None]:
        """The rows of one call; the call is remembered (`last_called_at`) once they all went
        out. A throttle refusal ends the window unfinished, this stream's state unchanged."""
        delivered = self.get_context_state(context).get("replication_key_value")
        request_context = {**(context or {}), **window_context(window), DELIVERED: delivered}
        call = self.call_of(request_context)
        scope = scope_phrase(call.scope)
        self.logger.info(
            "%s for %s: asking Xenioo for %d days (%s to %s) grouped by %s.",
            self.name,
            scope,
            call.days,
            call.first_day,
            self.tap.run_started.date(),
            self.group_mode,
        )
        rows = 0
        try:
            for record in self.request_records(request_context):
                rows += 1
                yield record
        except XeniooThrottled as exc:
            self.logger.warning(
                "%s for %s stopped: %s. Xenioo allows one call per %s; this stream's state is "
                "unchanged and the next run will ask again.",
                self.name,
                scope,
                exc,
                _duration(self.throttle),
            )
            allowed_at = self.tap.run_started + self.throttle
            self.skip_call(
                context,
                "Xenioo refused the call as throttled, next call after about "
                f"{allowed_at.isoformat(timespec='seconds')}",
                allowed_at,
            )
            return False
        # Written only now that every row of the answer went out, so a run killed
        # earlier does not leave the rows unread for the whole throttle window.
        self.remember_call(context)
        self.logger.info("%s for %s: %d rows.", self.name, scope, rows)
        return None

    def window_bookmark(self, window: DateWindow, context: t.Mapping | None) -> dt.datetime | None:
        """The start of the newest bucket emitted (a bucket still filling is read again), not
        the window's end; never a bucket dated after the run's clock (None: it stays)."""
        key = _partition_key(context)
        newest = self._newest_bucket.get(key)
        if newest is None and key in self._future_buckets:
            # Only buckets from the future: the bookmark stays where it was (the SDK would
            # take the newest record's).
            current = self.get_context_state(context).get("replication_key_value")
            return parse_utc(current) if current else window.start
        return newest

    @cached_property
    def _future_buckets(self) -> set[str]:
        return set()

    @cached_property
    def _newest_bucket(self) -> dict[str, dt.datetime]:
        return {}

    def _note_bucket(self, start: str | None, context: t.Mapping | None) -> None:
        """Keep the newest bucket start of `context`'s partition; one from after the run's
        clock lands, with a warning, and the bookmark does not follow it."""
        try:
            moment = parse_utc(start) if start else None
        except (ValueError, OverflowError):
            return
        if moment is None:
            return
        if moment > self.tap.run_started:
            self.warn_once(
                "future bucket",
                "Xenioo sent a bucket dated %s, after this run started (%s); it is kept, and the "
                "bookmark does not move to it.",
                start,
                self.tap.run_started.isoformat(timespec="seconds"),
            )
            self._future_buckets.add(_partition_key(context))
            return
        key = _partition_key(context)
        if key not in self._newest_bucket or moment > self._newest_bucket[key]:
            self._newest_bucket[key] = moment

    def check_credentials(self, context: t.Mapping | None) -> None:
        """A connection test (--test): Xenioo allows one statistics call an hour, and a test run
        keeps no state; checking the credentials must not spend that call."""
        if not self.authenticator.is_token_valid():
            self.authenticator.update_access_token()
        self.logger.info(
            "Connection test: Xenioo gave an auth token; %s for %s was not called (one call per "
            "%s).",
            self.name,
            self.scope_phrase_for(context),
            _duration(self.throttle),
        )

    def report_lost(self, context: t.Mapping | None, plan: CallPlan) -> None:
        """Dates out of reach: an error naming them when an earlier run left them unread (unless
        `allow_gaps`), else a warning."""
        lost = plan.lost
        if lost is None:
            return
        message = (
            f"{self.name}: Xenioo's statistics reach back {MAX_DAYS} days, to {plan.first_day}. "
            f"The dates {lost.first} to {lost.last} ({lost.days} days) for "
            f"{self.scope_phrase_for(context)} can no longer be fetched: {self.name} was last read "
            f"up to {lost.first}. Run the tap at least every {MAX_DAYS - 1} days to avoid gaps."
        )
        if plan.gap and not self.config.get("allow_gaps"):
            raise XeniooGap(
                message + " Set `allow_gaps` to true to read what is still in reach and accept "
                "the gap; the stream's state is unchanged."
            )
        self.logger.warning(message)

    def remember_call(self, context: t.Mapping | None) -> None:
        """Xenioo answered and every row of the answer went out: its throttle window runs from
        the call (the run's clock)."""
        state = self.get_context_state(context)
        state["last_called_at"] = self.tap.run_started.isoformat()
        self.write_state_now()

    def skip_call(self, context: t.Mapping | None, reason: str, allowed_at: dt.datetime) -> None:
        """A skipped stream (or bot) is a WARNING now and in the core's end-of-run summary; a skip
        that would leave a gap fails the run at its end (`TapXenioo.after_sync`)."""
        scope = self.scope_phrase_for(context)
        self.tap.skip_stream(self.name, f"for {scope}, {reason}")
        state = self.get_context_state(context)
        read_up_to = read_through(state.get("replication_key_value"), state.get("last_called_at"))
        lost = lost_if_waiting(read_up_to, allowed_at)
        if lost is not None:
            reach_then = lost.last + dt.timedelta(days=1)
            self.tap.run_gaps.append(
                f"{self.name} for {scope} was last read up to {lost.first}; by "
                f"{allowed_at.isoformat(timespec='minutes')}, when Xenioo allows the next call, "
                f"its statistics reach back only to {reach_then}, so {lost.first} to {lost.last} "
                "would be lost"
            )


def _duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return "hour" if minutes == 60 else f"{minutes} minutes"


def _redacted(value: t.Any) -> t.Any:
    """The raw object as sent, with any registered secret masked in its text."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def _name_key(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


#: Documented type names, compared without case, spaces or punctuation.
_CODES_BY_NAME = {_name_key(name): code for code, name in STATISTIC_TYPES.items()}
#: The stat_type_code of a row whose type cannot be told (the column is part of the key).
UNTOLD_TYPE = -1


def statistic_code(event_label: str | None, requested: tuple[int, ...]) -> int | None:
    """The statistic type of an object, from what Xenioo publishes: its EventLabel when that
    is one of the documented type names, else the only type the call asked for; else None.

    The unpublished `Type` field is not used: it is kept in `raw`.
    """
    code = _CODES_BY_NAME.get(_name_key(event_label or ""))
    if code is not None and code in requested:
        return code
    return requested[0] if len(requested) == 1 else code


def _partition_key(context: t.Mapping | None) -> str:
    """A request's context without its window: the partition its bookmark belongs to."""
    window = ("window_start", "window_end", DELIVERED)
    return repr(sorted((k, v) for k, v in (context or {}).items() if k not in window))
