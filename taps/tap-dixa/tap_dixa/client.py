"""The base of every Dixa stream, whichever of Dixa's APIs it reads: the token, `meta.next`
paging, the `data` envelope and shape errors.

Each API has its own base beside its streams: `AnalyticsStream` (analytics.py), `ExportStream`
(exports.py) and `MainApiStream` (main_api.py).
"""

from __future__ import annotations

import typing as t
from functools import cached_property
from urllib.parse import ParseResult, parse_qsl, urlsplit

import msgspec
import requests
from singer_sdk.authenticators import APIKeyAuthenticator, BearerTokenAuthenticator
from singer_sdk.pagination import BaseHATEOASPaginator

from support_taps.errors import UnparseableResponse, endpoint_of, response_place, unexpected_shape
from support_taps.jsonbody import BodyNotJSON, decode
from support_taps.normalize import to_integer
from support_taps.schemas import schema_directory
from support_taps.stream import SupportStream

#: Where Dixa's APIs live: the Analytics and main APIs share one host, the Exports API has its own.
DEFAULT_API_URL = "https://dev.dixa.io"
DEFAULT_EXPORTS_API_URL = "https://exports.dixa.io"
DIXA_SCHEMAS = schema_directory("dixa", __package__)


class _Envelope(msgspec.Struct):
    meta: t.Any = None
    data: msgspec.Raw = msgspec.Raw(b"null")


#: Pages in a row that bring no new rows (empty, or the page before's rows again), each linking
#: a new pageKey, taken as an endless pager (our guess: Dixa publishes no bound; it may filter a
#: page empty, but not this many in a row).
MAX_EMPTY_PAGES = 20


_envelope = msgspec.json.Decoder(_Envelope)


class DixaNextPage(BaseHATEOASPaginator):
    """Follows `meta.next` until Dixa leaves it out: Dixa's next page is the same request with
    that link's pageKey.

    A page with no rows but a `meta.next` is not the end (Dixa may filter a page empty), and
    a pageKey seen before is a cycle, which fails naming the endpoint rather than paging
    forever; so are MAX_EMPTY_PAGES empty pages in a row, each with a new pageKey. Only `meta`
    (and whether `data` is empty) is decoded here (msgspec skips the rest of the body), so a page's
    rows are parsed once, by the stream.
    """

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen_page_keys: set[str] = set()
        self.empty_pages = 0
        self.last_page: bytes | None = None

    def continue_if_empty(self, response: requests.Response) -> bool:
        return True  # has_more() decides, from meta.next alone

    def get_next_url(self, response: requests.Response) -> str | None:
        try:
            envelope = _envelope.decode(response.content)
            meta = envelope.meta
            data = bytes(envelope.data).translate(None, b" \t\r\n")
            empty = data in (b"[]", b"{}", b"null") or data == self.last_page
            self.last_page = data
        except msgspec.DecodeError:
            # A body msgspec refuses may still be read (a lone surrogate, NaN: see
            # support_taps.jsonbody), as the stream read its rows: page on from that reading.
            try:
                payload = decode(response.content).payload
            except BodyNotJSON:
                return None  # the stream's own parsing has already reported a broken body
            meta = payload.get("meta") if isinstance(payload, dict) else None
            empty = (payload.get("data") if isinstance(payload, dict) else None) in ([], {}, None)
            self.last_page = None
        if meta is None:
            return None
        next_url = meta.get("next") if isinstance(meta, dict) else None
        if isinstance(meta, dict) and next_url is None:
            return None
        if not isinstance(meta, dict) or not isinstance(next_url, str) or not next_url:
            raise unexpected_shape(
                "Dixa",
                response_place(response, ", `meta`"),
                "an object whose `next` is a URL or null (to page with)",
                meta,
            )
        page_key = dict(parse_qsl(urlsplit(next_url).query)).get("pageKey", next_url)
        if page_key in self.seen_page_keys:
            msg = (
                f"Dixa's paging for {endpoint_of(response)} loops: `meta.next` points back to a "
                f"page already read (after {len(self.seen_page_keys)} pages). Stopping rather "
                "than paging forever; nothing past the last completed window is bookmarked."
            )
            raise UnparseableResponse(msg)
        self.seen_page_keys.add(page_key)
        self.empty_pages = self.empty_pages + 1 if empty else 0
        if self.empty_pages >= MAX_EMPTY_PAGES:
            msg = (
                f"Dixa's paging for {endpoint_of(response)} does not end: {self.empty_pages} "
                "pages in a row without new rows (empty, or the page before's rows again), each "
                "linking a new pageKey in `meta.next`. Stopping rather "
                "than paging forever; nothing past the last completed window is bookmarked."
            )
            raise UnparseableResponse(msg)
        return next_url


