"""What a simulator does wrong on purpose: scripted faults, latency, errors, rate limits."""

from __future__ import annotations

import json
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlencode

from support_simulators.framework.server import SimRequest, SimResponse


@dataclass
class Fault:
    """One scripted misbehaviour, used by the next matching request.

    status: answer with this HTTP status (e.g. 429, 503);
    retry_after: the Retry-After header to send with it (seconds or an HTTP date), or a
        function giving it when the fault is served (for dates relative to that moment);
    body: send this body instead (with `status`, default 200) - an HTML error page,
        truncated JSON;
    delay: seconds to sleep before answering (a slow or timing-out server);
    drop: close the connection without answering;
    skip: let this many matching requests through normally first;
    path_prefix: only requests whose path starts with this are affected;
    location: redirect (with `status`, default 302) to this URL; `{path}` and `{query}`
        in it become the request's path and query string (e.g. another host's
        `http://localhost:9999{path}?{query}`);
    truncate: answer normally but send only this fraction of the body (a 200 whose JSON
        is cut short with a consistent Content-Length: the connection itself is fine).
    """

    status: int | None = None
    retry_after: str | t.Callable[[], str] | None = None
    body: bytes | None = None
    delay: float = 0.0
    drop: bool = False
    skip: int = 0
    path_prefix: str = ""
    location: str | None = None
    truncate: float | None = None

    @classmethod
    def from_json(cls, spec: dict[str, t.Any]) -> Fault:
        """A fault as `POST /_simulator/faults` describes it (`body` is text there)."""
        return cls(**{**spec, "body": spec["body"].encode() if spec.get("body") else None})

    def answer(self, request: SimRequest) -> SimResponse | None:
        """What the fault answers in the route's place; None when the route answers (a fault
        that only delays, or only cuts the route's body short)."""
        if self.location is not None:
            query = urlencode(request.query, doseq=True)
            target = self.location.replace("{path}", request.path).replace("{query}", query)
            return SimResponse(self.status or 302, b"", {"Location": target})
        if self.truncate is not None or (self.status is None and self.body is None):
            return None
        retry_after = self.retry_after() if callable(self.retry_after) else self.retry_after
        headers = {"Retry-After": retry_after} if retry_after else {}
        body = self.body
        if body is None:
            body = json.dumps({"message": "simulated fault"}).encode()
        ctype = "text/html" if body.lstrip().startswith(b"<") else "application/json"
        return SimResponse(self.status or 200, body, {"Content-Type": ctype, **headers})


@dataclass
class Faults:
    """What the simulator does wrong, on purpose.

    script: faults used one per request, in order, before any normal answer;
    latency: seconds added to every answer;
    error_rate: chance that an answer is a 503 instead;
    broken_body_rate: chance that a 200's JSON is cut in half;
    rate_limit: requests per second allowed (token bucket with `burst`); beyond it, 429
        with Retry-After. A simulator whose vendor documents `X-RateLimit-*` headers counts
        it in fixed windows of `rate_window` seconds instead (see `FixedWindow`).
    """

    script: deque[Fault] = field(default_factory=deque)
    latency: float = 0.0
    error_rate: float = 0.0
    broken_body_rate: float = 0.0
    rate_limit: float | None = None
    burst: int = 1
    rate_window: float = 1.0

    def add(self, *faults: Fault) -> None:
        self.script.extend(faults)

    def next_for(self, path: str) -> Fault | None:
        """Take the first scripted fault for `path` (None while it still lets requests by)."""
        for index, fault in enumerate(self.script):
            if path.startswith(fault.path_prefix):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                del self.script[index]
                return fault
        return None

    def update(self, settings: t.Mapping[str, t.Any]) -> str | None:
        """Set each setting named (JSON from the control endpoint); the first unknown name
        stops there and is returned, the ones before it stay set."""
        for key, value in settings.items():
            if not hasattr(self, key):
                return key
            setattr(self, key, value)
        return None


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.capacity = rate, max(1, burst)
        self.tokens = float(self.capacity)
        self.updated = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """Take a token; return 0 if granted, else seconds until one is available."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class FixedWindow:
    """A rate limit counted per fixed window, as `X-RateLimit-Limit/Remaining/Reset` describe
    one: `limit` requests in each `seconds`-long window (windows aligned on the epoch), the
    reset being the instant the current window ends."""

    def __init__(
        self, limit: int, seconds: float, *, clock: t.Callable[[], float] = time.time
    ) -> None:
        self.limit, self.seconds, self._clock = max(1, limit), seconds, clock
        self._window = -1
        self._used = 0
        self.lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """Take a request: (granted, requests left in this window, epoch seconds of its end)."""
        with self.lock:
            now = self._clock()
            window = int(now // self.seconds)
            if window != self._window:
                self._window, self._used = window, 0
            reset = (window + 1) * self.seconds
            if self._used >= self.limit:
                return False, 0, reset
            self._used += 1
            return True, self.limit - self._used, reset
