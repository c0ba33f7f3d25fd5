"""tap-khoros-care: every Khoros Care analytics report, through the async report lifecycle."""

from __future__ import annotations

import zoneinfo
from functools import cached_property
from urllib.parse import urlsplit

from singer_sdk import typing as th

from support_taps.client import SupportTap
from support_taps.pacing import RequestPacer
from support_taps.settings import COMMON_SETTINGS, START_END_SETTINGS
from tap_khoros_care.client import DEFAULT_API_URL, KhorosStream, ReportJobBoard
from tap_khoros_care.streams import REPORT_STREAMS, REPORT_TYPES

CONVERSATION_REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")
LOCALES = ("en", "es", "fr", "de", "tr")
#: timeInterval values the vendor accepts below a week (ms); anything above a week means monthly.
TIME_INTERVALS = (300000, 600000, 900000, 1800000, 3600000, 7200000, 14400000, 28800000, 43200000, 86400000, 604800000)
WEEK_MS = 604800000


class TapKhorosCare(SupportTap):
    """Singer tap for Khoros Care analytics reports (social customer care)."""

    name = "tap-khoros-care"
    package_name = "supportanalytics-tap-khoros-care"  # the distribution: --version, --about

    #: Khoros allows about 20 requests a minute (vendor-notes); `requests_per_minute` overrides.
    requests_per_second = 20 / 60
    request_burst = 1

    config_jsonschema = th.PropertiesList(
        th.Property("username", th.StringType, required=True,
                    description="Analytics API user (HTTP Basic auth)."),
        th.Property("password", th.StringType, required=True, secret=True,
                    description="Password of the Analytics API user (HTTP Basic auth)."),
        th.Property("company_key", th.StringType, required=True, secret=True,
                    description="Company key, from Account Admin > General Settings > Analytics API Settings; "
                                "sent as `companyKey` on every call."),
        th.Property("api_url", th.StringType, default=DEFAULT_API_URL,
                    description="Base URL of the Analytics API for your account's region, as shown to admins in "
                                "Khoros (or a simulator, e.g. http://127.0.0.1:8705/api/public)."),
        *START_END_SETTINGS,
        th.Property("report_types", th.ArrayType(th.StringType), default=list(REPORT_TYPES),
                    description="Report types to extract, one stream each: " + ", ".join(REPORT_TYPES) + "."),
        th.Property("window_days", th.IntegerType, default=1,
                    description="Days per report job; state is saved after each window's rows are emitted."),
        th.Property("lookback_days", th.IntegerType, default=0,
                    description="Each run asks again for this many days before the bookmark, for reports whose "
                                "recent days still change (late activity, conversations closing)."),
        th.Property("conversation_report_type", th.StringType, default="OPEN_AT_END",
                    allowed_values=list(CONVERSATION_REPORT_TYPES),
                    description="Which conversations the `conversation` report holds: OPEN_AT_END (open at the "
                                "window's end), CLOSED (closed in it) or CREATED (created in it). Sent as "
                                "`conversationReportType`."),
        th.Property("report_format", th.StringType, default="json", allowed_values=["json", "csv"],
                    description="File format Khoros exports (`reportFormat`); both are parsed as a stream."),
        th.Property("max_concurrent_reports", th.IntegerType, default=10,
                    description="Report jobs running at once on Khoros's side, started ahead of the window "
                                "being emitted. Khoros publishes no limit; lower this if it refuses new jobs."),
        th.Property("requests_per_minute", th.NumberType, default=20,
                    description="Requests per minute to the API (starts, status checks and downloads); "
                                "Khoros allows about 20."),
        th.Property("poll_interval", th.NumberType, default=5,
                    description="Seconds after starting a job before its first status check; later checks "
                                "back off by 1.5x."),
        th.Property("max_poll_interval", th.NumberType, default=60,
                    description="Longest wait, in seconds, between two status checks of a job."),
        th.Property("report_timeout", th.NumberType, default=3600,
                    description="Seconds a report job may run before the window fails with a timeout."),
        th.Property("timezone", th.StringType,
                    description="Time zone ID (e.g. America/New_York) Khoros formats report dates in; the tap "
                                "converts typed dates back to UTC."),
        th.Property("timezoneOffset", th.IntegerType,
                    description="Fixed offset from UTC in milliseconds to format report dates in (instead of "
                                "`timezone`)."),
        th.Property("locale", th.StringType, allowed_values=list(LOCALES),
                    description="Locale of the report (en, es, fr, de, tr)."),
        th.Property("priorities", th.ArrayType(th.IntegerType),
                    description="Only data with these priorities (0 to 5)."),
        th.Property("workqueueIds", th.ArrayType(th.StringType),
                    description="Only data in these work queues (IDs)."),
        th.Property("smartViewId", th.StringType,
                    description="Only data matching this smart view (one ID)."),
        th.Property("teamIds", th.ArrayType(th.StringType),
                    description="Team performance, team performance interval and response approval: only these "
                                "teams (IDs)."),
        th.Property("includeDisabled", th.BooleanType,
                    description="Team performance, team performance interval and response approval: include "
                                "disabled agents."),
        th.Property("timeInterval", th.IntegerType,
                    description="Team performance interval: interval length in ms (300000 = 5 minutes ... "
                                "604800000 = 1 week; longer means monthly)."),
        th.Property("reportMetrics", th.ObjectType(additional_properties=th.ArrayType(th.StringType)),
                    description="Columns (metrics) to return, per report type, e.g. "
                                '{"team_performance": ["agent_name", "agent_email"]}. Default: the report\'s '
                                "default columns."),
        *COMMON_SETTINGS,
    ).to_dict()

    def setting_errors(self) -> list[str]:  # noqa: C901 - one clear message per setting
        config, errors = self.config, super().setting_errors()
        url = urlsplit(str(config.get("api_url") or DEFAULT_API_URL))
        if url.scheme not in ("http", "https") or not url.netloc:
            errors.append(f"The setting `api_url` must be an http(s) URL, got {config.get('api_url')!r}.")
        unknown = [name for name in config.get("report_types") or [] if name not in REPORT_STREAMS]
        if unknown:
            errors.append(f"The setting `report_types` has unknown types {unknown}; choose from {list(REPORT_TYPES)}.")
        if "report_types" in config and not config["report_types"]:
            errors.append("The setting `report_types` is empty; leave it out to extract every report type.")
        for name, minimum in (("window_days", 1), ("max_concurrent_reports", 1), ("lookback_days", 0)):
            if int(config.get(name, minimum)) < minimum:
                errors.append(f"The setting `{name}` must be at least {minimum}.")
        for name in ("requests_per_minute", "poll_interval", "max_poll_interval", "report_timeout"):
            if name in config and float(config[name]) <= 0:
                errors.append(f"The setting `{name}` must be greater than zero.")
        if config.get("timezone"):
            try:
                zoneinfo.ZoneInfo(str(config["timezone"]))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                errors.append(f"The setting `timezone` must be a time zone ID such as Europe/Paris, got {config['timezone']!r}.")
        if config.get("timezone") and config.get("timezoneOffset") is not None:
            errors.append("Set `timezone` or `timezoneOffset`, not both.")
        bad = [p for p in config.get("priorities") or [] if not 0 <= int(p) <= 5]
        if bad:
            errors.append(f"The setting `priorities` takes values 0 to 5, got {bad}.")
        interval = config.get("timeInterval")
        if interval is not None and int(interval) not in TIME_INTERVALS and int(interval) <= WEEK_MS:
            errors.append(f"The setting `timeInterval` must be one of {list(TIME_INTERVALS)} (ms) or more than a week.")
        metrics = config.get("reportMetrics") or {}
        unknown = [name for name in metrics if name not in REPORT_STREAMS]
        if unknown:
            errors.append(f"The setting `reportMetrics` names unknown report types {unknown}.")
        return errors

    @cached_property
    def pacer(self) -> RequestPacer:
        """One pacer for every request to the API, at `requests_per_minute`."""
        per_minute = float(self.config.get("requests_per_minute") or self.requests_per_second * 60)
        return RequestPacer(per_minute / 60, self.request_burst)

    @cached_property
    def job_board(self) -> ReportJobBoard:
        return ReportJobBoard(int(self.config.get("max_concurrent_reports", 10)))

    def discover_streams(self) -> list[KhorosStream]:
        wanted = self.config.get("report_types") or list(REPORT_TYPES)
        return [cls(self) for name, cls in REPORT_STREAMS.items() if name in wanted]

    def start_next_reports(self, current: KhorosStream) -> None:
        """Use free job slots for the first windows of the reports synced after `current`.

        The SDK syncs streams one after another; without this, each report would
        wait for its first job from scratch while the slots sit idle.
        """
        board = self.job_board
        streams = [s for s in self.streams.values() if s.selected and isinstance(s, KhorosStream)]
        later = streams[streams.index(current) + 1:] if current in streams else []
        for stream in later:
            if board.free_slots() <= 0:
                return
            for window in stream.planned_windows()[board.parked(stream.name):]:
                if board.free_slots() <= 0:
                    return
                board.park(stream.start_report(window))


if __name__ == "__main__":
    TapKhorosCare.cli()
