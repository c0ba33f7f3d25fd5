"""Client-side request pacing: stay under a vendor's rate limit.

A token bucket shared by every stream (and thread) of a tap run: at most `rate`
requests per second on average, with bursts of up to `burst`, where the vendor publishes
a rate. And a hold, for every tap: when an answer says the limit window has no request
left (`X-RateLimit-Remaining: 0`), no request goes out before the window resets.
Pacing is cheaper than being told off with a 429, and it is what the vendor asks for;
429s are still honoured by the retry policy when they come anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RequestPacer:
    def __init__(
        self,
        rate: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            msg = f"A request rate must be positive, got {rate}."
            raise ValueError(msg)
        self.rate = float(rate)
        self.burst = max(1, int(burst))
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()

    def acquire(self) -> float:
        """Block until a request may be sent; return the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1  # reserve our slot now, so waiting threads queue fairly
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


class RateHold:
    """No request before a moment the vendor named (its rate-limit window's reset)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        self._until = 0.0
        self._lock = threading.Lock()

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` from now (a later hold never shortens an earlier one)."""
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> float:
        """Block until the hold is over; return the seconds waited."""
        with self._lock:
            wait = self._until - self._clock()
        if wait > 0:
            self._sleep(wait)
            return wait
        return 0.0
