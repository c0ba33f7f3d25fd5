"""Retry policy shared by every tap: exponential backoff that honours Retry-After.

Retried: HTTP 429, 408 and 5xx, timeouts and dropped connections. When the
response says how long to wait (Retry-After, in seconds or as an HTTP date) we
wait that long, capped by `max_retry_after`; otherwise we back off exponentially.
The whole sequence of waits for one request is bounded by `max_retry_wait`, after
which the run fails with a message saying what kept failing.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import typing as t
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec, TypeGuard, TypeVar

import backoff
import requests
import urllib3
from singer_sdk.exceptions import RetriableAPIError

from support_taps.deadline import AnswerTooSlow
from support_taps.errors import (
    RetriesExhausted,
    UnparseableResponse,
    VendorAPIError,
    endpoint_of,
    looks_like_json,
)
from support_taps.jsonbody import BodyNotJSON, decode
from support_taps.settings import COMMON_SETTINGS, setting_defaults

#: Exceptions that mean "try again later": what a retry can mend. The SDK has no public list
#: to derive this from (0.54 and 0.55 spell theirs inline in `RESTStream.request_decorator`):
#: tests/packaging/test_compat.py checks this is the SDK's, less ContentDecodingError.
RETRIABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    # A 429, 408 or 5xx, or a 2xx whose JSON is cut short (raised by the streams).
    RetriableAPIError,
    # No answer in time: `request_timeout` per wait, `request_deadline` per answer.
    requests.exceptions.Timeout,
    # Refused, reset or dropped connections (a refused one only `max_connect_retries` times).
    ConnectionResetError,
    requests.exceptions.ConnectionError,
    # A body cut off mid-transfer.
    requests.exceptions.ChunkedEncodingError,
)

#: Answers no retry can mend, each reported in one line naming the endpoint (unlike the
#: SDK's list, a body that cannot be decompressed is not retried: it comes back the same).
UNUSABLE_ANSWERS: tuple[type[Exception], ...] = (
    requests.exceptions.TooManyRedirects,
    requests.exceptions.ContentDecodingError,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
)


#: The settings' defaults, declared once, in the config schema every tap shares.
_DEFAULT = setting_defaults(COMMON_SETTINGS)


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried; each field is a setting of COMMON_SETTINGS (whose
    defaults these are)."""

    #: Retries of a connection that could not be made at all (refused, unknown host).
    max_connect_retries: int = _DEFAULT["max_connect_retries"]
    max_tries: int = _DEFAULT["max_retries"] + 1
    base_wait: float = _DEFAULT["retry_base_wait"]
    max_backoff: float = _DEFAULT["max_backoff"]
    max_retry_after: float = _DEFAULT["max_retry_after"]
    max_total_wait: float = _DEFAULT["max_retry_wait"]

    @classmethod
    def from_config(cls, config: dict) -> RetryPolicy:
        """From a tap's config, which the SDK fills with the defaults of COMMON_SETTINGS."""
        return cls(
            max_connect_retries=int(config["max_connect_retries"]),
            max_tries=int(config["max_retries"]) + 1,
            base_wait=float(config["retry_base_wait"]),
            max_backoff=float(config["max_backoff"]),
            max_retry_after=float(config["max_retry_after"]),
            max_total_wait=float(config["max_retry_wait"]),
        )


