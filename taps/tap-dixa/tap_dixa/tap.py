"""tap-dixa: Dixa's Analytics, Exports and main APIs as a Singer tap; the Analytics streams are
built from Dixa's catalogue, which discovery reads."""

from __future__ import annotations

import datetime as dt
import typing as t
import zoneinfo
from functools import cached_property

from singer_sdk import typing as th

from support_taps.accounts import account_setting
from support_taps.errors import (
    CredentialsRejected,
    EndpointNotFound,
    RetriesExhausted,
    UnparseableResponse,
    VendorAPIError,
)
from support_taps.settings import (
    COMMON_SETTINGS,
    FULL_TABLE_SETTINGS,
    PRIVACY_SETTINGS,
    START_END_SETTINGS,
    credential,
)
from support_taps.tap import SupportTap
from tap_dixa.analytics import (
    DixaCatalogue,
    FilterValuesStream,
    MetricsCatalogueStream,
    MetricValuesStream,
    RecordsCatalogueStream,
    RecordStream,
    record_stream_name,
)
from tap_dixa.client import DEFAULT_API_URL, DEFAULT_EXPORTS_API_URL
from tap_dixa.exports import EXPORT_STREAMS, MAX_EXPORT_DAYS
from tap_dixa.fields import record_schema
from tap_dixa.main_api import MAIN_API_STREAMS

UTC = dt.timezone.utc
#: Discovery reads one page of this many rows per record id to learn each field's `_type`
#: (fieldsMetadata names the fields but not their types) ...
SAMPLE_ROWS = 200
#: ... from this many days before the end of the configured range.
SAMPLE_DAYS = 28
#: How far before the bookmark the Exports API streams and the activity log start again. Dixa
#: does not publish how long after a change's `updated_at` (`created_at`) the export shows it;
#: the lag is taken to be minutes (not zero), and an hour covers a lag of many minutes at the
#: cost of re-reading an hour per run (the same requests: the first window starts earlier).
#: A guess, and a setting.
DEFAULT_EXPORT_LOOKBACK_MINUTES = 60
#: The Exports and main API streams: the same in every account, so built without reading
#: Dixa's Analytics catalogue.
FIXED_STREAMS = (*EXPORT_STREAMS, *MAIN_API_STREAMS)


class DixaDiscoveryError(VendorAPIError):
    """Dixa's catalogue could not be read, so no stream can be built."""


