"""One deadline per request: a server that drips its headers or its body cannot hold a run.

A raw socket server on loopback answers as a hostile vendor would: the headers, then one byte
at a time (or the headers themselves byte by byte), each byte well inside `request_timeout`,
so only a deadline on the whole answer ends the request.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from support_taps.deadline import AnswerTooSlow, deadline
from support_taps.http import CredentialGuardSession

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


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[DripServer]:
    drip = DripServer(request.param)
    yield drip
    drip.close()


@pytest.mark.parametrize("server", ["body", "headers"], indirect=True)
def test_a_dripping_answer_fails_at_the_deadline_though_each_byte_comes_in_time(server):
    session = CredentialGuardSession(deadline=1.0)
    started = time.monotonic()
    with pytest.raises(AnswerTooSlow, match=r"the answer to GET /v1/things .*within 1s"):
        # Each byte comes 0.2 s after the last: a 5 s socket timeout never fires.
        session.get(server.url, timeout=5)
    assert time.monotonic() - started < 2.5
    assert server.served == 1


@pytest.mark.parametrize("server", ["prompt"], indirect=True)
def test_a_prompt_answer_passes_and_its_kept_alive_socket_outlives_the_deadline(server):
    session = CredentialGuardSession(deadline=0.5)
    assert session.get(server.url, timeout=5).json() == {"data": [1, 2, 3]}
    time.sleep(0.8)  # the first request's deadline has passed: it must not shut the socket
    assert session.get(server.url, timeout=5).json() == {"data": [1, 2, 3]}
    assert server.served == 2


@pytest.mark.parametrize("server", ["body"], indirect=True)
def test_a_streamed_body_is_bounded_by_the_callers_deadline(server):
    session = CredentialGuardSession()  # no deadline of its own: the caller's covers the body
    started = time.monotonic()
    with pytest.raises(requests.RequestException), deadline(1.0, "the report file"):
        response = session.get(server.url, timeout=5, stream=True)
        b"".join(response.iter_content(1))
    assert time.monotonic() - started < 2.5
