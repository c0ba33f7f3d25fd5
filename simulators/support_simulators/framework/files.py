"""A pre-signed download host: the second loopback server behind a vendor's export links."""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
import typing as t
from dataclasses import dataclass

from support_simulators.framework.faults import Faults
from support_simulators.framework.server import BreakOff, LoopbackServer, SimRequest, SimResponse


@dataclass
class HostedFile:
    chunks: t.Callable[[], t.Iterator[bytes]]  # the file's bytes, made as they are sent
    content_type: str
    expires: float  # time.time() past which the link is refused
    sized: bool = False  # sent whole with a Content-Length (else chunked, as it is made)


class FileHost(LoopbackServer):
    """Files behind short-lived signed links, like S3's; no credentials needed.

    Links carry an HMAC signature and an expiry (`link_ttl`). Every request is logged with
    its headers (`requests`), so a test can prove a client's credentials never reach it.
    `cut_next` makes the next N files break off after `cut_after_bytes` bytes (a dropped
    connection); `expire_next` makes the next N links count as expired; `faults` (scripted
    `Fault`s, as every simulator has) answer in a file's place: an error page sent with
    HTTP 200, an archive, a file in another encoding, a slow or dropped answer.
    """

    name = "file-host"
    methods = ("GET",)
    keep_blank_values = False
    #: The first segment of every file's path.
    bucket = "exports"

    def __init__(self, host: str = "127.0.0.1", link_ttl: float = 300.0) -> None:
        super().__init__(host, 0)
        self.link_ttl = link_ttl
        self.requests: list[dict[str, t.Any]] = []
        self.files: dict[str, HostedFile] = {}
        self.cut_next, self.cut_after_bytes = 0, 4096
        self.expire_next = 0
        self.faults = Faults()
        self._secret = b"file-host-signing-key"
        self._lock = threading.Lock()
        self._counter = 0

    def log_http(self, format: str, *args: t.Any) -> None:  # `format`: the stdlib's name
        pass  # the request line is a signed link: as good as a credential while it lasts

    def log_request(self, request: SimRequest, status: int, arrived: float) -> None:
        entry = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": dict(request.headers),
        }
        with self._lock:
            self.requests.append(entry)

    # ---- links ---------------------------------------------------------------------

    def publish(self, hosted: HostedFile, name: str, key: str | None = None) -> str:
        """A signed link to `hosted`, valid until `hosted.expires`.

        `key` (hex digits) names the file in the link's path, as an S3 object key does: a file
        published again under its key gets a link with the same path and a new signature and
        expiry, as when a vendor hands out a fresh link to the same file. Without one, each
        link has a path of its own."""
        with self._lock:
            if key is None:
                self._counter += 1
                key = hashlib.sha256(f"{self._counter}:{time.time()}".encode()).hexdigest()[:24]
            token = key
            self.files[token] = hosted
        expires = f"{hosted.expires:.3f}"
        return (
            f"{self.url}/{self.bucket}/{token}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires={int(self.link_ttl)}&Expires={expires}"
            f"&X-Amz-Signature={self._sign(token, expires)}"
        )

    def _sign(self, token: str, expires: str) -> str:
        return hmac.new(self._secret, f"{token}:{expires}".encode(), hashlib.sha256).hexdigest()

    def check(self, path: str, query: dict[str, list[str]]) -> HostedFile | str:
        """The file a link names, or why it is refused (S3's error code or message)."""
        match = re.fullmatch(rf"/{re.escape(self.bucket)}/([0-9a-f]+)/[^/]+", path)
        hosted = self.files.get(match.group(1)) if match else None
        if match is None or hosted is None:
            return "NoSuchKey"
        expires = (query.get("Expires") or ["0"])[0]
        signature = (query.get("X-Amz-Signature") or [""])[0]
        if not hmac.compare_digest(self._sign(match.group(1), expires), signature):
            return "SignatureDoesNotMatch"
        with self._lock:
            expire = self.expire_next > 0
            self.expire_next -= expire
        if expire or time.time() > float(expires):
            return "Request has expired"
        return hosted

    # ---- answers -------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse | None:
        fault = self.faults.next_for(request.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            answer = None if fault.drop else fault.answer(request)
            if fault.drop or answer is not None:
                return answer
        hosted = self.check(request.path, request.query)
        if isinstance(hosted, str):
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                f"<Message>{hosted}</Message></Error>"
            ).encode()
            status = 403 if hosted != "NoSuchKey" else 404
            return SimResponse(status, body, {"Content-Type": "application/xml"})
        with self._lock:
            cut = self.cut_next > 0
            if cut:
                self.cut_next -= 1
        headers = {"Content-Type": hosted.content_type}
        if hosted.sized and not cut:  # an ordinary file, whole in memory: its size, as S3 sends
            return SimResponse(200, b"".join(hosted.chunks()), headers)
        chunks = hosted.chunks()
        if cut:
            chunks = self._cut(chunks, self.cut_after_bytes)
        return SimResponse(200, b"", headers, chunks=chunks)

    @staticmethod
    def _cut(chunks: t.Iterator[bytes], after: int) -> t.Iterator[bytes]:
        """The first `after` bytes, then a dropped connection."""
        sent = 0
        for chunk in chunks:
            if sent + len(chunk) > after:
                yield chunk[: max(0, after - sent)]
                raise BreakOff
            yield chunk
            sent += len(chunk)