class TapDixa(SupportTap):
    """Singer tap for Dixa's Analytics API (metrics, records, filters), driven by its catalogue."""

    name = "tap-dixa"
    # The streams come from Dixa's catalogue, so `--discover` validates settings too.
    dynamic_catalog = True

    # Dixa allows 10 requests/s per token with bursts of 4. Dixa (and the simulator) count
    # requests as they arrive, so a client pacing at exactly that rate gets a 429 whenever a
    # request travels a little faster than the one before it: measured against the simulator,
    # 11 of 239 requests were refused at 10/s with bursts of 4, none at 9.5/s with bursts of 3.
    # The margin costs ~5% of throughput and keeps a full request of headroom in Dixa's bucket.
    requests_per_second = 9.5
    request_burst = 3

    config_jsonschema = th.PropertiesList(
        credential(
            "api_token",
            ("Dixa API token, sent as the `Authorization` header as is (no `Bearer` prefix)."),
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of Dixa's API (e.g. a simulator at http://127.0.0.1:8703).",
        ),
        th.Property(
            "exports_api_url",
            th.StringType,
            default=DEFAULT_EXPORTS_API_URL,
            description=(
                "Base URL of Dixa's Exports API, for the `conversations` and `messages` streams "
                "(the same `api_token` is sent there as a Bearer token)."
            ),
        ),
        *START_END_SETTINGS,
        th.Property(
            "timezone",
            th.StringType,
            default="UTC",
            description=(
                "IANA time zone (e.g. Europe/Copenhagen) sent with every query; metric_values are "
                "per calendar day in this zone."
            ),
        ),
        th.Property(
            "record_ids",
            th.ArrayType(th.StringType),
            description=(
                "Record ids to extract, one `records_<id>` stream each. "
                "Default: all in Dixa's catalogue."
            ),
        ),
        th.Property(
            "metric_ids",
            th.ArrayType(th.StringType),
            description="Metric ids for `metric_values`. Default: all in Dixa's catalogue.",
        ),
        th.Property(
            "filters",
            th.ArrayType(
                th.ObjectType(
                    th.Property("attribute", th.StringType, required=True),
                    th.Property("values", th.ArrayType(th.StringType), required=True),
                )
            ),
            description=(
                "Filters `[{attribute, values}]` sent with each metric and record query whose "
                "catalogue entry lists the attribute (e.g. channel = [EMAIL])."
            ),
        ),
        th.Property(
            "page_limit",
            th.IntegerType(minimum=1),
            description="Rows per page (Dixa's `pageLimit`). Default: Dixa's own page size.",
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1),
            default=7,
            description="Days of records per query window; state is saved after each window.",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=0,
            description="Days before the bookmark each run asks again (for data Dixa adds late).",
        ),
        th.Property(
            "export_window_days",
            th.IntegerType(minimum=1, maximum=MAX_EXPORT_DAYS),
            default=MAX_EXPORT_DAYS,
            description=(
                "Days per query window (1 to 31, Dixa's limit) of `conversations` (cut on "
                "`updated_at`, epoch milliseconds), `messages` (on `created_at`, epoch "
                "milliseconds) and `activity_logs` (on `activityTimestamp`, as ISO date-times); "
                "state is saved after each window."
            ),
        ),
        th.Property(
            "export_lookback_minutes",
            th.IntegerType(minimum=0),
            default=DEFAULT_EXPORT_LOOKBACK_MINUTES,
            description=(
                "Minutes before the bookmark that `conversations`, `messages` and `activity_logs` "
                "ask again, for changes Dixa records after the moment they carry (Dixa does not "
                "publish how late; the default is a guess, see the README); rows asked again "
                "upsert on their id. 0 loses such changes."
            ),
        ),
        *FULL_TABLE_SETTINGS,
        *account_setting(
            "`default`: Dixa's published answers name no organisation, and the API token "
            "is a secret"
        ),
        *COMMON_SETTINGS,
        *PRIVACY_SETTINGS,
    ).to_dict()

    def setting_errors(self) -> list[str]:
        config = self.config
        errors = super().setting_errors()
        zone = config["timezone"]
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors.append(
                "The setting `timezone` must be an IANA time zone such as "
                f"'Europe/Copenhagen', got {zone!r}."
            )
        for index, item in enumerate(config.get("filters") or []):
            if (
                not isinstance(item, dict)
                or not item.get("attribute")
                or not isinstance(item.get("values"), list)
                or not item["values"]
            ):
                errors.append(
                    "Each entry of `filters` needs an `attribute` and a non-empty list of "
                    f"`values`; entry {index} is {item!r}."
                )
        return errors

    # ---- the catalogue ------------------------------------------------------------------

    @cached_property
    def catalogue_streams(self) -> tuple[MetricsCatalogueStream, RecordsCatalogueStream]:
        return MetricsCatalogueStream(self), RecordsCatalogueStream(self)

    @cached_property
    def dixa_catalogue(self) -> DixaCatalogue:
        metrics_stream, records_stream = self.catalogue_streams
        with self._discovery_errors():
            metrics = {row["id"]: row for row in metrics_stream.fetch()}
            records = {row["id"]: row for row in records_stream.fetch()}
        self.logger.info(
            "Dixa's catalogue lists %d metrics and %d record ids.", len(metrics), len(records)
        )
        return DixaCatalogue(metrics, records)

    def _ids(self, setting: str, known: dict[str, t.Any], kind: str) -> list[str]:
        wanted = self.config.get(setting)
        if not wanted:
            return list(known)
        unknown = [i for i in wanted if i not in known]
        if unknown:
            msg = (
                f"The setting `{setting}` names {kind} ids that Dixa's catalogue does not list: "
                f"{', '.join(map(repr, unknown))}. Known: {', '.join(known)}."
            )
            raise DixaDiscoveryError(msg)
        return list(dict.fromkeys(wanted))

    @property
    def selected_metric_ids(self) -> list[str]:
        return self._ids("metric_ids", self.dixa_catalogue.metrics, "metric")

    @property
    def selected_record_ids(self) -> list[str]:
        return self._ids("record_ids", self.dixa_catalogue.records, "record")

    def discover_streams(self) -> list:
        self.prepare()  # settings checked and secrets registered before Dixa is asked
        fixed = [stream_class(self) for stream_class in FIXED_STREAMS]
        if self.input_catalog is not None and not self._analytics_selected():
            # Only Exports API / list streams are selected: Dixa's analytics catalogue is not
            # needed, so it is not read (no catalogue requests, no sampling).
            return [
                *self.catalogue_streams,
                FilterValuesStream(self),
                MetricValuesStream(self),
                *fixed,
            ]
        catalogue = self.dixa_catalogue
        self.selected_metric_ids  # noqa: B018 - names unknown `metric_ids` now, not mid-sync
        streams: list = [
            *self.catalogue_streams,
            FilterValuesStream(self),
            MetricValuesStream(self),
        ]
        for record_id in self.selected_record_ids:
            entry = catalogue.records[record_id]
            streams.append(RecordStream(self, entry, self._record_schema(entry)))
        streams.extend(fixed)
        if self.input_catalog is not None:
            built = {s.name for s in streams}
            for catalogued in self.input_catalog.values():
                stream_id = catalogued.tap_stream_id
                if stream_id.startswith("records_") and stream_id not in built:
                    self.logger.warning(
                        "The catalog has stream %s but Dixa's records catalogue no longer lists it "
                        "(or `record_ids` leaves it out); it is skipped.",
                        stream_id,
                    )
        return streams

    def _analytics_selected(self) -> bool:
        """Whether the input catalog selects any stream that reads Dixa's Analytics API."""
        fixed = {stream_class.name for stream_class in FIXED_STREAMS}
        for entry in (self.input_catalog or {}).values():
            if entry.tap_stream_id in fixed:
                continue
            selected = entry.metadata.root.selected
            if selected is None or selected:
                return True
        return False

    def _record_schema(self, entry: dict[str, t.Any]) -> dict[str, t.Any]:
        """The schema of a record id: from the input catalog when there is one (so a run keeps
        the columns its discovery chose), else from fieldsMetadata and a sample of the data."""
        name = record_stream_name(entry["id"])
        if self.input_catalog is not None:
            catalogued = self.input_catalog.get_stream(name)
            if catalogued is not None:
                return catalogued.schema.to_dict()
        provisional = RecordStream(self, entry, record_schema(entry, {}), check_keys=False)
        end = provisional.sync_range_end()  # where a sync would stop: end_date or now
        with self._discovery_errors():
            observed = provisional.sample_types(
                end - dt.timedelta(days=SAMPLE_DAYS), end, SAMPLE_ROWS
            )
        unseen = [
            m["field"] for m in entry.get("fieldsMetadata") or [] if m.get("field") not in observed
        ]
        if unseen:
            self.logger.info(
                "Record %s: no values seen for %s in the %d days sampled; typed as text.",
                entry["id"],
                ", ".join(unseen),
                SAMPLE_DAYS,
            )
        return record_schema(entry, observed)

    def _discovery_errors(self) -> t.ContextManager[None]:
        return _DiscoveryErrors(str(self.config["api_url"]))


class _DiscoveryErrors:
    """Turn a failed catalogue read into an error that says what to fix."""

    PREFIX = "tap-dixa builds its streams from Dixa's catalogue, so discovery needs the API. "

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, exc: BaseException | None, tb: t.Any) -> t.Literal[False]:
        if exc is None or isinstance(exc, DixaDiscoveryError):
            return False
        if isinstance(exc, CredentialsRejected):
            msg = f"{self.PREFIX}{exc} The token is wrong, revoked or lacks access."
        elif isinstance(exc, EndpointNotFound):
            msg = f"{self.PREFIX}{exc}"
        elif isinstance(exc, (RetriesExhausted, UnparseableResponse)):
            msg = (
                f"{self.PREFIX}{exc} Check the `api_url` setting (now {self.api_url}): it must be "
                f"Dixa's API (default {DEFAULT_API_URL}) and reachable from here."
            )
        elif isinstance(exc, VendorAPIError):
            msg = f"{self.PREFIX}{exc} Check the `api_url` and `api_token` settings."
        else:
            return False
        raise DixaDiscoveryError(msg) from None


if __name__ == "__main__":
    TapDixa.cli()
