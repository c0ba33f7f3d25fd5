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
import inspect
import typing as t
from functools import cached_property

import requests
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.mapper import SameRecordTransform
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
    ("singer_sdk.Stream", "_write_record_message"),
    ("singer_sdk.Stream", "_process_record"),
    ("singer_sdk.Stream", "_write_state_message"),
    ("singer_sdk.Stream", "_write_schema_message"),
    ("singer_sdk.Stream", "_stream_version"),
    ("singer_sdk.RESTStream", "_write_request_duration_log"),
    ("singer_sdk.Tap", "_handle_termination"),
    ("singer_sdk.Stream", "_tap"),
    ("singer_sdk.Stream", "_write_activate_version_message"),
    # Public, but documented as internal: the SDK calls it once a top-level stream (with its
    # children) has synced; ActivateVersionAfterSync relies on that.
    ("singer_sdk.Stream", "finalize_state_progress_markers"),
    ("singer_sdk.Stream", "_schema"),
    ("singer_sdk.Stream", "_increment_stream_state"),
)


_now, _UTC = dt.datetime.now, dt.timezone.utc


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


def set_stream_schema(stream: Stream, schema: dict) -> None:
    """Give `stream` the schema `schema` from now on (the core adds `_account_id` to every
    stream's, see support_taps.accounts).

    A stream's schema is the SDK's read-only `schema` property over its private `_schema` (a
    schema passed to the constructor), or a class's `StreamSchema` descriptor, which builds the
    schema anew at each read and which an instance attribute of the same name overrides.
    """
    if isinstance(inspect.getattr_static(type(stream), "schema", None), property):
        stream._schema = schema
    else:
        vars(stream)["schema"] = schema


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


class RecordWriter(t.Protocol):
    """A message writer that writes a RECORD message from its parts, without building the
    SDK's message object (the core's `BufferedMsgSpecWriter`)."""

    def write_record(
        self,
        stream: str,
        record: dict[str, t.Any],
        version: int | None,
        time_extracted: dt.datetime,
    ) -> None: ...


class FastRecordMessages(_StreamMixin):
    """The SDK's record step, minus the work per record that changes nothing here.

    For each record the SDK pops deselected properties and conforms types (two walks of the
    record), builds a message object, turns it into a dictionary and serialises that into
    a buffer of its own; and, to sync child streams, copies the record. When every property
    is selected, records were normalised while parsing (TYPE_CONFORMANCE_LEVEL NONE), the
    stream has no stream map but the SDK's identity one and the tap's writer can write a
    record from its parts (`RecordWriter`), each record is serialised once, straight into
    the writer's batch, giving the same bytes; a stream without children skips the child
    step. Otherwise the SDK's own methods run. Measured with benchmarks/thena_benchmark.py.
    Mix in before the SDK stream class.
    """

    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[RecordMessage, None, None]:
        if not self._plain_records:
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

    def _write_record_message(self, record: dict[str, t.Any]) -> None:
        direct = self._direct_record_writer
        if direct is None:
            super()._write_record_message(record)
            return
        stream, write = direct
        write(stream, record, self._stream_version, _now(_UTC))  # utc_now(), without its call
        self.state_manager.is_flushed = False

    def _process_record(
        self,
        record: dict[str, t.Any],
        child_context: t.Mapping[str, t.Any] | None = None,
        partition_context: t.Mapping[str, t.Any] | None = None,
    ) -> None:
        if self.child_streams:
            super()._process_record(
                record, child_context=child_context, partition_context=partition_context
            )
            return
        # The SDK's step without its child-stream part (a copy of the context per record).
        if partition_context:
            for key, value in partition_context.items():
                if key not in record:
                    record[key] = value

    @cached_property
    def _plain_records(self) -> bool:
        """Records go out as parsed: no property to pop, no type to conform."""
        return self.TYPE_CONFORMANCE_LEVEL == TypeConformanceLevel.NONE and all(
            self.mask.get(("properties", name), True) for name in self.schema.get("properties", {})
        )

    @cached_property
    def _direct_record_writer(self) -> tuple[str, t.Callable[..., None]] | None:
        """(stream name, the writer's `write_record`) when a record may be written as it is."""
        write = getattr(self._tap.message_writer, "write_record", None)
        maps = self.stream_maps
        if (
            write is None
            or not self._plain_records
            or len(maps) != 1
            or type(maps[0]) is not SameRecordTransform
            or maps[0].flattening_enabled
        ):
            return None
        return maps[0].stream_alias, write


