"""Xenioo's account auth token, as a `requests` authenticator (the SDK sample taps' form).

POST {"AccountAPIKey"} to the service endpoint; Xenioo answers {"token": ..., "expires":
<minutes>} (older pages spell them "Token"/"Expires"). The token is renewed before a
request once it is about to expire, and when Xenioo refuses it (`invalidate()`).

The token request goes through the core's `CredentialGuardSession`, like every stream
request: a 307/308 would re-send the body, key and all, so a redirect of it to another host
is not followed; and the answer has a deadline (`request_deadline`).
"""

from __future__ import annotations

import datetime as dt
import math
import typing as t
from http import HTTPStatus
from urllib.parse import urlsplit

import msgspec
import requests
import requests.auth
from singer_sdk.exceptions import RetriableAPIError

from support_taps.errors import (
    CredentialsRejected,
    UnparseableResponse,
    VendorAPIError,
    body_snippet,
    endpoint_of,
    unexpected_shape,
)
from support_taps.http import CredentialGuardSession, CredentialRedirectRefused, origin
from support_taps.normalize import to_number
from support_taps.redaction import redact
from support_taps.retry import RetryPolicy, describe_failure, raise_if_truncated, with_retries

UTC = dt.timezone.utc
AUTH_PATH = "/authorization/integration"
#: The token's lifetime when Xenioo's answer does not say (an hour, as its pages show).
DEFAULT_EXPIRATION = 3600
_json = msgspec.json.Decoder()


def auth_endpoint(config: t.Mapping[str, t.Any]) -> str:
    """`auth_url` (the service endpoint) + /authorization/integration, unless already there."""
    base = str(config.get("auth_url") or "").strip().rstrip("/")
    if not base:
        msg = (
            "Set `auth_url`: the Xenioo service endpoint where the auth token is obtained "
            "(Settings > Developers)."
        )
        raise ValueError(msg)
    if not base.startswith(("http://", "https://")):
        msg = f"The setting `auth_url` must be an http(s) URL, got {base!r}."
        raise ValueError(msg)
    return base if base.endswith(AUTH_PATH) else base + AUTH_PATH


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(UTC)


