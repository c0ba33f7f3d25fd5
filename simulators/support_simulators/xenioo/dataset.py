"""Xenioo's data: the statistic types, the demo's bots and a seeded, deterministic history of
per-day values for each bot, channel, type and label (today's grow with the hour)."""

from __future__ import annotations

import datetime as dt
import hashlib
import typing as t

from support_simulators.framework.dataset import DayCache, seeded

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
AVERAGES = {8: 240.0, 9: 95.0, 10: 12.0, 11: 420.0, 16: 3.5}
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
HOURLY = [
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
HOURLY = [share / sum(HOURLY) for share in HOURLY]


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
                    if code in AVERAGES:
                        value = (
                            round(AVERAGES[code] * rng.uniform(0.6, 1.5), 2)
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
