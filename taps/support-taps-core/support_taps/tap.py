"""The base tap every vendor tap extends: settings checked and secrets registered before the
first request, the batched msgspec writer, one clock per run, the shared request pacer, the
end-of-run summary and what a signal does."""

from __future__ import annotations

import datetime as dt
import io
import re
import signal
import typing as t
from collections.abc import Iterator
from functools import cached_property

import click
from singer_sdk import Stream, Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from singer_sdk.singerlib import Catalog

from support_taps.accounts import (
    DEFAULT_ACCOUNT,
    account_setting,
    account_setting_errors,
    add_account,
    add_account_to_catalog,
)
from support_taps.cli import (
    TARGET_CLOSED,
    TargetClosed,
    one_line_excepthook,
    quiet_sdk_failure_line,
)
from support_taps.compat import TerminationHook
from support_taps.pacing import RateHold, RequestPacer
from support_taps.privacy import RecordPrivacy, key_errors, output_schema, privacy_setting_errors
from support_taps.progress import RunStats
from support_taps.redaction import install_log_redaction, redact
from support_taps.sdk_logs import log_request_metrics, quiet_sdk_chatter
from support_taps.settings import (
    HTTP_URL_PATTERN,
    date_setting_errors,
    declare_url_settings,
    known_settings,
    secret_setting_errors,
    span_setting_errors,
    unknown_setting_errors,
    url_setting_error,
    url_setting_errors,
)
from support_taps.state import (
    StateError,
    bookmark_problem,
    parse_state,
    read_state,
    state_problem,
)
from support_taps.writer import BufferedMsgSpecWriter

UTC = dt.timezone.utc


#: The collection's distributions are named `supportanalytics-<tap name>` (see SupportTap).
DISTRIBUTION_PREFIX = "supportanalytics-"


