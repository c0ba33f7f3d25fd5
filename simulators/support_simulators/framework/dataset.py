"""Seeded, deterministic data made a day at a time, and the helpers every dataset shares."""

from __future__ import annotations

import datetime as dt
import random
import threading
import typing as t

UTC = dt.timezone.utc
#: The first day of every simulator's history.
DATASET_START = dt.date(2024, 1, 1)
#: The support team the simulators staff (each takes as many as it needs, in this order).
AGENT_NAMES = (
    "Jane Smith",
    "Ravi Patel",
    "Ana Souza",
    "Lee Min",
    "Omar Haddad",
    "Greta Berg",
    "Tom Okafor",
    "Ines Duarte",
    "Kofi Mensah",
    "Sara Lind",
    "Yuki Sato",
    "Piotr Nowak",
)

Key = t.TypeVar("Key")
Value = t.TypeVar("Value")
Rows = t.TypeVar("Rows")


def seeded(*scope: object) -> random.Random:
    """A generator seeded by `scope` joined with ":" (e.g. the seed and a day): the same scope
    gives the same numbers on every run, whatever was generated before."""
    return random.Random(":".join(map(str, scope)))


def midnight(day: dt.date) -> dt.datetime:
    """The start of `day`, UTC."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=UTC)


def setting_time(value: t.Any) -> dt.datetime:
    """A tap's date or date-time setting (`start_date`, `end_date`), UTC unless it names a zone."""
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class DayCache(t.Generic[Key, Value]):
    """Values made once per key by `make`, then kept.

    Past `limit` keys it starts afresh, so a long backfill never holds every day. Two threads
    asking for a new key at once may both make it; both get the one stored first.
    """

    def __init__(self, make: t.Callable[[Key], Value], limit: int = 2000) -> None:
        self._make, self._limit = make, limit
        self._values: dict[Key, Value] = {}
        self._lock = threading.Lock()

    def get(self, key: Key) -> Value:
        with self._lock:
            if key in self._values:
                return self._values[key]
        value = self._make(key)  # unlocked: other days are served meanwhile
        with self._lock:
            if len(self._values) > self._limit:
                self._values.clear()
            return self._values.setdefault(key, value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class DailyDataset(t.Generic[Rows]):
    """A vendor's history from `start`, made one day at a time from the seed.

    A day's rows depend only on the seed and the day, so any range costs only its own days
    and every run serves the same data. Subclasses implement `generate`.
    """

    #: Days kept once made (memory stays bounded over long ranges).
    cached_days = 2000
    #: What a day before `start` holds (a factory).
    empty: t.Callable[[], Rows] = list  # type: ignore[assignment] - `list` is one such factory

    def __init__(self, seed: int = 7, start: dt.date = DATASET_START) -> None:
        self.seed, self.start = seed, start
        self._days: DayCache[dt.date, Rows] = DayCache(self.generate, self.cached_days)

    def generate(self, day: dt.date) -> Rows:
        """The rows of `day`, from `self.rng(day)`: called once per cached day."""
        raise NotImplementedError

    def day(self, day: dt.date) -> Rows:
        """The rows of `day` (none before `start`)."""
        return self._days.get(day) if day >= self.start else self.empty()

    def forget(self) -> None:
        """Drop every day made so far (after a change that alters what `generate` makes)."""
        self._days.clear()

    def rng(self, *scope: object) -> random.Random:
        """The generator for `scope` (a day, an agent and a day, ...) under this seed."""
        return seeded(self.seed, *scope)

    @staticmethod
    def arrivals(
        rng: random.Random,
        day: dt.date,
        per_day: float,
        weekend_share: float,
        most: int | None = None,
    ) -> list[dt.datetime]:
        """When the day's conversations (or requests) arrive, in order: about `per_day` on a
        weekday (±15%), `weekend_share` of that at weekends, at most `most`."""
        mean = per_day * (weekend_share if day.weekday() >= 5 else 1.0)
        count = max(0, int(rng.gauss(mean, mean * 0.15)))
        if most is not None:
            count = min(count, most)
        start = midnight(day)
        return [
            start + dt.timedelta(seconds=second)
            for second in sorted(rng.randrange(86_400) for _ in range(count))
        ]
