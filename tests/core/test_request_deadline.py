"""One deadline per request: a server that drips its headers or its body cannot hold a run.

A raw socket server on loopback answers as a hostile vendor would: the headers, then one byte
at a time (or the headers themselves byte by byte), each byte well inside `request_timeout`,
so only a deadline on the whole answer ends the request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from kit_hostile import DripServer

from support_taps.deadline import AnswerTooSlow, deadline
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
