"""Reading a JSON body: fast, and honest about why one cannot be read.

msgspec reads every body. When it refuses one, Python's own parser gets a second look,
because msgspec takes a lone UTF-16 surrogate escape (`"\\ud800"`, what a JavaScript
server's string truncation produces) for a body cut short, and a tap would retry a body that
can never change. A body Python reads is kept, and what had to be mended for it is said
(`Decoded.repairs`, one warning each): lone surrogates become U+FFFD (no target can store
them, and no encoder writes them); NaN, Infinity and numbers beyond a double (1e400), which
JSON does not have, become null; a body in UTF-16 or UTF-32 is read as such. One neither
reads is cut short (retry it), malformed, or nested deeper than a parser goes, and the error
says which.
"""

from __future__ import annotations

import json
import math
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


#: What `decode` may have to mend for Python's parser to read a body (see the module docstring).
LONE_SURROGATE = "lone surrogate"
NOT_A_NUMBER = "not a number"
OTHER_ENCODING = "other encoding"


class Decoded(t.NamedTuple):
    payload: t.Any
    #: What was mended for the body to be read (LONE_SURROGATE, NOT_A_NUMBER, OTHER_ENCODING).
    repairs: frozenset[str] = frozenset()


def decode(content: bytes) -> Decoded:
    """The JSON value of `content` (see the module docstring), or BodyNotJSON."""
    try:
        return Decoded(_decoder.decode(content))
    except RecursionError:
        raise BodyNotJSON("too deep") from None
    except msgspec.DecodeError as exc:
        first_opinion = "truncated" if "truncated" in str(exc) else "malformed"
    repairs: set[str] = set()

    def not_a_number(_: str) -> None:
        repairs.add(NOT_A_NUMBER)

    def number(text: str) -> float | None:
        value = float(text)
        if math.isinf(value):
            repairs.add(NOT_A_NUMBER)
            return None
        return value

    try:
        payload = json.loads(content, parse_constant=not_a_number, parse_float=number)
    except RecursionError:
        raise BodyNotJSON("too deep") from None
    except ValueError:
        raise BodyNotJSON(first_opinion) from None
    if json.detect_encoding(content) not in ("utf-8", "utf-8-sig"):
        repairs.add(OTHER_ENCODING)
    mended = _without_lone_surrogates(payload)
    if mended is not payload:
        repairs.add(LONE_SURROGATE)
    return Decoded(mended, frozenset(repairs))


def _without_lone_surrogates(value: t.Any) -> t.Any:
    """`value` with lone surrogates replaced; `value` itself (the same object) if it has none."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value
    if isinstance(value, list):
        items = [_without_lone_surrogates(item) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        pairs = [
            (_without_lone_surrogates(k), _without_lone_surrogates(v)) for k, v in value.items()
        ]
        changed = any(
            a is not k or b is not v for (a, b), (k, v) in zip(pairs, value.items(), strict=True)
        )
        return dict(pairs) if changed else value
    return value


def describe_unreadable(kind: str, content: bytes) -> str:
    """ "truncated JSON (1,234 bytes, starting as an object)", for error messages."""
    opener = "an object" if content.lstrip()[:1] == b"{" else "a list"
    if kind == "too deep":
        return f"JSON nested too deeply to read ({len(content):,} bytes, starting as {opener})"
    return f"{kind} JSON ({len(content)} bytes, starting as {opener})"
