"""The Singer message writer: msgspec encoding, records batched, STATE flushed at once.

The SDK's msgspec writer flushes stdout after every message: one system call per
record (and stdout is often unbuffered anyway: PYTHONUNBUFFERED is common in
containers and CI). Records only need to reach the target before the STATE that
covers them, so this writer gathers records in a 64 KiB batch and writes the
batch whenever it fills up and before any other message. Order is unchanged, so
state can never run ahead of the records it covers.

A RECORD message is serialised once, from its parts, straight into the batch
(`write_record`): the same bytes as the SDK's msgspec writer, without its message object,
its dictionary and its own buffer for every record.
"""

from __future__ import annotations

import atexit
import datetime as dt
import select
import sys
import typing as t
from collections.abc import Callable

from singer_sdk.contrib.msgspec import MsgSpecWriter, encoder
from singer_sdk.singerlib.messages import RecordMessage

from support_taps.cli import TargetClosed, silence_stdout

if t.TYPE_CHECKING:
    from singer_sdk.singerlib.encoding.simple import Message

_BATCH_BYTES = 64 * 1024


class BufferedMsgSpecWriter(MsgSpecWriter):
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = bytearray()
        #: Set while a message is being written: a termination signal then waits for the
        #: write to finish, so the target never receives half a line.
        self.writing = False
        self.on_written: Callable[[], None] | None = None
        #: The target closed the pipe: nothing more is written.
        self.closed = False
        atexit.register(self.flush)  # records emitted before an error still reach the target

    def write_message(self, message: Message) -> None:
        self.writing = True
        try:
            self._pending += self.format_message(message)
            if len(self._pending) >= _BATCH_BYTES or not isinstance(message, RecordMessage):
                self._flush()
        finally:
            self.writing = False
        if self.on_written is not None:
            self.on_written()

    def write_record(
        self,
        stream: str,
        record: dict[str, t.Any],
        version: int | None,
        time_extracted: dt.datetime,
    ) -> None:
        """A RECORD message, as `RecordMessage.to_dict` orders its fields (time_extracted in
        UTC), added to the batch."""
        message: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        self.writing = True
        try:
            pending = self._pending
            encoder.encode_into(message, pending, -1)
            pending += b"\n"
            if len(pending) >= _BATCH_BYTES:
                self._flush()
        finally:
            self.writing = False
        if self.on_written is not None:
            self.on_written()

    def flush(self) -> None:
        self.writing = True
        try:
            self._flush()
        finally:
            self.writing = False

    def _flush(self) -> None:
        if self.closed:
            return
        try:
            if self._pending:
                _write_all(sys.stdout.buffer, self._pending)
                self._pending.clear()
            sys.stdout.flush()
        except BrokenPipeError:
            # The target stopped reading: nothing more can reach it (and the interpreter's
            # last flush must not fail again); the run ends with one line saying so.
            self.closed = True
            self._pending.clear()
            silence_stdout()
            raise TargetClosed(32, "the target closed the pipe") from None


def _write_all(out: t.BinaryIO, data: bytearray) -> None:
    """Write every byte of `data` to `out`.

    With PYTHONUNBUFFERED (common in containers and CI) `sys.stdout.buffer` is the raw file,
    whose `write` may write only part of what it is given (a signal arriving while a pipe
    is full): the rest would be lost and the target would receive half a line.
    """
    done = 0
    with memoryview(data) as view:
        while done < len(view):
            with view[done:] as rest:
                written = out.write(rest)
            if written is None:  # a non-blocking stdout that is full: wait until it drains
                select.select([], [out], [])
                continue
            done += written