class SupportTap(TerminationHook, Tap):
    """Base tap: settings checked and secrets masked before the first request, the
    batched msgspec writer, one clock per run and, where the vendor publishes a rate
    limit, one request pacer shared by all streams."""

    message_writer_class = BufferedMsgSpecWriter

    #: Named here, not taken from the SDK's list, so an SDK release does not change what the
    #: taps declare: singer-sdk 0.55 adds `start-date` (its own `start_date` handling, and the
    #: setting to taps without one, such as tap-xenioo), which the taps do not use: each reads
    #: `start_date` itself. `structured-logging` makes Meltano read our JSON log lines
    #: (warnings as warnings); `batch` offers `batch_config`.
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.BATCH,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """The SDK's built-in settings, the same on every SDK release in the range (`--about`, the
        Hub definitions and the unknown-setting check agree whatever release is installed).

        Every tap takes `account_id`. singer-sdk 0.55 adds `emit_activate_version_messages` to
        every tap; a tap that has full-table streams declares it itself (`FULL_TABLE_SETTINGS`).
        It also rewords `batch_config`: ours is the wording of every release.
        """
        declared = set(config_jsonschema.get("properties", {}))
        super().append_builtin_config(config_jsonschema)
        properties = config_jsonschema.get("properties", {})
        declare_url_settings(properties)
        if "emit_activate_version_messages" not in declared:
            properties.pop("emit_activate_version_messages", None)
        if "batch_config" in properties and "batch_config" not in declared:
            properties["batch_config"].update(BATCH_CONFIG_WORDS)
        # Every tap takes `account_id` (a tap declares it itself to say what its default is).
        if "account_id" not in properties:
            properties.update(account_setting().to_dict()["properties"])

    @classmethod
    def get_supported_python_versions(cls) -> list[str] | None:
        """The SDK's list (from requires-python), up to the newest Python the collection's
        dependencies are released for (an SDK release adds versions as it learns of them)."""
        versions = super().get_supported_python_versions()
        if versions is None:
            return None
        return [v for v in versions if _minor(v) <= _minor(NEWEST_PYTHON)]

    def __init_subclass__(cls, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        # Every tap of the collection is published as `supportanalytics-<tap name>`: the SDK
        # reads the version and Python versions from that distribution (--version, --about).
        name = cls.__dict__.get("name")
        if name and "package_name" not in cls.__dict__:
            cls.package_name = f"{DISTRIBUTION_PREFIX}{name}"
        # `activate-version` is a promise a tap keeps only through its full-table streams and
        # the setting that turns the messages on (FULL_TABLE_SETTINGS): a tap without that
        # setting does not declare it.
        settings = cls.config_jsonschema.get("properties", {})
        if "emit_activate_version_messages" not in settings:
            cls.capabilities = [c for c in cls.capabilities if c.value != "activate-version"]

    #: The vendor's request rate limit per credential (requests/second and burst);
    #: None means the vendor publishes none and we do not pace.
    requests_per_second: t.ClassVar[float | None] = None
    request_burst: t.ClassVar[int] = 1

    @cached_property
    def run_started(self) -> dt.datetime:
        """The run's one clock: every stream agrees on "now" (and today), even across midnight."""
        return dt.datetime.now(UTC)

    @cached_property
    def rate_hold(self) -> RateHold:
        """Holds every request of the run while the vendor's rate-limit window is spent."""
        return RateHold()

    @cached_property
    def pacer(self) -> RequestPacer | None:
        """One pacer per tap run, shared by all its streams and threads."""
        if not self.requests_per_second:
            return None
        return RequestPacer(self.requests_per_second, self.request_burst)

    def __init__(self, *args: t.Any, validate_config: bool = True, **kwargs: t.Any) -> None:
        self._check_settings_at_start = validate_config
        self._prepared = False
        self._streams_carry_account = False
        quiet_sdk_failure_line()  # before the SDK checks the settings against the schema
        quiet_sdk_chatter(new_run=True)
        if "state" in kwargs:  # a file's path (the CLI) or a dictionary: read and checked here
            kwargs["state"] = read_state(kwargs["state"])
        try:
            super().__init__(*args, validate_config=validate_config, **kwargs)
        except ConfigValidationError as exc:
            # The SDK's schema check words errors as "-1 is less than the minimum of 0 in
            # config['max_retries']"; lead with the setting, as every other message does. It
            # stops the SDK's start before the tap's own checks: run them too, so that every
            # bad setting is named at once.
            named = [_name_the_setting(error) for error in exc.errors]
            errors = named + self._other_setting_errors(named)
            msg = f"Invalid {self.name} configuration: " + " ".join(errors)
            raise ConfigValidationError(msg, errors=errors, schema=exc.schema) from None
        self.prepare()

    @classmethod
    def invoke(cls, *, state: t.IO[str] | None = None, **kwargs: t.Any) -> None:
        """The SDK's command, with the `--state` file checked first: a corrupt, truncated or
        mistyped file is one line naming it, not a JSON parser's traceback."""
        if state is not None:
            text = state.read()
            parse_state(text, f"The state file {getattr(state, 'name', '?')!r}")
            state = io.StringIO(text)
        super().invoke(state=state, **kwargs)

    @classmethod
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, whose fatal errors are one line (see `support_taps.cli`)."""
        command = super().get_singer_command()
        # SingerCommand installs its `excepthook` attribute as sys.excepthook when invoked.
        command.excepthook = one_line_excepthook(cls.logger)  # type: ignore[attr-defined]
        return command

    def load_state(self, state: dict[str, t.Any]) -> None:
        """The SDK's hook for checking the state it is given (a dictionary or a file): its
        shape, and each bookmark a date-time (every replication key of the collection is)."""
        problem = state_problem(state) or bookmark_problem(state)
        if problem:
            raise StateError(f"The state is not a Singer state: {problem}.")
        super().load_state(state)

    # ---- the account every record comes from (support_taps.accounts) -------------------

    @cached_property
    def account_id(self) -> str:
        """The account this run reads: `account_id`, else the vendor's own account identifier
        (`vendor_account_id`), else `default`. Written on every record as `_account_id`."""
        return self.config.get("account_id") or self.vendor_account_id() or DEFAULT_ACCOUNT

    def vendor_account_id(self) -> str | None:
        """The vendor's own identifier of the account, where a setting names it without
        revealing a secret (Thena: the workspace); None where there is none."""
        return None

    @property
    def streams(self) -> dict[str, Stream]:
        """The SDK's streams, each publishing `_account_id` in its key and schema: added here,
        once every stream's own `__init__` has set its keys, so no stream declares it."""
        streams = super().streams
        if not self._streams_carry_account:
            self._streams_carry_account = True
            for stream in streams.values():
                add_account(stream)
        return streams

    @property
    def input_catalog(self) -> Catalog | None:
        """The catalog given to the run, with `_account_id` in every stream's schema and key
        (one discovered by an earlier release has none)."""
        catalog = super().input_catalog
        if catalog is not None:
            add_account_to_catalog(catalog)
        return catalog

    def setup_mapper(self) -> None:
        # The SDK discovers streams while it sets up stream maps, inside its __init__;
        # a tap whose discovery asks the API (a dynamic catalogue) must be ready by then.
        self.prepare()
        super().setup_mapper()
        if self.record_privacy is not None:
            self._register_private_schemas()

    # ---- personal data (support_taps.privacy) ---------------------------------------

    @cached_property
    def record_privacy(self) -> RecordPrivacy | None:
        """What `pii_hash_fields`/`pii_drop_fields` do to each record; None when unset."""
        return RecordPrivacy.from_config(self.config)

    def _register_private_schemas(self) -> None:
        """Refuse privacy settings that name a key; else the SCHEMA messages describe the
        records as they leave (hashed columns as text, dropped ones gone)."""
        privacy = t.cast(RecordPrivacy, self.record_privacy)
        catalog = self.catalog.to_dict()
        errors = []
        for entry in catalog.get("streams", []):
            top: dict[str, t.Any] = next(
                (m.get("metadata", {}) for m in entry.get("metadata", []) if not m["breadcrumb"]),
                {},
            )
            errors += key_errors(
                entry["tap_stream_id"],
                entry.get("key_properties") or top.get("table-key-properties") or (),
                entry.get("replication_key") or top.get("replication-key"),
                privacy.rules,
            )
            entry["schema"] = output_schema(entry["schema"], privacy.rules)
        if errors:
            msg = f"Invalid {self.name} configuration: " + " ".join(errors)
            raise ConfigValidationError(msg, errors=errors)
        self.mapper.register_raw_streams_from_catalog(Catalog.from_dict(catalog))

    @property
    def catalog_dict(self) -> dict:
        """The discovered catalog, its schemas as the records leave (see `record_privacy`)."""
        catalog = super().catalog_dict
        if self.record_privacy is not None:
            for entry in catalog.get("streams", []):
                entry["schema"] = output_schema(entry["schema"], self.record_privacy.rules)
        return catalog

    def prepare(self) -> None:
        """Before the first request, once: register secrets for redaction and check settings."""
        if self._prepared:
            return
        self._prepared = True
        secrets = self.secret_values()
        redact.add(*secrets)
        # HTTP Basic credentials are base64 of `user:password`: mask that for every setting
        # that could be the user half. (The session also registers each credential header
        # it sends, whatever its form.)
        for name, value in self.config.items():
            if isinstance(value, str) and value not in secrets and _USER_SETTING.search(name):
                for secret in secrets:
                    redact.add_basic_auth(value, secret)
        install_log_redaction()
        quiet_sdk_failure_line()
        quiet_sdk_chatter()
        log_request_metrics(bool(self.config.get("log_request_metrics")))
        if self._check_settings_at_start:
            errors = _without_repeats(self.setting_errors())
            if errors:
                msg = f"Invalid {self.name} configuration: " + " ".join(errors)
                raise ConfigValidationError(msg, errors=errors)

    # ---- what the run did ---------------------------------------------------------

    @cached_property
    def run_stats(self) -> RunStats:
        """Counters per stream for the progress lines and the end-of-run summary."""
        return RunStats()

    def skip_stream(self, stream: str, reason: str) -> None:
        """Say that `stream` (or part of it) is skipped in this run: a WARNING now, and again
        in the end-of-run summary, so a user sees it under Meltano."""
        self.logger.warning("Skipping %s: %s", stream, reason)
        self.run_stats.skip(stream, reason)

    def after_sync(self) -> None:
        """A tap's end-of-run check, after every stream ran; an error it raises fails the run
        (and the summary says so)."""

    # The SDK marks `sync_all` final, but has no hook after the last stream: the end-of-run
    # check and the summary (with the run's outcome) need this wrapper.
    def sync_all(self) -> None:  # type: ignore[misc]
        outcome = "failed"
        try:
            super().sync_all()
            self.after_sync()
            outcome = "complete"
        except SystemExit:
            outcome = "stopped"
            raise
        except TargetClosed:
            # click ends a run whose output pipe broke with status 1 and no word: say why.
            outcome = "stopped"
            self.logger.error(TARGET_CLOSED)
            raise
        finally:
            self.run_stats.log_summary(self.logger, outcome=outcome)

    # ---- termination -----------------------------------------------------------

    def on_termination(self, signum: int) -> None:
        """SIGTERM/SIGINT (through compat.TerminationHook): stop at once with a non-zero status,
        never as a success.

        The SDK's handler writes the in-memory state and exits 0, so an orchestrator
        records an interrupted run as a success, and that state may run ahead of what
        was emitted (BATCH mode, records in flight). Here every STATE already written
        is consistent (each follows the records it covers), so nothing more is written:
        records already made are flushed and the run exits with 128 + the signal number.
        A signal that arrives while a message is being written waits for the write.
        """
        writer = self.message_writer
        if getattr(writer, "writing", False):
            # The SDK types the writer as its base class; ours (BufferedMsgSpecWriter) has the hook.
            writer.on_written = lambda: self._stop_with_status(signum)  # type: ignore[attr-defined]
            return
        self._stop_with_status(signum)

    def _stop_with_status(self, signum: int) -> t.NoReturn:
        status = 128 + signum
        self.logger.warning(
            "Stopped by %s. The last STATE message covers every record emitted before it; "
            "the next run resumes there. Exiting with status %d.",
            signal.Signals(signum).name,
            status,
        )
        flush = getattr(self.message_writer, "flush", None)
        if flush is not None:
            flush()
        raise SystemExit(status)

    def _other_setting_errors(self, named: list[str]) -> list[str]:
        """The tap's own checks (`setting_errors`) after the SDK's schema check refused the
        config (`named`: its errors), without those about a setting it already named. A check
        written for values of the schema's types may fail on others: then only the schema's
        errors are reported."""
        already = {match[1] for match in map(_NAMED_SETTING.search, named) if match}
        try:
            errors = _without_repeats(self.setting_errors())
        except Exception:  # a check of ill-typed values: the schema's errors say what is wrong
            return []
        return [
            error
            for error in errors
            if not ((match := _NAMED_SETTING.search(error)) and match[1] in already)
        ]

    def setting_errors(self) -> list[str]:
        """Problems with the settings, each naming the setting; extend in each tap (call super).

        Ranges and types are checked by the SDK against the config schema (JSON-schema
        `minimum`, `exclusiveMinimum`...), which documents them too; these are the checks
        a schema cannot express."""
        config = dict(self.config)
        return [
            *unknown_setting_errors(config, known_settings(type(self))),
            *url_setting_errors(config),
            *date_setting_errors(config, self.run_started),
            *span_setting_errors(config),
            *secret_setting_errors(dict(_secret_leaves(self.config_jsonschema, config))),
            *privacy_setting_errors(config),
            *account_setting_errors(config),
        ]

    def secret_values(self) -> list[str]:
        """Values of every setting the config schema marks secret, nested ones included."""
        # Secrets obtained at run time (auth tokens) are registered with `redact` when obtained.
        return [value for _, value in _secret_leaves(self.config_jsonschema, dict(self.config))]


#: The SDK's own words for `batch_config` up to 0.54 (0.55 rewords it).
BATCH_CONFIG_WORDS = {
    "title": "Batch Configuration",
    "description": "Configuration for BATCH message capabilities.",
}
#: The newest Python declared in `--about` and the Hub definitions.
NEWEST_PYTHON = "3.14"


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2])


