"""One deadline per request: connecting, the headers and the whole body, within a total time.

`requests` bounds each socket operation (`timeout`), not the answer: a server that sends its
headers and then a byte a second, or drips the headers themselves, keeps a request alive
forever. Here every socket a request uses while a deadline is armed (on this thread) is
registered, and one watchdog thread shuts those sockets down when the deadline passes: the
blocked read returns at once and the request fails as `AnswerTooSlow`, a timeout, which the
core retries like any other.

`CredentialGuardSession` arms a deadline for each request it sends; a caller that streams a
body (a report file) keeps the deadline armed while it reads with `deadline(seconds, what)`.
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
                    watch.expire()
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
