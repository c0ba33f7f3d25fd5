"""Where Khoros's download links point: a second loopback server (another port).

The download answers 307 with a short-lived pre-signed URL on this host: it checks the
link's signature and expiry, never needs credentials, and logs every request's headers so a
test can prove our credentials never reach it. Files are JSON (a list of row objects) or CSV,
written as they are generated (chunked), so even a million-row file costs the simulator no
memory; ordinary files (not the bulk ones) are sent whole, with a Content-Length.
"""

from __future__ import annotations

import csv
import io
import json
import typing as t
from collections.abc import Iterator

from support_simulators.framework.files import FileHost, HostedFile

#: Encoded rows are sent in pieces of about this many bytes.
CHUNK_SIZE = 65536


class KhorosFileHost(FileHost):
    name = "khoros-file-host"
    bucket = "khoros-care-exports"


def report_file(
    rows: t.Callable[[], Iterator[dict[str, str]]],
    columns: list[str],
    fmt: str,
    expires: float,
    sized: bool,
) -> HostedFile:
    """A report's file: its rows, made again each time the file is fetched."""
    return HostedFile(
        lambda: encode(rows(), columns, fmt),
        "text/csv" if fmt == "csv" else "application/json",
        expires,
        sized=sized,
    )


def encode(rows: Iterator[dict[str, str]], columns: list[str], fmt: str) -> Iterator[bytes]:
    """The file, encoded as it is generated, in chunks of about CHUNK_SIZE bytes."""
    return _csv(rows, columns) if fmt == "csv" else _json(rows)


def _csv(rows: Iterator[dict[str, str]], columns: list[str]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
        if out.tell() > CHUNK_SIZE:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def _json(rows: Iterator[dict[str, str]]) -> Iterator[bytes]:
    # Rows are encoded a batch at a time (one encoder call per batch, not per row).
    encode_rows = json.JSONEncoder(ensure_ascii=False, separators=(",", ": ")).encode
    yield b"["
    batch: list[dict[str, str]] = []
    first = True
    for row in rows:
        batch.append(row)
        if len(batch) == _JSON_BATCH_ROWS:
            text = encode_rows(batch)[1:-1]
            yield (text if first else "," + text).encode()
            batch, first = [], False
    text = encode_rows(batch)[1:-1] if batch else ""
    yield ((text if first or not text else "," + text) + "]").encode()


#: Rows encoded per batch: about CHUNK_SIZE bytes of ordinary rows.
_JSON_BATCH_ROWS = 200
