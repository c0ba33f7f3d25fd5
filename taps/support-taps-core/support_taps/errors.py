"""Errors that tell the user what to fix.

Every message names the setting or the response at fault and passes through the
redactor, so no credential can reach it. Fatal errors stop the stream before its
bookmark moves: state only ever covers data that was emitted.
"""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import requests
from singer_sdk.exceptions import FatalAPIError

from support_taps.jsonbody import BodyNotJSON, decode, describe_unreadable
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


class UnexpectedShape(UnparseableResponse):
    """Well-formed JSON of another shape than the endpoint documents."""


class RetriesExhausted(VendorAPIError):
    """Transient failures outlasted the retry budget."""


# ---- shapes, not data ----------------------------------------------------------------
#
# A JSON body of the wrong shape is usually customer data (names, emails): error text
# describes its shape (types and keys), never its values. Bodies are quoted only when
# they are error pages (not JSON), and for JSON error bodies only their error fields.

_MAX_KEYS = 12
#: Top-level fields of a JSON error body that say what went wrong, quoted in messages.
_ERROR_FIELDS = ("error", "message", "error_description", "detail", "title", "code", "status")


def describe_shape(value: t.Any, depth: int = 3, *, text_pattern: bool = False) -> str:
    """The shape of a JSON value, without its values: `object{data: list[3 × object{id: int}]}`.

    With `text_pattern`, a string shows its pattern (digits 9, letters A or a, punctuation
    kept: "05/22/2023 3:15 PM" -> `string "99/99/9999 9:99 AA" (18 characters)`), for
    warnings about values a column cannot read: the format shows, the value does not.
    """
    if isinstance(value, str) and text_pattern:
        return f"string {text_shape(value)} ({len(value)} characters)"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        if not value:
            return "object{}"
        if depth <= 0:
            return f"object({len(value)} keys)"
        keys = list(value)[:_MAX_KEYS]
        inner = ", ".join(
            f"{redact(str(key))}: {describe_shape(value[key], depth - 1)}" for key in keys
        )
        more = f", ... {len(value) - len(keys)} more" if len(value) > len(keys) else ""
        return f"object{{{inner}{more}}}"
    if isinstance(value, list):
        if not value:
            return "list[]"
        if depth <= 0:
            return f"list({len(value)} items)"
        kinds: dict[str, int] = {}
        for item in value[:1000]:
            kind = describe_shape(item, depth - 1)
            kinds[kind] = kinds.get(kind, 0) + 1
        shown = list(kinds.items())[:3]
        inner = ", ".join(f"{count} × {kind}" for kind, count in shown)
        more = ", ..." if len(kinds) > len(shown) or len(value) > 1000 else ""
        return f"list[{inner}{more}]"
    return type(value).__name__


def text_shape(value: str, limit: int = 40) -> str:
    """A string's pattern, quoted: digits become 9, letters A or a; punctuation and spaces stay."""
    shape = "".join(
        "9" if c.isdigit() else ("A" if c.isupper() else "a") if c.isalpha() else c
        for c in value[:limit]
    )
    return '"' + shape + ('..."' if len(value) > limit else '"')


def response_place(response: requests.Response, inside: str = "") -> str:
    """ "GET /path (HTTP 200)", then `inside` (", item 3"), for `unexpected_shape`'s `where`."""
    return f"{endpoint_of(response)} (HTTP {response.status_code}){inside}"


def unexpected_shape(
    vendor: str,
    where: requests.Response | str,
    expected: str,
    found: t.Any,
    note: str = "",
    *,
    text_pattern: bool = False,
) -> UnexpectedShape:
    """The error for JSON of the wrong shape: "<vendor> <endpoint> (HTTP n): expected <expected>,
    found <shape>." `where` is the response (its endpoint and status are named) or a
    description such as "GET /v1/requests/exports (HTTP 200), item 3" (`response_place`).
    `note` is appended (what happens next, what was kept); `text_pattern` shows a string's
    pattern (see `describe_shape`). Raise what it returns."""
    place = response_place(where) if isinstance(where, requests.Response) else where
    tail = f" {note}" if note else ""
    return UnexpectedShape(
        f"{vendor} {place}: expected {expected}, "
        f"found {describe_shape(found, text_pattern=text_pattern)}.{tail}"
    )


def endpoint_of(response_or_request: requests.Response | requests.PreparedRequest) -> str:
    """`METHOD /path` of a request, without host or query (where secrets tend to live)."""
    request = getattr(response_or_request, "request", None) or response_or_request
    method = getattr(request, "method", None) or "GET"
    url = getattr(request, "url", None) or getattr(response_or_request, "url", "") or ""
    return redact(f"{method} {urlsplit(url).path or '/'}")


def looks_like_json(content: bytes | None) -> bool:
    return content is not None and content.lstrip()[:1] in (b"{", b"[")


def body_snippet(content: bytes | None, limit: int = _SNIPPET_BYTES) -> str:
    """What a body holds, for an error message, secrets masked.

    An error page (HTML, text) is quoted (its first bytes); JSON is described by its shape,
    plus the error fields of an error object (`message`, `error`, ...); JSON cut short is
    described, not quoted, since what was cut is likely customer data. Secrets are masked
    before anything is cut or quoted, so neither an escape nor the cut can hide one.
    """
    if not content:
        return "<empty body>"
    if looks_like_json(content):
        try:
            payload = decode(content).payload
        except BodyNotJSON as exc:
            return describe_unreadable(exc.kind, content)
        said = ""
        if isinstance(payload, dict):
            # Vendors spell them their way (Xenioo: `Message`).
            fields = {k: v for k, v in payload.items() if str(k).lower() in _ERROR_FIELDS}
            quoted = [
                f"{key}: {quoted_text(str(value), limit)}"
                for key, value in fields.items()
                if isinstance(value, (str, int)) and not isinstance(value, bool)
            ]
            said = f" saying {'; '.join(quoted)}" if quoted else ""
        return redact(f"JSON {describe_shape(payload)}{said}")
    # A margin as long as the longest secret: one that starts before the cut is masked whole.
    text = content[: limit + redact.longest + 4].decode("utf-8", errors="replace")
    return quoted_text(text, limit, more=len(content) > limit)


def quoted_text(text: str, limit: int, *, more: bool = False) -> str:
    """`text` quoted for a message: masked first, then cut at `limit`, then escaped."""
    masked = redact(text)
    cut = len(masked) > limit
    return repr(masked[:limit]) + ("..." if cut or more else "")


def settings_phrase(settings: tuple[str, ...] | list[str]) -> str:
    quoted = [f"`{name}`" for name in settings]
    if len(quoted) <= 1:
        return f"the {''.join(quoted)} setting"
    return "the " + ", ".join(quoted[:-1]) + f" and {quoted[-1]} settings"
