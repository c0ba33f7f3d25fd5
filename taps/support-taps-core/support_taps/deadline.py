"""One deadline per request: connecting, the headers and the whole body, within a total time.

`requests` bounds each socket operation (`timeout`), not the answer: a server that sends its
headers and then a byte a second, or drips the headers themselves, keeps a request alive
forever. Here every socket a request uses while a deadline is armed (on this thread) is
registered, and one watchdog thread shuts those sockets down when the deadline passes: the
blocked read returns at once and the request fails as `AnswerTooSlow`, a timeout, which the
core retries like any other.

`CredentialGuardSession` arms a deadline for each request it sends. A caller that streams a
body (a report file, sent with `stream=True`: the deadline covered its connection and
headers) reads it with `read_body`: a file may be too large for any fixed total, so past
`seconds` the body goes on only while it keeps coming, at `MIN_BODY_RATE` at least over each
further `seconds` of reading; a body that drips ends like any answer past its deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import typing as t
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from support_taps.errors import endpoint_of

#: Bytes a second a body read with `read_body` must keep coming at, over each `seconds` of
#: reading: a large file on a slow link completes (4 KiB/s: 14 MiB an hour), a body dripping a
#: byte at a time does not. Our choice: no vendor publishes one.
MIN_BODY_RATE = 4 * 1024
#: Bytes asked of the connection per read of such a body: what came is counted per read
#: (a read returns once it has them), so at `MIN_BODY_RATE` one read takes 2 seconds.
_READ_BYTES = 8 * 1024


class AnswerTooSlow(requests.exceptions.ReadTimeout):
    """The answer did not complete within its deadline (a timeout: retried)."""


class _Watch:
    """The sockets one deadline covers, and whether it has passed."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what = seconds, what
        self.at = time.monotonic() + seconds
        self.sockets: list[socket.socket] = []
        self.expired = False
        #: The block ended: its sockets went back to the pool, maybe to another request.
        self.done = False
        self.lock = threading.Lock()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            self.sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self.lock:
            if self.done:
                return
            self.expired = True
            sockets = list(self.sockets)
        for sock in sockets:
            _shut(sock)

    def finish(self) -> None:
        with self.lock:
            self.done = True
            self.sockets = []

    def due(self, now: float) -> float | None:
        """Its time came: expire (None), or the time to look again."""
        self.expire()
        return None


class _BodyWatch(_Watch):
    """A streamed body's deadline: each `seconds` of reading must bring `min_rate` bytes a
    second. The time the caller spends with what it read (a target slow to take the rows)
    is not reading: only the server's pace counts."""

    def __init__(self, seconds: float, what: str, min_rate: float) -> None:
        super().__init__(seconds, what)
        self.min_rate = min_rate
        #: Bytes, and seconds spent reading, in the current `seconds` of reading.
        self.got, self.spent = 0, 0.0
        self.reading_since: float | None = None

    def resume(self) -> None:
        with self.lock:
            self.reading_since = time.monotonic()

    def pause(self, got: int) -> None:
        with self.lock:
            if self.reading_since is not None:
                self.spent += time.monotonic() - self.reading_since
            self.reading_since = None
            self.got += got

    def due(self, now: float) -> float | None:
        with self.lock:
            if self.done:
                return None
            reading = self.reading_since
            spent = self.spent + (now - reading if reading is not None else 0.0)
            if spent < self.seconds:
                return now + self.seconds - spent
            if self.got >= self.min_rate * self.seconds:
                self.got, self.spent = 0, 0.0
                self.reading_since = now if reading is not None else None
                return now + self.seconds
        self.expire()
        return None


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


