"""The hostile answers: classes of answers no vendor should send, each a way to answer one
endpoint, its values drawn by hypothesis (one strategy per class).

An answer class says how it answers a request (`respond(request, normal, situation)`, where
`normal()` is the simulator's own answer, which some classes spoil), whether it answers every
request to the endpoint or only the first (`times`), and what the run may do about it:

- `expect`: "recover" (the run lands every row: a retry mends it), "fail" (the run must fail:
  nothing in the answer can be read as data), "either" (landing what was served, or failing),
  "stop" (a SIGTERM arrives while the answer stalls: the run stops with status 143);
- `served`: which rows the run was served, against the simulator's own: "clean" (the same
  keys: the answer only spoils how they are sent, or values that are not keys) or "none"
  (the answer carries no rows);
- `setting` and `says`: what the one ERROR line must name, where something applies.

Every error body (pages, envelopes, JSON errors, headers) echoes the run's secrets in every
encoding (`echoed`), one of them across the 200-byte cut an error message quotes; wrong-shaped
JSON carries `CANARY`, customer data an error message must describe and never quote.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import random
import re
import threading
import typing as t
import zlib
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st
from kit_hostile import Elsewhere, dripping, http_head, stalling

from support_simulators.framework import SimRequest, SimResponse

#: Customer data in a hostile body: an error message describes JSON, it never quotes it.
CANARY = "jane.canary@example.com"
#: A string this long proves a large value lands whole, in a second or two (64 MiB would not).
HUGE_CHARS = 4 * 1024 * 1024
#: Deep enough to break a recursive parser, as the issue's vendor did.
DEEP_LEVELS = 2000

Normal = t.Callable[[], SimResponse | None]


# ---- what an answer knows, and what it did ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What an endpoint's usual answers hold (seen in a clean run), for the classes that
    spoil them: a class applies where it finds something to spoil."""

    #: Its usual answer is JSON (not a redirect, not a CSV file).
    answers_json: bool
    #: It answers rows: a list of objects somewhere in its JSON.
    has_rows: bool
    #: Its rows carry ids that are numbers (or numeric strings).
    numeric_ids: bool
    #: It links a next page (`next`), and its streams page.
    paged: bool
    #: Its rows carry update stamps (`updated_at`), which say which version is newer.
    versioned: bool


@dataclass
class Situation:
    """What an answer is given at run time, and where it notes what it did for the checker."""

    params: dict[str, t.Any]
    secrets: dict[str, str]
    elsewhere: Elsewhere
    #: Raw fields an answer leaves alone: the streams' key columns (a key is not a value);
    #: fields named as ids are left alone too (`is_id`).
    keys: frozenset[str]
    stall_started: threading.Event = field(default_factory=threading.Event)
    notes: dict[str, t.Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rng(self) -> random.Random:
        """Choices inside an answer (which row, which field), from the drawn seed."""
        return random.Random(self.params.get("seed", 0) + self.notes.get("answers", 0))

    def note(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.notes[key] = self.notes.get(key, 0) + amount

    def append(self, key: str, value: t.Any) -> None:
        with self._lock:
            self.notes.setdefault(key, []).append(value)


Respond = t.Callable[[SimRequest, Normal, Situation], SimResponse | None]


@dataclass(frozen=True)
class AnswerClass:
    name: str
    doc: str
    strategy: t.Callable[[int], st.SearchStrategy[dict[str, t.Any]]]
    respond: Respond
    expect: str
    served: str = "clean"
    #: None: every request to the endpoint; 1: the first only (a retry gets the usual answer).
    times: int | None = None
    #: The setting the ERROR line must name (from the drawn parameters), if one applies.
    setting: t.Callable[[dict[str, t.Any]], str | None] = lambda params: None
    #: A pattern the ERROR line must hold, if the answer makes one apply.
    says: t.Callable[[dict[str, t.Any]], str | None] = lambda params: None
    applies: t.Callable[[Target], bool] = lambda target: True
    #: Whether the answer must note `applied` (it spoils the usual answer, which may not fit).
    spoils: bool = False
    #: It changes values of rows (not their key fields): a stream whose key is made of its
    #: values (Xenioo's labels and day, Khoros's row hash) lands those rows under new keys.
    alters_values: bool = False


def rotated(options: t.Sequence[t.Any], offset: int) -> st.SearchStrategy[t.Any]:
    """One of `options`; the simplest draw (what a single example gives) is the one at
    `offset`, so cells with different offsets start from different options."""
    size = len(options)
    return st.integers(0, size - 1).map(lambda index: options[(index + offset) % size])


_WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=24
)
_SEED = st.integers(0, 2**32 - 1)


# ---- secrets in every encoding ---------------------------------------------------------------


def encodings(secret: str) -> list[str]:
    """`secret` as a server may echo it: as is, URL-encoded (upper and lower hex, and as a
    form), base64 (with and without padding), JSON-escaped, as Python's repr shows it."""
    encoded = base64.b64encode(secret.encode()).decode()
    forms = [
        secret,
        quote(secret, safe=""),
        re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(secret, safe="")),
        quote_plus(secret),
        encoded,
        encoded.rstrip("="),
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
    ]
    return list(dict.fromkeys(forms))


