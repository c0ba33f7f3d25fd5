"""Xenioo statistics simulator: token endpoint, account/bot/DLR statistics, throttles.

Endpoints (docs.xenioo.com, Global Platform API):
    POST /authorization/integration           {"AccountAPIKey": ...} -> {"token", "expires"}
    GET  /analytics/statistics/account/<APIKEY>/<TYPES>/<GROUPMODE>/<DAYS>
    GET  /analytics/statistics/bot/<APIKEY>/<TYPES>/<GROUPMODE>/<DAYS>     (path inferred)
    GET  /analytics/statistics/dlr/account/<APIKEY>/<GROUPMODE>/<DAYS>

Behaviour:
- Tokens last `token_minutes` (the answer says so in `expires`, in minutes); an
  expired, unknown or revoked token gets HTTP 401. `token_uses` (optional) makes
  each token good for that many statistics calls only, to exercise renewal.
- Throttles: one account-statistics call per account per hour, one bot-statistics
  call per bot per 30 minutes, one DLR call per account per hour (the DLR limit is
  not published; an hour is assumed). An early call gets HTTP 400 with a message
  saying the call is throttled (Xenioo's error body is not published; it reports
  other throttles as 400). Only answered (200) calls count. `throttle=False` turns
  the throttles off.
- DAYS=n covers the n calendar days ending today (UTC), today included. GROUPMODE
  hour|day|month|year gives GroupLabel "YYYY-MM-DD HH:00" | "YYYY-MM-DD" | "YYYY-MM"
  | "YYYY". Month and year buckets only count the days inside the DAYS range.
- Data: a seeded, deterministic set of bots and channels with per-day values for
  each statistic type; today's values grow with the hour (data of the current day
  is revised until it ends). Only non-zero entries are returned, as dashboards do.
- The clock is injectable (`now=`) and can be moved with `advance(seconds)`, so
  tests exercise hour-long throttles and token expiry without waiting.

Response objects carry the published `GroupLabel`, `BotName`, `ChannelName` and
`EventLabel` (docs.xenioo.com, Account Statistics Data; the published example is in
tests/contracts/xenioo/), plus fields Xenioo does not publish (assumed here): `Value`,
`BotId` and, for DLR, `Status`. By default EventLabel is the documented name of the
statistic type (e.g. "New User"), one row per type. Variants the docs do not rule out:
`breakdowns=True` labels the NLP Detected, Goal Reached and Tag Hit rows by intent, goal
or tag instead (their type can then only be told when the call asked for one type), and
`type_field=True` adds an unpublished `Type` code to every statistics object. The token
answer is `{"token", "expires"}` as the current docs show it, or `{"Token", "Expires"}` as
the older ones do (`token_keys`).

Late edits: `record_late_edit([bot name, channel, "YYYY-MM-DD", type code], {"value": v})`
makes that bot's day of that statistic type on that channel read `v` (the whole day's value)
from now on, as a value Xenioo recorded after a bucket was read.
"""

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
from support_simulators.framework.dataset import UTC, DayCache, midnight, seeded

DEFAULT_ACCOUNT_API_KEY = "xenioo-demo-account-key"
#: bot API key -> bot name (the demo's bots; keys are secrets in the tap's settings).
DEFAULT_BOTS: dict[str, str] = {
    "xb-support-5f1c9e27a4d84b1f": "Support Assistant",
    "xb-sales-82d04b6c1e7f4a93": "Sales Concierge",
    "xb-hr-3a7e61f0c2b94d58": "HR Helpdesk",
}

STATISTIC_TYPES: dict[int, str] = {
    0: "New User",
    1: "Returning User",
    2: "Active User",
    3: "Messages",
    4: "Action Messages",
    5: "Fallback Reply",
    6: "NLP Detected",
    7: "NLP Missed",
    8: "Conversation Length",
    9: "Time To Pick Up",
    10: "Takeover Rate",
    11: "Support Conversation Length",
    12: "Goal Reached",
    13: "Incoming Message",
    14: "API Request",
    15: "API Request Error",
    16: "Time To First Message",
    17: "Operator Message",
    18: "Tag Hit",
}
ACCOUNT_TYPES = tuple(range(18))
BOT_TYPES = tuple(range(19))
GROUP_MODES = ("hour", "day", "month", "year")
MAX_DAYS = 30

