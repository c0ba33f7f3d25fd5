"""The HTTP session every stream uses: credentials never follow a redirect to another host.

`requests` strips only `Authorization` when a redirect leaves the host; a credential in
any other header (Thankful's `X-API-Key`, a cookie set by hand) would be sent to whatever
host the Location names. This session strips every credential header whenever a redirect
leads away from the configured API host, and refuses to follow one whose URL carries a
secret there. It also registers each credential it sends with the redactor, so the exact
header value (`Basic <base64 of user:password>`, `Bearer <token>`) is masked if a server
echoes it back.
"""

from __future__ import annotations

import re
import typing as t
from urllib.parse import urlsplit

import requests

from support_taps.deadline import DeadlineAdapter, deadline, too_slow
from support_taps.errors import VendorAPIError, endpoint_of
from support_taps.redaction import redact

#: Header names that carry credentials whatever their value (besides any header whose
#: value contains a registered secret).
_CREDENTIAL_HEADER = re.compile(
    r"authorization|cookie|api[-_]?key|token|secret|password|passwd|signature|session|auth",
    re.IGNORECASE,
)
#: Headers whose value is itself a credential, registered with the redactor when sent.
_SECRET_VALUE_HEADER = re.compile(
    r"^(proxy-)?authorization$|api[-_]?key|token|secret|password|passwd", re.IGNORECASE
)
#: Shorter values are flags or modes rather than credentials ("basic", "on").
_MIN_CREDENTIAL_LENGTH = 8
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _carries_secret(body: str | bytes | None) -> bool:
    if not body:
        return False
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return redact.carries_credential(text)


class CredentialRedirectRefused(VendorAPIError):
    """A redirect to another host whose URL or body would carry a credential there.

    `host` names that host (masked), for callers that word the error their own way."""

    def __init__(self, message: str, host: str = "?") -> None:
        super().__init__(message)
        self.host = host


def origin(url: str) -> tuple[str, int | None]:
    """(host, port) of a URL; an http->https upgrade on default ports stays the same origin."""
    parts = urlsplit(url)
    port = parts.port
    if port == _DEFAULT_PORTS.get(parts.scheme):
        port = None
    return (parts.hostname or "").lower(), port


def is_credential_header(name: str, value: str | bytes) -> bool:
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return bool(_CREDENTIAL_HEADER.search(name)) or redact(text) != text


class CredentialGuardSession(requests.Session):
    """A session that keeps credentials on the API host (see the module docstring).

    `home_url` gives the configured API base URL (called lazily: the URL settings are
    read when the first redirect happens). Without it, the host of the first request of
    each redirect chain is home.
    """

    def __init__(
        self,
        home_url: t.Callable[[], str] | None = None,
        deadline: t.Callable[[], float | None] | float | None = None,
    ) -> None:
        super().__init__()
        self._home_url = home_url
        self._deadline = deadline
        adapter = DeadlineAdapter()
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def home_origin(self, response: requests.Response) -> tuple[str, int | None]:
        if self._home_url is not None:
            try:
                return origin(self._home_url())
            except Exception:  # a broken URL setting: fall back to the chain's start
                pass
        first = response.history[0] if response.history else response
        return origin(first.request.url or "")

    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """Send `request` (and follow its redirects) within the session's deadline: the
        connection, the headers and, unless `stream=True` (the caller then reads the body
        inside `support_taps.deadline.deadline`), the whole body."""
        for name, value in request.headers.items():
            if _SECRET_VALUE_HEADER.search(name) and len(value) >= _MIN_CREDENTIAL_LENGTH:
                redact.add_credential_header(value)
        seconds = self._deadline() if callable(self._deadline) else self._deadline
        with deadline(seconds, f"the answer to {endpoint_of(request)}") as watch:
            try:
                response = super().send(request, **kwargs)
            except requests.RequestException:
                slow = too_slow(watch, request)
                if slow is not None:
                    raise slow from None
                raise
            slow = too_slow(watch, request)  # a body cut at the deadline may end "cleanly"
            if slow is not None:
                response.close()
                raise slow
            return response

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        # types-requests leaves `rebuild_auth` unannotated (its signature is the one above).
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        target = prepared_request.url or ""
        if origin(target) == self.home_origin(response):
            return
        for name in [n for n, v in prepared_request.headers.items() if is_credential_header(n, v)]:
            del prepared_request.headers[name]
        host = redact(urlsplit(target).hostname or "?")
        # Our credentials only: a vendor's own link (masked, not a credential) is followed.
        if redact.carries_credential(target):
            msg = (
                f"The API redirected {endpoint_of(response)} to another host ({host}) "
                "with a credential in the URL; the redirect was not followed, so the credential "
                "was not sent."
            )
            raise CredentialRedirectRefused(msg, host)
        if _carries_secret(prepared_request.body):
            # A 307/308 re-sends the body as it was: a credential in it (Xenioo's token
            # request) would go to the other host.
            msg = (
                f"The API redirected {endpoint_of(response)} to "
                f"another host ({host}) with a credential in the request body; the redirect "
                "was not followed, so the credential was not sent."
            )
            raise CredentialRedirectRefused(msg, host)
