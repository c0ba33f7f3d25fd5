"""support_taps.compat is the only place the taps touch private SDK names; this fails loudly
when an SDK release changes one of them (run against both ends of the SDK range by .ci/run)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import typing as t
import warnings
from pathlib import Path

import backoff
import pytest
import requests
import singer_sdk
from singer_sdk import RESTStream, Stream, Tap
from singer_sdk.helpers import _state

from support_taps import compat
from support_taps.retry import RETRIABLE_EXCEPTIONS, UNUSABLE_ANSWERS
from tap_thena.tap import TapThena

ROOT = Path(__file__).resolve().parents[2]
SDK = f"singer-sdk {singer_sdk.__version__ if hasattr(singer_sdk, '__version__') else ''}".strip()

#: The private SDK methods compat calls or overrides, with the parameters it passes.
SIGNATURES = {
    (Stream, "_generate_record_messages"): ["self", "record"],
    (Stream, "_write_record_message"): ["self", "record"],
    (Stream, "_process_record"): ["self", "record", "child_context", "partition_context"],
    (Stream, "_write_state_message"): ["self"],
    (Stream, "_write_schema_message"): ["self"],
    (RESTStream, "_write_request_duration_log"): [
        "self",
        "endpoint",
        "response",
        "context",
        "extra_tags",
    ],
    (Tap, "_handle_termination"): ["self", "signum", "frame"],
    (Stream, "_write_activate_version_message"): ["self", "full_table_version"],
    (Stream, "finalize_state_progress_markers"): ["self", "state"],
    (Stream, "_increment_stream_state"): ["self", "latest_record", "context"],
}

#: The private SDK attributes compat reads or sets (checked on a live stream below).
ATTRIBUTES = {
    ("singer_sdk.Stream", "_stream_version"),
    ("singer_sdk.Stream", "_tap"),
    ("singer_sdk.Stream", "_schema"),
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
    assert set(compat.PRIVATE_HOOKS) == checked | ATTRIBUTES


def test_progress_markers_key_matches_the_sdk():
    assert compat.PROGRESS_MARKERS == _state.PROGRESS_MARKERS


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


def test_records_written_directly_are_the_sdk_writers_bytes(thena_stream, capsys):
    """The direct path (one serialisation into the writer's batch) writes what the SDK's
    msgspec writer writes for the SDK's own message."""
    from singer_sdk.contrib.msgspec import MsgSpecWriter

    assert thena_stream._direct_record_writer is not None
    record = {"request_id": 7, "created_datetime": "2025-01-02T03:04:00+00:00", "raw": {"a": 1}}
    writer = thena_stream._tap.message_writer
    thena_stream._write_record_message(dict(record))
    writer.flush()
    direct = capsys.readouterr().out
    (message,) = RESTStream._generate_record_messages(thena_stream, dict(record))
    MsgSpecWriter().write_message(message)
    sdk = capsys.readouterr().out

    def without_time(line: str) -> str:
        return re.sub(r'"time_extracted":"[^"]+"', "", line)

    assert direct.endswith("\n") and direct.count("\n") == 1
    assert without_time(direct) == without_time(sdk)
    assert re.search(r'"time_extracted":"\d{4}-\d\d-\d\dT[^"]+Z"', direct)


@pytest.mark.parametrize("check_sorted", [True, False])
def test_the_fast_bookmark_step_keeps_the_sdks_state(check_sorted, monkeypatch):
    """Record after record (text values rising, repeating, falling, a null, a datetime), the
    fast bookmark step leaves the state the SDK's own step leaves."""
    import copy
    import datetime as dt

    values = [
        "2025-01-02T00:00:00+00:00",
        "2025-01-02T00:00:00+00:00",
        "2025-01-03T00:00:00+00:00",
        "2025-01-01T00:00:00+00:00",
        None,
        dt.datetime(2025, 1, 4, tzinfo=dt.timezone.utc),
        "2025-01-05T00:00:00+00:00",
    ]

    def states(step: t.Callable[..., None]) -> list[dict]:
        tap = TapThena(
            config={"api_key": "k", "api_url": "http://127.0.0.1:9", "start_date": "2025-01-01"},
            parse_env_config=False,
        )
        stream = tap.streams["requests"]
        monkeypatch.setattr(type(stream), "check_sorted", check_sorted, raising=False)
        assert stream._bookmark_step == (stream.replication_key, check_sorted)
        seen = []
        for value in values:
            step(stream, {stream.replication_key: value})
            seen.append(copy.deepcopy(stream.tap_state))
        return seen

    fast = states(lambda stream, record: stream._increment_stream_state(record))
    sdk = states(lambda stream, record: Stream._increment_stream_state(stream, record))
    assert fast == sdk


def test_a_stream_map_takes_the_sdks_path(thena_stream):
    thena_stream.stream_maps.append(thena_stream.stream_maps[0])  # two maps: an alias, say
    assert thena_stream._direct_record_writer is None


def test_a_stream_without_children_keeps_the_partition_keys(thena_stream):
    record = {"id": 1}
    thena_stream._process_record(record, child_context=None, partition_context={"team": "a"})
    assert record == {"id": 1, "team": "a"}


def test_private_attributes_compat_uses_are_still_there(thena_stream):
    for _, name in ATTRIBUTES:
        assert name in vars(thena_stream), (
            f"{SDK} renamed Stream.{name}: update support_taps/compat.py"
        )
    assert compat.tap_of(thena_stream).name == "tap-thena"
    session = thena_stream.requests_session
    assert type(session).__name__ == "CredentialGuardSession"
    assert thena_stream.requests_session is session  # made once


def test_the_core_retries_what_the_sdk_retries(thena_stream, monkeypatch):
    """The SDK retries the exceptions it passes to backoff in its public `request_decorator`;
    the core's RETRIABLE_EXCEPTIONS are those, less a body that cannot be decompressed (it
    comes back the same: one of UNUSABLE_ANSWERS)."""
    passed = []

    def on_exception(wait_gen, exception, **kwargs):
        passed.append(exception)
        return lambda func: func

    monkeypatch.setattr(backoff, "on_exception", on_exception)
    RESTStream.request_decorator(thena_stream, lambda: None)
    (sdk_retried,) = passed
    assert set(sdk_retried) - set(RETRIABLE_EXCEPTIONS) == {
        requests.exceptions.ContentDecodingError
    }, f"{SDK} retries other exceptions: update support_taps/retry.py"
    assert set(RETRIABLE_EXCEPTIONS) <= set(sdk_retried)
    assert requests.exceptions.ContentDecodingError in UNUSABLE_ANSWERS


def test_the_termination_hook_overrides_the_sdk_handler():
    assert TapThena._handle_termination is compat.TerminationHook._handle_termination
    assert callable(TapThena.on_termination)


def test_state_and_schema_hooks_write_their_messages(thena_stream, capsys):
    # The core's writer sends any message but a RECORD at once.
    compat.write_state_message(thena_stream)
    thena_stream._write_schema_message()
    out = capsys.readouterr().out
    assert '"type":"STATE"' in out.replace(" ", "")
    assert '"type":"SCHEMA"' in out.replace(" ", "")


def _sdk_private_names() -> set[str]:
    """Every private name of the SDK's classes: class attributes and methods (which a tap
    could override) and the instance attributes its code sets (`self._x`)."""
    names: set[str] = set()
    root = Path(singer_sdk.__file__).parent
    for module in pkgutil.walk_packages(singer_sdk.__path__, "singer_sdk."):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # deprecated module aliases
                loaded = importlib.import_module(module.name)
        except Exception:  # optional extras the taps do not install
            continue
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if cls.__module__.startswith("singer_sdk"):
                names |= {n for n in vars(cls) if n.startswith("_") and not n.startswith("__")}
    for source in root.rglob("*.py"):
        names |= set(re.findall(r"self\.(_[a-z]\w*)", source.read_text()))
    return names


def test_no_private_sdk_name_outside_compat():
    """No import of `singer_sdk.*._x`, no use of an SDK object's `_x`, and no override of a
    private SDK method (`def _x` with an SDK's name) outside compat.py."""
    imports = re.compile(r"singer_sdk(\.\w+)*\._\w")
    private = _sdk_private_names()
    assert {"_handle_termination", "_tap", "_requests_session"} <= private
    uses = re.compile(r"(?:\.|\bdef\s+)(_[a-z]\w*)")
    offenders = []
    for path in sorted((ROOT / "taps").glob("*/*/**/*.py")):
        if path.name == "compat.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            hits = [name for name in uses.findall(line) if name in private]
            if imports.search(line) or hits:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
