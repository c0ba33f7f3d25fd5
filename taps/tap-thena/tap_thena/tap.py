"""tap-thena: the Thena requests export API as a Singer tap."""

from __future__ import annotations

from singer_sdk import typing as th

from support_taps.accounts import account_setting
from support_taps.settings import COMMON_SETTINGS, PRIVACY_SETTINGS, START_END_SETTINGS, credential
from support_taps.tap import SupportTap
from tap_thena.client import thena_base_url, thena_workspace
from tap_thena.streams import RequestsStream


class TapThena(SupportTap):
    """Singer tap for Thena's requests export (Slack-based support)."""

    name = "tap-thena"

    config_jsonschema = th.PropertiesList(
        credential("api_key", "Thena API key, sent as `Authorization: Bearer <key>`."),
        th.Property(
            "workspace",
            th.StringType,
            description=(
                "Thena workspace name; the API is https://<workspace>.thena.ai. "
                "Set this or `api_url`."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            description="Base URL of the API, overriding `workspace` (e.g. a simulator at http://127.0.0.1:8701).",
        ),
        *START_END_SETTINGS,
        th.Property(
            "lookback_days",
            th.IntegerType(minimum=0),
            default=30,
            description=(
                "Each run asks again for requests created this many days before the bookmark, "
                "so requests assigned, closed or rated since the last run are re-extracted."
            ),
        ),
        th.Property(
            "window_days",
            th.IntegerType(minimum=1),
            default=7,
            description=(
                "Days of creation dates per export request; state is saved after each window."
            ),
        ),
        *account_setting(
            "the `workspace` (with `api_url` on <workspace>.thena.ai instead, that workspace), "
            "else `default`"
        ),
        *COMMON_SETTINGS,
        *PRIVACY_SETTINGS,
    ).to_dict()

    def setting_errors(self) -> list[str]:
        errors = super().setting_errors()
        try:
            thena_base_url(self.config)
        except ValueError as exc:
            errors.append(str(exc))
        return errors

    def vendor_account_id(self) -> str | None:
        """The workspace names a Thena account (and is no secret): the default `account_id`."""
        return thena_workspace(self.config)

    def discover_streams(self) -> list[RequestsStream]:
        return [RequestsStream(self)]


if __name__ == "__main__":
    TapThena.cli()
