"""tap-khoros-care: every Khoros Care analytics report, through the async report lifecycle."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cached_property

from singer_sdk import typing as th

from support_taps.accounts import account_setting
from support_taps.pacing import RequestPacer
from support_taps.settings import (
    COMMON_SETTINGS,
    FULL_TABLE_SETTINGS,
    PRIVACY_SETTINGS,
    START_END_SETTINGS,
    credential,
)
from support_taps.stream import SupportStream
from support_taps.tap import SupportTap
from tap_khoros_care.client import KhorosStream
from tap_khoros_care.job_api import JobSettings, ReportJobAPI
from tap_khoros_care.scheduler import ReportScheduler
from tap_khoros_care.streams import REPORT_STREAMS, REPORT_TYPES
from tap_khoros_care.teams import TeamsStream

CONVERSATION_REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")
DEFAULT_CONVERSATION_REPORT_TYPES = ("CREATED", "CLOSED")
LOCALES = ("en", "es", "fr", "de", "tr")
#: timeInterval values the vendor accepts below a week (ms); anything above a week means monthly.
TIME_INTERVALS = (
    300000,
    600000,
    900000,
    1800000,
    3600000,
    7200000,
    14400000,
    28800000,
    43200000,
    86400000,
    604800000,
)
WEEK_MS = 604800000
DEFAULT_API_URL = "https://analytics-api.app.lithium.com/api/public"
#: Khoros: "Care Analytics stores data 18 months back in time".
HISTORY_MONTHS = 18
#: Khoros allows about 20 requests a minute (vendor-notes).
REQUESTS_PER_MINUTE = 20
#: Khoros: Care Analytics offers "near-real-time metrics" (About Care Response Analytics
#: Reports); no delay is published, so an hour is our margin for rows recorded late.
SETTLE_MINUTES = 60


class TapKhorosCare(SupportTap):
    """Singer tap for Khoros Care analytics reports (social customer care)."""

    name = "tap-khoros-care"

    #: The pace is the `requests_per_minute` setting (see `pacer`).
    request_burst = 1

    config_jsonschema = th.PropertiesList(
        th.Property(
            "username",
            th.StringType,
            required=True,
            description="Analytics API user (HTTP Basic auth).",
        ),
        credential("password", "Password of the Analytics API user (HTTP Basic auth)."),
        credential(
            "company_key",
            "Company key, from Account Admin > General Settings > "
            "Analytics API Settings; "
            "sent as `companyKey` on every call.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            description="Base URL of the Analytics API for your account's region, "
            "as shown to admins in "
            "Khoros (or a simulator, e.g. http://127.0.0.1:8705/api/public).",
        ),
        *START_END_SETTINGS,
        th.Property(
            "report_types",
            th.ArrayType(th.StringType),
            default=list(REPORT_TYPES),
            description="Report types to extract, one stream each: "
            + ", ".join(REPORT_TYPES)
            + ".",
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1, maximum=92),
            description="Days per report job, at most 92: Khoros exports three months at most. "
            "Default: three calendar months, the largest range Khoros "
            "accepts (fewest jobs). State is saved after each window's rows are emitted; a "
            "window Khoros refuses for its range is split in two.",
        ),
        th.Property(
            "history_months",
            th.IntegerType(minimum=1),
            default=HISTORY_MONTHS,
            description="Months of data Khoros Care Analytics keeps (18). "
            "A `start_date` older than that "
            "is moved forward, with a warning. Change only if Khoros keeps more for you.",
        ),
        th.Property(
            "max_file_mb",
            th.NumberType(exclusive_minimum=0),
            default=1024,
            description="Largest report file, in MB (by its Content-Length), read in one piece: a "
            "larger one has its window split in two and asked for again (nothing is "
            "emitted from it). Parsing streams, so this bounds download time, not memory.",
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=0,
            description="Each run asks again for this many days before the bookmark, "
            "for reports whose "
            "recent days still change (late activity, conversations closing).",
        ),
        th.Property(
            "settle_minutes",
            th.IntegerType(minimum=0, maximum=10080),
            default=SETTLE_MINUTES,
            description="Without `end_date`, each run stops this many minutes before now and "
            "the next run starts there: Khoros calls its metrics near-real-time, so rows it "
            "records a little late are in place by then (60 is a guess from that word; Khoros "
            "publishes no delay).",
        ),
        th.Property(
            "conversation_report_types",
            th.ArrayType(th.StringType),
            default=list(DEFAULT_CONVERSATION_REPORT_TYPES),
            description="The `conversationReportType` reports the `conversation` stream "
            "runs for each "
            "window, in this order, keyed by CONVERSATION_ID: the default CREATED then CLOSED "
            "gives every conversation once it exists and again once it closes, so the "
            "warehouse keeps its latest state. Values: OPEN_AT_END, CLOSED, CREATED.",
        ),
        th.Property(
            "conversation_report_type",
            th.StringType,
            allowed_values=list(CONVERSATION_REPORT_TYPES),
            description="One `conversationReportType` for the `conversation` stream instead of "
            "`conversation_report_types` (OPEN_AT_END: open at the window's end; CLOSED: "
            "closed in it; CREATED: created in it).",
        ),
        th.Property(
            "report_format",
            th.StringType,
            default="json",
            allowed_values=["json", "csv"],
            description="File format Khoros exports (`reportFormat`); both are parsed as a stream.",
        ),
        th.Property(
            "max_concurrent_reports",
            th.IntegerType(minimum=1),
            default=20,
            description="The most report jobs running at once on Khoros's side, started ahead of "
            "the window being emitted. Khoros publishes no limit, so the tap adapts below this "
            "ceiling: it starts with 8, adds one as each job finishes, and halves the number when "
            "Khoros answers 429 or refuses a job for load.",
        ),
        th.Property(
            "requests_per_minute",
            th.NumberType(exclusive_minimum=0),
            default=REQUESTS_PER_MINUTE,
            description="Requests per minute to the API (starts, status checks and downloads); "
            "Khoros allows about 20.",
        ),
        th.Property(
            "poll_interval",
            th.NumberType(exclusive_minimum=0),
            default=5,
            description="Seconds after starting a job before its first status check; later checks "
            "back off by 1.5x.",
        ),
        th.Property(
            "max_poll_interval",
            th.NumberType(exclusive_minimum=0),
            default=60,
            description="Longest wait, in seconds, between two status checks of a job.",
        ),
        th.Property(
            "report_timeout",
            th.NumberType(exclusive_minimum=0),
            default=3600,
            description="Seconds a report job may run before the window fails with a timeout.",
        ),
        th.Property(
            "timezone",
            th.StringType,
            description="Time zone ID (e.g. America/New_York) Khoros formats report dates in; "
            "the tap "
            "converts typed dates back to UTC.",
        ),
        th.Property(
            "timezoneOffset",
            th.IntegerType,
            description="Fixed offset from UTC in milliseconds to format report dates in "
            "(instead of "
            "`timezone`).",
        ),
        th.Property(
            "locale",
            th.StringType,
            allowed_values=list(LOCALES),
            description="Locale of the report (en, es, fr, de, tr).",
        ),
        th.Property(
            "priorities",
            th.ArrayType(th.IntegerType),
            description="Only data with these priorities (0 to 5).",
        ),
        th.Property(
            "workqueueIds",
            th.ArrayType(th.StringType),
            description="Only data in these work queues (IDs).",
        ),
        th.Property(
            "smartViewId", th.StringType, description="Only data matching this smart view (one ID)."
        ),
        th.Property(
            "teamIds",
            th.ArrayType(th.StringType),
            description="Team performance, team performance interval, response approval, "
            "agent states "
            "(`teamIds`) and user (one `teamId` per value): only these teams (IDs).",
        ),
        th.Property(
            "agentIds",
            th.ArrayType(th.StringType),
            description="User export: only these agents (IDs), sent as one `agentId` per value.",
        ),
        th.Property(
            "includeDisabled",
            th.BooleanType,
            description="Team performance, team performance interval, response approval and user: "
            "include disabled agents.",
        ),
        th.Property(
            "enableBusinessHour",
            th.BooleanType,
            description="Every export but user: filter by business hours "
            "(with `businessHourType`).",
        ),
        th.Property(
            "businessHourType",
            th.BooleanType,
            description="With `enableBusinessHour`: true for data within business hours, false for "
            "outside them; leave it out for 24/7.",
        ),
        th.Property(
            "raiselimit",
            th.BooleanType,
            description="Conversation history action: raise Khoros's cap from 500 to 2,000 "
            "actions per "
            "conversation (sent as `raiselimit` in the query string).",
        ),
        th.Property(
            "timeInterval",
            th.IntegerType,
            description="Team performance interval: interval length in ms (300000 = 5 minutes ... "
            "604800000 = 1 week; longer means monthly).",
        ),
        th.Property(
            "reportMetrics",
            th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
            description="Columns (metrics) to return, per report type, e.g. "
            '{"team_performance": ["agent_name", "agent_email"]}. Default: the report\'s '
            "default columns.",
        ),
        *account_setting(
            "`default`: Khoros identifies a company by its company key, a credential sent on "
            "every call and kept secret"
        ),
        *COMMON_SETTINGS,
        *FULL_TABLE_SETTINGS,
        *PRIVACY_SETTINGS,
    ).to_dict()

    def setting_errors(self) -> list[str]:
        config, errors = self.config, super().setting_errors()
        unknown = [name for name in config.get("report_types") or [] if name not in REPORT_STREAMS]
        if unknown:
            errors.append(
                f"The setting `report_types` has unknown types {unknown}; "
                f"choose from {list(REPORT_TYPES)}."
            )
        if "report_types" in config and not config["report_types"]:
            errors.append(
                "The setting `report_types` is empty; leave it out to extract every report type."
            )
        kinds = config.get("conversation_report_types")
        if kinds is not None and (
            not kinds
            or any(k not in CONVERSATION_REPORT_TYPES for k in kinds)
            or len(set(kinds)) != len(kinds)
        ):
            errors.append(
                f"The setting `conversation_report_types` takes distinct values of "
                f"{list(CONVERSATION_REPORT_TYPES)}, got {kinds!r}."
            )
        if config.get("timezone"):
            try:
                zoneinfo.ZoneInfo(str(config["timezone"]))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors.append(
                    "The setting `timezone` must be a time zone ID such as Europe/Paris, "
                    f"got {config['timezone']!r}."
                )
        if config.get("timezone") and config.get("timezoneOffset") is not None:
            errors.append("Set `timezone` or `timezoneOffset`, not both.")
        bad = [p for p in config.get("priorities") or [] if not 0 <= int(p) <= 5]
        if bad:
            errors.append(f"The setting `priorities` takes values 0 to 5, got {bad}.")
        interval = config.get("timeInterval")
        if (
            interval is not None
            and int(interval) not in TIME_INTERVALS
            and int(interval) <= WEEK_MS
        ):
            errors.append(
                f"The setting `timeInterval` must be one of {list(TIME_INTERVALS)} (ms) "
                "or more than a week."
            )
        if (
            config.get("businessHourType") is not None
            and config.get("enableBusinessHour") is not True
        ):
            errors.append(
                "The setting `businessHourType` needs `enableBusinessHour` set to true "
                "(Khoros refuses "
                "one without the other)."
            )
        metrics = config.get("reportMetrics") or {}
        unknown = [name for name in metrics if name not in REPORT_STREAMS]
        if unknown:
            errors.append(f"The setting `reportMetrics` names unknown report types {unknown}.")
        return errors

    @cached_property
    def pacer(self) -> RequestPacer:
        """One pacer for every request to the API, at `requests_per_minute`."""
        return RequestPacer(float(self.config["requests_per_minute"]) / 60, self.request_burst)

    @cached_property
    def scheduler(self) -> ReportScheduler:
        """The run's report jobs across every selected report type, each stream's windows
        planned up front (see `tap_khoros_care.scheduler`)."""
        scheduler = ReportScheduler(
            int(self.config["max_concurrent_reports"]),
            logger=self.logger,
            refusal_wait=float(self.config["poll_interval"]),
        )
        for stream in self.streams.values():
            if stream.selected and isinstance(stream, KhorosStream):
                scheduler.add(self.job_api(stream), stream.variants, stream.planned_windows())
        return scheduler

    def job_api(self, stream: KhorosStream) -> ReportJobAPI:
        """The job API of `stream`'s report type: what its jobs are asked with, and the
        stream's connection to the API."""
        return ReportJobAPI(
            stream.report_request(), stream.connection(), JobSettings.from_config(self.config)
        )

    #: Whether the run said it started later than asked (once, whichever stream met it).
    history_warned = False

    def discover_streams(self) -> list[SupportStream]:
        wanted = self.config["report_types"]
        reports = [cls(self) for name, cls in REPORT_STREAMS.items() if name in wanted]
        return [*reports, TeamsStream(self)]

    def warn_history(self, start: dt.datetime, earliest: dt.datetime, months: int) -> None:
        """Say once that the start was moved forward to what Khoros keeps."""
        if self.history_warned:
            return
        self.history_warned = True
        self.logger.warning(
            "The setting `start_date` (or the bookmark) asks for data from %s, "
            "but Khoros Care Analytics keeps "
            "only %d months (`history_months`): starting at %s instead.",
            start.date().isoformat(),
            months,
            earliest.date().isoformat(),
        )


if __name__ == "__main__":
    TapKhorosCare.cli()
