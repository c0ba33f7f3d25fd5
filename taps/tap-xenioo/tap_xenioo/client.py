"""Xenioo's base stream: the account auth token, statistics paths, DAYS and throttles."""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from http import HTTPStatus

import msgspec
import requests
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.exceptions import RetriableAPIError
from support_taps.client import SupportStream
from support_taps.compat import authenticator_session, default_expiration
from support_taps.errors import (
    CredentialsRejected,
    UnparseableResponse,
    VendorAPIError,
    body_snippet,
    endpoint_of,
)
from support_taps.normalize import to_integer, to_number, to_text
from support_taps.redaction import redact
from support_taps.retry import RetryPolicy, describe_failure, with_retries
from support_taps.windows import parse_utc

UTC = dt.timezone.utc
DEFAULT_API_URL = "https://publicapi.xenioo.com"
AUTH_PATH = "/authorization/integration"
#: How far back the statistics endpoints reach (DAYS accepts 1..30).
MAX_DAYS = 30

#: The documented statistic types (account endpoint: 0..17; the per-bot one adds 18).
STATISTIC_TYPES: dict[int, str] = {
    0: "New User", 1: "Returning User", 2: "Active User", 3: "Messages", 4: "Action Messages",
    5: "Fallback Reply", 6: "NLP Detected", 7: "NLP Missed", 8: "Conversation Length",
    9: "Time To Pick Up", 10: "Takeover Rate", 11: "Support Conversation Length", 12: "Goal Reached",
    13: "Incoming Message", 14: "API Request", 15: "API Request Error", 16: "Time To First Message",
    17: "Operator Message", 18: "Tag Hit",
}
ACCOUNT_TYPES = tuple(range(18))
BOT_TYPES = tuple(range(19))
GROUP_MODES = ("hour", "day", "month", "year")

# Xenioo does not publish its throttle error; it answers other throttles with HTTP 400.
_THROTTLE_WORDS = re.compile(rb"throttl|too many (calls|requests)|once per|per hour|rate.?limit", re.IGNORECASE)
_json = msgspec.json.Decoder()


def auth_endpoint(config: t.Mapping[str, t.Any]) -> str:
    """`auth_url` (the service endpoint) + /authorization/integration, unless already there."""
    base = str(config.get("auth_url") or "").strip().rstrip("/")
    if not base:
        msg = "Set `auth_url`: the Xenioo service endpoint where the auth token is obtained (Settings > Developers)."
        raise ValueError(msg)
    if not base.startswith(("http://", "https://")):
        msg = f"The setting `auth_url` must be an http(s) URL, got {base!r}."
        raise ValueError(msg)
    return base if base.endswith(AUTH_PATH) else base + AUTH_PATH


class XeniooThrottled(VendorAPIError):
    """Xenioo refused a statistics call made inside its throttle window."""