def retry_after_seconds(
    exc: BaseException | None, now: Callable[[], dt.datetime] | None = None
) -> float | None:
    """Seconds the server asked us to wait, from a RetriableAPIError's response: its
    Retry-After, else its rate-limit reset (`rate_limit_reset_seconds`)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return rate_limit_reset_seconds(response.headers, now)
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    current = now() if now else dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - current).total_seconds())


#: Rate-limit headers naming when the limit window resets (Thena documents the X- form; the
#: IETF draft's is the other).
RESET_HEADERS = ("X-RateLimit-Reset", "RateLimit-Reset")
REMAINING_HEADERS = ("X-RateLimit-Remaining", "RateLimit-Remaining")
#: A reset value this large is an instant (epoch seconds), not a number of seconds to wait.
_EPOCH_SECONDS = 1_000_000_000


def rate_limit_reset_seconds(
    headers: Mapping[str, str], now: Callable[[], dt.datetime] | None = None
) -> float | None:
    """Seconds until the rate-limit window resets, from `X-RateLimit-Reset` (or the IETF
    `RateLimit-Reset`): seconds to wait, or an instant in epoch seconds (milliseconds) when
    the number is that large. Which one a vendor sends is not always published: both read."""
    for name in RESET_HEADERS:
        value = (headers.get(name) or "").strip()
        if not value:
            continue
        try:
            number = float(value)
        except ValueError:
            return None
        if number < _EPOCH_SECONDS:
            return max(0.0, number)
        epoch = number / 1000 if number >= _EPOCH_SECONDS * 1000 else number
        current = (now() if now else dt.datetime.now(dt.timezone.utc)).timestamp()
        return max(0.0, epoch - current)
    return None


def rate_limit_exhausted(headers: Mapping[str, str]) -> bool:
    """Whether a successful answer says no request is left in this window."""
    for name in REMAINING_HEADERS:
        value = (headers.get(name) or "").strip()
        if value:
            try:
                return float(value) <= 0
            except ValueError:
                return False
    return False


def raise_if_truncated(response: requests.Response) -> None:
    """A 2xx JSON body cut short is a transient fault (a proxy or server dropped the rest):
    raise RetriableAPIError so it is retried like a 5xx, inside the same retry budget.

    Call it inside the retried function (the core's streams do, in `validate_response`).
    The decoded payload is kept on the response (`decoded_json`), so it is decoded once.
    A streamed body (a download) is left to its reader.
    """
    if not getattr(response, "_content_consumed", False):  # requests' flag: body read already
        return
    content = response.content
    if not looks_like_json(content):
        return
    try:
        # Kept on the response so the stream decodes a body once (SupportStream.decode_json).
        decoded = decode(content)
        response.decoded_json = decoded.payload  # type: ignore[attr-defined]
        response.json_repairs = decoded.repairs  # type: ignore[attr-defined]
    except BodyNotJSON as exc:
        if exc.kind == "truncated":
            msg = (
                f"HTTP {response.status_code} from {endpoint_of(response)} with its JSON body "
                f"cut short ({len(content)} bytes)"
            )
            raise RetriableAPIError(msg, response) from None


def never_connected(
    exc: BaseException | None,
) -> TypeGuard[requests.exceptions.ConnectionError]:
    """The connection was never made (refused, unknown host), as opposed to dropped mid-answer."""
    if not isinstance(exc, requests.exceptions.ConnectionError) or isinstance(
        exc, requests.exceptions.Timeout
    ):
        return False
    # (A connect *timeout* arrives as requests' ConnectTimeout, a Timeout, excluded above.)
    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def describe_failure(exc: BaseException | None) -> str:
    """What went wrong, in words that carry no URL or credential."""
    response = getattr(exc, "response", None)
    if isinstance(exc, RetriableAPIError) and response is not None and response.status_code < 400:
        return f"a JSON body cut short (HTTP {response.status_code}) from {endpoint_of(response)}"
    if isinstance(exc, RetriableAPIError) and response is not None:
        status = f"HTTP {response.status_code} {response.reason or ''}"
        return f"{status} from {endpoint_of(response)}".replace("  ", " ")
    request = getattr(exc, "request", None)
    where = f" ({endpoint_of(request)})" if request is not None else ""
    if never_connected(exc):
        reason = getattr(exc.args[0], "reason", None)
        kind = (
            "the host name does not resolve"
            if isinstance(reason, urllib3.exceptions.NameResolutionError)
            else ("the connection was refused")
        )
        return f"could not connect{where}: {kind}"
    if isinstance(exc, AnswerTooSlow):
        return f"{exc} (see `request_deadline`)"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"the request timed out{where} (see `request_timeout`)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return f"the response was cut off mid-transfer{where}"
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionResetError)):
        return f"the connection failed or was dropped{where}"
    return type(exc).__name__ if exc else "an unknown error"


def backoff_wait(
    policy: RetryPolicy, attempt: int, rand: Callable[[], float] = random.random
) -> float:
    """The exponential wait before retry `attempt` + 1: base * 2^attempt, with up to 10 %
    jitter (so clients that failed together do not return together), never above the
    documented cap `policy.max_backoff`: the jitter is applied inside the cap, not after."""
    raw = policy.base_wait * 2.0 ** min(attempt, 64)
    jittered = raw * (1 + rand() * 0.1)
    if jittered <= policy.max_backoff:
        return jittered
    # At the cap, jitter downwards: between 90 % and 100 % of the cap.
    return policy.max_backoff * (1 - rand() * 0.1)


def retry_waits(
    policy: RetryPolicy,
    *,
    clock: Callable[[], float] = time.monotonic,
    connect_hint: str = "",
) -> Generator[float, BaseException, None]:
    """Wait generator for `backoff`: receives each failure, yields seconds to wait.

    Raises RetriesExhausted (instead of waiting) when the next wait would take the
    total past `policy.max_total_wait`, or when a connection could not be made
    `policy.max_connect_retries` + 1 times in a row (then with `connect_hint`, which
    names the URL settings).
    """
    started = clock()
    attempt = 0
    unconnected = 0
    exc = yield  # type: ignore[misc]  # primed by backoff with send(None)
    while True:
        unconnected = unconnected + 1 if never_connected(exc) else 0
        if unconnected > policy.max_connect_retries:
            raise RetriesExhausted(connect_failure_message(unconnected, exc, connect_hint))
        hinted = retry_after_seconds(exc)
        if hinted is not None:
            wait = min(hinted, policy.max_retry_after)
        else:
            wait = backoff_wait(policy, attempt)
        attempt += 1
        spent = clock() - started
        if spent + wait > policy.max_total_wait:
            msg = (
                f"Gave up after {attempt} failed attempts and {spent:.0f}s of retrying: "
                f"{describe_failure(exc)}. Waiting {wait:.0f}s more would exceed the retry "
                f"budget (`max_retry_wait` = {policy.max_total_wait:.0f}s). "
                "The vendor is rate limiting or unavailable; try again later or raise the budget."
            )
            raise RetriesExhausted(msg) from None
        exc = yield wait


def unusable_answer(
    exc: BaseException, vendor: str, hint: str = "", request: t.Any = None
) -> UnparseableResponse:
    """One line for an answer no retry can mend (`UNUSABLE_ANSWERS`): a redirect loop, a
    redirect to another scheme (file://), a body that cannot be decompressed. `request` is
    the request sent (requests does not always attach it to the exception)."""
    request = getattr(exc, "request", None) or request
    endpoint = endpoint_of(request) if request is not None else "a request"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        what = f"answered {endpoint} with a redirect loop (more than 30 redirects)"
    elif isinstance(exc, requests.exceptions.ContentDecodingError):
        what = (
            f"sent a body for {endpoint} that cannot be decompressed (it is not in the "
            "Content-Encoding its headers name)"
        )
    else:  # requests could not follow the URL it was sent to
        what = f"redirected {endpoint} to a URL that is not http(s); it was not followed"
    return UnparseableResponse(f"{vendor} {what}. {hint}".strip())


def connect_failure_message(attempts: int, exc: BaseException | None, hint: str) -> str:
    """The error when the vendor could not be reached at all: the URL settings to check."""
    return f"Gave up after {attempts} attempts: {describe_failure(exc)}. {hint}".strip()


def give_up_message(details: Mapping[str, Any], advice: str) -> str:
    """The error once `backoff` stops retrying: attempts, time, the last failure, what to do."""
    return (
        f"Gave up after {details.get('tries')} attempts over {details.get('elapsed', 0):.0f}s: "
        f"{describe_failure(details.get('exception'))}. {advice}"
    )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def with_retries(
    func: Callable[_P, _R],
    policy: RetryPolicy,
    *,
    advice: str = "Raise `max_retries` or try again later.",
    connect_hint: str = "",
    on_backoff: Callable[[Mapping[str, Any]], None] | None = None,
    vendor: str = "The vendor",
    request: Any = None,
) -> Callable[_P, _R]:
    """`func` retried under `policy`, for calls that are not stream requests (e.g. a token
    request): the same exceptions, waits, budget and messages as every stream's requests.
    `request` (anything with `method` and `url`) names the call in a message where requests
    does not attach the request to its exception (a redirect to file://)."""

    def give_up(details: Mapping[str, Any]) -> None:
        exc = details.get("exception")
        if isinstance(exc, VendorAPIError):
            return
        if never_connected(exc):
            raise RetriesExhausted(
                connect_failure_message(details.get("tries", 0), exc, connect_hint)
            ) from None
        raise RetriesExhausted(give_up_message(details, advice)) from None

    def attempt(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return func(*args, **kwargs)
        except UNUSABLE_ANSWERS as exc:
            raise unusable_answer(exc, vendor, connect_hint, args[0] if args else request) from None

    return backoff.on_exception(
        retry_waits,
        RETRIABLE_EXCEPTIONS,
        max_tries=policy.max_tries,
        on_backoff=on_backoff,
        on_giveup=give_up,
        jitter=None,
        logger=None,
        policy=policy,
        connect_hint=connect_hint,
    )(attempt)
