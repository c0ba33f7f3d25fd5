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
from kit_hostile import DripServer

from support_taps.deadline import AnswerTooSlow, deadline, read_body
from support_taps.http import CredentialGuardSession


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


# ---- a streamed body (a report file): `read_body` -------------------------------------------


class _SteadyServer:
    """Answers one request with prompt headers, then `size` bytes in parts of `part` bytes,
    one every `gap` seconds: a large file on a slow but steady link."""

    def __init__(self, size: int, part: int, gap: float) -> None:
        self.size, self.part, self.gap = size, part, gap
        self.sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/files/report.json"

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode()
            conn.sendall(head)
            for start in range(0, self.size, self.part):
                conn.sendall(b"x" * min(self.part, self.size - start))
                time.sleep(self.gap)
            time.sleep(1)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("server", ["body"], indirect=True)
def test_a_streamed_body_that_drips_fails_naming_its_request_and_the_rate(server):
    # Issue 18: a report file's body had no deadline (only its headers did).
    session = CredentialGuardSession(deadline=1.0)
    response = session.get(server.url, timeout=5, stream=True)  # the headers come at once
    started = time.monotonic()
    with pytest.raises(AnswerTooSlow) as raised:
        b"".join(read_body(response, 1024, 1.0))
    assert time.monotonic() - started < 2.5
    assert str(raised.value) == (
        "the body of GET /v1/things did not complete within 1s of reading, nor keep coming at "
        "4 KiB/s (under 4 KiB in its last 1s)"
    )


def test_a_large_body_coming_steadily_outlasts_the_deadline():
    # 160 KiB at about 80 KiB/s: twice the deadline, but never slower than the minimum rate.
    server = _SteadyServer(size=160 * 1024, part=8 * 1024, gap=0.1)
    try:
        session = CredentialGuardSession(deadline=1.0)
        started = time.monotonic()
        response = session.get(server.url, timeout=5, stream=True)
        body = b"".join(read_body(response, 32 * 1024, 1.0))
        assert len(body) == 160 * 1024
        assert time.monotonic() - started > 1.5
    finally:
        server.close()


@pytest.mark.parametrize("server", ["prompt"], indirect=True)
def test_time_the_caller_spends_with_a_body_is_not_counted_against_the_server(server):
    # The server sent everything at once; the caller (a target slow to take the rows) holds
    # each part longer than the deadline. Only reading counts: a rate of 1 MiB/s still holds.
    session = CredentialGuardSession(deadline=0.3)
    response = session.get(server.url, timeout=5, stream=True)
    parts = []
    for part in read_body(response, 4, 0.3, min_rate=1024 * 1024):
        parts.append(part)
        time.sleep(0.5)
    assert b"".join(parts) == b'{"data": [1, 2, 3]}'
    time.sleep(0.5)  # its watch ended with the body: the kept-alive socket serves again
    assert session.get(server.url, timeout=5).json() == {"data": [1, 2, 3]}
