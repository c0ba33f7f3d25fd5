"""Settings every tap in the collection accepts (request shaping and retries), and the
checks every tap's settings go through (unknown names, URLs, dates)."""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import typing as t
from urllib.parse import urlsplit

from singer_sdk import typing as th

from support_taps.windows import parse_utc


def credential(name: str, description: str) -> th.Property:
    """A required secret setting: `--about` and the Hub mark it sensitive, and the core masks
    its value (and every form derived from it) wherever it could appear."""
    return th.Property(name, th.StringType, required=True, secret=True, description=description)


COMMON_SETTINGS = th.PropertiesList(
    th.Property(
        "request_timeout",
        th.NumberType(exclusive_minimum=0),
        default=60,
        description=(
            "Seconds to wait for a response before the request counts as failed and is retried."
        ),
    ),
    th.Property(
        "request_deadline",
        th.NumberType(exclusive_minimum=0),
        default=300,
        description=(
            "Seconds one request may take from connecting to the last byte of its answer "
            "(redirects included); past it the request counts as failed and is retried. "
            "`request_timeout` bounds each wait for data, this bounds the whole answer."
        ),
    ),
    th.Property(
        "max_retries",
        th.IntegerType(minimum=0),
        default=7,
        description="Retries per request on HTTP 429/408/5xx, timeouts and dropped connections.",
    ),
    th.Property(
        "retry_base_wait",
        th.NumberType(minimum=0),
        default=1.0,
        description=(
            "Seconds before the first retry when the server gives no Retry-After; "
            "doubles each retry, up to `max_backoff`."
        ),
    ),
    th.Property(
        "max_backoff",
        th.NumberType(minimum=0),
        default=60,
        description=(
            "Longest wait, in seconds, between two retries when the server gives no "
            "Retry-After (jitter included)."
        ),
    ),
    th.Property(
        "max_connect_retries",
        th.IntegerType(minimum=0),
        default=2,
        description=(
            "Retries of a connection that cannot be made at all (refused, unknown host): "
            "a wrong URL setting far more often than an outage, so the run fails fast."
        ),
    ),
    th.Property(
        "max_retry_after",
        th.NumberType(minimum=0),
        default=300,
        description="Longest wait, in seconds, honoured from a Retry-After header.",
    ),
    th.Property(
        "max_retry_wait",
        th.NumberType(minimum=0),
        default=900,
        description=(
            "Total seconds one request may spend waiting between retries; past it the run "
            "fails with a message naming the endpoint and the last error."
        ),
    ),
    th.Property(
        "log_request_metrics",
        th.BooleanType,
        default=False,
        description=(
            "Log the SDK's METRIC lines for every HTTP request (`http_request_duration`), "
            "window (`http_request_count`), partition and child-stream context. Off: each "
            "stream's own `record_count` and `sync_duration`, and the tap's summary."
        ),
    ),
)

START_END_SETTINGS = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        required=True,
        description="Earliest date (UTC, ISO 8601) to extract on the first run.",
    ),
    th.Property(
        "end_date",
        th.DateTimeType,
        description="Extract up to this moment (UTC, exclusive). Default: now.",
    ),
)


def known_settings(tap_class: t.Any) -> set[str]:
    """Every setting a tap accepts: its own and the SDK's built-in ones (stream maps, batch...)."""
    schema = copy.deepcopy(tap_class.config_jsonschema)
    tap_class.append_builtin_config(schema)
    return set(schema.get("properties", {}))


def unknown_setting_errors(config: t.Mapping[str, t.Any], known: set[str]) -> list[str]:
    """A setting the tap does not know is a typo more often than not (`end_dat`): an error
    naming the closest known setting. Names starting with `_` are left alone (tooling)."""
    errors = []
    for name in sorted(set(config) - known):
        if name.startswith("_"):
            continue
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        errors.append(f"Unknown setting `{name}`.{hint} (`--about` lists the settings.)")
    return errors


#: What every URL setting must look like, in the config schema (`--about` shows it, the SDK's
#: schema check enforces it): http or https, then a host. `url_setting_errors` says the same.
HTTP_URL_PATTERN = "^https?://[^/?#]+"


def is_url_setting(name: str) -> bool:
    """`url`, `api_url`, `auth_url`, ...: the settings that must be http(s) URLs."""
    return name == "url" or name.endswith("_url")


def declare_url_settings(properties: dict[str, t.Any]) -> None:
    """Each URL setting's schema says it is an http(s) URL: `format: uri` and the pattern, both
    shown by `--about`. The SDK's schema check enforces the pattern (not formats); a URL that
    fails it is worded as `url_setting_errors` words it, and the tap's own checks still run, so
    every bad setting is reported at once (`SupportTap.__init__`)."""
    for name, schema in properties.items():
        if is_url_setting(name) and "string" in _types(schema):
            schema.setdefault("format", "uri")
            schema.setdefault("pattern", HTTP_URL_PATTERN)


