"""The requests a tap makes, declared where they are made.

A stream's own request is its `http_method` and `path` under its `api_url_setting`; a stream
that makes other requests besides (a token, a report job's status and download, a file on a
host the vendor hands out) lists them in `extra_endpoints`. `SupportStream.endpoints()` gives
both, and `tap_endpoints(tap)` every endpoint of a tap with the streams that use it: what the
hostile-answer matrix (tests/hostile/) intercepts, one endpoint at a time, and what its test
checks every request of a run against, so that an endpoint nobody declared fails a test.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

if t.TYPE_CHECKING:
    from singer_sdk import Tap

#: `{name}` in a declared path: one segment the tap fills in (an id, a key, a report type).
_PLACEHOLDER = re.compile(r"\{[^{}/]+\}")

#: The kind of a stream's own request.
RECORDS = "records"


@dataclass(frozen=True)
class Endpoint:
    """One kind of request a tap makes.

    `path` follows the base URL that `url_setting` holds, `{name}` standing for one path
    segment the tap fills in. An endpoint without `url_setting` is on a host the vendor hands
    out (a pre-signed download link): any path there is it, and `path` only describes it.
    """

    method: str
    path: str
    #: The setting holding the base URL the path is under; None: a URL the vendor hands out.
    url_setting: str | None
    #: What the request is for, in a word or two: "records", "token", "job status"...
    kind: str = RECORDS

    @property
    def label(self) -> str:
        """ "POST /authorization/integration", as error messages name a request."""
        return f"{self.method} {self.path}"

    def pattern(self, base_url: str = "") -> re.Pattern[str]:
        """The request paths of this endpoint under `base_url` (the `url_setting`'s value):
        its path after the base URL's own path, each `{name}` one segment. Without
        `url_setting`, any path."""
        if self.url_setting is None:
            return re.compile(r"/.*|")
        prefix = urlsplit(base_url).path.rstrip("/")
        parts = _PLACEHOLDER.split(self.path)
        return re.compile(re.escape(prefix) + "[^/]+".join(re.escape(part) for part in parts))


def tap_endpoints(tap: Tap) -> dict[Endpoint, list[str]]:
    """Every endpoint the streams of `tap` declare, with the names of the streams that use it."""
    found: dict[Endpoint, list[str]] = {}
    for stream in tap.streams.values():
        declared = getattr(stream, "endpoints", None)
        for endpoint in declared() if declared is not None else ():
            found.setdefault(endpoint, []).append(stream.name)
    return found


__all__ = ["RECORDS", "Endpoint", "tap_endpoints"]
