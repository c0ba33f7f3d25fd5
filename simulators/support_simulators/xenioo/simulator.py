"""Xenioo's Global Platform API as served: the token endpoint, the account, bot and DLR
statistics calls aggregated from the dataset by group mode, and the throttles."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import typing as t
from urllib.parse import unquote

from support_simulators.framework import (
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
    raw_json_response,
)
from support_simulators.framework.dataset import UTC, midnight
from support_simulators.xenioo import expected
from support_simulators.xenioo.dataset import (
    ACCOUNT_TYPES,
    AVERAGES,
    BOT_TYPES,
    DEFAULT_BOTS,
    GROUP_MODES,
    HOURLY,
    MAX_DAYS,
    STATISTIC_TYPES,
    XeniooDataset,
    covered_days,
    group_label,
)

DEFAULT_ACCOUNT_API_KEY = "xenioo-demo-account-key"

ACCOUNT_THROTTLE = dt.timedelta(hours=1)
BOT_THROTTLE = dt.timedelta(minutes=30)
DLR_THROTTLE = dt.timedelta(hours=1)
#: Each statistics call: the types it takes, its throttle and how its refusal names it.
_CALLS: dict[str, tuple[tuple[int, ...], dt.timedelta, str]] = {
    "account": (ACCOUNT_TYPES, ACCOUNT_THROTTLE, "Account statistics"),
    "bot": (BOT_TYPES, BOT_THROTTLE, "Bot statistics"),
    "dlr": ((), DLR_THROTTLE, "Delivery receipt statistics"),
}


class XeniooSimulator(VendorSimulator):
    name = "xenioo"
    _ACCOUNT = re.compile(r"/analytics/statistics/account/([^/]+)/([^/]+)/([^/]+)/([^/]+)")
    _BOT = re.compile(r"/analytics/statistics/bot/([^/]+)/([^/]+)/([^/]+)/([^/]+)")
    _DLR = re.compile(r"/analytics/statistics/dlr/account/([^/]+)/([^/]+)/([^/]+)")
    AUTH_PATH = "/authorization/integration"

    def tap_settings(self) -> dict[str, str]:
        return {"api_url": self.url, "auth_url": self.url}

    def __init__(
        self,
        *,
        account_api_key: str = DEFAULT_ACCOUNT_API_KEY,
        bots: t.Mapping[str, str] | None = None,
        token_minutes: int = 60,
        token_uses: int | None = None,
        throttle: bool = True,
        breakdowns: bool = False,
        type_field: bool = False,
        token_keys: tuple[str, str] = ("token", "expires"),
        now: t.Callable[[], dt.datetime] | dt.datetime | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.account_api_key = account_api_key
        self.token_minutes = token_minutes
        self.token_uses = token_uses
        self.throttle = throttle
        self.breakdowns = breakdowns
        self.type_field = type_field
        #: How the token answer spells its keys: the current docs' ("token", "expires") or
        #: the older docs' ("Token", "Expires"); both are published.
        self.token_keys = token_keys
        self._now = now
        self._offset = dt.timedelta(0)
        self._tokens: dict[str, list] = {}  # token -> [expires_at, uses_left]
        self._token_counter = 0
        #: Every token handed out, in order (tests check none leaks into the tap's output).
        self.issued_tokens: list[str] = []
        self._last_calls: dict[tuple[str, str], dt.datetime] = {}
        self._state_lock = threading.Lock()
        super().__init__(**kwargs)
        self.dataset = XeniooDataset(self.seed, bots if bots is not None else DEFAULT_BOTS)

    # ---- clock ---------------------------------------------------------------------

    def now(self) -> dt.datetime:
        if callable(self._now):
            base = self._now()
        else:
            base = self._now or dt.datetime.now(UTC)
        return base + self._offset

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward (throttles and token expiry follow it)."""
        self._offset += dt.timedelta(seconds=seconds)

    # ---- credentials ---------------------------------------------------------------

    def revoke_tokens(self) -> None:
        """Forget every token issued so far (the next call with one gets HTTP 401)."""
        with self._state_lock:
            self._tokens.clear()

    def routes(self):
        yield "POST", re.compile(self.AUTH_PATH), self.authorize
        yield "GET", self._ACCOUNT, self.account_statistics
        yield "GET", self._BOT, self.bot_statistics
        yield "GET", self._DLR, self.dlr_statistics

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.path == self.AUTH_PATH:
            return None
        header = request.headers.get("Authorization") or ""
        token = header[len("Bearer ") :] if header.startswith("Bearer ") else None
        with self._state_lock:
            entry = self._tokens.get(token) if token else None
            if entry is not None and entry[0] <= self.now():
                del self._tokens[token]
                entry = None
            if entry is not None and entry[1] is not None:
                if entry[1] <= 0:
                    del self._tokens[token]
                    entry = None
                else:
                    entry[1] -= 1
        if entry is None:
            return json_response(
                {"Message": "Authorization has been denied for this request."}, 401
            )
        return None

    def authorize(self, request: SimRequest) -> SimResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        key = body.get("AccountAPIKey") if isinstance(body, dict) else None
        if not key:
            return json_response({"Message": "The request does not contain an AccountAPIKey."}, 400)
        if key != self.account_api_key:
            return json_response(
                {"Message": "The specified account API key has not been found."}, 404
            )
        with self._state_lock:
            self._token_counter += 1
            token = (
                hashlib.sha256(f"{self.seed}:{self._token_counter}:{key}".encode()).hexdigest()[:40]
                + "=="
            )
            self._tokens[token] = [
                self.now() + dt.timedelta(minutes=self.token_minutes),
                self.token_uses,
            ]
            self.issued_tokens.append(token)
        return json_response({self.token_keys[0]: token, self.token_keys[1]: self.token_minutes})

    # ---- parameters and throttles ----------------------------------------------------

    def _parse(
        self, types: str | None, mode: str, days: str, allowed: tuple[int, ...]
    ) -> tuple | SimResponse:
        codes: list[int] = []
        if types is not None:
            try:
                codes = [int(code) for code in unquote(types).split(",")]
            except ValueError:
                return json_response({"Message": f"Invalid statistic types: {types}"}, 400)
            if not codes or any(code not in allowed for code in codes):
                return json_response({"Message": f"Invalid statistic types: {types}"}, 400)
        if mode not in GROUP_MODES:
            return json_response({"Message": f"Invalid group mode: {mode}"}, 400)
        if not days.isdigit() or not 1 <= int(days) <= MAX_DAYS:
            return json_response(
                {"Message": f"Days must be between 1 and {MAX_DAYS}, got {days}"}, 400
            )
        return codes, mode, int(days)

    def _bot_keys(self, api_key: str, *, wildcard: bool) -> list[str] | SimResponse:
        api_key = unquote(api_key)
        if wildcard and api_key == "*":
            return list(self.dataset.bots)
        if api_key in self.dataset.bots:
            return [api_key]
        return json_response({"Message": "The specified account or bot has not been found."}, 404)

    def _throttled(
        self, kind: str, subject: str, window: dt.timedelta, what: str
    ) -> SimResponse | None:
        if not self.throttle:
            return None
        now = self.now()
        with self._state_lock:
            last = self._last_calls.get((kind, subject))
            if last is not None and now - last < window:
                retry_at = (last + window).strftime("%Y-%m-%dT%H:%M:%SZ")
                return json_response(
                    {
                        "Message": f"{what} calls are throttled. "
                        f"Too many calls: try again after {retry_at}."
                    },
                    400,
                )
            self._last_calls[(kind, subject)] = now
        return None

    def reset_throttles(self) -> None:
        """Forget every call made so far, as if the throttle windows had passed."""
        with self._state_lock:
            self._last_calls.clear()

    def forget_calls(self) -> None:
        self.reset_throttles()

    def relax_limits(self) -> None:
        self.throttle = False

    def last_call(self, kind: str, subject: str = "*") -> dt.datetime | None:
        """When the simulator last answered a `kind` (account|bot|dlr) call for `subject`."""
        return self._last_calls.get((kind, subject))

    # ---- data ------------------------------------------------------------------------

    def _days(self, days: int, mode: str) -> t.Iterator[tuple[dt.date, list[tuple[str, float]]]]:
        """Each day DAYS=`days` covers, with the group label of each of its buckets and the
        share of the day's value that bucket gets."""
        now = self.now()
        today = now.date()
        fraction = (now - midnight(today)).total_seconds() / 86_400
        for day in covered_days(now, days):
            parts = self._parts(midnight(day), mode, now, day == today, fraction)
            yield day, [(group_label(moment, mode), share) for moment, share in parts]

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is [bot name, channel, day, type code]; `changes` {"value": the day's value}."""
        bot, channel, day, code = key
        super().record_late_edit((str(bot), str(channel), str(day), int(code)), changes)

    def statistics_rows(
        self, keys: list[str], codes: list[int], mode: str, days: int
    ) -> list[dict]:
        wanted = set(codes)
        buckets: dict[tuple, list[float]] = {}
        edits = self.late_edits
        for day, parts in self._days(days, mode):
            for key in keys:
                for channel, code, label, value in self.dataset.day(key, day):
                    if code not in wanted:
                        continue
                    if edits:
                        edit = edits.get((self.dataset.bots[key], channel, day.isoformat(), code))
                        value = float(edit["value"]) if edit else value
                    shown = label if self.breakdowns else STATISTIC_TYPES[code]
                    for group, part in parts:
                        part_value = value if code in AVERAGES else value * part
                        if code not in AVERAGES:
                            part_value = float(max(1, round(part_value)))
                        bucket = (group, key, channel, shown, code)
                        buckets.setdefault(bucket, []).append(part_value)
        rows = []
        for (label_text, key, channel, event, code), values in buckets.items():
            value = round(sum(values) / len(values), 2) if code in AVERAGES else int(sum(values))
            rows.append(
                {
                    "GroupLabel": label_text,
                    "BotName": self.dataset.bots[key],
                    "ChannelName": channel,
                    "EventLabel": event,
                    "Type": code,
                    "Value": value,
                    "BotId": self.dataset.bot_id(key),
                }
            )
        rows.sort(
            key=lambda r: (
                r["GroupLabel"],
                r["Type"],
                r["BotName"],
                r["ChannelName"],
                r["EventLabel"],
            )
        )
        return rows

    def published(self, rows: list[dict]) -> bytes:
        """Statistics objects as served: without the unpublished `Type` unless `type_field`."""
        if not self.type_field:
            rows = [{k: v for k, v in row.items() if k != "Type"} for row in rows]
        return json.dumps(rows).encode()

    @staticmethod
    def _parts(
        start: dt.datetime, mode: str, now: dt.datetime, is_today: bool, fraction: float
    ) -> t.Iterator[tuple[dt.datetime, float]]:
        """The bucket moments of one day and the share of the day's value each gets."""
        if mode == "hour":
            for hour, share in enumerate(HOURLY):
                moment = start + dt.timedelta(hours=hour)
                if moment > now:
                    break
                yield moment, share
        else:
            yield start, (min(1.0, fraction * 1.2) if is_today else 1.0)

    def dlr_rows(self, keys: list[str], mode: str, days: int) -> list[dict]:
        buckets: dict[tuple, float] = {}
        for day, parts in self._days(days, mode):
            for key in keys:
                for channel, status, value in self.dataset.dlr_day(key, day):
                    for group, part in parts:
                        bucket = (group, key, channel, status)
                        buckets[bucket] = buckets.get(bucket, 0.0) + max(1, round(value * part))
        rows = [
            {
                "GroupLabel": label,
                "BotName": self.dataset.bots[key],
                "ChannelName": channel,
                "EventLabel": status,
                "Status": status,
                "Value": int(value),
                "BotId": self.dataset.bot_id(key),
            }
            for (label, key, channel, status), value in buckets.items()
        ]
        rows.sort(key=lambda r: (r["GroupLabel"], r["BotName"], r["ChannelName"], r["EventLabel"]))
        return rows

    # ---- endpoints ---------------------------------------------------------------------

    def _call(
        self, kind: str, api_key: str, types: str | None, mode: str, days: str
    ) -> tuple[list[str], tuple] | SimResponse:
        """The bots and parameters of a `kind` (account|bot|dlr) call, or its refusal: bad
        parameters, then an unknown key, then the throttle."""
        allowed, window, what = _CALLS[kind]
        parsed = self._parse(types, mode, days, allowed)
        if isinstance(parsed, SimResponse):
            return parsed
        keys = self._bot_keys(api_key, wildcard=kind != "bot")
        if isinstance(keys, SimResponse):
            return keys
        refusal = self._throttled(kind, keys[0] if kind == "bot" else "*", window, what)
        return refusal or (keys, parsed)

    def _statistics(self, kind: str, request: SimRequest) -> SimResponse:
        call = self._call(kind, *request.match.groups())
        if isinstance(call, SimResponse):
            return call
        keys, parsed = call
        return raw_json_response(self.published(self.statistics_rows(keys, *parsed)))

    def account_statistics(self, request: SimRequest) -> SimResponse:
        return self._statistics("account", request)

    def bot_statistics(self, request: SimRequest) -> SimResponse:
        return self._statistics("bot", request)

    def dlr_statistics(self, request: SimRequest) -> SimResponse:
        api_key, mode, days = request.match.groups()
        call = self._call("dlr", api_key, None, mode, days)
        if isinstance(call, SimResponse):
            return call
        keys, (_, mode, count) = call
        return raw_json_response(json.dumps(self.dlr_rows(keys, mode, count)).encode())

    # ---- what a full run must deliver ------------------------------------------------------

    # ---- what a full run must deliver ------------------------------------------------------

    def expected_vendor_keys(self, tap_config: t.Mapping[str, t.Any]) -> expected.Keys:
        """Keys a first run (no state) of tap-xenioo with `tap_config` delivers, from this data."""
        return expected.primary_keys(self, tap_config)
