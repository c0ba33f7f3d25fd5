"""The simulator framework: a loopback HTTP server, routing, faults and a request log."""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

logger = logging.getLogger("support_simulators")


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: t.Any, status: int = 200, headers: dict[str, str] | None = None
) -> SimResponse:
    return SimResponse(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


def raw_json_response(body: bytes, status: int = 200) -> SimResponse:
    """A body that is already JSON (vendors whose rows are pre-encoded)."""
    return SimResponse(status, body, {"Content-Type": "application/json"})


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: t.Mapping[str, str]
    body: bytes
    match: re.Match | None = None

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> t.Any:
        return json.loads(self.body or b"null")


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


@dataclass
class Faults:
    """What the simulator does wrong, on purpose.

    script: faults used one per request, in order, before any normal answer;
    latency: seconds added to every answer;
    error_rate: chance that an answer is a 503 instead;
    broken_body_rate: chance that a 200's JSON is cut in half;
    rate_limit: requests per second allowed (token bucket with `burst`); beyond it, 429
        with Retry-After.
    """

    script: deque[Fault] = field(default_factory=deque)
    latency: float = 0.0
    error_rate: float = 0.0
    broken_body_rate: float = 0.0
    rate_limit: float | None = None
    burst: int = 1

    def add(self, *faults: Fault) -> None:
        self.script.extend(faults)


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


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when the request arrived


Route = tuple[str, "re.Pattern[str]", t.Callable[[SimRequest], SimResponse]]


class VendorSimulator:
    """Base class: subclasses declare `name`, `routes()` and `authorized()`."""

    name = "vendor"
    #: Paths under this prefix control the simulator itself and need no credentials.
    CONTROL_PREFIX = "/_simulator/"

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 7, faults: Faults | None = None
    ) -> None:
        self.host, self.requested_port, self.seed = host, port, seed
        self.faults = faults or self.default_faults()
        self.requests: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._random = random.Random(seed)
        self._bucket: TokenBucket | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
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

    # ---- lifecycle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> VendorSimulator:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer((self.host, self.requested_port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{self.name}-sim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> VendorSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    # ---- dispatch ----------------------------------------------------------------

    def _control(self, request: SimRequest) -> SimResponse:
        action = request.path[len(self.CONTROL_PREFIX) :]
        if action == "stats":
            counts: dict[str, int] = {}
            for r in self.calls():
                counts[f"{r.method} {r.path} {r.status}"] = (
                    counts.get(f"{r.method} {r.path} {r.status}", 0) + 1
                )
            return json_response({"requests": counts})
        if action == "faults" and request.method == "POST":
            spec = request.json() or {}
            script = [
                Fault(**{**f, "body": f["body"].encode() if f.get("body") else None})
                for f in spec.pop("script", [])
            ]
            for key, value in spec.items():
                if not hasattr(self.faults, key):
                    return json_response({"error": f"unknown fault setting {key!r}"}, 400)
                setattr(self.faults, key, value)
            self.faults.add(*script)
            self._bucket = None
            return json_response({"ok": True})
        if action == "reset" and request.method == "POST":
            self.faults = self.default_faults()
            self._bucket = None
            self.reset_log()
            return json_response({"ok": True})
        return json_response({"error": "unknown control action"}, 404)

    def _next_fault(self, path: str) -> Fault | None:
        script = self.faults.script
        for index, fault in enumerate(script):
            if path.startswith(fault.path_prefix):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                del script[index]
                return fault
        return None

    def dispatch(self, request: SimRequest) -> SimResponse | None:
        """The answer to a request; None means drop the connection."""
        if request.path.startswith(self.CONTROL_PREFIX):
            return self._control(request)
        faults = self.faults
        if faults.latency:
            time.sleep(faults.latency)
        fault = self._next_fault(request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.drop:
                return None
            if fault.location is not None:
                query = urlencode(request.query, doseq=True)
                target = fault.location.replace("{path}", request.path).replace("{query}", query)
                return SimResponse(fault.status or 302, b"", {"Location": target})
            if fault.truncate is None and (fault.status is not None or fault.body is not None):
                retry_after = (
                    fault.retry_after() if callable(fault.retry_after) else fault.retry_after
                )
                headers = {"Retry-After": retry_after} if retry_after else {}
                body = (
                    fault.body
                    if fault.body is not None
                    else json.dumps({"message": "simulated fault"}).encode()
                )
                ctype = "text/html" if body.lstrip().startswith(b"<") else "application/json"
                return SimResponse(fault.status or 200, body, {"Content-Type": ctype, **headers})
        if faults.rate_limit:
            if self._bucket is None:
                self._bucket = TokenBucket(faults.rate_limit, faults.burst)
            wait = self._bucket.take()
            if wait > 0:
                return json_response(
                    {"message": "Too Many Requests"},
                    429,
                    {"Retry-After": str(max(1, math.ceil(wait)))},
                )
        if faults.error_rate and self._random.random() < faults.error_rate:
            return SimResponse(
                503,
                b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                {"Content-Type": "text/html"},
            )
        refusal = self.authorized(request)
        if refusal is not None:
            return refusal
        for method, pattern, handler in self._routes:
            if request.method != method:
                continue
            match = pattern.fullmatch(request.path)
            if match:
                request.match = match
                response = handler(request)
                if fault is not None and fault.truncate is not None:
                    response.body = response.body[: int(len(response.body) * fault.truncate)]
                elif (
                    faults.broken_body_rate
                    and response.status == 200
                    and self._random.random() < faults.broken_body_rate
                ):
                    response.body = response.body[: len(response.body) // 2]
                return response
        return json_response({"message": f"No route for {request.method} {request.path}"}, 404)


def _make_handler(sim: VendorSimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
        # Headers and body go out in separate writes; with Nagle on, each keep-alive
        # answer would wait ~40 ms for a delayed ACK. Real API servers set TCP_NODELAY.
        disable_nagle_algorithm = True
        server_version = f"{sim.name}-simulator"

        def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
            logger.debug("%s: " + format, sim.name, *args)

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            arrived = time.monotonic()
            request = SimRequest(
                self.command,
                parts.path,
                parse_qs(parts.query, keep_blank_values=True),
                self.headers,
                body,
            )
            try:
                response = sim.dispatch(request)
            except Exception as exc:  # a simulator bug must look like a server error, not hang
                logger.exception("%s simulator failed on %s %s", sim.name, self.command, parts.path)
                response = json_response({"message": f"simulator error: {exc}"}, 500)
            status = response.status if response else 0
            if not request.path.startswith(sim.CONTROL_PREFIX):
                with sim._log_lock:
                    sim.requests.append(
                        LoggedRequest(
                            self.command,
                            parts.path,
                            request.query,
                            status,
                            dict(self.headers),
                            arrived,
                        )
                    )
            if response is None:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(response.status)
            headers = {
                "Content-Type": "application/json",
                "Date": formatdate(usegmt=True),
                **response.headers,
            }
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    return Handler
