"""Streaming parsers for Khoros report files: a JSON list of row objects, or CSV.

An export can hold millions of rows, so neither parser ever holds the whole file:
both read the body in chunks and yield one row (a dict of strings) at a time, so
memory stays flat however large the file is.

The JSON parser needs no third-party incremental parser: it cuts the top-level
array into elements with the standard library's C scanner (`raw_decode`) over a
sliding text buffer, which is as fast as decoding the file whole.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import typing as t
from collections.abc import Iterable, Iterator

#: Bytes read from the socket at a time.
CHUNK_BYTES = 256 * 1024
#: One row larger than this means the body is not what we expect (or is broken).
MAX_ROW_CHARS = 64 * 1024 * 1024

_WHITESPACE = " \t\n\r"


class ReportFormatError(ValueError):
    """The report file is not a JSON list of objects or a CSV with a header."""


def _text_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    for chunk in chunks:
        if chunk:
            text = decoder.decode(chunk)
            if text:
                yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def iter_json_rows(chunks: Iterable[bytes]) -> Iterator[dict[str, t.Any]]:
    """Yield the objects of a top-level JSON array, reading `chunks` as they come."""
    decode = json.JSONDecoder().raw_decode
    texts = _text_chunks(chunks)
    buffer = ""
    pos = 0
    exhausted = False

    def refill() -> bool:
        nonlocal buffer, pos, exhausted
        if exhausted:
            return False
        try:
            more = next(texts)
        except StopIteration:
            exhausted = True
            return False
        buffer = buffer[pos:] + more
        pos = 0
        return True

    def skip_whitespace() -> bool:
        """Move past whitespace; False at the end of the body."""
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in _WHITESPACE:
                pos += 1
            if pos < len(buffer):
                return True
            if not refill():
                return False

    if not skip_whitespace():
        return  # an empty body: no rows
    if buffer[pos] != "[":
        raise ReportFormatError(
            f"expected a JSON list of rows, the body starts with {buffer[pos : pos + 40]!r}"
        )
    pos += 1
    expect_value = True  # right after "[" or ","
    first = True
    while True:
        if not skip_whitespace():
            raise ReportFormatError(
                "the JSON list ends before its closing ']' (truncated download?)"
            )
        char = buffer[pos]
        if char == "]" and (first or not expect_value):
            pos += 1
            break
        if char == "," and not expect_value:
            pos += 1
            expect_value = True
            continue
        if not expect_value:
            raise ReportFormatError(
                f"expected ',' or ']' between rows, found {buffer[pos : pos + 40]!r}"
            )
        if char != "{":
            raise ReportFormatError(f"expected a row object, found {buffer[pos : pos + 40]!r}")
        while True:
            try:
                row, end = decode(buffer, pos)
                break
            except json.JSONDecodeError:
                # Most likely the row continues in the next chunk; if there is none,
                # or it never ends, the body is broken.
                if len(buffer) - pos > MAX_ROW_CHARS or not refill():
                    raise ReportFormatError(
                        f"a row is not valid JSON or is cut off: {buffer[pos : pos + 60]!r}"
                    ) from None
        pos = end
        first = False
        expect_value = False
        yield row
    if skip_whitespace():
        raise ReportFormatError(f"unexpected data after the JSON list: {buffer[pos : pos + 40]!r}")


class _ChunkReader(io.RawIOBase):
    """A read-only binary file over an iterator of byte chunks (for TextIOWrapper)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: t.Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def iter_csv_rows(chunks: Iterable[bytes]) -> Iterator[dict[str, str]]:
    """Yield CSV rows as dicts keyed by the header, reading `chunks` as they come.

    Quoted fields may hold commas, quotes and line breaks. A row shorter than the
    header gets "" for the missing columns; extra cells are kept under `_extra_<n>`.
    """
    text = io.TextIOWrapper(
        io.BufferedReader(_ChunkReader(chunks), buffer_size=CHUNK_BYTES),
        encoding="utf-8-sig",
        errors="replace",
        newline="",
    )
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    if not any(name.strip() for name in header):
        raise ReportFormatError("the CSV header row is empty")
    width = len(header)
    for cells in reader:
        if not cells:
            continue  # a blank line
        if len(cells) == width:
            yield dict(zip(header, cells, strict=False))
            continue
        row = dict(zip(header, cells, strict=False))
        if len(cells) < width:
            row.update({name: "" for name in header[len(cells) :]})
        else:
            row.update({f"_extra_{n}": value for n, value in enumerate(cells[width:], start=1)})
        yield row
