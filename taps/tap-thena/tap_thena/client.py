"""Thena's base stream: bearer auth, base URL from workspace or api_url."""

from __future__ import annotations

import re
import typing as t
from functools import cached_property
from urllib.parse import urlsplit

from singer_sdk.authenticators import BearerTokenAuthenticator

from support_taps.windowed import WindowedStream

_WORKSPACE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


def thena_base_url(config: t.Mapping[str, t.Any]) -> str:
    """`api_url` when given, else https://<workspace>.thena.ai."""
    if config.get("api_url"):
        return str(config["api_url"]).rstrip("/")
    workspace = str(config.get("workspace") or "").strip()
    if not workspace:
        msg = (
            "Set `workspace` (your Thena workspace name, as in https://<workspace>.thena.ai) "
            "or `api_url`."
        )
        raise ValueError(msg)
    if not _WORKSPACE.match(workspace):
        msg = (
            "The setting `workspace` must be a bare workspace name such as 'acme', "
            f"got {workspace!r}."
        )
        raise ValueError(msg)
    return f"https://{workspace}.thena.ai"


def thena_workspace(config: t.Mapping[str, t.Any]) -> str | None:
    """The workspace: the `workspace` setting, or the one an `api_url` on thena.ai names."""
    workspace = str(config.get("workspace") or "").strip()
    if workspace:
        return workspace
    host = urlsplit(str(config.get("api_url") or "")).hostname or ""
    name, _, domain = host.partition(".")
    return name if domain == "thena.ai" and _WORKSPACE.match(name) else None


class ThenaStream(WindowedStream):
    vendor = "Thena"
    credential_settings = ("api_key",)
    url_settings = ("workspace", "api_url")

    @property
    def url_base(self) -> str:
        return thena_base_url(self.config)

    @cached_property
    def authenticator(self) -> BearerTokenAuthenticator:
        return BearerTokenAuthenticator(token=self.config["api_key"])

    def get_new_paginator(self) -> None:
        # The export answers a date range in one response; nothing to page.
        return None