_USER_SETTING = re.compile(r"user|login|email|client|account|name", re.IGNORECASE)
_SCHEMA_ERROR = re.compile(
    r"^(?P<what>.*) in config\['(?P<name>[^']+)'\](?P<item>(\[\d+\])*)$", re.DOTALL
)


#: The schema check's words for a URL setting that does not match HTTP_URL_PATTERN.
_NOT_A_URL = re.compile(rf"^(?P<shown>.*) does not match {re.escape(repr(HTTP_URL_PATTERN))}$")
#: The setting an error names first (every message names its setting in backticks).
_NAMED_SETTING = re.compile(r"`([^`]+)`")


def _name_the_setting(error: str) -> str:
    """ "0 is ... in config['x']" -> "The setting `x` is invalid: 0 is ..."; an item of a
    list setting, "... in config['x'][1]", is named by its position: "`x` item 2". A URL
    setting that does not match the schema's pattern is worded as the core's own URL check."""
    match = _SCHEMA_ERROR.match(error)
    if not match:
        return error
    not_a_url = _NOT_A_URL.match(match["what"])
    if not_a_url and not match["item"]:
        return url_setting_error(match["name"], redact(not_a_url["shown"]))
    where = ""
    if match["item"]:
        positions = re.findall(r"\[(\d+)\]", match["item"])
        where = " (" + ", ".join(f"item {int(p) + 1}" for p in positions) + ")"
    return f"The setting `{match['name']}` is invalid{where}: {redact(match['what'])}."


