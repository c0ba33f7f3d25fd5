"""Dixa's paging: `meta.previous`/`meta.next` links carrying an opaque `pageKey`.

The pageKey is bound to a scope (the request body for POSTs): reusing it with another request
is a 400, as changing a request between pages would be.
"""

from __future__ import annotations

import base64
import hashlib
import json
import typing as t
from dataclasses import dataclass

from support_simulators.framework import SimRequest, SimResponse, json_response

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000


@dataclass(frozen=True)
class PageRules:
    default_limit: int = DEFAULT_PAGE_LIMIT
    #: Answer an empty page (which still links `meta.next` to the rows) before every page, as
    #: Dixa may when it filters a page empty.
    empty_pages: bool = False
    #: Link the second page back to the first (A -> B -> A), a paging cycle.
    cycle: bool = False
    #: Answer the data queries (POSTs) with empty pages forever, each linking `meta.next` to a
    #: new pageKey (an endless pager).
    endless_empty: bool = False


def _refusal(parameter: str, why: str = "") -> SimResponse:
    return json_response({"message": f"Invalid value for: query parameter {parameter}{why}"}, 400)


def _number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0  # refused as out of range


def _position(key: str | None, digest: str, default_limit: int) -> tuple[int, int, bool] | str:
    """Offset, limit and whether the empty page was served, from a pageKey (or why not)."""
    if key is None:
        return 0, default_limit, False
    try:
        decoded = json.loads(base64.urlsafe_b64decode(key.encode()))
        offset, limit, scope_digest = int(decoded["o"]), int(decoded["l"]), decoded["s"]
        padded = bool(decoded.get("e"))
    except (ValueError, KeyError, TypeError):
        return ""
    if scope_digest != digest:
        return " (it belongs to another request)"
    return offset, limit, padded


def paged(
    request: SimRequest,
    items: list,
    scope: bytes,
    rules: PageRules,
    host: str,
    encode: t.Callable | None = None,
) -> SimResponse:
    """One page of `items` (`host`: the simulator's, when the request names none)."""
    digest = hashlib.sha1(scope).hexdigest()[:12]
    position = _position(request.arg("pageKey"), digest, rules.default_limit)
    if isinstance(position, str):
        return _refusal("pageKey", position)
    offset, limit, padded = position
    limit_text = request.arg("pageLimit")
    if limit_text is not None:
        limit = _number(limit_text)
        if not 1 <= limit <= MAX_PAGE_LIMIT:
            return _refusal("pageLimit")
    page = items[offset : offset + limit]
    host = request.headers.get("Host") or host

    def link(at: int, padded: bool = False) -> str:
        token = {"o": at, "l": limit, "s": digest, **({"e": 1} if padded else {})}
        encoded = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        extra = f"&pageLimit={limit_text}" if limit_text is not None else ""
        return f"http://{host}{request.path}?pageKey={encoded}{extra}"

    if rules.endless_empty and request.method == "POST":
        return json_response(
            {"data": [], "meta": {"previous": None, "next": link(offset + 1, padded=True)}}
        )
    if rules.empty_pages and not padded and offset < max(1, len(items)):
        return json_response(
            {"data": [], "meta": {"previous": None, "next": link(offset, padded=True)}}
        )
    following = 0 if rules.cycle and offset > 0 else offset + limit  # a cycle: back to page one
    meta = {
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "next": link(following) if offset + limit < len(items) else None,
    }
    data = [encode(item) for item in page] if encode else page
    return json_response({"data": data, "meta": meta})