class FastBookmarkStep(_StreamMixin):
    """The SDK's bookmark step for each record (`_increment_stream_state`), without finding
    the stream's state anew through three layers for every record.

    For an incremental stream that is not sorted (progress is kept in the state's progress
    markers) and not partitioned, the SDK keeps there the highest replication value seen so
    far (`singer_sdk.helpers._state.increment_state`): with `check_sorted`, a value replaces
    the marker if there is none or it is not smaller; without it, every value does. That
    rule is applied here to the stream's state found in the tap's state, when the record's
    value and the marker are text (the SDK's `to_json_compatible` leaves text as it is).
    Anything else (no state or markers yet, a partition, a sorted stream, a null, a datetime
    or number) goes through the SDK's own step. Mix in before the SDK stream class.
    """

    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: t.Mapping[str, t.Any] | None = None
    ) -> None:
        step = self._bookmark_step
        if step is not None and context is None:
            key, check_sorted = step
            value = latest_record.get(key)
            bookmarks = self.tap_state.get("bookmarks")
            state = bookmarks.get(self.name) if bookmarks else None
            markers = state.get(PROGRESS_MARKERS) if state else None
            if value.__class__ is str and markers is not None:
                old = markers.get("replication_key_value")
                if old is None or old.__class__ is str:
                    if old is None or not check_sorted or value >= old:
                        markers["replication_key"] = key
                        markers["replication_key_value"] = value
                    return
        super()._increment_stream_state(latest_record, context=context)

    @cached_property
    def _bookmark_step(self) -> tuple[str, bool] | None:
        """(replication key, check_sorted) where the fast step applies, else None."""
        if (
            self.replication_method != "INCREMENTAL"
            or not self.replication_key
            or self.is_sorted
            or self.state_partitioning_keys is not None
        ):
            return None
        return self.replication_key, self.check_sorted


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


class ActivateVersionAfterSync(_StreamMixin):
    """A full-table stream's ACTIVATE_VERSION after its last record, not before its first.

    With `emit_activate_version_messages`, the SDK's `Stream.sync` sends ACTIVATE_VERSION at the
    start of a full-table sync, and targets act on it at once: MeltanoLabs target-postgres
    deletes (or marks deleted) every row of an older version. A run that then fails leaves the
    table without every row it had not sent again yet. Sent once the stream, and the children
    synced with it, are done (the SDK calls `finalize_state_progress_markers` then, and only
    then), it removes only what the vendor no longer lists, and a failed run removes nothing;
    the records carry the version either way. A child stream synced once per parent record
    sends one activation, after its parent. The SDK has no public hook for it.

    In BATCH mode the SDK's timing stays: batch files carry no version, so an activation after
    them would remove the rows they just loaded. Mix in before the SDK stream class.
    """

    def _write_activate_version_message(self, full_table_version: int) -> None:
        if self.get_batch_config(self.config):
            super()._write_activate_version_message(full_table_version)
            return
        self.__dict__["_activate_version_after_sync"] = full_table_version

    def finalize_state_progress_markers(self, state: dict | None = None) -> None:
        super().finalize_state_progress_markers(state)
        version = self.__dict__.pop("_activate_version_after_sync", None)
        if version is not None:
            super()._write_activate_version_message(version)
