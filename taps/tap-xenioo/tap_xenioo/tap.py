"""tap-xenioo: Xenioo's statistics API (account, per-bot and delivery receipts) as a Singer tap."""

from __future__ import annotations

from functools import cached_property

from singer_sdk import typing as th

from support_taps.accounts import account_setting
from support_taps.retry import RetryPolicy
from support_taps.settings import COMMON_SETTINGS, PRIVACY_SETTINGS, credential
from support_taps.tap import SupportTap
from tap_xenioo.auth import XeniooAuthenticator, auth_endpoint
from tap_xenioo.client import ACCOUNT_TYPES, BOT_TYPES, GROUP_MODES, XeniooGap
from tap_xenioo.streams import (
    DEFAULT_BOT_PATH,
    AccountStatisticsStream,
    BotStatisticsStream,
    DlrStatisticsStream,
)


class TapXenioo(SupportTap):
    """Singer tap for Xenioo chatbot statistics (throttle-aware)."""

    name = "tap-xenioo"

    config_jsonschema = th.PropertiesList(
        credential(
            "account_api_key",
            "Xenioo account API key (Profile section); exchanged for an auth token.",
        ),
        th.Property(
            "auth_url",
            th.StringType,
            required=True,
            description=(
                "The service endpoint where the auth token is obtained (Settings > Developers of "
                "a bot), e.g. https://<node>.xenioo.com; the tap posts to "
                "<auth_url>/authorization/integration."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            default="https://publicapi.xenioo.com",
            description="Base URL of the statistics API.",
        ),
        th.Property(
            "start_date",
            th.DateTimeType,
            description=(
                "Earliest date to extract on the first run. Xenioo reaches back 30 days; earlier "
                "dates are reported as out of reach. Default: the 30 days the API reaches."
            ),
        ),
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0, maximum=29),
            default=2,
            description=(
                "Each call asks again for this many days before the bookmark (whole buckets in "
                "month and year modes), so values Xenioo records after a bucket was read land "
                "on the next run. Costs no extra call. Xenioo publishes no recording delay: 2 is "
                "a guess."
            ),
        ),
        th.Property(
            "types",
            th.ArrayType(th.IntegerType(minimum=ACCOUNT_TYPES[0], maximum=ACCOUNT_TYPES[-1])),
            default=list(ACCOUNT_TYPES),
            description="Statistic type codes for account_statistics (0..17; default all).",
        ),
        th.Property(
            "bot_types",
            th.ArrayType(th.IntegerType(minimum=BOT_TYPES[0], maximum=BOT_TYPES[-1])),
            default=list(BOT_TYPES),
            description=(
                "Statistic type codes for bot_statistics (0..18, 18 = Tag Hit; default all)."
            ),
        ),
        th.Property(
            "group_mode",
            th.StringType,
            default="day",
            allowed_values=list(GROUP_MODES),
            description="Time grouping of the statistics: hour, day, month or year.",
        ),
        th.Property(
            "bots",
            th.ArrayType(
                th.ObjectType(
                    th.Property(
                        "name",
                        th.StringType,
                        required=True,
                        description="A name for the bot; records and logs use it, never the key.",
                    ),
                    credential("api_key", "The bot's API key (Settings > Developers)."),
                )
            ),
            secret=True,
            description=(
                "Bots to read bot_statistics for: a list of {name, api_key}. Their keys are "
                "secrets."
            ),
        ),
        th.Property(
            "account_bot",
            th.StringType,
            description=(
                "Name of one bot in `bots` to narrow account_statistics and dlr_statistics to. "
                "Default: all bots of the account (`*`). Xenioo allows one account call an hour, "
                "so the account endpoints take one APIKEY per run."
            ),
        ),
        th.Property(
            "allow_gaps",
            th.BooleanType,
            default=False,
            description=(
                "Let a run go on when dates fall out of Xenioo's 30-day reach before they are "
                "read (a bookmark older than 30 days, or a throttled stream whose bookmark will "
                "be by the time Xenioo allows the next call). Default: such a run fails, naming "
                "the dates."
            ),
        ),
        th.Property(
            "bot_statistics_path",
            th.StringType,
            default=DEFAULT_BOT_PATH,
            description=(
                "Path of the per-bot statistics endpoint, with {APIKEY}, {TYPES}, {GROUPMODE} and "
                "{DAYS}. Xenioo's docs page does not show it; the default is inferred from the "
                "account endpoint."
            ),
        ),
        *account_setting("`default`: Xenioo names an account only by its API key, a secret"),
        *COMMON_SETTINGS,
        *PRIVACY_SETTINGS,
    ).to_dict()

    def setting_errors(self) -> list[str]:
        errors = super().setting_errors()
        try:
            auth_endpoint(self.config)
        except ValueError as exc:
            errors.append(str(exc))
        # Each code's range is in the config schema; an empty list it cannot say with the
        # SDK's type helpers.
        for setting, allowed in (("types", ACCOUNT_TYPES), ("bot_types", BOT_TYPES)):
            if self.config.get(setting) == []:
                errors.append(
                    f"The setting `{setting}` must list statistic type codes from {allowed[0]} to "
                    f"{allowed[-1]}, got []."
                )
        names = [str(bot.get("name") or "") for bot in self.config.get("bots") or []]
        if any(not name for name in names):
            errors.append("Every entry of `bots` needs a `name` and an `api_key`.")
        if len(set(names)) != len(names):
            errors.append("The names in `bots` must be unique (records are keyed by them).")
        account_bot = self.config.get("account_bot")
        if account_bot and account_bot not in names:
            errors.append(
                "The setting `account_bot` must be the name of a bot in `bots`, got "
                f"{account_bot!r}."
            )
        path = str(self.config["bot_statistics_path"])
        if not path.startswith("/") or "{APIKEY}" not in path:
            errors.append(
                "The setting `bot_statistics_path` must start with / and contain {APIKEY}."
            )
        return errors

    # ---- dates a skipped stream would lose -------------------------------------------------------

    @cached_property
    def run_gaps(self) -> list[str]:
        """Dates that fall out of Xenioo's reach because a stream was skipped (see
        `XeniooStream.skip_call`)."""
        return []

    def after_sync(self) -> None:
        """A skip that leaves a gap fails the run at its end, after every stream ran."""
        if self.run_gaps and not self.config.get("allow_gaps"):
            msg = (
                "Dates would fall out of Xenioo's 30-day reach before they can be read: "
                + "; ".join(self.run_gaps)
                + ". Run the tap again once the throttle allows it, or set `allow_gaps` to true to "
                "accept the gap. The skipped streams' state is unchanged."
            )
            raise XeniooGap(msg)

    @cached_property
    def xenioo_authenticator(self) -> XeniooAuthenticator:
        """The account auth token, shared by every stream of the run."""
        return XeniooAuthenticator(
            account_api_key=str(self.config["account_api_key"]),
            endpoint=auth_endpoint(self.config),
            policy=RetryPolicy.from_config(dict(self.config)),
            timeout=float(self.config["request_timeout"]),
            logger=self.logger,
            deadline=float(self.config["request_deadline"]),
        )

    def discover_streams(self) -> list:
        return [AccountStatisticsStream(self), BotStatisticsStream(self), DlrStatisticsStream(self)]


if __name__ == "__main__":
    TapXenioo.cli()
