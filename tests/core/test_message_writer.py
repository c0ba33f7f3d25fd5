"""The batched message writer hands the target whole lines, whatever stdout's `write` does."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time

from support_taps.writer import BufferedMsgSpecWriter

WHEN = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)


class _Trickle(io.RawIOBase):
    """A raw stdout (as under PYTHONUNBUFFERED) whose `write` takes at most 1,000 bytes,
    as a pipe's does when a signal interrupts it."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.calls = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self.calls += 1
        taken = bytes(data[:1000])
        self.received += taken
        return len(taken)


class _Stdout:
    def __init__(self, buffer: _Trickle) -> None:
        self.buffer = buffer

    def flush(self) -> None:
        pass


def test_a_partial_write_of_stdout_loses_nothing(monkeypatch):
    raw = _Trickle()
    monkeypatch.setattr(sys, "stdout", _Stdout(raw))
    writer = BufferedMsgSpecWriter()
    records = [{"id": n, "text": "x" * (n % 300)} for n in range(2000)]
    for record in records:
        writer.write_record("tickets", record, None, WHEN)
    writer.flush()
    lines = raw.received.decode().splitlines()
    assert [json.loads(line)["record"] for line in lines] == records
    assert raw.calls > len(raw.received) // 1000  # the writes were partial, and were resumed


CHILD = """
import datetime as dt, os, signal, sys
from support_taps.writer import BufferedMsgSpecWriter
signal.signal(signal.SIGUSR1, lambda *_: None)  # a handler: a blocked write returns partial
writer = BufferedMsgSpecWriter()
when = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
for n in range(20000):
    writer.write_record("tickets", {"id": n, "text": "x" * 200}, None, when)
writer.flush()
# No signal past this point: the interpreter restores the default (fatal) action as it exits.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
os._exit(0)
"""


def test_signals_during_blocked_writes_to_a_full_pipe_lose_nothing():
    """The real case: PYTHONUNBUFFERED, the target reading slowly, signals arriving."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    received = bytearray(child.stdout.read1(4096))  # its handler is in place from now on
    while chunk := child.stdout.read1(4096):
        received += chunk
        if child.poll() is None:
            child.send_signal(signal.SIGUSR1)
            time.sleep(0.001)
    assert child.wait(timeout=30) == 0
    ids = [json.loads(line)["record"]["id"] for line in received.decode().splitlines()]
    assert ids == list(range(20000))
