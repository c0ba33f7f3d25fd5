"""Dixa's base stream: raw-token auth, `meta.next` paging, request bodies and filters."""

from __future__ import annotations

import typing as t
import zoneinfo
from functools import cached_property
from urllib.parse import ParseResult, parse_qsl

import msgspec
import requests
from singer_sdk.authenticators import APIKeyAuthenticator
from singer_sdk.pagination import BaseHATEOASPaginator

from support_taps.client import SupportStream

DEFAULT_API_URL = "https://dev.dixa.io"


class _Links(msgspec.Struct):
    next: str | None = None
    previous: str | None = None


class _Envelope(msgspec.Struct):
    meta: _Links | None = None


_envelope = msgspec.json.Decoder(_Envelope)


class DixaNextPage(BaseHATEOASPaginator):
    """Follows `meta.next`: Dixa's next page is the same request with that link's pageKey.

    Only `meta` is decoded here (msgspec skips the rest of the body), so a page's rows are
    parsed once, by the stream.
    """

    def get_next_url(self, response: requests.Response) -> str | None:
        try:
            envelope = _envelope.decode(response.content)
        except msgspec.DecodeError:
            return None  # the stream's own parsing has already reported a broken body
        return envelope.meta.next if envelope.meta else None


class DixaStream(SupportStream):
    """Every Dixa Analytics endpoint: auth, paging, period bodies, filters, errors."""

    vendor = "Dixa"
    credential_settings = ("api_token",)
    url_settings = ("api_url",)

    @property
    def url_base(self) -> str:
        return str(self.config.get("api_url") or DEFAULT_API_URL).rstrip("/")

    @cached_property
    def authenticator(self) -> APIKeyAuthenticator:
        # Dixa wants the bare token in `Authorization`, no "Bearer" prefix.
        return APIKeyAuthenticator(key="Authorization", value=self.config["api_token"], location="header")

    @property
    def timezone(self) -> str:
        return str(self.config.get("timezone") or "UTC")

    @cached_property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def get_new_paginator(self) -> DixaNextPage:
        return DixaNextPage()

    def get_url_params(self, context: t.Mapping | None, next_page_token: ParseResult | None) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {}
        page_limit = (context or {}).get("page_limit") or self.config.get("page_limit")
        if page_limit:
            params["pageLimit"] = int(page_limit)
        if next_page_token is not None:
            # The next page is whatever `meta.next` says (its pageKey, and a pageLimit if
            # Dixa put one there); the pageKey is opaque and never built here.
            params.update(parse_qsl(next_page_token.query))
        return params

    def data_of(self, response: requests.Response) -> t.Any:
        payload = self.decode_json(response)
        return payload.get("data") if isinstance(payload, dict) else payload

    def filters_for(self, supported: t.Iterable[str]) -> list[dict[str, t.Any]]:
        """The configured `filters` whose attribute this metric or record supports."""
        supported = set(supported)
        return [
            {"attribute": f["attribute"], "values": list(f["values"])}
            for f in self.config.get("filters") or []
            if f["attribute"] in supported
        ]


def supported_filters(entry: t.Mapping[str, t.Any]) -> list[str]:
    """Filter attributes a catalogue entry lists."""
    return [f.get("filterAttribute") for f in entry.get("filters") or [] if f.get("filterAttribute")]
