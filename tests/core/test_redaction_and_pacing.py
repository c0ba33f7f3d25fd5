"""Secret redaction in text and logs; request pacing."""

from __future__ import annotations

import io
import logging

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
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("redaction-test")
    logger.addHandler(handler)
    try:
        logger.warning("calling %s", "https://x/topsecretvalue/1")
        try:
            raise RuntimeError("failed with topsecretvalue")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
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
    assert sorted(_secret_leaves(schema, config)) == ["bk-1", "bk-2", "k-1", "t-1"]