def echoed(secrets: dict[str, str], cut_at: int = 200) -> str:
    """Every secret in every encoding, the first one starting a few characters before
    `cut_at` (so a message cut there before masking would show part of it)."""
    names = sorted(secrets)
    if not names:
        return ""
    first = secrets[names[0]]
    lead = "Request echoed for debugging: " + "." * max(0, cut_at - 37)
    parts = [lead + first]
    for name in names:
        for form in encodings(secrets[name]):
            parts.append(f"{name}={form}")
            parts.append(f"Authorization: Bearer {form}")
    return " ".join(parts)


def error_page(secrets: dict[str, str], words: str, kind: str) -> tuple[bytes, str]:
    """An error page (HTML, XML or text) echoing the secrets: (body, Content-Type)."""
    text = f"{echoed(secrets)} {words}"
    if kind == "xml":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
            f"<Message>{_xml(text)}</Message></Error>"
        )
        return body.encode(), "application/xml"
    if kind == "text":
        return f"Service error: {text}".encode(), "text/plain; charset=utf-8"
    return (
        f"<html><head><title>Error</title></head><body><h1>Oops</h1><p>{_xml(text)}</p>"
        "</body></html>"
    ).encode(), "text/html; charset=utf-8"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _json(payload: t.Any, status: int = 200, headers: dict[str, str] | None = None) -> SimResponse:
    return SimResponse(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **(headers or {})},
    )


# ---- the usual answer, read and spoilt -------------------------------------------------------


def body_of(response: SimResponse) -> bytes:
    if response.chunks is not None:
        return b"".join(response.chunks)
    return response.body


def usual_json(normal: Normal) -> tuple[SimResponse | None, t.Any]:
    """The simulator's answer (its body read, if it streamed) and its JSON; None for a
    payload when it is not a 2xx JSON answer (then the answer is sent as it is)."""
    response = normal()
    if response is None or not 200 <= response.status < 300:
        return response, None
    body = body_of(response)
    sized = SimResponse(response.status, body, dict(response.headers))
    try:
        return sized, json.loads(body)
    except ValueError:
        return sized, None


def row_lists(node: t.Any) -> list[list[dict]]:
    """Every list of objects in a JSON value, longest first."""
    found: list[list[dict]] = []

    def walk(value: t.Any) -> None:
        if isinstance(value, list):
            if value and all(isinstance(item, dict) for item in value):
                found.append(value)
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(node)
    return sorted(found, key=len, reverse=True)


def rows_of(payload: t.Any) -> list[dict]:
    """The rows of an answer: its longest list of objects, else the object itself."""
    lists = row_lists(payload)
    if lists:
        return lists[0]
    return [payload] if isinstance(payload, dict) else []


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$")
_US_DATE = re.compile(r"^\d{2}/\d{2}/\d{4}( \d{1,2}:\d{2}(:\d{2})?( ?[AP]M)?)?$")
#: Epoch milliseconds between 2000 and 2100.
_EPOCH_MS = (946_684_800_000, 4_102_444_800_000)


def is_date(value: t.Any) -> bool:
    if isinstance(value, str):
        return bool(_ISO.match(value) or _US_DATE.match(value))
    return type(value) is int and _EPOCH_MS[0] <= value < _EPOCH_MS[1]


def is_id(name: str) -> bool:
    """Whether a field's name says it is an id (`id`, `request_id`, `ActionID`, `authorId`)."""
    return bool(re.search(r"(^|_)id$|[a-z0-9]Id$|ID$", name)) or name.lower() == "id"


