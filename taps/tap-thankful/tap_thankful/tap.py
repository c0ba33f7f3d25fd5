"""tap-thankful: Thankful's Analytics API as daily, incremental facts."""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError

from support_taps.accounts import account_setting
from support_taps.settings import (
    COMMON_SETTINGS,
    FULL_TABLE_SETTINGS,
    PRIVACY_SETTINGS,
    START_END_SETTINGS,
    credential,
)
from support_taps.tap import SupportTap
from tap_thankful.parameters import CHANNEL_IDS, STATUS_IDS, listed
from tap_thankful.streams import STREAM_TYPES, ActionsStream


class TapThankful(SupportTap):
    """Singer tap for Thankful's Analytics API (AI support automation)."""

    # `action_ids` and the `a` parameter: the docs give `a` as one action id
    # ("a=2001") and, unlike `ss` and `fs`, do not say it takes a comma list. A list
    # therefore means one request per action id per day and endpoint, and every row
    # carries the id it was asked for in `filter_action_id` (part of the key), so the
    # numbers of each action stay apart and nothing rests on undocumented behaviour.

    name = "tap-thankful"

    config_jsonschema = th.PropertiesList(
        credential(
            "api_key",
            "Thankful Analytics API key (API Key page of the dashboard), sent as `X-API-Key`.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default="https://dashboard.thankful.ai/api/v1",
            description=(
                "Base URL of the Analytics API (e.g. a simulator at http://127.0.0.1:8702/api/v1)."
            ),
        ),
        *START_END_SETTINGS,
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=3,
            description=(
                "Each run asks again for this many days before the bookmark, because Thankful "
                "revises recent days. Today, a partial day, is always asked again."
            ),
        ),
        th.Property(
            "action_ids",
            th.ArrayType(th.IntegerType(minimum=1)),
            description=(
                "Only tickets related to these actions (`a`). One request per action id and "
                "day; rows carry the id in `filter_action_id`. Checked against /actions at run "
                "time. Default: all actions, in one request."
            ),
        ),
        th.Property(
            "statuses",
            th.ArrayType(th.IntegerType(allowed_values=list(STATUS_IDS))),
            description=(
                f"Only tickets with these status ids (`ss`): {listed(STATUS_IDS)}. Default: all."
            ),
        ),
        th.Property(
            "channels",
            th.ArrayType(th.IntegerType(allowed_values=list(CHANNEL_IDS))),
            description=(
                f"Only messages from these channel ids (`fs`): {listed(CHANNEL_IDS)}. Default: all."
            ),
        ),
        *account_setting(
            "`default`: Thankful's API names no account (its only identifier is the API key, a "
            "secret)"
        ),
        *COMMON_SETTINGS,
        *FULL_TABLE_SETTINGS,  # `actions` is full table
        *PRIVACY_SETTINGS,
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        #: The `/tickets` answers of the day being synced, by (day, action filter):
        #: filled by tickets_over_time, read by its children, emptied after each day.
        self.ticket_days: dict[tuple[str, int | None], dict] = {}
        super().__init__(*args, **kwargs)

    @cached_property
    def action_filters(self) -> list[int | None]:
        """The `a` values every day stream asks for: each action id (checked against
        /actions), or None for all."""
        action_ids = list(dict.fromkeys(self.config.get("action_ids") or []))
        if not action_ids:
            return [None]
        actions = t.cast(ActionsStream, self.streams["actions"])
        known = actions.action_names
        unknown = [action_id for action_id in action_ids if action_id not in known]
        if unknown:
            listed = ", ".join(str(action_id) for action_id in sorted(known)) or "none"
            msg = (
                f"The setting `action_ids` lists {', '.join(map(str, unknown))}, which "
                f"Thankful's /actions does not know. Known action ids: {listed}."
            )
            raise ConfigValidationError(msg, errors=[msg])
        return action_ids

    def discover_streams(self) -> list:
        return [stream_type(self) for stream_type in STREAM_TYPES]


if __name__ == "__main__":
    TapThankful.cli()
