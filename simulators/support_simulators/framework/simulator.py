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

from support_simulators.framework.faults import Fault, Faults, FixedWindow, TokenBucket
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

#: The column every tap writes the account in, first in every key, and the account of a tap whose
#: vendor names none (support_taps.accounts; the simulators do not depend on the taps).
ACCOUNT_KEY = "_account_id"
DEFAULT_ACCOUNT = "default"

#: What `dispatch`'s steps return for "drop the connection" (None there means "go on").
_DROP = SimResponse(status=0)


class VendorSimulator(LoopbackServer):
    """Base class: subclasses declare `name`, `routes()` and `authorized()`."""

    name = "vendor"
    #: Paths under this prefix control the simulator itself and need no credentials.
    CONTROL_PREFIX = "/_simulator/"
    #: Whether the vendor documents `X-RateLimit-Limit/Remaining/Reset` (reset in epoch
    #: seconds) on its answers: the rate limit is then counted in fixed windows
    #: (`Faults.rate_window`), every answer carries the headers, and a 429 carries only
    #: `X-RateLimit-Reset`. Otherwise a 429 carries Retry-After.
    rate_limit_headers: t.ClassVar[bool] = False

    #: What the simulator does oddly on purpose by default, to show how a tap copes: (a regular
    #: expression matching the warning the tap logs about it, why). The demo labels those
    #: warnings with it.
    deliberate_oddities: t.ClassVar[tuple[tuple[str, str], ...]] = ()

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
        self._window: FixedWindow | None = None
        #: Edits recorded after the moment they describe (see `record_late_edit`).
        self.late_edits: dict[t.Hashable, dict[str, t.Any]] = {}
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

    def tap_settings(self) -> dict[str, str]:
        """The URL settings that point this vendor's tap at the simulator."""
        return {"api_url": self.url}

    def authorized(self, request: SimRequest) -> SimResponse | None:
        """None if the request carries valid credentials, else the vendor's refusal."""
        return None

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        """What a full run of the tap with `tap_config` must deliver, from this simulator's data,
        in the vendor's own keys: for each stream, (key columns, set of key tuples)."""
        raise NotImplementedError

    def default_account(self, tap_config: t.Mapping[str, t.Any]) -> str:
        """The account a tap names its records with when `account_id` is not set: the
        vendor's own identifier where a setting names one (Thena: the workspace), else
        `default` (support_taps.accounts)."""
        return DEFAULT_ACCOUNT

    def forget_calls(self) -> None:
        """Forget what the vendor remembers of past calls (a throttle's last call...): done by
        `POST /_simulator/reset`, so a pipeline can be tried again at once."""

    def relax_limits(self) -> None:
        """Stop enforcing limits that span runs (`support-simulators serve --no-throttle`)."""

    def companions(self) -> list[LoopbackServer]:
        """The other servers this simulator runs (the file host behind a vendor's download
        links): every request a tap makes goes to this simulator or one of them."""
        return []

    def expected_primary_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        """What a full run of the tap with `tap_config` must deliver, from this simulator's data.

        For each stream: (primary key columns, set of primary key tuples), the account first
        (`_account_id`: the tap's `account_id`, else `default_account`), as every tap keys its
        records. The demo, fault-matrix and PostgreSQL tests compare what landed against it.
        """
        account = tap_config.get("account_id") or self.default_account(tap_config)
        return {
            stream: ((ACCOUNT_KEY, *columns), {(account, *key) for key in keys})
            for stream, (columns, keys) in self.expected_vendor_keys(tap_config).items()
        }

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

    # ---- late edits ----------------------------------------------------------------

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """Record, now, an edit of something the vendor already served: from now on it reads
        with `changes`, although the edit describes an earlier moment (a vendor's recording
        lag: a request closed before the last run, visible only after it). What `key` names
        and what `changes` may hold is each simulator's (its docstring says); a JSON list
        key becomes a tuple. `POST /_simulator/late_edit` with `{"key": ..., "changes": ...}`
        does the same."""
        frozen = tuple(key) if isinstance(key, list) else key
        with self._log_lock:
            self.late_edits[frozen] = {**self.late_edits.get(frozen, {}), **changes}

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
        answer = self._scripted(request, fault)
        if answer is not None:
            return None if answer is _DROP else answer
        limit_headers: dict[str, str] = {}
        answer = (
            self._rate_limited(limit_headers)
            or self._unavailable()
            or self.authorized(request)
            or self._route(request, fault)
        )
        if answer is _DROP:
            return None
        if limit_headers:  # a new dictionary: a route may answer with a response it keeps
            answer.headers = {**answer.headers, **limit_headers}
        return answer

    def _scripted(self, request: SimRequest, fault: Fault | None) -> SimResponse | None:
        if fault is None:
            return None
        if fault.delay:
            time.sleep(fault.delay)
        return _DROP if fault.drop else fault.answer(request)

    def _rate_limited(self, limit_headers: dict[str, str]) -> SimResponse | None:
        """A 429 beyond the rate limit; with `rate_limit_headers`, fills `limit_headers` with
        what an answer within the limit carries."""
        if not self.faults.rate_limit:
            return None
        if self.rate_limit_headers:
            return self._window_limited(limit_headers)
        if self._bucket is None:
            self._bucket = TokenBucket(self.faults.rate_limit, self.faults.burst)
        wait = self._bucket.take()
        if wait <= 0:
            return None
        return json_response(
            {"message": "Too Many Requests"}, 429, {"Retry-After": str(max(1, math.ceil(wait)))}
        )

    def _window_limited(self, limit_headers: dict[str, str]) -> SimResponse | None:
        if self._window is None:
            seconds = float(self.faults.rate_window)
            limit = round(float(self.faults.rate_limit or 1) * seconds)
            self._window = FixedWindow(limit, seconds)
        granted, left, reset = self._window.take()
        reset_text = str(math.ceil(reset))  # epoch seconds, as Thena documents
        if not granted:
            return json_response(
                {"message": "Too Many Requests"}, 429, {"X-RateLimit-Reset": reset_text}
            )
        limit_headers.update(
            {
                "X-RateLimit-Limit": str(self._window.limit),
                "X-RateLimit-Remaining": str(left),
                "X-RateLimit-Reset": reset_text,
            }
        )
        return None

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
        if action == "late_edit" and request.method == "POST":
            body = request.json() or {}
            if not isinstance(body, dict) or "key" not in body:
                return json_response({"error": 'expected {"key": ..., "changes": {...}}'}, 400)
            self.record_late_edit(body["key"], body.get("changes") or {})
            return json_response({"ok": True})
        if action == "delete" and request.method == "POST":
            return self._delete(request)
        return json_response({"error": "unknown control action"}, 404)

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an object in the vendor's data (`POST /_simulator/delete {"object": kind,
        "id": object_id}`): from now on it is not listed. KeyError if there is no such object;
        simulators of vendors that delete objects override it."""
        raise KeyError(f"{self.name} has no {kind} to delete")

    def _delete(self, request: SimRequest) -> SimResponse:
        def delete() -> None:
            body = request.json() or {}
            self.delete(str(body["object"]), str(body["id"]))

        return self.control_change(delete)

    @staticmethod
    def control_change(change: t.Callable[[], None]) -> SimResponse:
        """The answer of a control endpoint that changes the data: `{"ok": true}`, 404 naming
        an object or field that is not there, 400 for a value that does not read."""
        try:
            change()
        except KeyError as exc:
            return json_response({"error": f"not found or missing: {exc}"}, 404)
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response({"ok": True})

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
        self._bucket = self._window = None
        return json_response({"ok": True})

    def _reset(self) -> SimResponse:
        self.faults = self.default_faults()
        self._bucket = self._window = None
        self.reset_log()
        self.forget_calls()
        return json_response({"ok": True})
