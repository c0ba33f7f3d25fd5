"""The shared retry policy: Retry-After parsing, backoff growth, the total-wait budget."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from support_taps.errors import RetriesExhausted
from support_taps.retry import RetryPolicy, retry_after_seconds, retry_waits

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone.utc)


def _error(status: int = 429, retry_after: str | None = None) -> RetriableAPIError:
    response = requests.Response()
    response.status_code = status
    response.reason = "Too Many Requests"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    response.request = requests.Request("GET", "http://127.0.0.1/v1/things?secret=1").prepare()
    return RetriableAPIError("x", response)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        (format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - dt.timedelta(seconds=90), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_in_seconds_or_http_date(header, seconds):
    assert retry_after_seconds(_error(retry_after=header), now=lambda: NOW) == seconds


def test_no_response_means_no_hint():
    assert retry_after_seconds(requests.exceptions.ConnectionError("boom")) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _waits(policy: RetryPolicy, errors: list[BaseException], clock: FakeClock) -> list[float]:
    generator = retry_waits(policy, clock=clock)
    next(generator)
    waits = []
    for error in errors:
        wait = generator.send(error)
        waits.append(wait)
        clock.now += wait
    return waits


def test_exponential_backoff_doubles_and_is_capped():
    policy = RetryPolicy(base_wait=1, max_backoff=8, max_total_wait=10_000)
    waits = _waits(policy, [requests.exceptions.Timeout()] * 6, FakeClock())
    for wait, base in zip(waits, [1, 2, 4, 8, 8, 8], strict=True):
        if base < 8:
            assert base <= wait <= base * 1.1  # up to 10% jitter, never less
        else:
            assert base * 0.9 <= wait <= base  # at the cap the jitter stays inside it


def test_retry_after_is_honoured_exactly_and_capped():
    policy = RetryPolicy(max_retry_after=60, max_total_wait=10_000)
    assert _waits(policy, [_error(retry_after="5"), _error(retry_after="600")], FakeClock()) == [
        5.0,
        60.0,
    ]


def test_budget_stops_retrying_with_a_message():
    policy = RetryPolicy(max_retry_after=300, max_total_wait=100)
    clock = FakeClock()
    generator = retry_waits(policy, clock=clock)
    next(generator)
    assert generator.send(_error(retry_after="60")) == 60.0
    clock.now += 60
    with pytest.raises(RetriesExhausted) as caught:
        generator.send(_error(retry_after="60"))
    message = str(caught.value)
    assert "HTTP 429 Too Many Requests from GET /v1/things" in message
    assert "`max_retry_wait` = 100s" in message
    assert "secret" not in message  # the query string is never quoted


def test_policy_reads_settings():
    policy = RetryPolicy.from_config(
        {
            "max_retries": 2,
            "max_retry_after": 9,
            "max_retry_wait": 99,
            "retry_base_wait": 0.5,
            "max_backoff": 7,
            "max_connect_retries": 4,
        }
    )
    assert policy == RetryPolicy(
        max_tries=3,
        max_retry_after=9.0,
        max_total_wait=99.0,
        base_wait=0.5,
        max_backoff=7.0,
        max_connect_retries=4,
    )


def test_the_policy_defaults_are_the_settings_defaults():
    """Declared once, in the config schema every tap shares: a tap's config filled by the SDK
    and a policy built without arguments agree."""
    from support_taps.settings import COMMON_SETTINGS, setting_defaults

    defaults = setting_defaults(COMMON_SETTINGS)
    assert RetryPolicy() == RetryPolicy.from_config(defaults)
    assert set(defaults) >= {"max_backoff", "max_connect_retries", "max_retries"}


def test_the_backoff_cap_and_connect_retries_are_settings():
    import urllib3

    from support_taps.retry import backoff_wait

    policy = RetryPolicy(max_backoff=5, max_connect_retries=0, max_total_wait=10**9)
    assert max(backoff_wait(policy, attempt, lambda: 0.999) for attempt in range(20)) <= 5
    refused = requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(
            None, "/", urllib3.exceptions.NewConnectionError(None, "refused")
        )
    )
    waits = retry_waits(policy, connect_hint="Check `api_url`.")
    next(waits)
    with pytest.raises(RetriesExhausted, match="Gave up after 1 attempts.*Check `api_url`"):
        waits.send(refused)


def test_backoff_waits_never_exceed_the_documented_cap_even_with_jitter():
    from support_taps.retry import backoff_wait

    policy = RetryPolicy(base_wait=1.0, max_backoff=60.0, max_total_wait=10**9, max_tries=100)
    # The worst case for jitter (rand() == 1) and the best (rand() == 0), at every attempt.
    for attempt in range(12):
        for rand in (lambda: 0.999999, lambda: 0.0):
            assert backoff_wait(policy, attempt, rand) <= 60.0
    assert (
        backoff_wait(policy, 5, lambda: 0.999999) > 33
    )  # 32 s plus jitter: still exponential below the cap
    assert 54.0 <= backoff_wait(policy, 10, lambda: 0.999999) <= 60.0  # jitter inside the cap
    clock = FakeClock()
    waits = _waits(policy, [_error(status=503) for _ in range(40)], clock)
    assert max(waits) <= 60.0 and max(waits) > 54.0


# ---- documented rate-limit headers (Thena's X-RateLimit-*) ------------------------------------


def _rate_limited(headers: dict[str, str]) -> RetriableAPIError:
    response = requests.Response()
    response.status_code = 429
    response.headers.update(headers)
    return RetriableAPIError("HTTP 429", response)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"X-RateLimit-Reset": "17"}, 17.0),  # seconds to wait
        ({"X-RateLimit-Reset": str(int(NOW.timestamp()) + 42)}, 42.0),  # an instant (epoch s)
        ({"X-RateLimit-Reset": str(int(NOW.timestamp() * 1000) + 5000)}, 5.0),  # epoch ms
        ({"RateLimit-Reset": "3"}, 3.0),  # the IETF draft's spelling
        ({"Retry-After": "9", "X-RateLimit-Reset": "17"}, 9.0),  # Retry-After first
        ({"X-RateLimit-Reset": "soon"}, None),
        ({"X-RateLimit-Remaining": "0"}, None),
    ],
)
def test_a_429_with_only_a_rate_limit_reset_waits_for_the_reset(headers, seconds):
    assert retry_after_seconds(_rate_limited(headers), now=lambda: NOW) == seconds


def test_the_last_request_of_a_window_holds_the_next_until_the_reset():
    from support_taps.pacing import RateHold
    from support_taps.retry import rate_limit_exhausted

    assert rate_limit_exhausted({"X-RateLimit-Remaining": "0"})
    assert not rate_limit_exhausted({"X-RateLimit-Remaining": "3"})
    assert not rate_limit_exhausted({})
    clock = [100.0]
    slept: list[float] = []
    hold = RateHold(clock=lambda: clock[0], sleep=slept.append)
    assert hold.wait() == 0.0
    hold.hold(30)
    hold.hold(5)  # a later, shorter hold does not shorten the first
    clock[0] += 10
    assert hold.wait() == 20.0 and slept == [20.0]
