"""A report job's query parameters, read and refused as Khoros Care Analytics does.

Filters honoured: conversationReportType, priorities, workqueueIds, teamIds (teamId and
agentId for the user report), includeDisabled, timeInterval, reportMetrics, reportFormat,
locale (validated), timezone or timezoneOffset, raiselimit, and the business-hour flags
(validated).
"""

from __future__ import annotations

import datetime as dt
import typing as t
import zoneinfo
from dataclasses import dataclass

from support_simulators.framework.dataset import UTC
from support_simulators.khoros.reports import COLUMNS, ReportParams

LOCALES = ("en", "es", "fr", "de", "tr")
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
#: A `timeInterval` above a week means calendar months, whatever its value.
WEEK_MS = 604_800_000
CONVERSATION_REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")
_INTEGERS = "priorities and timeInterval take integers"


class Query:
    """A job's parameters: the query string and, for POSTs, the form body."""

    def __init__(self, params: dict[str, list[str]]) -> None:
        self.params = params

    def one(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self.params.get(name) or []


#: A check of the parameters: Khoros's refusal, or None after setting what it read.
Check = t.Callable[[ReportParams, Query], str | None]


@dataclass(frozen=True)
class Param:
    """An optional parameter, read when it is sent and not empty."""

    name: str
    #: The ReportParams field it sets (None: checked only).
    field: str | None = None
    #: Its value from the text; a ValueError means malformed.
    read: t.Callable[[str], t.Any] = str
    accepts: t.Callable[[t.Any], bool] = lambda value: True
    #: Khoros's message when the value is not accepted ("{value}" is the value).
    refusal: str = ""
    #: Khoros's message when the text is malformed (every `read` that can fail has one).
    malformed: str = ""

    def __call__(self, p: ReportParams, query: Query) -> str | None:
        text = query.one(self.name)
        if not text:
            return None
        try:
            value = self.read(text)
        except ValueError:
            return self.malformed
        if not self.accepts(value):
            return self.refusal.format(value=value)
        if self.field:
            setattr(p, self.field, value)
        return None


def _true(text: str) -> bool:
    return text.lower() == "true"


def _id_set(text: str) -> set[str]:
    return set(text.split(","))


def _integer_set(text: str) -> set[int]:
    return {int(v) for v in text.split(",")}


def _zone(p: ReportParams, query: Query) -> str | None:
    """`timezone` (a zone name) wins over `timezoneOffset` (milliseconds east of UTC)."""
    name, offset = query.one("timezone"), query.one("timezoneOffset")
    try:
        if name:
            p.zone = zoneinfo.ZoneInfo(name)
        elif offset:
            p.zone = dt.timezone(dt.timedelta(milliseconds=int(offset)))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "Invalid timezone or timezoneOffset"
    return None


def _user_filters(p: ReportParams, query: Query) -> str | None:
    """The user report takes teams and agents as repeated parameters, one value each."""
    if p.report_type == "user":
        if query.all("teamId"):
            p.teams = set(query.all("teamId"))
        if query.all("agentId"):
            p.agents = set(query.all("agentId"))
    return None


def _business_hours(p: ReportParams, query: Query) -> str | None:
    for name in ("enableBusinessHour", "businessHourType"):
        if query.one(name) not in (None, "true", "false"):
            return f"{name} takes true or false"
    if query.one("businessHourType") is not None and query.one("enableBusinessHour") != "true":
        return "businessHourType needs enableBusinessHour=true"
    return None


def _metrics(p: ReportParams, query: Query) -> str | None:
    metrics = query.all("reportMetrics")
    if not metrics:
        return None
    unknown = [m for m in metrics if m.upper() not in COLUMNS[p.report_type]]
    if unknown:
        return f"Unknown reportMetrics for {p.report_type}: {', '.join(unknown)}"
    p.metrics = metrics
    return None


#: The checks after the window's, in order: the first refusal is the answer.
CHECKS: tuple[Check, ...] = (
    Param(
        "reportFormat",
        "fmt",
        read=str.lower,
        accepts=("json", "csv").__contains__,
        refusal="Unsupported reportFormat {value}",
    ),
    Param(
        "conversationReportType",
        "conversation_report_type",
        accepts=CONVERSATION_REPORT_TYPES.__contains__,
        refusal="Invalid conversationReportType {value}",
    ),
    Param("locale", accepts=LOCALES.__contains__, refusal="Unsupported locale {value}"),
    _zone,
    Param("priorities", "priorities", read=_integer_set, malformed=_INTEGERS),
    Param(
        "timeInterval",
        "interval_ms",
        read=int,
        accepts=lambda ms: ms in TIME_INTERVALS or ms > WEEK_MS,
        refusal="Unsupported timeInterval {value}",
        malformed=_INTEGERS,
    ),
    Param("workqueueIds", "workqueues", read=_id_set),
    Param("teamIds", "teams", read=_id_set),
    _user_filters,
    Param("raiselimit", "raise_limit", read=_true),
    _business_hours,
    Param("includeDisabled", "include_disabled", read=_true),
    _metrics,
)


def _window(report_type: str, query: Query) -> ReportParams | str:
    try:
        start_ms, end_ms = int(query.one("startTime") or ""), int(query.one("endTime") or "")
    except ValueError:
        return "startTime and endTime are required, in epoch milliseconds"
    if end_ms <= start_ms:
        return "endTime must be after startTime"
    return ReportParams(
        report_type,
        dt.datetime.fromtimestamp(start_ms / 1000, UTC),
        dt.datetime.fromtimestamp(end_ms / 1000, UTC),
    )


def parse_params(report_type: str, params: dict[str, list[str]]) -> ReportParams | str:
    """The job `params` ask for, or Khoros's message refusing them."""
    query = Query(params)
    p = _window(report_type, query)
    if isinstance(p, str):
        return p
    for check in CHECKS:
        refusal = check(p, query)
        if refusal:
            return refusal
    return p
