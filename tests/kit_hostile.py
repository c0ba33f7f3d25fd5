"""Servers that answer as a hostile vendor would, on loopback: what the simulators never do."""

from __future__ import annotations

import socket
import threading
import time
import typing as t

from support_simulators.framework import LoopbackServer, SimRequest, SimResponse

BODY = b'{"data": [1, 2, 3]}'


class DripServer:
    """Answers each request on a kept-alive connection: `mode` 'body' drips the body after
    prompt headers, 'headers' drips the status line and headers, 'prompt' answers at once."""

    def __init__(self, mode: str, gap: float = 0.2) -> None:
        self.mode, self.gap = mode, gap
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.served = 0
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/things"

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while not self.closed.is_set():
                try:
                    if not conn.recv(65536):
                        return
                    head = (
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(BODY)}\r\n\r\n".encode()
                    )
                    self.served += 1
                    if self.mode == "headers":
                        self._drip(conn, head + BODY)
                    elif self.mode == "body":
                        conn.sendall(head)
                        self._drip(conn, BODY)
                    else:
                        conn.sendall(head + BODY)
                except OSError:
                    return

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            conn.sendall(data[index : index + 1])
            time.sleep(self.gap)

    def close(self) -> None:
        self.closed.set()
        self.sock.close()


# ---- for the hostile-answer matrix (tests/hostile/) --------------------------------------------


class Elsewhere(LoopbackServer):
    """Another host, where a hostile vendor's redirects lead: it logs every request whole
    (request line, headers, body: a credential must never reach it) and answers 404."""

    name = "elsewhere"

    def __init__(self) -> None:
        super().__init__("127.0.0.1", 0)
        self.requests: list[str] = []
        self._lock = threading.Lock()

    def handle(self, request: SimRequest) -> SimResponse:
        query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
        headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
        text = f"{request.method} {request.path}?{query}\n{headers}\n\n"
        with self._lock:
            self.requests.append(text + request.body.decode("utf-8", "replace"))
        return SimResponse(
            404, b"<html><body>Not here</body></html>", {"Content-Type": "text/html"}
        )

    def log_http(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    @property
    def named_url(self) -> str:
        """Its URL by another host name than the simulators' (127.0.0.1)."""
        return f"http://localhost:{self.port}"


def http_head(status: int, headers: dict[str, str]) -> bytes:
    """A status line and headers, as a server writes them."""
    reason = {200: "OK"}.get(status, "Whatever")
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def dripping(data: bytes, gap: float, *, after: int = 0) -> t.Callable[[socket.socket], None]:
    """A raw answer (`SimResponse.write`): the first `after` bytes at once, then one byte
    every `gap` seconds, until the client gives up or the data ends."""

    def write(conn: socket.socket) -> None:
        conn.sendall(data[:after])
        for index in range(after, len(data)):
            time.sleep(gap)
            conn.sendall(data[index : index + 1])

    return write


def stalling(started: threading.Event, limit: float = 60.0) -> t.Callable[[socket.socket], None]:
    """A raw answer that never comes: the connection stays open, silent, until the client
    closes it (or `limit` seconds pass); `started` is set when it begins."""

    def write(conn: socket.socket) -> None:
        started.set()
        conn.settimeout(limit)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return write