ACCOUNT_THROTTLE = dt.timedelta(hours=1)
BOT_THROTTLE = dt.timedelta(minutes=30)
DLR_THROTTLE = dt.timedelta(hours=1)
#: Each statistics call: the types it takes, its throttle and how its refusal names it.
_CALLS: dict[str, tuple[tuple[int, ...], dt.timedelta, str]] = {
    "account": (ACCOUNT_TYPES, ACCOUNT_THROTTLE, "Account statistics"),
    "bot": (BOT_TYPES, BOT_THROTTLE, "Bot statistics"),
    "dlr": ((), DLR_THROTTLE, "Delivery receipt statistics"),
}

_CHANNELS = ["Web", "WhatsApp", "Facebook", "Telegram", "SMS"]
_DLR_CHANNELS = {"WhatsApp", "SMS"}
_DLR_STATUSES = ["Sent", "Delivered", "Read", "Failed"]
#: Types whose entries are broken down by an event label (intent, goal, tag).
_LABELS: dict[int, list[str]] = {
    6: ["Greeting", "Order Status", "Refund", "Opening Hours", "Human Handover"],
    12: ["Lead Captured", "Ticket Created", "Order Tracked"],
    18: ["vip", "complaint", "returning", "promo"],
}
#: Types that are averages (seconds, or a percentage for 10), not counts.
_AVERAGES = {8: 240.0, 9: 95.0, 10: 12.0, 11: 420.0, 16: 3.5}
_COUNTS = {
    0: 40,
    1: 25,
    2: 60,
    3: 380,
    4: 120,
    5: 18,
    6: 30,
    7: 9,
    12: 10,
    13: 190,
    14: 45,
    15: 2,
    17: 35,
    18: 12,
}
# Share of a day's activity per hour (UTC), sums to 1.
_HOURLY = [
    0.6,
    0.4,
    0.3,
    0.3,
    0.4,
    0.8,
    1.5,
    3.0,
    5.0,
    6.5,
    7.0,
    7.2,
    6.8,
    6.9,
    7.0,
    6.8,
    6.4,
    5.8,
    5.0,
    4.2,
    3.4,
    2.6,
    1.8,
    1.1,
]
_HOURLY = [share / sum(_HOURLY) for share in _HOURLY]


