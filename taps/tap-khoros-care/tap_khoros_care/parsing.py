"""Streaming parsers for Khoros report files: a JSON list of row objects, or CSV.

An export can hold millions of rows, so neither parser ever holds the whole file:
both read the body in chunks and yield one row (a dict of strings) at a time, so
memory stays flat however large the file is.

The JSON parser needs no third-party incremental parser: it cuts the top-level
array into elements with the standard library's C scanner (`raw_decode`) over a
sliding text buffer, which is as fast as decoding the file whole.

Both first look at the body's opening bytes: an error page the file host sent with HTTP
200, an archive, a compressed or UTF-16 file is no report, and is refused before any row.
Errors name positions (row, line, byte) and kinds, never a row's values (customer data).
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
import typing as t
from collections.abc import Callable, Iterable, Iterator

from support_taps.errors import body_snippet, looks_like_json, quoted_text, text_shape

#: Bytes read from the socket at a time.
CHUNK_BYTES = 256 * 1024
#: One row larger than this means the body is not what we expect (or is broken).
MAX_ROW_CHARS = 64 * 1024 * 1024
#: Bytes looked at before the first row, to tell what the body is.
_SNIFF_BYTES = 64 * 1024

_WHITESPACE = " \t\n\r"
_UTF8_BOM = codecs.BOM_UTF8


class ReportFormatError(ValueError):
    """The report file is not a JSON list of objects or a CSV with a header."""


def _mib(chars: int) -> str:
    return f"{chars / 2**20:g} MiB"


def _too_long(row: int, line: int) -> ReportFormatError:
    return ReportFormatError(
        f"row {row} (from line {line}) is longer than {_mib(MAX_ROW_CHARS)}, the limit for "
        f"one row (the body is not a report, or is broken)"
    )


def _peek(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The body's first bytes (up to _SNIFF_BYTES, or all of a shorter body), and all chunks."""
    source = iter(chunks)
    head: list[bytes] = []
    size = 0
    for chunk in source:
        if chunk:
            head.append(chunk)
            size += len(chunk)
            if size >= _SNIFF_BYTES:
                break
    return b"".join(head), itertools.chain(head, source)


def _not_a_report(head: bytes) -> str | None:
    """What a body that is no report file is, from its first bytes, or None."""
    start = head.lstrip()
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16 text (it starts with a UTF-16 byte-order mark); reports are UTF-8"
    if start.startswith(b"<"):
        return f"an HTML or XML page, not a report file: {quoted_text(_text(start), 120)}"
    if head.startswith(b"PK\x03\x04"):
        return "a ZIP archive, not a report file"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip-compressed file (sent without a Content-Encoding), not a report file"
    if b"\x00" in head[:4096]:
        return "UTF-16 text or a binary file (NUL bytes in its first bytes); reports are UTF-8"
    return None


def _text(head: bytes) -> str:
    return head[:4096].decode("utf-8", errors="replace")


def _describe_json(head: bytes) -> str:
    if len(head) < _SNIFF_BYTES:
        return body_snippet(head)
    return f"JSON starting as {'an object' if head.lstrip()[:1] == b'{' else 'a list'}"


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
    head, chunks = _peek(chunks)
    found = _not_a_report(head)
    if found:
        raise ReportFormatError(f"the body is {found}")
    decode = json.JSONDecoder().raw_decode
    texts = _text_chunks(chunks)
    buffer = ""
    pos = 0
    exhausted = False
    lines_before = 1  # the line `buffer[0]` is on

    def refill(least: int = 1) -> bool:
        """Read at least `least` more characters (fewer at the end of the body), joined
        once: a long row grows in large steps, not a copy per chunk."""
        nonlocal buffer, pos, exhausted, lines_before
        if exhausted:
            return False
        parts, size = [], 0
        for more in texts:
            parts.append(more)
            size += len(more)
            if size >= least:
                break
        else:
            exhausted = True
        if not parts:
            return False
        lines_before += buffer.count("\n", 0, pos)
        buffer = buffer[pos:] + "".join(parts)
        pos = 0
        return True

    def line() -> int:
        return lines_before + buffer.count("\n", 0, pos)

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

    def found_at() -> str:
        return f"{text_shape(buffer[pos], 1)} at line {line()}"

    if not skip_whitespace():
        return  # an empty body: no rows
    if buffer[pos] != "[":
        what = _describe_json(head) if looks_like_json(head) else "not JSON"
        raise ReportFormatError(f"expected a JSON list of rows, the body is {what}")
    pos += 1
    expect_value = True  # right after "[" or ","
    row = 0
    while True:
        if not skip_whitespace():
            raise ReportFormatError(
                f"the JSON list ends before its closing ']' after row {row} (truncated download?)"
            )
        char = buffer[pos]
        if char == "]" and (row == 0 or not expect_value):
            pos += 1
            break
        if char == "," and not expect_value:
            pos += 1
            expect_value = True
            continue
        if not expect_value:
            raise ReportFormatError(f"expected ',' or ']' after row {row}, found {found_at()}")
        if char != "{":
            raise ReportFormatError(f"expected a row object as row {row + 1}, found {found_at()}")
        row += 1
        while True:
            try:
                value, end = decode(buffer, pos)
                break
            except json.JSONDecodeError:
                pass
            # Most likely the row continues past what was read: read as much again as the
            # row holds so far (each try costs its length), unless it is past the limit or
            # the body ends.
            held = len(buffer) - pos
            if held > MAX_ROW_CHARS:
                raise _too_long(row, line())
            if not refill(min(max(held, CHUNK_BYTES), MAX_ROW_CHARS + 1 - held)):
                raise ReportFormatError(
                    f"row {row} (from line {line()}) is not valid JSON or is cut off"
                )
        pos = end
        expect_value = False
        yield value
    if skip_whitespace():
        raise ReportFormatError(f"unexpected data after the JSON list of {row} rows: {found_at()}")


