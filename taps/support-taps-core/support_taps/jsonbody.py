"""Reading a JSON body: fast, and honest about why one cannot be read.

msgspec reads every body. When it refuses one, Python's own parser gets a second look,
because msgspec takes a lone UTF-16 surrogate escape (`"\\ud800"`, what a JavaScript
server's string truncation produces) for a body cut short, and a tap would retry a body that
can never change. A body Python reads is kept, its lone surrogates replaced by U+FFFD (no
target can store them, and no encoder writes them); one neither reads is cut short (retry
it), malformed, or nested deeper than a parser goes, and the error says which.
"""

from __future__ import annotations

import json
import re
import typing as t

import msgspec

_decoder = msgspec.json.Decoder()
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyNotJSON(ValueError):
    """A body that is not JSON; `kind` is "truncated", "malformed" or "too deep"."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class Decoded(t.NamedTuple):
    payload: t.Any
    #: Lone surrogates were replaced with U+FFFD.
    repaired: bool


def decode(content: bytes) -> Decoded:
    """The JSON value of `content` (see the module docstring), or BodyNotJSON."""
    try:
        return Decoded(_decoder.decode(content), False)
    except RecursionError:
        raise BodyNotJSON("too deep") from None
    except msgspec.DecodeError as exc:
        first_opinion = "truncated" if "truncated" in str(exc) else "malformed"
    try:
        payload = json.loads(content)
    except RecursionError:
        raise BodyNotJSON("too deep") from None
    except ValueError:
        raise BodyNotJSON(first_opinion) from None
    return Decoded(_without_lone_surrogates(payload), True)


def _without_lone_surrogates(value: t.Any) -> t.Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {
            _without_lone_surrogates(key): _without_lone_surrogates(item)
            for key, item in value.items()
        }
    return value


def describe_unreadable(kind: str, content: bytes) -> str:
    """ "truncated JSON (1,234 bytes, starting as an object)", for error messages."""
    opener = "an object" if content.lstrip()[:1] == b"{" else "a list"
    if kind == "too deep":
        return f"JSON nested too deeply to read ({len(content):,} bytes, starting as {opener})"
    return f"{kind} JSON ({len(content)} bytes, starting as {opener})"
