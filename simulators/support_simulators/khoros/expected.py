"""What a full run of tap-khoros-care must deliver from the simulator's data.

The tap's rules (windows, splits, row keys), in the simulator's own code: the demo test and
the sync tests compare what the tap wrote with these keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t

from support_simulators.framework.dataset import UTC, midnight, setting_time
from support_simulators.khoros.dataset import add_months, epoch_ms
from support_simulators.khoros.params import parse_params
from support_simulators.khoros.reports import ID_COLUMNS, IDENTITY_COLUMNS, REPORT_TYPES

if t.TYPE_CHECKING:
    from support_simulators.khoros.reports import ReportParams
    from support_simulators.khoros.simulator import KhorosSimulator

Window = tuple[dt.datetime, dt.datetime]
#: The tap settings sent as query parameters, under the same names.
_QUERY_SETTINGS = (
    "locale",
    "timezone",
    "timezoneOffset",
    "priorities",
    "workqueueIds",
    "teamIds",
    "includeDisabled",
    "timeInterval",
    "raiselimit",
)


def row_hash(window_start: str, values: t.Mapping[str, t.Any]) -> str:
    """The row key the tap gives rows of reports without an id (same recipe, own code)."""
    digest = hashlib.blake2b(window_start.encode(), digest_size=16)
    digest.update(
        json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    return digest.hexdigest()


def split(
    start: dt.datetime, end: dt.datetime
) -> tuple[dt.datetime, dt.datetime, dt.datetime] | None:
    """Where the tap cuts a refused window in two (same rule, own code): None below two hours."""
    span = end - start
    if span < dt.timedelta(hours=2):
        return None
    middle = start + span / 2
    if span >= dt.timedelta(days=2):
        middle = dt.datetime(middle.year, middle.month, middle.day, tzinfo=UTC)
    else:
        middle = middle.replace(minute=0, second=0, microsecond=0)
    return (start, middle, end) if start < middle < end else None


def _text(value: t.Any) -> str:
    """A setting's value as its query parameter's text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def _query(
    report_type: str,
    start: dt.datetime,
    end: dt.datetime,
    config: t.Mapping[str, t.Any],
    variant: str,
) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {
        "startTime": [str(epoch_ms(start))],
        "endTime": [str(epoch_ms(end))],
    }
    for name in _QUERY_SETTINGS:
        value = config.get(name)
        if value is not None and value != []:
            params[name] = [_text(value)]
    if report_type == "user":
        params.pop("teamIds", None)
        if config.get("teamIds"):
            params["teamId"] = [str(v) for v in config["teamIds"]]
        if config.get("agentIds"):
            params["agentId"] = [str(v) for v in config["agentIds"]]
    if report_type == "conversation" and (variant or config.get("conversation_report_type")):
        params["conversationReportType"] = [variant or config["conversation_report_type"]]
    metrics = (config.get("reportMetrics") or {}).get(report_type)
    if metrics:
        params["reportMetrics"] = list(metrics)
    return params


def window_params(
    report_type: str,
    start: dt.datetime,
    end: dt.datetime,
    tap_config: t.Mapping[str, t.Any] | None = None,
    variant: str = "",
) -> ReportParams:
    """The parameters the tap with `tap_config` sends for a window."""
    p = parse_params(report_type, _query(report_type, start, end, tap_config or {}, variant))
    assert not isinstance(p, str), p
    return p


def window_rows(
    sim: KhorosSimulator,
    report_type: str,
    start: dt.datetime,
    end: dt.datetime,
    tap_config: t.Mapping[str, t.Any] | None = None,
    variant: str = "",
) -> list[dict[str, str]]:
    """The rows a window's report holds for a tap with `tap_config`."""
    return list(sim.report_rows(window_params(report_type, start, end, tap_config, variant)))


def _planned(tap_config: t.Mapping[str, t.Any]) -> list[Window]:
    """Three calendar months (or `window_days`) each, from no earlier than `history_months`
    ago (with two days' margin) to `end_date` or now."""
    now = dt.datetime.now(UTC)
    earliest = add_months(now, -int(tap_config.get("history_months") or 18))
    earliest = midnight(earliest.date()) + dt.timedelta(days=2)
    start = max(setting_time(tap_config["start_date"]), earliest)
    start = midnight(start.date())
    # The tap stops `settle_minutes` (default 60) before now.
    settled = now - dt.timedelta(minutes=int(tap_config.get("settle_minutes", 60)))
    end = (
        min(setting_time(tap_config["end_date"]), settled)
        if tap_config.get("end_date")
        else settled
    )
    days = tap_config.get("window_days")
    planned = []
    while start < end:
        upper = min(start + dt.timedelta(days=int(days)) if days else add_months(start, 3), end)
        planned.append((start, upper))
        start = upper
    return planned


def windows(
    sim: KhorosSimulator, tap_config: t.Mapping[str, t.Any], report_type: str | None = None
) -> list[Window]:
    """The windows a full run of the tap with `tap_config` asks for, each window the
    simulator would refuse for its range split in halves until accepted."""
    planned = _planned(tap_config)
    if report_type is None:
        return planned
    out: list[Window] = []
    pending = list(reversed(planned))
    while pending:
        low, high = pending.pop()
        cut = split(low, high)
        if cut and sim.range_refusal(window_params(report_type, low, high, tap_config, "CREATED")):
            pending += [(cut[1], cut[2]), (cut[0], cut[1])]
        else:
            out.append((low, high))
    return out


def _variants(report_type: str, tap_config: t.Mapping[str, t.Any]) -> list[str]:
    """The conversation report's kinds the tap asks for ("" for any other report)."""
    if report_type != "conversation":
        return [""]
    one = tap_config.get("conversation_report_type")
    if one:
        return [one]
    return list(tap_config.get("conversation_report_types") or ["CREATED", "CLOSED"])


def _row_key(report_type: str, window_start: str, row: dict[str, str]) -> tuple:
    id_column = ID_COLUMNS.get(report_type)
    if id_column:
        # A row without the (guessed) id: the tap keys it by a hash of the whole row.
        return (row[id_column] if row.get(id_column) else row_hash("", row),)
    identity = IDENTITY_COLUMNS.get(report_type, ())
    if identity and all(row.get(c) for c in identity):
        return (row_hash(window_start, {c: row[c] for c in identity}),)
    return (row_hash(window_start, row),)


def primary_keys(
    sim: KhorosSimulator, tap_config: t.Mapping[str, t.Any]
) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
    expected: dict[str, tuple[tuple[str, ...], set[tuple]]] = {}
    for report_type in tap_config.get("report_types") or REPORT_TYPES:
        keys: set[tuple] = set()
        for start, end in windows(sim, tap_config, report_type):
            window_start = start.isoformat()
            for variant in _variants(report_type, tap_config):
                for row in window_rows(sim, report_type, start, end, tap_config, variant):
                    keys.add(_row_key(report_type, window_start, row))
        expected[report_type] = ((ID_COLUMNS.get(report_type) or "_row_hash",), keys)
    expected["teams"] = (("teamId",), {(team["teamId"],) for team in sim.team_list()})
    return expected