def _lines(chunks: Iterable[bytes], warn: Callable[[str], None] | None) -> Iterator[str]:
    """The body's lines as text (each with its line break), none longer than MAX_ROW_CHARS.

    The first line (the header) must be UTF-8; later bytes that are not are read as U+FFFD,
    with one warning naming where the first was.
    """
    offset = 0  # of the next line's first byte in the body
    number = 0
    warned = False

    def text_of(raw: bytes) -> str:
        nonlocal offset, number, warned
        if number == 0 and raw.startswith(_UTF8_BOM):
            raw, offset = raw[len(_UTF8_BOM) :], offset + len(_UTF8_BOM)
        number += 1
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if number == 1:
                raise ReportFormatError(
                    "the CSV header is not UTF-8 text; reports are UTF-8"
                ) from None
            if not warned and warn is not None:
                warn(
                    f"holds bytes that are not UTF-8 (the first at byte {offset + exc.start}); "
                    "they are read as U+FFFD, as the values as sent cannot be kept"
                )
            warned = True
            text = raw.decode("utf-8", errors="replace")
        offset += len(raw)
        return text

    parts: list[bytes] = []  # the line read so far
    size = 0
    for chunk in chunks:
        start = 0
        while (cut := chunk.find(b"\n", start)) >= 0:
            parts.append(chunk[start : cut + 1])
            line = b"".join(parts)
            parts, size = [], 0
            start = cut + 1
            if len(line) > MAX_ROW_CHARS:
                raise _too_long(max(number, 1), number + 1)
            yield text_of(line)
        if start < len(chunk):
            parts.append(chunk[start:] if start else chunk)
            size += len(chunk) - start
            if size > MAX_ROW_CHARS:
                raise _too_long(max(number, 1), number + 1)
    if parts:
        yield text_of(b"".join(parts))


def _cells(cells: list[str]) -> str:
    shown = ", ".join(text_shape(cell) for cell in cells[:6])
    more = ", ..." if len(cells) > 6 else ""
    return f"{len(cells)} cells ({shown}{more})"


def iter_csv_rows(
    chunks: Iterable[bytes],
    columns: t.Collection[str] = (),
    warn: Callable[[str], None] | None = None,
) -> Iterator[dict[str, str]]:
    """Yield CSV rows as dicts keyed by the header, reading `chunks` as they come.

    Quoted fields may hold commas, quotes and line breaks. A row shorter than the
    header gets "" for the missing columns; extra cells are kept under `_extra_<n>`.
    `columns` are those the tap knows for the report: a first line naming none of them is
    no header (an error page, a file without its header) unless it reads like one, and
    then lands with one warning (`warn`), since Khoros does not publish its column names.
    """
    head, chunks = _peek(chunks)
    found = _not_a_report(head)
    if not found and looks_like_json(head):
        found = f"JSON, not a CSV report: {_describe_json(head)}"
    if found:
        raise ReportFormatError(f"the body is {found}")
    csv.field_size_limit(MAX_ROW_CHARS)
    reader = csv.reader(_lines(chunks, warn))
    try:
        header = next(reader, None)
        if header is None:
            return
        if not any(name.strip() for name in header):
            raise ReportFormatError("the CSV header row is empty")
        first = None
        if columns and not set(header) & set(columns):
            first = next(reader, None)
            why = (
                "a single cell"
                if len(header) == 1
                else next(
                    (
                        f"cell {n} has no letter"
                        for n, name in enumerate(header, start=1)
                        if not any(c.isalpha() for c in name)
                    ),
                    "no row follows" if first is None else "",
                )
            )
            if why:
                raise ReportFormatError(
                    f"its first line is not a header of this report: {_cells(header)}, "
                    f"none a column the tap knows for it, and {why}"
                )
            if warn is not None:
                warn(
                    "has a header naming none of the columns the tap knows for this report "
                    f"({_cells(header)}); its rows are kept whole in `fields`, the typed "
                    "columns are empty"
                )
        width = len(header)
        for cells in itertools.chain([first] if first else [], reader):
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
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _too_long(max(reader.line_num - 1, 1), reader.line_num) from None
        raise ReportFormatError(
            f"the CSV cannot be read at line {reader.line_num} ({type(exc).__name__})"
        ) from None
