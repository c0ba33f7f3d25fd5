"""The base of every vendor simulator: control endpoints, faults, rate limit, auth, routing."""

from __future__ import annotations

import math
import random
import re
import threading
import time
import typing as t
from dataclasses import dataclass, field
from email.utils import formatdate

from support_simulators.framework.faults import Fault, Faults, TokenBucket
from support_simulators.framework.server import (
    LoopbackServer,
    SimRequest,
    SimResponse,
    json_response,
)


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when the request arrived


Route = tuple[str, "re.Pattern[str]", t.Callable[[SimRequest], SimResponse]]

#: What `dispatch`'s steps return for "drop the connection" (None there means "go on").
_DROP = SimResponse(status=0)


class VendorSimulator(LoopbackServer):
    """Base class: subclasses declare `name`, `routes()` and `authorized()`."""

    name = "vendor"
    #: Paths under this prefix control the simulator itself and need no credentials.
    CONTROL_PREFIX = "/_simulator/"

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 7, faults: Faults | None = None
    ) -> None:
        super().__init__(host, port)
        self.seed = seed
        self.faults = faults or self.default_faults()
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._random = random.Random(seed)
        self._bucket: TokenBucket | None = None
        #: Requests being answered now, and the most at once since the last reset (how many
        #: requests a client keeps open).
        self.open_requests = 0
        self.peak_open_requests = 0
        self._routes: list[Route] = list(self.routes())

    # ---- to implement ----------------------------------------------------------

    def default_faults(self) -> Faults:
        """How the vendor behaves by default (e.g. its published rate limit); also used on reset."""
        return Faults()

    def routes(self) -> t.Iterable[Route]:
        return []

    def authorized(self, request: SimRequest) -> SimResponse | None:
        """None if the request carries valid credentials, else the vendor's refusal."""
        return None

    def expected_primary_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        """What a full run of the tap with `tap_config` must deliver, from this simulator's data.

        For each stream: (primary key columns, set of primary key tuples). The demo test
        compares the DuckDB tables against it.
        """
        raise NotImplementedError

    # ---- the server's hooks --------------------------------------------------------

    def server_header(self) -> str:
        return f"{self.name}-simulator"

    def handle(self, request: SimRequest) -> SimResponse | None:
        return self.dispatch(request)

    def response_headers(self, response: SimResponse) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Date": formatdate(usegmt=True),
            **response.headers,
        }

    def log_request(self, request: SimRequest, status: int, arrived: float) -> None:
        if request.path.startswith(self.CONTROL_PREFIX):
            return
        entry = LoggedRequest(
            request.method, request.path, request.query, status, dict(request.headers), arrived
        )
        with self._log_lock:
            self.requests.append(entry)

    # ---- observation -----------------------------------------------------------

    def calls(self, path_prefix: str = "", status: int | None = None) -> list[LoggedRequest]:
        with self._log_lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path_prefix) and (status is None or r.status == status)
            ]

    def reset_log(self) -> None:
        with self._log_lock:
            self.requests.clear()
            self.peak_open_requests = self.open_requests

    # ---- dispatch ----------------------------------------------------------------

    def dispatch(self, request: SimRequest) -> SimResponse | None:
        """The answer to a request; None means drop the connection.

        The first step with an answer gives it: the simulator's own control endpoints, then
        what the vendor does wrong on purpose (a scripted fault, the rate limit, a random 503),
        then the credentials, then the route. Requests being answered are counted
        (`peak_open_requests`).
        """
        if request.path.startswith(self.CONTROL_PREFIX):
            return self.control(request)
        with self._log_lock:
            self.open_requests += 1
            self.peak_open_requests = max(self.peak_open_requests, self.open_requests)
        try:
            return self._answer(request)
        finally:
            with self._log_lock:
                self.open_requests -= 1

    def _answer(self, request: SimRequest) -> SimResponse | None:
        if self.faults.latency:
            time.sleep(self.faults.latency)
        fault = self.faults.next_for(request.path)
        answer = (
            self._scripted(request, fault)
            or self._rate_limited()
            or self._unavailable()
            or self.authorized(request)
            or self._route(request, fault)
        )
        return None if answer is _DROP else answer

    def _scripted(self, request: SimRequest, fault: Fault | None) -> SimResponse | None:
        if fault is None:
            return None
        if fault.delay:
            time.sleep(fault.delay)
        return _DROP if fault.drop else fault.answer(request)

    def _rate_limited(self) -> SimResponse | None:
        if not self.faults.rate_limit:
            return None
        if self._bucket is None:
            self._bucket = TokenBucket(self.faults.rate_limit, self.faults.burst)
        wait = self._bucket.take()
        if wait <= 0:
            return None
        return json_response(
            {"message": "Too Many Requests"}, 429, {"Retry-After": str(max(1, math.ceil(wait)))}
        )

    def _unavailable(self) -> SimResponse | None:
        if not (self.faults.error_rate and self._random.random() < self.faults.error_rate):
            return None
        return SimResponse(
            503,
            b"<html><body><h1>503 Service Unavailable</h1></body></html>",
            {"Content-Type": "text/html"},
        )

    def _route(self, request: SimRequest, fault: Fault | None) -> SimResponse:
        for method, pattern, handler in self._routes:
            if request.method != method:
                continue
            match = pattern.fullmatch(request.path)
            if match:
                request.match = match
                return self._spoil(handler(request), fault)
        return json_response({"message": f"No route for {request.method} {request.path}"}, 404)

    def _spoil(self, response: SimResponse, fault: Fault | None) -> SimResponse:
        """Cut the body short: all of it a scripted `truncate` asks, or half at random."""
        if fault is not None and fault.truncate is not None:
            response.body = response.body[: int(len(response.body) * fault.truncate)]
        elif (
            self.faults.broken_body_rate
            and response.status == 200
            and self._random.random() < self.faults.broken_body_rate
        ):
            response.body = response.body[: len(response.body) // 2]
        return response

    # ---- control endpoints (/_simulator/...) ----------------------------------------

    def control(self, request: SimRequest) -> SimResponse:
        action = request.path[len(self.CONTROL_PREFIX) :]
        if action == "stats":
            return self._stats()
        if action == "faults" and request.method == "POST":
            return self._set_faults(request.json() or {})
        if action == "reset" and request.method == "POST":
            return self._reset()
        return json_response({"error": "unknown control action"}, 404)

    def _stats(self) -> SimResponse:
        counts: dict[str, int] = {}
        for r in self.calls():
            key = f"{r.method} {r.path} {r.status}"
            counts[key] = counts.get(key, 0) + 1
        return json_response({"requests": counts, "peak_open_requests": self.peak_open_requests})

    def _set_faults(self, spec: dict[str, t.Any]) -> SimResponse:
        script = [Fault.from_json(f) for f in spec.pop("script", [])]
        unknown = self.faults.update(spec)
        if unknown is not None:
            return json_response({"error": f"unknown fault setting {unknown!r}"}, 400)
        self.faults.add(*script)
        self._bucket = None
        return json_response({"ok": True})

    def _reset(self) -> SimResponse:
        self.faults = self.default_faults()
        self._bucket = None
        self.reset_log()
        return json_response({"ok": True})
