"""What a first run of tap-xenioo must deliver from the simulator's data (the tap's keys, own
code): DAYS from start_date (capped at 30, default 30); on a first run every bucket the call
returns is delivered."""

from __future__ import annotations

import datetime as dt
import typing as t

from support_simulators.xenioo.dataset import ACCOUNT_TYPES, BOT_TYPES, MAX_DAYS, STATISTIC_TYPES

if t.TYPE_CHECKING:
    from support_simulators.xenioo.simulator import XeniooSimulator

Keys = dict[str, tuple[tuple[str, ...], set[tuple]]]


def primary_keys(sim: XeniooSimulator, tap_config: t.Mapping[str, t.Any]) -> Keys:
    """Keys per stream for a first run of tap-xenioo with `tap_config`."""
    now = sim.now()
    mode = tap_config.get("group_mode", "day")
    days = MAX_DAYS
    if tap_config.get("start_date"):
        start = dt.datetime.fromisoformat(str(tap_config["start_date"]).replace("Z", "+00:00"))
        days = max(1, min(MAX_DAYS, (now.date() - start.date()).days + 1))
    bots = [(b["name"], b["api_key"]) for b in tap_config.get("bots") or []]
    account_bot = tap_config.get("account_bot")
    scope = account_bot or "*"
    scope_keys = [dict(bots)[account_bot]] if account_bot else list(sim.dataset.bots)
    types = list(tap_config.get("types") or ACCOUNT_TYPES)
    bot_types = list(tap_config.get("bot_types") or BOT_TYPES)

    by_name = {name: code for code, name in STATISTIC_TYPES.items()}

    def told(row: dict, asked: list[int]) -> int:
        # What the tap can tell from published information: the label, else the one type
        # asked for.
        if row["EventLabel"] in by_name:
            return by_name[row["EventLabel"]]
        return asked[0] if len(asked) == 1 else -1

    def stat_key(scope_name: str, row: dict, asked: list[int]) -> tuple:
        return (
            scope_name,
            told(row, asked),
            mode,
            row["GroupLabel"],
            row["BotName"],
            row["ChannelName"],
            row["EventLabel"],
        )

    pk = (
        "bot_scope",
        "stat_type_code",
        "group_mode",
        "group_label",
        "bot_name",
        "channel_name",
        "event_label",
    )
    expected = {
        "account_statistics": (
            pk,
            {stat_key(scope, r, types) for r in sim.statistics_rows(scope_keys, types, mode, days)},
        ),
        "dlr_statistics": (
            (
                "bot_scope",
                "group_mode",
                "group_label",
                "bot_name",
                "channel_name",
                "event_label",
            ),
            {
                (scope, mode, r["GroupLabel"], r["BotName"], r["ChannelName"], r["EventLabel"])
                for r in sim.dlr_rows(scope_keys, mode, days)
            },
        ),
    }
    bot_keys: set[tuple] = set()
    for name, key in bots:
        if key in sim.dataset.bots:
            bot_keys |= {
                stat_key(name, r, bot_types)
                for r in sim.statistics_rows([key], bot_types, mode, days)
            }
    if bots:
        expected["bot_statistics"] = (pk, bot_keys)
    return expected