def _marks_secret_inside(schema: dict) -> bool:
    items = schema.get("items")
    return any(_marks_secret(p) for p in schema.get("properties", {}).values()) or bool(
        items and _marks_secret(items)
    )


def _marks_secret(schema: dict) -> bool:
    return bool(schema.get("secret")) or _marks_secret_inside(schema)


def _secret_leaves(
    schema: dict, value: t.Any, inherited: bool = False, path: str = ""
) -> Iterator[tuple[str, str]]:
    """(setting path, value) of each scalar under a secret-marked setting: `api_key`,
    `bots (item 2).api_key`.

    A container marked secret whose own fields mark the secret ones (a list of
    {name, api_key}) yields only those fields, so harmless names stay readable.
    """
    secret = inherited or bool(schema.get("secret"))
    pass_down = secret and not _marks_secret_inside(schema)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            yield from _secret_leaves(properties.get(key, {}), item, pass_down, where)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = f"{path} (item {index + 1})"
            yield from _secret_leaves(schema.get("items") or {}, item, pass_down, where)
    elif secret and value not in (None, ""):
        yield path, str(value)


def _without_repeats(errors: list[str]) -> list[str]:
    """A tap may still check a URL setting the core checks too: one message per problem."""
    kept: list[str] = []
    url_settings_named: set[str] = set()
    for error in dict.fromkeys(errors):
        match = re.match(r"The setting `([^`]+)` must be an http\(s\) URL", error)
        if match:
            if match[1] in url_settings_named:
                continue
            url_settings_named.add(match[1])
        kept.append(error)
    return kept