class DixaStream(SupportStream):
    """Every Dixa stream, of any of Dixa's APIs: the token, paging, the `data` envelope, errors.

    The raw token in `Authorization` and `meta.next` paging are how the Analytics and main
    APIs work; the Exports API takes the token as a Bearer token and does not page, so
    `ExportStream` says so.
    """

    vendor = "Dixa"
    credential_settings = ("api_token",)
    url_settings = ("api_url",)
    #: Whether Dixa's reference gives the endpoint `pageLimit`/`pageKey` (where it does not,
    #: `page_limit` is not sent; a `meta.next` would still be followed).
    paged: t.ClassVar[bool] = True

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator | BearerTokenAuthenticator:
        # Dixa wants the bare token in `Authorization`, no "Bearer" prefix.
        return APIKeyAuthenticator(
            key="Authorization", value=self.config["api_token"], location="header"
        )

    def get_new_paginator(self) -> DixaNextPage | None:
        return DixaNextPage()

    def get_url_params(
        self, context: t.Mapping | None, next_page_token: ParseResult | None
    ) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        page_limit = (context or {}).get("page_limit") or self.config.get("page_limit")
        if page_limit and self.paged:
            params["pageLimit"] = int(page_limit)
        if next_page_token is not None:
            # The next page is whatever `meta.next` says (its pageKey, and a pageLimit if
            # Dixa put one there); the pageKey is opaque and never built here.
            params.update(parse_qsl(next_page_token.query))
        return params

    def data_of(self, response: requests.Response) -> t.Any:
        """The `data` of Dixa's envelope; a body without one is an error naming the endpoint."""
        payload = self.decode_json(response)
        if not isinstance(payload, dict) or "data" not in payload:
            raise self.unexpected_shape(response, "its envelope, an object with `data`", payload)
        return payload["data"]

    def data_objects(self, response: requests.Response, what: str) -> t.Iterator[dict]:
        """The objects of the envelope's `data` list; anything else is an error naming the
        endpoint and `what` an entry should have been."""
        for entry in self.expect_shape(self.data_of(response), list, "`data`", response):
            yield self.expect_shape(entry, dict, what, response)

    #: What publishes the integers `published_integer` reads, for its warning.
    published_model: t.ClassVar[str] = "API reference"

    def published_integer(self, name: str, value: t.Any) -> int | None:
        """`value` of a field Dixa publishes as an integer: as sent, or the number a numeric
        string or float stands for, else null, each with one warning (`raw` keeps it)."""
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        number = to_integer(value) if isinstance(value, (str, float)) else None
        if number is None or isinstance(value, str):
            self.warn_once(
                ("integer", name),
                "Dixa sent `%s` as %s (%r), where its published %s has an integer; %s. `raw` "
                "keeps it as sent.",
                name,
                type(value).__name__,
                str(value)[:40],
                self.published_model,
                "read as that number" if number is not None else "the column is null",
            )
        return number

    def expect_shape(
        self, value: t.Any, kind: type, what: str, response: requests.Response
    ) -> t.Any:
        """`value` if it is a `kind`, else an error naming the endpoint, what was expected and what
        came (its shape, not its content)."""
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        raise self.unexpected_shape(response_place(response, f", {what}"), _KIND[kind], value)


_KIND = {dict: "an object", list: "a list", str: "a string", int: "an integer"}
