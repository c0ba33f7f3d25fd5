"""Secret redaction in text and logs; request pacing."""

from __future__ import annotations

import contextlib
import json
import re
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st
from kit_logs import captured_log

from support_taps.errors import body_snippet
from support_taps.pacing import RequestPacer
from support_taps.redaction import RedactingFilter, SecretRedactor, redact


def test_redactor_masks_plain_and_url_encoded_secrets():
    redactor = SecretRedactor()
    redactor.add("s3cr3t/key+1", "abc", None)
    text = "GET /stats/s3cr3t%2Fkey%2B1/0 key=s3cr3t/key+1 q=s3cr3t%2Fkey%2B1 abc"
    assert (
        redactor(text) == "GET /stats/***/0 key=*** q=*** abc"
    )  # 'abc' is too short to be a secret


def test_log_filter_masks_messages_arguments_and_tracebacks():
    redact.add("topsecretvalue")
    with captured_log("redaction-test", log_filter=RedactingFilter()) as (logger, stream):
        logger.warning("calling %s", "https://x/topsecretvalue/1")
        try:
            raise RuntimeError("failed with topsecretvalue")
        except RuntimeError:
            logger.exception("boom")
    output = stream.getvalue()
    assert "topsecretvalue" not in output
    assert "https://x/***/1" in output and "RuntimeError: failed with ***" in output


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_allows_a_burst_then_the_rate():
    fake = FakeTime()
    pacer = RequestPacer(10, burst=4, clock=fake.clock, sleep=fake.sleep)
    waits = [pacer.acquire() for _ in range(24)]
    assert waits[:4] == [0, 0, 0, 0]
    assert all(abs(w - 0.1) < 1e-9 for w in waits[4:])
    # 24 requests in 2.0 s: 4 up front plus 20 at 10/s, never faster.
    assert abs(fake.now - 2.0) < 1e-9


def test_secret_settings_are_found_however_deeply_nested():
    from singer_sdk import typing as th

    from support_taps.tap import _secret_leaves

    schema = th.PropertiesList(
        th.Property("api_key", th.StringType, secret=True),
        th.Property("user", th.StringType),
        th.Property(
            "bots",
            th.ArrayType(
                th.ObjectType(
                    th.Property("name", th.StringType),
                    th.Property("key", th.StringType, secret=True),
                )
            ),
            secret=True,
        ),
        th.Property("extra", th.ObjectType(th.Property("token", th.StringType)), secret=True),
    ).to_dict()
    config = {
        "api_key": "k-1",
        "user": "ann",
        "bots": [{"name": "support", "key": "bk-1"}, {"name": "hr", "key": "bk-2"}],
        "extra": {"token": "t-1"},
    }
    assert sorted(_secret_leaves(schema, config)) == [
        ("api_key", "k-1"),
        ("bots (item 1).key", "bk-1"),
        ("bots (item 2).key", "bk-2"),
        ("extra.token", "t-1"),
    ]


# ---- every form, whatever the text around it (generated) ------------------------------------

_SECRETS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=8, max_size=40
)


def _forms_of(secret: str) -> set[str]:
    """Forms a reader could turn back into the secret (those the redactor promises to mask)."""
    return {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        quote(secret, safe="").lower() if secret.isascii() else quote(secret, safe=""),
    } - {""}


@settings(max_examples=300, deadline=None)
@given(secret=_SECRETS, before=st.text(max_size=400), after=st.text(max_size=50))
def test_an_error_page_quoting_a_secret_never_shows_it_escaped_or_cut(secret, before, after):
    """An error page echoing the key anywhere, even across the 200-byte cut of the quote."""
    redactor = SecretRedactor()
    redactor.add(secret)
    body = (before + secret + after).encode()
    with _registered(redactor):
        snippet = body_snippet(body)
    for form in _forms_of(secret):
        if len(form) >= 8:
            assert form not in snippet, (form, snippet)
    # Nor the part of the key before a cut: no 8 characters of it in a row survive.
    shown = snippet.replace("***", "\0")
    assert not any(secret[i : i + 8] in shown for i in range(len(secret) - 7)), snippet


@given(secret=st.from_regex(r"[A-Za-z0-9/+=:@ ]{12,30}", fullmatch=True))
def test_url_encoded_secrets_are_masked_in_either_case_of_hex(secret):
    redactor = SecretRedactor()
    redactor.add(secret)
    for form in (quote(secret, safe=""), quote_plus(secret)):
        for text in (form, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), form)):
            assert redactor(f"GET /x?key={text}&y=1") == "GET /x?key=***&y=1"


@contextlib.contextmanager
def _registered(redactor: SecretRedactor):
    """`body_snippet` masks with the process-wide redactor: use this one's secrets there."""
    redact.add(*redactor._secrets)
    try:
        yield
    finally:
        redact.clear()