def _stable_int(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class XeniooDataset:
    """Per-day statistics for each bot, channel, type and label; deterministic per seed."""

    def __init__(self, seed: int, bots: t.Mapping[str, str]) -> None:
        self.seed = seed
        self.bots = dict(bots)
        self.channels: dict[str, list[str]] = {}
        for index, key in enumerate(self.bots):
            rng = seeded(seed, "channels", index)
            # Every bot is on the web and on a channel with delivery receipts.
            chosen = [
                "Web",
                rng.choice(sorted(_DLR_CHANNELS)),
                *rng.sample(_CHANNELS[1:], k=rng.randint(0, 2)),
            ]
            self.channels[key] = [c for c in _CHANNELS if c in chosen]
        self._days = DayCache(self._generate, limit=5000)

    def bot_id(self, key: str) -> str:
        return f"{_stable_int(self.seed, 'bot', key) % 10**12:012d}"

    def day(self, key: str, day: dt.date) -> list[tuple[str, int, str, float]]:
        """(channel, type, event label, full-day value) for every non-zero entry of a bot's day."""
        return self._days.get((key, day))

    def _generate(self, bot_day: tuple[str, dt.date]) -> list[tuple[str, int, str, float]]:
        key, day = bot_day
        rng = seeded(self.seed, key, day)
        weekend = 0.45 if day.weekday() >= 5 else 1.0
        size = 0.5 + (_stable_int(self.seed, "size", key) % 100) / 100
        rows = []
        for channel in self.channels[key]:
            share = 1.0 if channel == "Web" else 0.35
            for code in BOT_TYPES:
                for label in _LABELS.get(code, [STATISTIC_TYPES[code]]):
                    if code in _AVERAGES:
                        value = (
                            round(_AVERAGES[code] * rng.uniform(0.6, 1.5), 2)
                            if rng.random() < 0.9
                            else 0.0
                        )
                    else:
                        mean = (
                            _COUNTS[code] * size * share * weekend / len(_LABELS.get(code, [label]))
                        )
                        value = float(max(0, int(rng.gauss(mean, mean * 0.3))))
                    if value:
                        rows.append((channel, code, label, value))
        return rows

    def dlr_day(self, key: str, day: dt.date) -> list[tuple[str, str, float]]:
        rng = seeded(self.seed, "dlr", key, day)
        rows = []
        for channel in self.channels[key]:
            if channel not in _DLR_CHANNELS:
                continue
            sent = max(0, int(rng.gauss(120, 30)))
            delivered = int(sent * rng.uniform(0.85, 0.98))
            read = int(delivered * rng.uniform(0.4, 0.8))
            for status, value in zip(
                _DLR_STATUSES, (sent, delivered, read, sent - delivered), strict=False
            ):
                if value:
                    rows.append((channel, status, float(value)))
        return rows


def group_label(moment: dt.datetime, mode: str) -> str:
    if mode == "hour":
        return moment.strftime("%Y-%m-%d %H:00")
    if mode == "day":
        return moment.strftime("%Y-%m-%d")
    if mode == "month":
        return moment.strftime("%Y-%m")
    return moment.strftime("%Y")


def covered_days(now: dt.datetime, days: int) -> list[dt.date]:
    """The calendar days DAYS=n covers: the n days ending today, today included."""
    today = now.date()
    return [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]


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
                        part_value = value if code in _AVERAGES else value * part
                        if code not in _AVERAGES:
                            part_value = float(max(1, round(part_value)))
                        bucket = (group, key, channel, shown, code)
                        buckets.setdefault(bucket, []).append(part_value)
        rows = []
        for (label_text, key, channel, event, code), values in buckets.items():
            value = round(sum(values) / len(values), 2) if code in _AVERAGES else int(sum(values))
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
            for hour, share in enumerate(_HOURLY):
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

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        """Keys a first run (no state) of tap-xenioo with `tap_config` delivers, from this data.

        Mirrors the tap: DAYS from start_date (capped at 30, default 30); on a first run
        every bucket the call returns is delivered.
        """
        now = self.now()
        mode = tap_config.get("group_mode", "day")
        days = MAX_DAYS
        if tap_config.get("start_date"):
            start = dt.datetime.fromisoformat(str(tap_config["start_date"]).replace("Z", "+00:00"))
            days = max(1, min(MAX_DAYS, (now.date() - start.date()).days + 1))
        bots = [(b["name"], b["api_key"]) for b in tap_config.get("bots") or []]
        account_bot = tap_config.get("account_bot")
        scope = account_bot or "*"
        scope_keys = [dict(bots)[account_bot]] if account_bot else list(self.dataset.bots)
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
                {
                    stat_key(scope, r, types)
                    for r in self.statistics_rows(scope_keys, types, mode, days)
                },
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
                    for r in self.dlr_rows(scope_keys, mode, days)
                },
            ),
        }
        bot_keys: set[tuple] = set()
        for name, key in bots:
            if key in self.dataset.bots:
                bot_keys |= {
                    stat_key(name, r, bot_types)
                    for r in self.statistics_rows([key], bot_types, mode, days)
                }
        if bots:
            expected["bot_statistics"] = (pk, bot_keys)
        return expected
