"""A loopback HTTP server on its own thread: requests and answers, and a stop that is immediate."""

from __future__ import annotations

import json
import logging
import re
import selectors
import socket
import sys
import threading
import time
import typing as t
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from support_simulators.framework.intercept import Answer, Intercept, Intercepts

logger = logging.getLogger("support_simulators")

Server = t.TypeVar("Server", bound="LoopbackServer")


@dataclass
class SimResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: A body sent as it is made, chunked, instead of `body`; it may raise `BreakOff`.
    chunks: t.Iterable[bytes] | None = None
    #: Writes the whole answer itself, status line and headers included, to the connection
    #: (which closes after it): for answers no well-behaved server sends (headers that drip,
    #: a Content-Length that lies). `status` is only what the request log records.
    write: t.Callable[[socket.socket], None] | None = None


class BreakOff(Exception):
    """Raised by a streamed body to drop the connection there (what was sent stays sent)."""


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


class LoopbackServer:
    """An HTTP server on a thread of its own; subclasses answer in `handle`."""

    name = "simulator"
    #: The methods answered; any other gets the standard library's 501.
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "DELETE", "HEAD")
    #: Whether a query's empty values are kept (`a=&b=1` gives `a: [""]`).
    keep_blank_values = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.requested_port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.intercepts = Intercepts()

    # ---- to implement ----------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse | None:
        """The answer to a request; None drops the connection."""
        raise NotImplementedError

    def response_headers(self, response: SimResponse) -> dict[str, str]:
        """The headers sent with `response`, before its length."""
        return response.headers

    # ---- one endpoint answered otherwise (see `framework.intercept`) -----------------

    def intercept(
        self, method: str, path: str | re.Pattern[str], answer: Answer, times: int | None = None
    ) -> Intercept:
        """Answer requests of `method` whose whole path matches `path` (a regular expression)
        with `answer(request, normal)`, the first `times` of them (None: all)."""
        pattern = re.compile(path) if isinstance(path, str) else path
        return self.intercepts.add(Intercept(method, pattern, answer, times))

    def respond(self, request: SimRequest) -> SimResponse | None:
        """The answer sent: an intercept's, else `handle`'s."""
        return self.intercepts.answer(request, lambda: self.handle(request))

    def log_request(self, request: SimRequest, status: int, arrived: float) -> None:
        """Called once a request is answered (status 0: dropped), before the answer is sent."""

    def log_http(self, format: str, *args: t.Any) -> None:  # `format`: the stdlib's name
        logger.debug("%s: " + format, self.name, *args)

    def server_header(self) -> str:
        return self.name

    # ---- lifecycle ---------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self: Server) -> Server:
        self._server = _Server((self.host, self.requested_port), _make_handler(self))
        self._thread = threading.Thread(target=self._server.serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop at once: connections already open finish on their own threads."""
        if self._server:
            self._server.stop()
            if self._thread is not None:
                self._thread.join()
            self._server.server_close()
            self._server = None

    def __enter__(self: Server) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose accept loop wakes the moment it is told to stop.

    `serve_forever` only notices `shutdown()` at its next poll (every 0.5 s by default), so
    each stop cost up to half a second: minutes over a test suite.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        # Before binding: a bind that fails (a busy port) closes the server, and so these.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = threading.Event()
        super().__init__(address, handler)

    def serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self and not self._stopping.is_set():
                        self.handle_request()  # a connection is waiting: accepted at once

    def stop(self) -> None:
        self._stopping.set()
        self._wake_writer.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """A client that went away mid-answer (a tap stopped, timed out or killed: common,
        and on purpose in many tests) is a debug line; anything else is logged with its
        traceback. socketserver's own handler prints both to stderr, where they read as a
        failure of whatever else writes there."""
        error = sys.exc_info()[1]
        if isinstance(error, (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)):
            logger.debug("client %s went away: %s", client_address, error)
        else:
            logger.exception("error answering %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    """One connection's requests, each answered by `owner` (the LoopbackServer)."""

    owner: LoopbackServer
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do
    # Headers and body go out in separate writes; with Nagle on, each keep-alive
    # answer would wait ~40 ms for a delayed ACK. Real API servers set TCP_NODELAY.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: t.Any) -> None:  # `format`: the stdlib's name
        self.owner.log_http(format, *args)

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        arrived = time.monotonic()
        query = parse_qs(parts.query, keep_blank_values=self.owner.keep_blank_values)
        request = SimRequest(self.command, parts.path, query, self.headers, body)
        response = self._answer(request)
        self.owner.log_request(request, response.status if response else 0, arrived)
        if response is None:
            self.close_connection = True
            self.connection.close()
        else:
            self._send(response)

    def _answer(self, request: SimRequest) -> SimResponse | None:
        try:
            return self.owner.respond(request)
        except Exception as exc:  # a simulator bug must look like a server error, not hang
            logger.exception(
                "%s simulator failed on %s %s", self.owner.name, request.method, request.path
            )
            return json_response({"message": f"simulator error: {exc}"}, 500)

    def _send(self, response: SimResponse) -> None:
        if response.write is not None:
            self.close_connection = True
            try:
                response.write(self.connection)
            except OSError:
                pass  # the client gave up first (a deadline shut its socket)
            return
        self.send_response(response.status)
        for key, value in self.owner.response_headers(response).items():
            self.send_header(key, value)
        if response.chunks is not None:
            self._send_chunked(response.chunks)
            return
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _send_chunked(self, chunks: t.Iterable[bytes]) -> None:
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except (BreakOff, BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _make_handler(owner: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    """The handler class for `owner`'s server: its methods, its Server header."""
    methods = {f"do_{method}": _Handler._handle for method in owner.methods}
    return type(
        "Handler", (_Handler,), {"owner": owner, "server_version": owner.server_header(), **methods}
    )
