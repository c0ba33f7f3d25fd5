"""Xenioo's base stream: the account auth token, statistics paths, DAYS and throttles."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from functools import cached_property
from http import HTTPStatus
from urllib.parse import quote

import requests
from singer_sdk.exceptions import RetriableAPIError

from support_taps.errors import (
    CredentialsRejected,
    VendorAPIError,
    body_snippet,
    describe_shape,
    endpoint_of,
    response_place,
)
from support_taps.normalize import to_number, to_text
from support_taps.redaction import redact
from support_taps.stream import SupportStream
from support_taps.windows import parse_utc
from tap_xenioo.auth import XeniooAuthenticator

if t.TYPE_CHECKING:
    from tap_xenioo.tap import TapXenioo

UTC = dt.timezone.utc
#: How far back the statistics endpoints reach (DAYS accepts 1..30).
MAX_DAYS = 30

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


class XeniooStream(SupportStream):
    """Base for the statistics streams.

    Each stream answers one GET whose path carries APIKEY (a bot key or `*`), TYPES,
    GROUPMODE and DAYS. Streams declare `statistics_path` (with those placeholders),
    `throttle` and how to build a record; this class:
    - fills the path (the bot key only ever goes into the URL, which is redacted
      wherever it is printed; the stream context carries the bot's name),
    - computes DAYS from the bookmark, capped at 30, and says which dates are out of reach,
    - remembers in state when the endpoint was last called and skips the stream
      inside the throttle window; a throttle refusal stops only this stream (or bot)
      and leaves its state as it was.
    """

    vendor = "Xenioo"
    credential_settings = ("account_api_key",)
    url_settings = ("api_url", "bots")
    replication_key = "period_start"
    is_sorted = False

    #: The endpoint's path, with {APIKEY}, {TYPES}, {GROUPMODE} and {DAYS}.
    statistics_path: t.ClassVar[str] = ""
    #: Xenioo's throttle for this endpoint (one call per window per account or bot).
    throttle: t.ClassVar[dt.timedelta] = dt.timedelta(hours=1)
    #: How the vendor's docs name the endpoint in messages.
    endpoint_title: t.ClassVar[str] = "statistics"
    #: The setting that lists the statistic types this stream asks for.
    types_setting: t.ClassVar[str] = "types"

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        # What the SDK's request metrics log: the template, no key.
        self.path = self.statistics_path
        self._call: dict[str, t.Any] | None = None
        self._unparsed_labels: set[str] = set()
        self._renewed_after_refusal = False

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

    def get_url(self, context: t.Mapping | None) -> str:
        call = self._call or {}
        values = {
            "APIKEY": quote(self.api_key_for(context), safe="*"),
            "TYPES": ",".join(str(code) for code in self.statistic_types()),
            "GROUPMODE": self.group_mode,
            "DAYS": str(call.get("days", MAX_DAYS)),
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
            if not self._renewed_after_refusal:
                # The token expired early or was revoked: get a new one and try again, once.
                self._renewed_after_refusal = True
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
        if status == HTTPStatus.NOT_FOUND:
            msg = (
                f"Xenioo answered HTTP 404 Not Found for {endpoint_of(response)} "
                f"({self.scope_phrase()}): the account or bot was not found. Check the bot keys in "
                f"`bots`, `account_bot` and `api_url` (in use: {redact(self.url_base)})."
            )
            raise VendorAPIError(msg)
        super().validate_response(response)
        self._renewed_after_refusal = False

    def scope_phrase(self) -> str:
        scope = (self._call or {}).get("scope", "*")
        return "all bots" if scope == "*" else f"bot {scope!r}"

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        rows = self.expect_list(self.decode_json(response), response)
        call = self._call or {}
        first_day: dt.date = call["first_day"]
        delivered: str | None = call["delivered"]
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
            record = self.make_record(raw, call)
            start = record.get("period_start")
            if (
                start is not None
                and start[:10] < first_day.isoformat()
                and delivered
                and delivered >= start
            ):
                # A bucket that starts before the first day this call covers holds only
                # part of its period (month/year modes); an earlier run delivered it
                # with more of its days in reach: keep that value, not this one.
                dropped += 1
                continue
            yield record
        if dropped:
            self.logger.info(
                "Left out %d %s buckets that start before %s: they are only partly inside the %d "
                "days asked for and an earlier run delivered them.",
                dropped,
                self.group_mode,
                first_day,
                call.get("days"),
            )
        self.report_untyped(call)

    def report_untyped(self, call: t.MutableMapping[str, t.Any]) -> None:
        """One warning per call for the rows whose statistic type could not be told."""
        untyped: list[tuple] = call.get("untyped") or []
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
            self.scope_phrase(),
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

    def base_record(self, raw: dict, call: t.Mapping[str, t.Any]) -> dict:
        label = to_text(raw.get("GroupLabel"))
        return {
            "bot_scope": call["scope"],
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

    def make_record(self, raw: dict, call: t.Mapping[str, t.Any]) -> dict:
        return self.base_record(raw, call)

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

    # ---- DAYS, throttle and state ---------------------------------------------------------------

    def read_through(self, context: t.Mapping | None) -> dt.date | None:
        """The last day an earlier run read (its bookmark, or the day of its last call when
        later: a month or year bucket starts long before the day it was read up to); None on a
        first run."""
        state = self.get_context_state(context)
        days = []
        for name in ("replication_key_value", "last_called_at"):
            try:
                days.append(parse_utc(state[name]).date())
            except (KeyError, TypeError, ValueError):
                if name == "replication_key_value":
                    return None
        return max(days)

    def bookmark(self, context: t.Mapping | None) -> dt.datetime | None:
        """The bookmark this run started from (None on a first run)."""
        value = self.get_starting_replication_key_value(context)
        return parse_utc(value) if value else None

    def plan_days(self, context: t.Mapping | None, today: dt.date) -> tuple[int, dt.date]:
        """DAYS for this call and the first day it covers.

        From the bookmark (the start of the newest bucket emitted, re-read because it
        was still filling) or start_date; without either, the 30 days the API reaches.
        DAYS=n is read as the n days ending today; if Xenioo counts one more, that day
        is simply left out. Dates an earlier run left unread and that are now out of
        reach fail the stream (XeniooGap) unless `allow_gaps` is set.
        """
        bookmark = self.bookmark(context)
        if bookmark is None:
            return MAX_DAYS, today - dt.timedelta(days=MAX_DAYS - 1)
        wanted_from = bookmark.date()
        days = (today - wanted_from).days + 1
        if days <= MAX_DAYS:
            days = max(1, days)
            return days, today - dt.timedelta(days=days - 1)
        reach = today - dt.timedelta(days=MAX_DAYS - 1)
        read_through = self.read_through(context)
        if read_through is not None:
            if read_through >= reach:
                return MAX_DAYS, reach  # a month or year bucket read up to a day still in reach
            wanted_from = read_through
        lost_until = reach - dt.timedelta(days=1)
        message = (
            f"{self.name}: Xenioo's statistics reach back {MAX_DAYS} days, to {reach}. The dates "
            f"{wanted_from} to {lost_until} ({(lost_until - wanted_from).days + 1} days) for "
            f"{self.scope_phrase_for(context)} can no longer be fetched: {self.name} was last read "
            f"up to {wanted_from}. Run the tap at least every {MAX_DAYS - 1} days to avoid gaps."
        )
        if read_through is not None and not self.config.get("allow_gaps"):
            raise XeniooGap(
                message + " Set `allow_gaps` to true to read what is still in reach and accept "
                "the gap; the stream's state is unchanged."
            )
        self.logger.warning(message)
        return MAX_DAYS, reach

    def scope_phrase_for(self, context: t.Mapping | None) -> str:
        scope = self.scope_of(context)
        return "all bots" if scope == "*" else f"bot {scope!r}"

    def throttle_wait(self, context: t.Mapping | None, now: dt.datetime) -> dt.datetime | None:
        """When the next call is allowed, if the last one is still inside the throttle window."""
        last = self.get_context_state(context).get("last_called_at")
        if not last:
            return None
        try:
            last_at = parse_utc(last)
        except ValueError:
            return None
        allowed = last_at + self.throttle
        return allowed if now < allowed else None

    def gap_if_skipped(self, context: t.Mapping | None, allowed_at: dt.datetime) -> str | None:
        """The dates that fall out of reach if this stream waits until `allowed_at`, in words."""
        read_through = self.read_through(context)
        if read_through is None:
            return None
        reach_then = allowed_at.date() - dt.timedelta(days=MAX_DAYS - 1)
        if read_through >= reach_then:
            return None
        return (
            f"{self.name} for {self.scope_phrase_for(context)} was last read up to {read_through}; "
            f"by {allowed_at.isoformat(timespec='minutes')}, when Xenioo allows the next call, its "
            f"statistics reach back only to {reach_then}, so {read_through} to "
            f"{reach_then - dt.timedelta(days=1)} would be lost"
        )

    def _remember_call(self, call: t.Mapping[str, t.Any]) -> None:
        """Xenioo answered and every row of the answer went out: its throttle window runs from
        the call."""
        state = self.get_context_state(call["context"])
        state["last_called_at"] = call["started_at"].isoformat()
        self.write_state_now()

    def _skipped(self, context: t.Mapping | None, reason: str, allowed_at: dt.datetime) -> None:
        """A skipped stream (or bot) is a WARNING now and in the core's end-of-run summary; a skip
        that would leave a gap fails the run at its end."""
        self.tap.skip_stream(self.name, f"for {self.scope_phrase_for(context)}, {reason}")
        gap = self.gap_if_skipped(context, allowed_at)
        if gap:
            self.tap.run_gaps.append(gap)

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        now = self.tap.run_started  # the run's one clock: every stream agrees on today
        scope = self.scope_phrase_for(context)
        if self.ABORT_AT_RECORD_COUNT is not None:
            # A connection test (--test): Xenioo allows one statistics call an hour, and a
            # test run keeps no state; checking the credentials must not spend that call.
            if not self.authenticator.is_token_valid():
                self.authenticator.update_access_token()
            self.logger.info(
                "Connection test: Xenioo gave an auth token; %s for %s was not called (one call "
                "per %s).",
                self.name,
                scope,
                _duration(self.throttle),
            )
            return
        allowed_at = self.throttle_wait(context, now)
        if allowed_at is not None:
            last = self.get_context_state(context)["last_called_at"]
            self._skipped(
                context,
                f"throttled: Xenioo allows one call per {_duration(self.throttle)} and the last "
                f"one was at {last}; next call after {allowed_at.isoformat(timespec='seconds')}. "
                "The stream's state is unchanged",
                allowed_at,
            )
            return
        days, first_day = self.plan_days(context, now.date())
        delivered = self.get_context_state(context).get("replication_key_value")
        call: dict[str, t.Any] = {
            "context": context,
            "started_at": now,
            "days": days,
            "first_day": first_day,
            "scope": self.scope_of(context),
            "delivered": delivered,
            "untyped": [],
        }
        self._call = call
        self.logger.info(
            "%s for %s: asking Xenioo for %d days (%s to %s) grouped by %s.",
            self.name,
            scope,
            days,
            first_day,
            now.date(),
            self.group_mode,
        )
        rows = 0
        try:
            for record in self.request_records(context):
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
            allowed_at = now + self.throttle
            self._skipped(
                context,
                "Xenioo refused the call as throttled, next call after about "
                f"{allowed_at.isoformat(timespec='seconds')}",
                allowed_at,
            )
            return
        finally:
            self._call = None
        # Written only now that every row of the answer went out, so a run killed
        # earlier does not leave the rows unread for the whole throttle window.
        self._remember_call(call)
        self.logger.info("%s for %s: %d rows.", self.name, scope, rows)


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