class XeniooAuthenticator(OAuthAuthenticator):
    """The account auth token: POST {"AccountAPIKey"} to the service endpoint.

    Xenioo answers {"token": ..., "expires": <minutes>} (older pages spell them
    "Token"/"Expires"). The SDK's OAuthAuthenticator renews the token before each
    request once it is about to expire; `invalidate()` forces a renewal when Xenioo
    refuses one. One instance serves every stream of a run.
    """

    #: Renew this long before the announced expiry (clocks and slow calls).
    RENEW_MARGIN = dt.timedelta(seconds=60)

    def __init__(self, *, account_api_key: str, endpoint: str, policy: RetryPolicy, timeout: float,
                 logger: t.Any) -> None:
        super().__init__(auth_endpoint=endpoint, default_expiration=3600)
        self._account_api_key = account_api_key
        self._policy = policy
        self._timeout = timeout
        self.logger = logger
        self.renewals = 0
        #: The time source for expiry (replaceable in tests).
        self.clock: t.Callable[[], dt.datetime] = lambda: dt.datetime.now(UTC)

    @property
    def oauth_request_body(self) -> dict:
        return {"AccountAPIKey": self._account_api_key}

    def is_token_valid(self) -> bool:
        if self.access_token is None or self.last_refreshed is None:
            return False
        age = (self.clock() - self.last_refreshed).total_seconds()
        return age < (self.expires_in or 0) - self.RENEW_MARGIN.total_seconds()

    def invalidate(self) -> None:
        self.last_refreshed = None

    def update_access_token(self) -> None:
        requested_at = self.clock()
        response = self._post_with_retries()
        where = endpoint_of(response)
        status = response.status_code
        if status == HTTPStatus.NOT_FOUND:
            msg = (f"Xenioo does not know the account API key (HTTP 404 from {where}): check the "
                   "`account_api_key` setting (Profile section of your Xenioo account) and `auth_url`.")
            raise CredentialsRejected(msg)
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            msg = (f"Xenioo refused the account API key (HTTP {status} from {where}): the account may be a free "
                   "one or not allowed to use the Global Platform API; check `account_api_key`.")
            raise CredentialsRejected(msg)
        if status >= HTTPStatus.BAD_REQUEST:
            msg = f"Xenioo rejected the token request {where} with HTTP {status}: {body_snippet(response.content)}"
            raise VendorAPIError(msg)
        try:
            payload = _json.decode(response.content)
        except msgspec.DecodeError:
            payload = None
        fields = {str(k).lower(): v for k, v in payload.items()} if isinstance(payload, dict) else {}
        token = fields.get("token")
        if not isinstance(token, str) or not token:
            msg = (f"Xenioo's token answer from {where} has no `token` (HTTP {status}). "
                   f"First bytes: {body_snippet(response.content)}")
            raise UnparseableResponse(msg)
        redact.add(token)  # the token is a credential: never in logs or errors
        minutes = to_number(fields.get("expires"))
        self.access_token = token
        self.expires_in = int(minutes * 60) if minutes is not None and minutes > 0 else default_expiration(self)
        self.last_refreshed = requested_at
        self.renewals += 1
        self.logger.info("Obtained a Xenioo auth token, valid for %d minutes.", self.expires_in // 60)

    def _post_with_retries(self) -> requests.Response:
        return with_retries(
            self._post_token_request,
            self._policy,
            advice="Could not obtain a Xenioo auth token: check `auth_url` or try again later.",
            connect_hint=f"Could not obtain a Xenioo auth token: check the `auth_url` setting (now {self.auth_endpoint}).",
            on_backoff=lambda details: self.logger.warning(
                "Retrying the token request in %.1fs: %s", details.get("wait", 0),
                describe_failure(details.get("exception"))),
        )()

    def _post_token_request(self) -> requests.Response:
        response = authenticator_session(self).post(self.auth_endpoint, json=self.oauth_request_body, timeout=self._timeout)
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR or response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
            raise RetriableAPIError(f"HTTP {response.status_code}", response)
        return response


def throttle_message(response: requests.Response) -> bool:
    """Whether a response is Xenioo's throttle refusal (HTTP 400/429 that says so)."""
    return response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.TOO_MANY_REQUESTS) and bool(
        _THROTTLE_WORDS.search(response.content[:2000] or b""))


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

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._call: dict[str, t.Any] | None = None
        self._unparsed_labels: set[str] = set()
        self._renewed_after_refusal = False

    # ---- URL and auth ---------------------------------------------------------------------

    @property
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @property
    def path(self) -> str:  # what the SDK's request metrics log: the template, no key
        return self.statistics_path

    @property
    def authenticator(self) -> XeniooAuthenticator:
        return self._tap.xenioo_authenticator  # one token for every stream of the run

    @property
    def group_mode(self) -> str:
        return str(self.config.get("group_mode") or "day")

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
            "APIKEY": requests.utils.quote(self.api_key_for(context), safe="*"),
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
            msg = (f"Xenioo refused the {self.endpoint_title} call {endpoint_of(response)} as throttled "
                   f"(HTTP {status}): {body_snippet(response.content)}")
            raise XeniooThrottled(msg)
        if status == HTTPStatus.UNAUTHORIZED:
            if not self._renewed_after_refusal:
                # The token expired early or was revoked: get a new one and try again, once.
                self._renewed_after_refusal = True
                self.authenticator.invalidate()
                self.logger.info("Xenioo refused the auth token (HTTP 401) for %s: renewing the auth token "
                                 "and asking again.", endpoint_of(response))
                raise RetriableAPIError(self.response_error_message(response), response)
            msg = (f"Xenioo refused a freshly obtained auth token (HTTP 401) for {endpoint_of(response)}: "
                   "check `account_api_key` and that `auth_url` is the service endpoint of this account.")
            raise CredentialsRejected(msg)
        if status == HTTPStatus.NOT_FOUND:
            msg = (f"Xenioo answered HTTP 404 Not Found for {endpoint_of(response)} ({self.scope_phrase()}): "
                   "the account or bot was not found. Check the bot keys in `bots`, `account_bot` and "
                   f"`api_url` (in use: {redact(self.url_base)}).")
            raise VendorAPIError(msg)
        super().validate_response(response)
        self._renewed_after_refusal = False

    def scope_phrase(self) -> str:
        scope = (self._call or {}).get("scope", "*")
        return "all bots" if scope == "*" else f"bot {scope!r}"

    def parse_response(self, response: requests.Response) -> t.Iterable[dict]:
        self._remember_call()
        rows = self.expect_list(self.decode_json(response), response)
        call = self._call or {}
        first_day: dt.date = call["first_day"]
        delivered: str | None = call["delivered"]
        dropped = 0
        for raw in rows:
            if not isinstance(raw, dict):
                msg = (f"Xenioo sent a {type(raw).__name__} inside the statistics array for {endpoint_of(response)}; "
                       f"objects were expected. First bytes: {body_snippet(response.content)}")
                raise UnparseableResponse(msg)
            record = self.make_record(raw, call)
            start = record.get("period_start")
            if start is not None and start[:10] < first_day.isoformat() and delivered and delivered >= start:
                # A bucket that starts before the first day this call covers holds only
                # part of its period (month/year modes); an earlier run delivered it
                # with more of its days in reach: keep that value, not this one.
                dropped += 1
                continue
            yield record
        if dropped:
            self.logger.info("Left out %d %s buckets that start before %s: they are only partly inside the %d "
                             "days asked for and an earlier run delivered them.", dropped, self.group_mode, first_day,
                             call.get("days"))

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
                self.logger.warning("Xenioo sent a GroupLabel that is not a date, %r; period_start is null.", text)
            return None
        return moment.isoformat()

    # ---- DAYS, throttle and state ---------------------------------------------------------------

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)

    def plan_days(self, context: t.Mapping | None, today: dt.date) -> tuple[int, dt.date]:
        """DAYS for this call and the first day it covers.

        From the bookmark (the start of the newest bucket emitted, re-read because it
        was still filling) or start_date; without either, the 30 days the API reaches.
        DAYS=n is read as the n days ending today; if Xenioo counts one more, that day
        is simply left out.
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
        lost_until = reach - dt.timedelta(days=1)
        self.logger.warning(
            "%s: Xenioo's statistics reach back %d days, to %s. The dates %s to %s (%d days) for %s can no "
            "longer be fetched: %s was last read up to %s. Run the tap at least every %d days to avoid gaps.",
            self.name, MAX_DAYS, reach, wanted_from, lost_until, (lost_until - wanted_from).days + 1,
            self.scope_phrase_for(context), self.name, wanted_from, MAX_DAYS - 1,
        )
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

    def _remember_call(self) -> None:
        """Xenioo answered: its throttle window runs from now, whatever happens next."""
        call = self._call
        if call is None or call.get("remembered"):
            return
        call["remembered"] = True
        state = self.get_context_state(call["context"])
        state["last_called_at"] = call["started_at"].isoformat()
        self.write_state_now()

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        now = self.now()
        scope = self.scope_phrase_for(context)
        allowed_at = self.throttle_wait(context, now)
        if allowed_at is not None:
            self.logger.warning(
                "Skipping %s for %s: Xenioo allows one call per %s and the last one was at %s; the next is "
                "possible after %s. The stream's state is unchanged.",
                self.name, scope, _duration(self.throttle), self.get_context_state(context)["last_called_at"],
                allowed_at.isoformat(timespec="seconds"),
            )
            return
        days, first_day = self.plan_days(context, now.date())
        delivered = self.get_context_state(context).get("replication_key_value")
        self._call = {"context": context, "started_at": now, "days": days, "first_day": first_day,
                      "scope": self.scope_of(context), "delivered": delivered}
        self.logger.info("%s for %s: asking Xenioo for %d days (%s to %s) grouped by %s.",
                         self.name, scope, days, first_day, now.date(), self.group_mode)
        try:
            yield from self.request_records(context)
        except XeniooThrottled as exc:
            self.logger.warning(
                "%s for %s stopped: %s. Xenioo allows one call per %s; this stream's state is unchanged and "
                "the next run will ask again.", self.name, scope, exc, _duration(self.throttle))
        finally:
            self._call = None


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


def statistic_code(raw: dict, event_label: str | None, requested: tuple[int, ...]) -> int | None:
    """The statistic type of an object: its `Type`, else its label if that names a type,
    else the only type asked for."""
    code = to_integer(raw.get("Type"))
    if code is not None:
        return code
    by_name = {name.lower(): c for c, name in STATISTIC_TYPES.items()}
    if event_label and event_label.lower() in by_name:
        return by_name[event_label.lower()]
    return requested[0] if len(requested) == 1 else None