def is_number(value: t.Any) -> bool:
    """An integer, or a string of digits: an id a vendor may spell either way."""
    return type(value) is int or (isinstance(value, str) and value.isdigit())


def is_update_stamp(name: str, value: t.Any) -> bool:
    """Whether a field says when its row last changed (`updated_at`, `modifiedTime`)."""
    lowered = name.lower()
    return ("updated" in lowered or "modified" in lowered) and is_date(value)


def fields_of(row: dict, situation: Situation, want: t.Callable[[str, t.Any], bool]) -> list[str]:
    """The row's top-level fields that `want` picks; keys and ids are left alone."""
    return [
        name
        for name, value in row.items()
        if name not in situation.keys and not is_id(name) and want(name, value)
    ]


def respond_with(
    payload: t.Any, usual: SimResponse, *, raw: dict[str, str] | None = None
) -> SimResponse:
    """The spoilt payload in the usual answer's place; `raw` replaces marker strings with
    text JSON cannot say (NaN, 1e400, 2,000 brackets)."""
    text = json.dumps(payload)
    for marker, replacement in (raw or {}).items():
        text = text.replace(json.dumps(marker), replacement)
    headers = {k: v for k, v in usual.headers.items() if k.lower() != "content-length"}
    return SimResponse(usual.status, text.encode(), headers)


# ---- the classes -----------------------------------------------------------------------------