class XeniooAuthenticator(requests.auth.AuthBase):
    """The account auth token, sent as `Authorization: Bearer <token>`.

    One instance serves every stream of a run (`TapXenioo.xenioo_authenticator`).
    """

    #: Renew this long before the announced expiry (clocks and slow calls).
    RENEW_MARGIN = dt.timedelta(seconds=60)

    def __init__(
        self,
        *,
        account_api_key: str,
        endpoint: str,
        policy: RetryPolicy,
        timeout: float,
        logger: t.Any,
        clock: t.Callable[[], dt.datetime] = _wall_clock,
        deadline: float | None = None,
    ) -> None:
        self.auth_endpoint = endpoint
        self.logger = logger
        #: Measures the token's age. Not the run's clock (`run_started`, fixed for the
        #: run): a token expires in real time, even during a long run.
        self.clock = clock
        # The key is what the guard looks for in a redirected body (the tap registers it too).
        redact.add(account_api_key)
        # The core's session: a redirect to another host never carries the account key (a
        # 307 re-sends the body), and the whole answer comes within `request_deadline`.
        self.session = CredentialGuardSession(home_url=lambda: endpoint, deadline=deadline)
        self.access_token: str | None = None
        self.expires_in: int | None = None
        self.last_refreshed: dt.datetime | None = None
        self._account_api_key = account_api_key
        self._policy = policy
        self._timeout = timeout

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.is_token_valid():
            self.update_access_token()
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        return request

    @property
    def token_request_body(self) -> dict[str, str]:
        return {"AccountAPIKey": self._account_api_key}

    def is_token_valid(self) -> bool:
        if self.access_token is None or self.last_refreshed is None:
            return False
        age = (self.clock() - self.last_refreshed).total_seconds()
        return age < (self.expires_in or 0) - self.RENEW_MARGIN.total_seconds()

    def invalidate(self) -> None:
        """Renew the token before the next request (Xenioo refused this one)."""
        self.last_refreshed = None

    def update_access_token(self) -> None:
        requested_at = self.clock()
        response = self._post_with_retries()
        where = endpoint_of(response)
        status = response.status_code
        elsewhere = self._answered_elsewhere(response)
        if elsewhere and status >= HTTPStatus.BAD_REQUEST:
            # Another host's 404 or 401 says nothing about the key (which did not go there).
            msg = (
                f"Xenioo's token endpoint ({endpoint_of(response.history[0])}) redirected to "
                f"another host ({elsewhere}), which answered HTTP {status} for {where}: "
                f"{body_snippet(response.content)}. Check `auth_url` (now {self.auth_endpoint})."
            )
            raise VendorAPIError(msg)
        if status == HTTPStatus.NOT_FOUND:
            msg = (
                f"Xenioo does not know the account API key (HTTP 404 from {where}): check the "
                "`account_api_key` setting (Profile section of your Xenioo account) and "
                "`auth_url`."
            )
            raise CredentialsRejected(msg)
        if status in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN):
            msg = (
                f"Xenioo refused the account API key (HTTP {status} from {where}): the account "
                "may be a free one or not allowed to use the Global Platform API; check "
                "`account_api_key`."
            )
            raise CredentialsRejected(msg)
        if status >= HTTPStatus.BAD_REQUEST:
            msg = (
                f"Xenioo rejected the token request {where} with HTTP {status}: "
                f"{body_snippet(response.content)}"
            )
            raise VendorAPIError(msg)
        try:
            payload = _json.decode(response.content)
        except msgspec.DecodeError:
            msg = (
                f"Xenioo's token answer from {where} is not valid JSON (HTTP {status}): "
                f"{body_snippet(response.content)}"
            )
            raise UnparseableResponse(msg) from None
        fields = (
            {str(k).lower(): v for k, v in payload.items()} if isinstance(payload, dict) else {}
        )
        token = fields.get("token")
        if not isinstance(token, str) or not token:
            raise unexpected_shape(
                "Xenioo", response, "a token answer, an object with a `token` string", payload
            )
        redact.add(token)  # the token is a credential: never in logs or errors
        if not (token.isascii() and token.isprintable()):  # no HTTP header could carry it
            msg = (
                f"Xenioo's token answer from {where} (HTTP {status}) holds a `token` with "
                "characters no HTTP header can carry (not printable ASCII)."
            )
            raise UnparseableResponse(msg)
        minutes = to_number(fields.get("expires"))
        seconds = minutes * 60 if minutes is not None and minutes > 0 else None
        self.access_token = token
        # A lifetime past any double (1e308 minutes) is no lifetime: the default one holds
        # (a token refused earlier is renewed anyway).
        self.expires_in = (
            int(seconds) if seconds is not None and math.isfinite(seconds) else DEFAULT_EXPIRATION
        )
        self.last_refreshed = requested_at
        self.logger.info(
            "Obtained a Xenioo auth token, valid for %d minutes.", self.expires_in // 60
        )

    def _post_with_retries(self) -> requests.Response:
        response: requests.Response = with_retries(
            self._post_token_request,
            self._policy,
            advice="Could not obtain a Xenioo auth token: check `auth_url` or try again later.",
            vendor="Xenioo",
            request=requests.Request("POST", self.auth_endpoint),
            connect_hint=(
                "Could not obtain a Xenioo auth token: check the `auth_url` setting "
                f"(now {self.auth_endpoint})."
            ),
            on_backoff=lambda details: self.logger.warning(
                "Retrying the token request in %.1fs: %s",
                details.get("wait", 0),
                describe_failure(details.get("exception")),
            ),
        )()
        return response

    def _answered_elsewhere(self, response: requests.Response) -> str | None:
        """The host that answered, when a redirect led away from the token endpoint's."""
        if not response.history or origin(response.url or "") == origin(self.auth_endpoint):
            return None
        return redact(urlsplit(response.url or "").hostname or "?")

    def _post_token_request(self) -> requests.Response:
        try:
            response = self.session.post(
                self.auth_endpoint, json=self.token_request_body, timeout=self._timeout
            )
        except CredentialRedirectRefused as refused:
            msg = (
                f"Xenioo's token endpoint redirected POST {urlsplit(self.auth_endpoint).path} "
                f"to another host ({refused.host}); the redirect was not followed, so the "
                f"account API key was not sent there. Check `auth_url` (now "
                f"{self.auth_endpoint}): it should name the service endpoint itself."
            )
            raise VendorAPIError(msg) from None
        if response.status_code >= HTTPStatus.INTERNAL_SERVER_ERROR or response.status_code in (
            HTTPStatus.TOO_MANY_REQUESTS,
            HTTPStatus.REQUEST_TIMEOUT,
        ):
            raise RetriableAPIError(f"HTTP {response.status_code}", response)
        if response.status_code < HTTPStatus.BAD_REQUEST:
            raise_if_truncated(response)  # a token answer cut short is asked again, like a 5xx
        return response
