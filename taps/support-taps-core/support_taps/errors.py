"""Errors that tell the user what to fix.

Every message names the setting or the response at fault and passes through the
redactor, so no credential can reach it. Fatal errors stop the stream before its
bookmark moves: state only ever covers data that was emitted.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError

from support_taps.redaction import redact

_SNIPPET_BYTES = 200


class VendorAPIError(FatalAPIError):
    """A vendor response we cannot continue past; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


class CredentialsRejected(VendorAPIError):
    """HTTP 401/403: the credential settings are wrong or lack access."""


class EndpointNotFound(VendorAPIError):
    """HTTP 404: the URL (usually the base URL setting) is wrong."""


class UnparseableResponse(VendorAPIError):
    """A body that is not what the endpoint documents (HTML error page, truncated JSON)."""


class RetriesExhausted(VendorAPIError):
    """Transient failures outlasted the retry budget."""


def endpoint_of(response_or_request: requests.Response | requests.PreparedRequest) -> str:
    """`METHOD /path` of a request, without host or query (where secrets tend to live)."""
    request = getattr(response_or_request, "request", None) or response_or_request
    method = getattr(request, "method", None) or "GET"
    url = getattr(request, "url", None) or getattr(response_or_request, "url", "") or ""
    return redact(f"{method} {urlsplit(url).path or '/'}")


def body_snippet(content: bytes | None, limit: int = _SNIPPET_BYTES) -> str:
    """The first bytes of a body as printable text, secrets masked."""
    if not content:
        return "<empty body>"
    text = content[:limit].decode("utf-8", errors="replace")
    more = "..." if len(content) > limit else ""
    return redact(repr(text)) + more


def settings_phrase(settings: tuple[str, ...] | list[str]) -> str:
    quoted = [f"`{name}`" for name in settings]
    if len(quoted) <= 1:
        return f"the {''.join(quoted)} setting"
    return "the " + ", ".join(quoted[:-1]) + f" and {quoted[-1]} settings"