class _Watchdog:
    """One daemon thread for the process: expires each watch at its time."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Watch]] = []
        self._done_count = 0
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def arm(self, watch: _Watch) -> None:
        with self._wake:
            if self._done_count > 1000 and self._done_count * 2 > len(self._heap):
                # Most requests end long before their deadline: forget those, so the heap
                # stays as small as the requests in flight.
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._done_count = 0
            heapq.heappush(self._heap, (watch.at, next(self._order), watch))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="request-deadlines", daemon=True
                )
                self._thread.start()
            self._wake.notify()

    def finished(self) -> None:
        with self._wake:
            self._done_count += 1

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _, _, watch = heapq.heappop(self._heap)
                    again = watch.due(now)
                    if again is not None:
                        heapq.heappush(self._heap, (again, next(self._order), watch))
                timeout = self._heap[0][0] - now if self._heap else None
                self._wake.wait(timeout)


_watchdog = _Watchdog()
_current = threading.local()


def _active() -> _Watch | None:
    return getattr(_current, "watch", None)


@contextlib.contextmanager
def deadline(seconds: float | None, what: str = "the answer") -> Iterator[_Watch | None]:
    """Every request sent on this thread inside the block, and every body read, must be
    done `seconds` after the block starts; past it, its sockets are shut and reads fail
    (see `AnswerTooSlow`). Nested blocks keep the outer (earlier) deadline. None: no limit."""
    outer = _active()
    if seconds is None or outer is not None:
        yield outer
        return
    watch = _Watch(float(seconds), what)
    _current.watch = watch
    _watchdog.arm(watch)
    try:
        yield watch
    finally:
        _current.watch = None
        watch.finish()
        _watchdog.finished()


def read_body(
    response: requests.Response,
    chunk_bytes: int,
    seconds: float | None,
    *,
    min_rate: float = MIN_BODY_RATE,
) -> Iterator[bytes]:
    """The body of `response` (sent with `stream=True`), decoded, in chunks of about
    `chunk_bytes`: done within `seconds` of reading, or coming at `min_rate` bytes a second
    at least over each further `seconds`; else its connection is shut and the read fails as
    `AnswerTooSlow`. None: no limit (the caller's `request_timeout` bounds each wait)."""
    if seconds is None:
        yield from response.iter_content(chunk_bytes)
        return
    what = f"the body of {endpoint_of(response)}"
    watch = _BodyWatch(float(seconds), what, min_rate)
    # The connection the body is read from (urllib3's response holds it until the end).
    watch.add(getattr(getattr(response.raw, "connection", None), "sock", None))
    _watchdog.arm(watch)
    reads = response.iter_content(_READ_BYTES)
    held = bytearray()
    try:
        while True:
            part: bytes | None = None
            watch.resume()
            try:
                part = next(reads, None)
            except Exception:
                if watch.expired:
                    raise _body_too_slow(watch, response) from None
                raise
            finally:
                watch.pause(len(part) if part else 0)
            if watch.expired:  # a body cut at its deadline may end "cleanly"
                raise _body_too_slow(watch, response)
            if part is None:
                break
            held += part
            if len(held) >= chunk_bytes:
                yield bytes(held)
                held.clear()
        if held:
            yield bytes(held)
    finally:
        watch.finish()
        _watchdog.finished()


def _body_too_slow(watch: _BodyWatch, response: requests.Response) -> AnswerTooSlow:
    least = watch.min_rate * watch.seconds / 1024
    return AnswerTooSlow(
        f"{watch.what} did not complete within {watch.seconds:g}s of reading, nor keep coming "
        f"at {watch.min_rate / 1024:g} KiB/s (under {least:.0f} KiB in its last "
        f"{watch.seconds:g}s)",
        request=response.request,
    )


def too_slow(watch: _Watch | None, request: requests.PreparedRequest) -> AnswerTooSlow | None:
    """The timeout to raise when `watch` expired (else None): its sockets were shut."""
    if watch is None or not watch.expired:
        return None
    return AnswerTooSlow(
        f"{watch.what} did not complete within {watch.seconds:g}s", request=request
    )


class _WatchedConnection(HTTPConnection):
    """Registers its socket with the deadline armed on the sending thread."""

    def connect(self) -> None:
        super().connect()
        watch = _active()
        if watch is not None:
            watch.add(self.sock)

    def request(self, *args: t.Any, **kwargs: t.Any) -> None:
        watch = _active()
        if watch is not None and self.sock is not None:
            watch.add(self.sock)  # a kept-alive connection, connected before the deadline
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections report their sockets to the armed deadline."""

    def init_poolmanager(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # urllib3's public per-manager table
            "http": _WatchedPool,
            "https": _WatchedHTTPSPool,
        }
