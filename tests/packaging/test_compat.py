"""support_taps.compat is the only place the taps touch private SDK names; this fails loudly
when an SDK release changes one of them (run against both ends of the SDK range by .ci/run)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import requests
import singer_sdk
from singer_sdk import RESTStream, Stream
from singer_sdk.authenticators import OAuthAuthenticator
from singer_sdk.helpers import _state
from support_taps import compat
from tap_thena.tap import TapThena

ROOT = Path(__file__).resolve().parents[2]
SDK = f"singer-sdk {singer_sdk.__version__ if hasattr(singer_sdk, '__version__') else ''}".strip()

#: The private SDK methods compat calls or overrides, with the parameters it passes.
SIGNATURES = {
    (Stream, "_generate_record_messages"): ["self", "record"],
    (Stream, "_write_state_message"): ["self"],
    (Stream, "_write_schema_message"): ["self"],
    (RESTStream, "_write_request_duration_log"): [
        "self",
        "endpoint",
        "response",
        "context",
        "extra_tags",
    ],
}


@pytest.mark.parametrize(
    ("owner", "name"), list(SIGNATURES), ids=lambda v: getattr(v, "__name__", v)
)
def test_private_method_keeps_its_signature(owner, name):
    method = getattr(owner, name, None)
    assert method is not None, (
        f"{SDK} removed {owner.__name__}.{name}: update support_taps/compat.py"
    )
    parameters = list(inspect.signature(method).parameters)
    assert parameters == SIGNATURES[(owner, name)], (
        f"{SDK} changed {owner.__name__}.{name}{inspect.signature(method)}: "
        "update support_taps/compat.py"
    )


def test_every_hook_compat_declares_is_checked():
    checked = {(f"singer_sdk.{owner.__name__}", name) for owner, name in SIGNATURES}
    assert set(compat.PRIVATE_HOOKS) == checked | {("singer_sdk.Stream", "_stream_version")}


def test_progress_markers_key_matches_the_sdk():
    assert compat.PROGRESS_MARKERS == _state.PROGRESS_MARKERS


def test_oauth_authenticator_keeps_its_session_and_default_expiration():
    auth = OAuthAuthenticator(auth_endpoint="http://127.0.0.1:9/token", default_expiration=1234)
    assert compat.default_expiration(auth) == 1234
    assert isinstance(compat.authenticator_session(auth), requests.Session)


@pytest.fixture
def thena_stream():
    tap = TapThena(
        config={"api_key": "k", "api_url": "http://127.0.0.1:9", "start_date": "2025-01-01"},
        parse_env_config=False,
    )
    return tap.streams["requests"]


def test_fast_record_messages_say_what_the_sdk_says(thena_stream):
    assert hasattr(thena_stream, "_stream_version"), f"{SDK} renamed Stream._stream_version"
    record = {
        "request_id": "r-1",
        "created_datetime": "2025-01-02T03:04:00+00:00",
        "status": "open",
    }
    fast = list(thena_stream._generate_record_messages(dict(record)))
    sdk = list(RESTStream._generate_record_messages(thena_stream, dict(record)))
    assert [(m.stream, m.record, m.version) for m in fast] == [
        (m.stream, m.record, m.version) for m in sdk
    ]
    assert fast[0].time_extracted.tzinfo is not None


def test_state_and_schema_hooks_write_their_messages(thena_stream, capsys):
    # The core's writer sends any message but a RECORD at once.
    compat.write_state_message(thena_stream)
    thena_stream._write_schema_message()
    out = capsys.readouterr().out
    assert '"type":"STATE"' in out.replace(" ", "")
    assert '"type":"SCHEMA"' in out.replace(" ", "")


def test_no_private_sdk_name_outside_compat():
    pattern = re.compile(
        r"singer_sdk(\.\w+)*\._\w|\._(write_\w+_message|generate_record_messages|"
        r"write_request_duration_log|default_expiration)\b|\._session\."
    )
    offenders = []
    for path in sorted((ROOT / "taps").glob("*/*/**/*.py")):
        if path.name == "compat.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