def _types(schema: t.Mapping[str, t.Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def url_setting_error(name: str, shown: str) -> str:
    """The one line for a URL setting that is not an http(s) URL (`shown`: its value, quoted)."""
    return (
        f"The setting `{name}` must be an http(s) URL with a host, such as "
        f"https://api.example.com, got {shown}."
    )


def url_setting_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """Every URL setting (`api_url`, `auth_url`, ...) must be an absolute http(s) URL."""
    errors = []
    for name, value in config.items():
        if not is_url_setting(name) or value in (None, ""):
            continue
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(url_setting_error(name, repr(str(value))))
    return errors


def date_setting_errors(config: t.Mapping[str, t.Any], now: dt.datetime) -> list[str]:
    """`start_date` and `end_date` parse as UTC dates, in order; start_date is not in the future."""
    errors = []
    bounds = {}
    for name in ("start_date", "end_date"):
        if config.get(name):
            try:
                bounds[name] = parse_utc(config[name], setting=name)
            except ValueError as exc:
                errors.append(str(exc))
    if "start_date" in bounds and bounds["start_date"] > now:
        errors.append(
            f"The setting `start_date` ({bounds['start_date'].isoformat()}) is in the future "
            f"(now is {now.replace(microsecond=0).isoformat()}): there is nothing to extract yet."
        )
    if len(bounds) == 2 and bounds["end_date"] <= bounds["start_date"]:
        errors.append("The setting `end_date` must be later than `start_date`.")
    return errors


def setting_defaults(properties: th.PropertiesList) -> dict[str, t.Any]:
    """The default of each setting of `properties` that declares one."""
    return {
        name: spec["default"]
        for name, spec in properties.to_dict()["properties"].items()
        if "default" in spec
    }


#: Longest span a duration setting may name (`window_days`, `lookback_minutes`...): more than
#: a century cannot be meant, and date arithmetic past the year 9999 fails.
_SPAN_UNITS = {"_days": 1.0, "_hours": 1 / 24, "_minutes": 1 / 1440, "_seconds": 1 / 86400}
_MAX_SPAN_DAYS = 36_500


def span_setting_errors(config: t.Mapping[str, t.Any]) -> list[str]:
    """A duration setting of more than a century is a typo (an extra zero, a value in the
    wrong unit): an error naming it, rather than an overflow deep in date arithmetic."""
    errors = []
    for name, value in config.items():
        unit = next((u for u in _SPAN_UNITS if name.endswith(u)), None)
        if unit is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if abs(value) * _SPAN_UNITS[unit] > _MAX_SPAN_DAYS:
            errors.append(
                f"The setting `{name}` is {value:g}{unit.replace('_', ' ')}, more than "
                f"{_MAX_SPAN_DAYS:,} days (a century): check its value and unit."
            )
    return errors


def secret_setting_errors(secrets: t.Mapping[str, str]) -> list[str]:
    """A credential with a line break or spaces around it (copied from a file or a terminal)
    cannot go into a header: an error naming the setting, never showing the value."""
    errors = []
    for name, value in secrets.items():
        if value != value.strip() or any(c in value for c in "\r\n\t"):
            errors.append(
                f"The setting `{name}` has a line break, tab or spaces around it (copied with "
                "the end of a line?): remove them."
            )
    return errors


#: For taps with full-table streams (lists a vendor may shrink: agents, tags, actions...).
#: The SDK reads this setting; declared here, in our words, so `--about`, the Hub definition
#: and the unknown-setting check know it.
FULL_TABLE_SETTINGS = th.PropertiesList(
    th.Property(
        "emit_activate_version_messages",
        th.BooleanType,
        default=False,
        description=(
            "Send ACTIVATE_VERSION messages for full-table streams, so a target that supports "
            "them removes (or marks deleted, per its own setting) the rows the vendor no "
            "longer lists."
        ),
    ),
)

#: Personal data kept out of every message (support_taps.privacy): every tap declares these.
PRIVACY_SETTINGS = th.PropertiesList(
    th.Property(
        "pii_hash_fields",
        th.ArrayType(th.StringType),
        description=(
            "Fields whose values are replaced by a hash wherever they appear: as a column, "
            "inside nested objects and `raw` (Khoros: `fields`; Dixa: the `name` of a record "
            "field). Names match in any case; `*` matches any text (`*email*`). The hash is "
            "HMAC-SHA256 with `pii_salt`, in hex: the same value gives the same hash in every "
            "run and stream. A hashed typed column becomes text. Key columns cannot be named."
        ),
    ),
    th.Property(
        "pii_drop_fields",
        th.ArrayType(th.StringType),
        description=(
            "Fields removed wherever they appear (as for `pii_hash_fields`): as a column, inside "
            "nested objects and `raw`. Key columns cannot be named."
        ),
    ),
    th.Property(
        "pii_salt",
        th.StringType,
        secret=True,
        description=(
            "Secret key of the `pii_hash_fields` hashes, at least 16 characters; keep it the "
            "same across runs (a new salt gives new hashes) and never in the warehouse."
        ),
    ),
)