def _status_once(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    status = s.params["status"]
    headers: dict[str, str] = {}
    if status == 429:
        headers = {"Retry-After": s.params["retry_after"]}
    body, ctype = error_page(s.secrets, s.params["words"], s.params["page"])
    return SimResponse(status, body, {"Content-Type": ctype, **headers})


STATUS_ONCE = AnswerClass(
    "status_once",
    "One 5xx, 429 (Retry-After in seconds or as a date), 408 or expired-link 403 on a file "
    "host, its page echoing the secrets; the retry is answered as usual.",
    lambda offset: st.fixed_dictionaries(
        {
            "status": rotated([503, 500, 429, 502, 504, 408], offset),
            "retry_after": st.sampled_from(["0", "0.1", "Thu, 01 Jan 1970 00:00:00 GMT"]),
            "page": rotated(["html", "text", "xml"], offset),
            "words": _WORDS,
        }
    ),
    _status_once,
    expect="recover",
    times=1,
)


def _broken_once(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    how = s.params["how"]
    if how == "drop":
        return None
    usual = normal()
    body = body_of(usual) if usual is not None else b"{}"
    status = usual.status if usual is not None else 200
    headers = {
        k: v for k, v in (usual.headers if usual else {}).items() if k.lower() != "content-length"
    }
    if how == "short":  # a Content-Length that promises more than comes
        head = http_head(status, {**headers, "Content-Length": str(len(body) + 100)})
        cut = body[: max(1, len(body) // 2)]
        return SimResponse(status, write=lambda conn: conn.sendall(head + cut))
    head = http_head(status, {**headers, "Transfer-Encoding": "chunked"})
    chunk = body[: max(1, len(body) // 2)]
    return SimResponse(
        status, write=lambda conn: conn.sendall(head + b"%x\r\n%s\r\n" % (len(body), chunk))
    )


BROKEN_ONCE = AnswerClass(
    "broken_once",
    "One answer broken off: the connection dropped, a Content-Length that lies, a chunk cut "
    "short; the retry is answered as usual.",
    lambda offset: st.fixed_dictionaries({"how": rotated(["drop", "short", "chunk"], offset)}),
    _broken_once,
    expect="recover",
    times=1,
)


def _drip(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    usual = normal()
    body = body_of(usual) if usual is not None else b"[]"
    status = usual.status if usual is not None else 200
    headers = {
        k: v for k, v in (usual.headers if usual else {}).items() if k.lower() != "content-length"
    }
    # Padded (trailing spaces are valid JSON; a header of its own) to drip far longer than
    # any deadline: only the client ends it.
    body += b" " * 10_000
    head = http_head(
        status, {**headers, "X-Padding": "." * 2_000, "Content-Length": str(len(body))}
    )
    after = len(head) if s.params["part"] == "body" else 0
    return SimResponse(status, write=dripping(head + body, s.params["gap"], after=after))


DRIP = AnswerClass(
    "drip",
    "Every answer drips, a byte at a time well inside `request_timeout`: its headers, or its "
    "body after prompt headers. Only `request_deadline` ends it.",
    lambda offset: st.fixed_dictionaries(
        {"part": rotated(["body", "headers"], offset), "gap": st.sampled_from([0.05, 0.2])}
    ),
    _drip,
    expect="fail",
    setting=lambda params: "request_deadline",
)


def _status_fatal(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    status = s.params["status"]
    if s.params["as_json"]:
        return _json(
            {"error": "request refused", "message": f"{echoed(s.secrets)} {s.params['words']}"},
            status,
        )
    body, ctype = error_page(s.secrets, s.params["words"], s.params["page"])
    return SimResponse(status, body, {"Content-Type": ctype})


STATUS_FATAL = AnswerClass(
    "status_fatal",
    "Every answer a 4xx no retry mends (400, 401, 403, 404, 405, 410, 422), as an error page "
    "or a JSON error, echoing the secrets.",
    lambda offset: st.fixed_dictionaries(
        {
            "status": rotated([400, 401, 404, 403, 410, 422, 405], offset),
            "as_json": st.booleans(),
            "page": st.sampled_from(["html", "text", "xml"]),
            "words": _WORDS,
        }
    ),
    _status_fatal,
    expect="fail",
    served="none",
    says=lambda params: rf"\b{params['status']}\b",
)


def _error_envelope(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    shape = s.params["shape"]
    said = f"{echoed(s.secrets)} {s.params['words']}"
    if shape == "vendor":  # the vendor's own refusal, from its simulator, as a 200
        refusal = s.params["vendor_refusal"]
        return SimResponse(200, refusal, {"Content-Type": "application/json"})
    payload: t.Any = {
        "error_message": {"error": "internal_error", "message": said},
        "errors": {"errors": [{"code": 500, "message": said}], "data": None},
        "fail": {"status": "FAIL", "message": said, "result": None},
        "nested": {"data": {"error": said, "customer": CANARY}},
    }[shape]
    return _json(payload)


ERROR_ENVELOPE = AnswerClass(
    "error_envelope",
    "Every answer a 200 whose JSON says it failed: {error, message}, {errors: [...]}, "
    "{status: FAIL}, an error nested in `data`, or the vendor's own refusal body.",
    lambda offset: st.fixed_dictionaries(
        {
            "shape": rotated(["error_message", "vendor", "errors", "fail", "nested"], offset),
            "words": _WORDS,
        }
    ),
    _error_envelope,
    expect="fail",
    served="none",
)


def _empty(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    return SimResponse(200, s.params["body"].encode(), {"Content-Type": "application/json"})


EMPTY = AnswerClass(
    "empty",
    "Every answer a 200 with an empty JSON value: {}, [], null. Read as no rows, or refused.",
    lambda offset: st.fixed_dictionaries({"body": rotated(["{}", "[]", "null"], offset)}),
    _empty,
    expect="either",
    served="none",
)


def _not_json(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    kind = s.params["kind"]
    rng = random.Random(s.params["seed"])
    ctype = s.params["content_type"]
    if kind in ("html", "xml", "text"):
        body, own_type = error_page(s.secrets, s.params["words"], kind)
        return SimResponse(200, body, {"Content-Type": ctype or own_type})
    if kind == "empty":
        body = b""
    elif kind == "zip":
        body = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + rng.randbytes(200)
    elif kind == "gzip":  # gzip bytes, without the Content-Encoding header that would say so
        body = gzip.compress(json.dumps([{"customer": CANARY}]).encode())
    elif kind == "random":
        body = rng.randbytes(rng.randint(1, 2000))
    else:  # JSON that breaks off into garbage after a row of customer data
        body = json.dumps([{"id": 1, "customer": CANARY}]).encode()[:-1] + b", }{ garbage"
    return SimResponse(200, body, {"Content-Type": ctype or "application/json"})


NOT_JSON = AnswerClass(
    "not_json",
    "Every answer a 200 that is not JSON: an HTML, XML or text page echoing the secrets, no "
    "body, a zip, gzip without its header, random bytes, JSON breaking into garbage; under "
    "its own Content-Type or a JSON one.",
    lambda offset: st.fixed_dictionaries(
        {
            "kind": rotated(
                ["html", "empty", "zip", "malformed", "xml", "gzip", "random", "text"], offset
            ),
            "content_type": st.sampled_from([None, "application/json"]),
            "words": _WORDS,
            "seed": _SEED,
        }
    ),
    _not_json,
    expect="fail",
    served="none",
)


def _encoding(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    usual, payload = usual_json(normal)
    if usual is None or payload is None:
        return usual
    s.note("applied")
    how = s.params["how"]
    headers = {**usual.headers, "Content-Type": "application/json; charset=utf-8"}
    if how == "latin-1":
        rows = rows_of(payload)
        texts = [
            (row, name)
            for row in rows
            for name in fields_of(row, s, lambda n, v: isinstance(v, str) and not is_date(v))
        ]
        if texts:
            row, name = s.rng.choice(texts)
            row[name] = f"{row[name]} café ñandú"
        return SimResponse(
            usual.status,
            json.dumps(payload, ensure_ascii=False).encode("latin-1", "replace"),
            headers,
        )
    text = json.dumps(payload, ensure_ascii=False)
    encoded = text.encode("utf-16") if how == "utf-16" else text.encode("utf-16-le")
    return SimResponse(usual.status, encoded, headers)


ENCODING = AnswerClass(
    "encoding",
    "Every answer the usual JSON in another encoding than its charset says: UTF-16 (with or "
    "without a byte order mark), or Latin-1 text under a UTF-8 charset.",
    lambda offset: st.fixed_dictionaries(
        {"how": rotated(["utf-16", "latin-1", "utf-16-le"], offset), "seed": _SEED}
    ),
    _encoding,
    expect="either",
    applies=lambda target: target.answers_json,
    spoils=True,
    alters_values=True,
)


def _content_type(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    usual = normal()
    if usual is None:
        return None
    s.note("applied")
    headers = {k: v for k, v in usual.headers.items() if k.lower() != "content-type"}
    if s.params["content_type"] is not None:
        headers["Content-Type"] = s.params["content_type"]
    else:
        headers["Content-Type"] = ""  # sent empty: the closest a server gets to none
    return SimResponse(usual.status, body_of(usual), headers)


CONTENT_TYPE = AnswerClass(
    "content_type",
    "Every answer the usual body under a wrong or empty Content-Type (text/html, text/plain, "
    "application/octet-stream, a UTF-16 charset).",
    lambda offset: st.fixed_dictionaries(
        {
            "content_type": rotated(
                [
                    "text/html",
                    None,
                    "application/octet-stream",
                    "text/plain",
                    "application/json; charset=utf-16",
                ],
                offset,
            )
        }
    ),
    _content_type,
    expect="either",
    spoils=True,
)


def _encoding_lie(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    usual = normal()
    if usual is None:
        return None
    s.note("applied")
    body = body_of(usual)
    lie = s.params["lie"]
    headers = {**usual.headers}
    if lie == "gzip-plain":
        headers["Content-Encoding"] = "gzip"
    elif lie == "deflate-plain":
        headers["Content-Encoding"] = "deflate"
    elif lie == "gzip-twice":  # says gzip twice, compressed once
        headers["Content-Encoding"] = "gzip, gzip"
        body = gzip.compress(body)
    else:  # compressed, and not saying so
        body = zlib.compress(body)
    return SimResponse(usual.status, body, headers)


ENCODING_LIE = AnswerClass(
    "content_encoding_lie",
    "Every answer's Content-Encoding lies: gzip or deflate over a plain body, gzip named twice "
    "over a body compressed once, a compressed body named plain.",
    lambda offset: st.fixed_dictionaries(
        {"lie": rotated(["gzip-plain", "deflate-plain", "gzip-twice", "unnamed"], offset)}
    ),
    _encoding_lie,
    expect="either",
    spoils=True,
)


def _redirect_elsewhere(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    query = "&".join(f"{k}={quote(v)}" for k, values in request.query.items() for v in values)
    location = f"{s.elsewhere.named_url}{request.path}" + (f"?{query}" if query else "")
    body, ctype = error_page(s.secrets, "Moved", "html")
    return SimResponse(s.params["status"], body, {"Location": location, "Content-Type": ctype})


REDIRECT_ELSEWHERE = AnswerClass(
    "redirect_elsewhere",
    "Every answer a 307 or 308 (which re-send the request's body) to another host, with a "
    "body of its own; that host logs what reaches it and answers 404.",
    lambda offset: st.fixed_dictionaries({"status": rotated([307, 308], offset)}),
    _redirect_elsewhere,
    expect="fail",
    served="none",
    says=lambda params: r"redirect",
)


def _redirect_odd(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    target = s.params["target"]
    if target == "loop":
        location = request.path
    elif target == "secret":  # to another host, the credential in the URL
        secret = sorted(s.secrets.values())[0]
        location = f"{s.elsewhere.named_url}/callback?token={quote(secret, safe='')}"
    else:
        location = target
    return SimResponse(s.params["status"], b"", {"Location": location})


REDIRECT_ODD = AnswerClass(
    "redirect_odd",
    "Every answer a redirect that must not be followed: back to itself (a loop), to file:// "
    "or ftp://, to another host with a secret in its URL.",
    lambda offset: st.fixed_dictionaries(
        {
            "target": rotated(
                ["loop", "file:///etc/passwd", "secret", "ftp://127.0.0.1/report.json"], offset
            ),
            "status": st.sampled_from([302, 301, 303, 307, 308]),
        }
    ),
    _redirect_odd,
    expect="fail",
    served="none",
    # A loop of 30 hops may outlast `request_deadline` on a busy machine: ended either way.
    says=lambda params: (
        r"redirect|within .*request_deadline" if params["target"] == "loop" else r"redirect"
    ),
)


def _paging(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    """Pages of our own after the first: the vendor's answer to a page key it never made
    would be a refusal, not the endless paging this class is about."""
    key = request.arg("pageKey") or ""
    scope = (request.path, request.body)
    pages = s.notes.setdefault("first pages", {})
    if key.startswith("hostile-") and scope in pages:
        usual, payload = pages[scope]
        payload = json.loads(json.dumps(payload))
    else:
        usual, payload = usual_json(normal)
        if usual is None or payload is None:
            return usual
        pages[scope] = (usual, payload)
    links = [node for node in dicts_in(payload) if "next" in node]
    if not links:
        return usual
    s.note("applied")
    how = s.params["how"]
    s.note("pages")
    page = s.notes["pages"]
    if how in ("empty forever", "same rows forever"):
        fresh = f"hostile-{s.params['seed']}-{page}"
    elif how == "same key":
        fresh = f"hostile-{s.params['seed']}"
    else:  # back to a page already read, every other page
        fresh = f"hostile-{s.params['seed']}-{page % 2}"
    links[0]["next"] = f"{request.path}?pageKey={fresh}"
    if how == "empty forever" and key.startswith("hostile-"):
        for rows in row_lists(payload):
            rows.clear()
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            payload["data"] = []
    return respond_with(payload, usual)


def dicts_in(node: t.Any) -> t.Iterator[dict]:
    """Every object in a JSON value."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from dicts_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from dicts_in(item)


PAGING = AnswerClass(
    "paging",
    "Paging that never ends: a new page key every time over empty pages or the same rows, the "
    "same key again, or back to the first page.",
    lambda offset: st.fixed_dictionaries(
        {
            "how": rotated(["empty forever", "same key", "same rows forever", "back"], offset),
            "seed": _SEED,
        }
    ),
    _paging,
    expect="fail",
    applies=lambda target: target.paged,
    spoils=True,
)


def _spoil_rows(
    mutate: t.Callable[[t.Any, list[dict], Situation], bool],
) -> Respond:
    """An answer that spoils the usual JSON with `mutate(payload, rows, situation)` (True when
    it changed something)."""

    def respond(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
        usual, payload = usual_json(normal)
        if usual is None or payload is None:
            return usual
        raw: dict[str, str] = {}
        s.notes.setdefault("raw", raw)
        if mutate(payload, rows_of(payload), s):
            s.note("applied")
        return respond_with(payload, usual, raw=s.notes["raw"])

    return respond


def _duplicates(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    if not rows or rows is payload and not isinstance(payload, list):
        return False
    how = s.params["how"]
    if how == "every row twice":
        twice = [copy for row in rows for copy in (row, json.loads(json.dumps(row)))]
    else:
        index = s.rng.randrange(len(rows))
        twice = [*rows[: index + 1], json.loads(json.dumps(rows[index])), *rows[index + 1 :]]
    s.note("duplicated", len(twice) - len(rows))
    rows[:] = twice
    return True


DUPLICATES = AnswerClass(
    "duplicates",
    "Every answer serves rows twice, identical: one of them, or every one.",
    lambda offset: st.fixed_dictionaries(
        {"how": rotated(["every row twice", "one row twice"], offset), "seed": _SEED}
    ),
    _spoil_rows(_duplicates),
    expect="either",
    applies=lambda target: target.has_rows,
    spoils=True,
)


def _newer_first(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    candidates = [row for row in rows if any(is_update_stamp(n, v) for n, v in row.items())]
    if not candidates:
        return False
    row = s.rng.choice(candidates)
    newer = json.loads(json.dumps(row))
    for name, value in row.items():
        if is_update_stamp(name, value):
            newer[name] = _later(value)
    marker = f"newer version {s.params['seed']}"
    texts = fields_of(newer, s, lambda n, v: isinstance(v, str) and not is_date(v))
    newer[texts[0] if texts else "hostile_marker"] = marker
    rows.insert(rows.index(row), newer)
    s.append("newer", marker)
    return True


def _later(value: t.Any) -> t.Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value + 1  # epoch milliseconds
    moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (moment + dt.timedelta(seconds=1)).isoformat()


NEWER_FIRST = AnswerClass(
    "newer_first",
    "A row served twice under one key, the newer version (by its update stamp) first.",
    lambda offset: st.fixed_dictionaries({"seed": _SEED}),
    _spoil_rows(_newer_first),
    expect="either",
    applies=lambda target: target.has_rows and target.versioned,
    spoils=True,
)


def _respelled(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    keyed = [(row, name) for row in rows for name in sorted(s.keys) if is_number(row.get(name))]
    if not keyed:
        return False
    row, name = s.rng.choice(keyed)
    number = int(row[name])
    other = json.loads(json.dumps(row))
    spelling = s.params["spelling"]
    other[name] = {"text": str(number), "prefixed": f"REQ-{number}", "number": number}[spelling]
    if type(row[name]) is not int and spelling == "text":
        other[name] = number
    texts = fields_of(other, s, lambda n, v: isinstance(v, str) and not is_date(v))
    marker = f"another row spelt {spelling} {s.params['seed']}"
    other[texts[0] if texts else "hostile_marker"] = marker
    rows.append(other)
    s.append("respelled", marker)
    return True


RESPELLED_KEY = AnswerClass(
    "respelled_key",
    'A second, different row whose key is the same number spelt otherwise (1, "1", '
    '"REQ-1"): two rows, so two keys, or an error.',
    lambda offset: st.fixed_dictionaries(
        {"spelling": rotated(["prefixed", "text", "number"], offset), "seed": _SEED}
    ),
    _spoil_rows(_respelled),
    expect="either",
    applies=lambda target: target.numeric_ids,
    spoils=True,
)


def _numbers(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    value = s.params["value"]
    fields = [
        (row, name)
        for row in rows
        for name in fields_of(
            row,
            s,
            lambda n, v: isinstance(v, (int, float)) and not isinstance(v, bool) and not is_date(v),
        )
    ]
    if not fields:  # none to spoil: a field the vendor added holds it
        fields = [(row, "hostile_number") for row in rows[:3]]
    if not fields:
        return False
    for row, name in fields[: max(1, len(fields) // 3)]:
        if isinstance(value, str):  # a token JSON cannot say
            marker = f"hostile-number-{value}"
            s.notes["raw"][marker] = value
            row[name] = marker
        else:
            row[name] = value
    return True


EXTREME_NUMBERS = AnswerClass(
    "extreme_numbers",
    "Numbers (not keys) out of every range: 2**70, -2**70, -1, 1e308, 5e-324, -0.0, and the "
    "tokens NaN, Infinity, -Infinity and 1e400 that JSON cannot say.",
    lambda offset: st.fixed_dictionaries(
        {
            "value": rotated(
                [2**70, "NaN", -1, 1e308, "Infinity", -(2**70), 5e-324, "1e400", "-Infinity", -0.0],
                offset,
            )
        }
    ),
    _spoil_rows(_numbers),
    expect="either",
    applies=lambda target: target.answers_json,
    spoils=True,
    alters_values=True,
)


def _dates(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    changed = False
    if rows and not any(fields_of(row, s, lambda n, v: is_date(v)) for row in rows):
        rows[0]["hostile_date"] = "2025-01-01T00:00:00Z"  # none to spoil: a field the vendor added
    for row in rows:
        for name in fields_of(row, s, lambda n, v: is_date(v)):
            value = row[name]
            if isinstance(value, int):
                row[name] = s.params["epoch"]
            else:
                row[name] = s.params["iso"]
            changed = True
    return changed


ODD_DATES = AnswerClass(
    "odd_dates",
    "Every date of every row (not keys) far outside the window asked: years 0001, 1970, 9999, "
    "2099; epoch milliseconds 2**70, -1, 0.",
    lambda offset: st.fixed_dictionaries(
        {
            "iso": rotated(
                [
                    "9999-12-31T23:59:59Z",
                    "0001-01-01T00:00:00Z",
                    "1970-01-01T00:00:00Z",
                    "2099-06-30T12:00:00+14:00",
                ],
                offset,
            ),
            "epoch": rotated([2**70, -1, 0, 253402300800000], offset),
        }
    ),
    _spoil_rows(_dates),
    expect="either",
    applies=lambda target: target.answers_json,
    spoils=True,
    alters_values=True,
)


def _strings(payload: t.Any, rows: list[dict], s: Situation) -> bool:
    texts = [
        (row, name)
        for row in rows
        for name in fields_of(row, s, lambda n, v: isinstance(v, str) and not is_date(v))
    ]
    what = s.params["what"]
    if not texts:  # none to spoil: a field the vendor added holds it
        if not rows:
            return False
        texts = [(rows[0], "hostile_text")]
    row, name = s.rng.choice(texts)
    if what == "surrogate":
        marker = "hostile-surrogate"
        s.notes["raw"][marker] = '"\\ud83d half of an emoji"'
        row[name] = marker
    elif what == "deep":
        marker = "hostile-deep"
        s.notes["raw"][marker] = "[" * DEEP_LEVELS + "]" * DEEP_LEVELS
        row[name] = marker
    elif what == "huge":
        row[name] = "x" * HUGE_CHARS
        s.append("huge", len(row[name]))
    else:
        row[name] = {"nul": "a\x00b", "bidi": "\u202eevil\u202c", "noncharacter": "\uffff\ufdd0"}[
            what
        ]
    return True


STRANGE_STRINGS = AnswerClass(
    "strange_strings",
    "A text value (not a key) spoilt: a lone UTF-16 surrogate, 2,000 levels of nesting, "
    f"{HUGE_CHARS // 2**20} MiB of text, a NUL, bidirectional overrides, noncharacters.",
    lambda offset: st.fixed_dictionaries(
        {
            "what": rotated(["surrogate", "deep", "huge", "nul", "bidi", "noncharacter"], offset),
            "seed": _SEED,
        }
    ),
    _spoil_rows(_strings),
    expect="either",
    applies=lambda target: target.answers_json,
    spoils=True,
    alters_values=True,
)


def _stall(request: SimRequest, normal: Normal, s: Situation) -> SimResponse | None:
    return SimResponse(200, write=stalling(s.stall_started))


STALL_SIGTERM = AnswerClass(
    "stall_sigterm",
    "The answer never comes, and the run is sent SIGTERM while it waits: it stops with status "
    "143 at once, its last STATE covering only what it emitted.",
    lambda offset: st.fixed_dictionaries({}),
    _stall,
    expect="stop",
    served="none",
)


CLASSES: dict[str, AnswerClass] = {
    answer.name: answer
    for answer in (
        STATUS_ONCE,
        BROKEN_ONCE,
        DRIP,
        STATUS_FATAL,
        ERROR_ENVELOPE,
        EMPTY,
        NOT_JSON,
        ENCODING,
        CONTENT_TYPE,
        ENCODING_LIE,
        REDIRECT_ELSEWHERE,
        REDIRECT_ODD,
        PAGING,
        DUPLICATES,
        NEWER_FIRST,
        RESPELLED_KEY,
        EXTREME_NUMBERS,
        ODD_DATES,
        STRANGE_STRINGS,
        STALL_SIGTERM,
    )
}


__all__ = ["CANARY", "CLASSES", "AnswerClass", "Situation", "Target", "encodings"]
