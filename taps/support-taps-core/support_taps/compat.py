"""Every use of the SDK's private names, in one place.

The taps need a few things the Meltano Singer SDK has no public hook for. Each is
here, with why, so an SDK upgrade is checked in one module:
tests/packaging/test_compat.py compares every name and signature used below with the
installed SDK and fails, naming the hook, when a release changes one. The SDK range in
taps/support-taps-core/pyproject.toml is the range that test (and the suite) passed on.

Nothing outside this module imports `singer_sdk.*._x` or calls an SDK method whose name
starts with an underscore.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib.messages import RecordMessage

if t.TYPE_CHECKING:
    from singer_sdk import Stream, Tap
    from singer_sdk.streams import RESTStream

    # The mixins below extend the SDK class they are mixed into: to the type checker they are
    # that class, so their overrides are checked against the SDK's signatures; at run time they
    # are plain mixins that go before the SDK class in the bases.
    _StreamMixin = Stream
    _TapMixin = Tap
else:
    _StreamMixin = object
    _TapMixin = object

#: The key of a stream state's progress markers. The SDK keeps the highest replication
#: value of the records emitted so far under it and promotes it to the bookmark at the end
#: of the sync; the core moves it at each window's end (checkpoint). Its value is
#: `singer_sdk.helpers._state.PROGRESS_MARKERS` (the compat test checks they agree).
PROGRESS_MARKERS = "progress_markers"

#: The private SDK hooks this module reaches, as (class path, attribute), for the compat test.
PRIVATE_HOOKS: tuple[tuple[str, str], ...] = (
    ("singer_sdk.Stream", "_generate_record_messages"),
    ("singer_sdk.Stream", "_write_state_message"),
    ("singer_sdk.Stream", "_write_schema_message"),
    ("singer_sdk.Stream", "_stream_version"),
    ("singer_sdk.RESTStream", "_write_request_duration_log"),
    ("singer_sdk.Tap", "_handle_termination"),
    ("singer_sdk.Stream", "_tap"),
)


def utc_now() -> dt.datetime:
    """Now, in UTC (what the SDK stamps as time_extracted)."""
    return dt.datetime.now(dt.timezone.utc)


def write_state_message(stream: Stream) -> None:
    """Emit a STATE message with the tap's current state now, not only at the SDK's own times.

    The core checkpoints at each window's end; the SDK writes state only after a stream,
    a partition or a batch of records, and has no public hook to write it.
    """
    stream.state_manager.is_flushed = False
    stream._write_state_message()


def log_request_duration(
    stream: RESTStream, *, endpoint: str, response: requests.Response, context: t.Mapping | None
) -> None:
    """The SDK's per-request metric log line, for requests sent outside its request loop.

    Khoros sends prepared requests itself (no redirects, streamed bodies); the SDK logs
    request durations only inside its own `_request`.
    """
    stream._write_request_duration_log(
        endpoint=endpoint, response=response, context=context, extra_tags=None
    )


def tap_of(stream: Stream) -> Tap:
    """The tap a stream belongs to: where a run's shared things live (clock, pacer, stats,
    one token for every stream). The SDK passes it to each stream but keeps it private."""
    return stream._tap


class TerminationHook(_TapMixin):
    """Route the SDK's SIGTERM/SIGINT handler to the tap's public `on_termination(signum)`.

    The SDK's private `Tap._handle_termination` writes the in-memory state and exits 0 (an
    interrupted run recorded as a success, its state maybe ahead of what was emitted); it has
    no public hook. Mix in before the SDK's Tap class.
    """

    def _handle_termination(self, signum: int, frame: t.Any) -> None:  # signal API
        self.on_termination(signum)

    def on_termination(self, signum: int) -> None:
        """What the tap does on SIGTERM/SIGINT (the core's SupportTap overrides it)."""
        raise NotImplementedError


class FastRecordMessages(_StreamMixin):
    """The SDK's record step, minus two walks of every record that change nothing here.

    The SDK pops deselected properties and conforms types on every record; when every
    property is selected and records were normalised while parsing
    (TYPE_CONFORMANCE_LEVEL NONE), both walks only cost time (about a fifth of the tap's
    per-record work, measured with benchmarks/thena_benchmark.py). Otherwise the SDK's
    own method runs. Mix in before the SDK stream class.
    """

    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[RecordMessage, None, None]:
        if (
            not self._every_property_selected
            or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE
        ):
            yield from super()._generate_record_messages(record)
            return
        extracted = utc_now()
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=extracted,
                )

    @cached_property
    def _every_property_selected(self) -> bool:
        return all(
            self.mask.get(("properties", name), True) for name in self.schema.get("properties", {})
        )


class SchemaOncePerRun(_StreamMixin):
    """Send a stream's SCHEMA message once per run.

    The SDK syncs a child stream once per parent record and sends its SCHEMA each time;
    some targets flush every stream on each SCHEMA (target-duckdb does), which would load
    a daily child stream day by day. The SDK has no public hook for it. Mix in before the
    SDK stream class.
    """

    def _write_schema_message(self) -> None:
        if not self.__dict__.get("_schema_sent"):
            self.__dict__["_schema_sent"] = True
            super()._write_schema_message()
