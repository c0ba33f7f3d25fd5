"""Xenioo statistics streams."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk import StreamSchema

from support_taps.schemas import schema_directory
from tap_xenioo.client import (
    STATISTIC_TYPES,
    UNTOLD_TYPE,
    XeniooCall,
    XeniooStream,
    statistic_code,
)

XENIOO_SCHEMAS = schema_directory("xenioo", __package__)

#: Rows are identified by what they count (type, label), where (bot, channel), when
#: (group mode and label) and which call scope produced them. The same bucket comes
#: back on the next call with revised values; targets upsert it on this key.
STATISTICS_KEY = (
    "bot_scope",
    "stat_type_code",
    "group_mode",
    "group_label",
    "bot_name",
    "channel_name",
    "event_label",
)
DEFAULT_BOT_PATH = "/analytics/statistics/bot/{APIKEY}/{TYPES}/{GROUPMODE}/{DAYS}"


def configured_bots(config: t.Mapping[str, t.Any]) -> dict[str, str]:
    """Bot name -> bot API key, from the `bots` setting."""
    return {str(bot["name"]): str(bot["api_key"]) for bot in config.get("bots") or []}


class AccountScoped(XeniooStream):
    """Account endpoints: APIKEY is `*` (all bots) or the key of `account_bot`."""

    def api_key_for(self, context: t.Mapping | None) -> str:
        bot = self.config.get("account_bot")
        return configured_bots(self.config)[bot] if bot else "*"

    def scope_of(self, context: t.Mapping | None) -> str:
        return self.config.get("account_bot") or "*"


class StatisticsRecords(XeniooStream):
    """Rows of the statistics endpoints: the type's code and name become columns."""

    def make_record(self, raw: dict, call: XeniooCall) -> dict:
        record = self.base_record(raw, call)
        code = statistic_code(record["event_label"], self.statistic_types())
        if code is None:
            # Kept whole, under a key that is never null; the call's warning names it.
            code = UNTOLD_TYPE
            call.untyped.append(tuple(record[k] for k in STATISTICS_KEY if k != "stat_type_code"))
        record["stat_type_code"] = code
        record["stat_type_name"] = STATISTIC_TYPES.get(code)
        return record


class AccountStatisticsStream(StatisticsRecords, AccountScoped):
    """Account statistics: every bot (or `account_bot`), the configured types, one call an hour."""

    name = "account_statistics"
    statistics_path = "/analytics/statistics/account/{APIKEY}/{TYPES}/{GROUPMODE}/{DAYS}"
    throttle = dt.timedelta(hours=1)
    endpoint_title = "account statistics"
    # Xenioo's Account Statistics Data page publishes the object (tests/contracts/xenioo).
    published_fields = ("GroupLabel", "BotName", "ChannelName", "EventLabel")
    primary_keys = STATISTICS_KEY
    schema = StreamSchema(XENIOO_SCHEMAS)

    types_setting = "types"

    def statistic_types(self) -> tuple[int, ...]:
        return tuple(self.config["types"])


class BotStatisticsStream(StatisticsRecords):
    """Per-bot statistics (adds type 18, Tag Hit): one partition per configured bot,
    one call per bot every 30 minutes. The path is not on Xenioo's docs page; it is
    inferred from the account one and can be changed with `bot_statistics_path`."""

    name = "bot_statistics"
    throttle = dt.timedelta(minutes=30)
    endpoint_title = "bot statistics"
    primary_keys = STATISTICS_KEY
    schema = StreamSchema(XENIOO_SCHEMAS)

    # A class attribute on the other streams; here a setting decides it.
    @property
    def statistics_path(self) -> str:  # type: ignore[override]
        return str(self.config["bot_statistics_path"])

    @property
    def partitions(self) -> list[dict] | None:
        # The context names the bot (the SDK copies it into each record's bot_scope);
        # its key stays in the config and the URL.
        return [{"bot_scope": name} for name in configured_bots(self.config)] or None

    types_setting = "bot_types"

    def statistic_types(self) -> tuple[int, ...]:
        return tuple(self.config["bot_types"])

    def api_key_for(self, context: t.Mapping | None) -> str:
        return configured_bots(self.config)[(context or {})["bot_scope"]]

    def scope_of(self, context: t.Mapping | None) -> str:
        return str((context or {}).get("bot_scope", ""))

    def get_records(self, context: t.Mapping | None) -> t.Iterable[dict]:
        if not context:  # no bots, so no partitions: not even the core's loop runs
            self.logger.info("bot_statistics: no bots configured in `bots`; nothing to read.")
            return
        yield from super().get_records(context)


class DlrStatisticsStream(AccountScoped):
    """Delivery-receipt statistics for the account (or `account_bot`).

    Xenioo does not publish this endpoint's throttle; one call an hour, like the
    account statistics, is assumed.
    """

    name = "dlr_statistics"
    statistics_path = "/analytics/statistics/dlr/account/{APIKEY}/{GROUPMODE}/{DAYS}"
    throttle = dt.timedelta(hours=1)
    endpoint_title = "delivery receipt statistics"
    primary_keys = (
        "bot_scope",
        "group_mode",
        "group_label",
        "bot_name",
        "channel_name",
        "event_label",
    )
    schema = StreamSchema(XENIOO_SCHEMAS)
