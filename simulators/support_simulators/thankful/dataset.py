"""Thankful's data: a seeded ticket history, aggregated over any period and filters."""

from __future__ import annotations

import datetime as dt
import typing as t
from collections import Counter
from dataclasses import dataclass

from support_simulators.framework.dataset import (
    DATASET_START,
    DailyDataset,
    midnight,
)

ONE_DAY = dt.timedelta(days=1)
#: Days after a day ends during which its numbers still change.
REVISION_DAYS = 2

STATUSES = {
    1: "Complete",
    2: "Handoff",
    3: "Pending",
    4: "Reported",
    5: "Training",
    6: "Action Disabled",
    7: "Transferred",
    8: "Handoff Takeover",
}
CHANNELS = {
    1: "Thankful Console",
    2: "Email",
    3: "SMS",
    4: "Web form",
    5: "Twitter",
    6: "In App",
    7: "Chat",
    8: "API",
    9: "Facebook",
}
_CHANNEL_WEIGHTS = [2, 40, 6, 14, 3, 8, 20, 4, 3]
_ENABLED_STATUS_WEIGHTS = {1: 50, 2: 10, 3: 8, 4: 3, 5: 4, 6: 0, 7: 15, 8: 6}
_UNCAPTURED_STATUS_WEIGHTS = {3: 20, 7: 80}
_HANDOFF_STATUSES = (2, 8)
_TRANSFER_STATUSES = (2, 7, 8)
_SKIP_STATUSES = (4, 5, 6)

_ACTION_NAMES = [
    "Return Order",
    "Track Order",
    "Cancel Order",
    "Change Shipping Address",
    "Refund Status",
    "Reset Password",
    "Update Payment Method",
    "Missing Item",
    "Exchange Size",
    "Warranty Claim",
    "Pause Subscription",
    "Cancel Subscription",
    "Shipping Cost",
    "Promo Code Issue",
    "Store Hours",
    "Gift Card Balance",
    "Damaged Item",
    "Late Delivery",
    "Delete Account",
    "Product Availability",
    "Invoice Request",
    "Loyalty Points",
]
CAUSES = {
    1: "SLA breached",
    2: "Customer asked for a human",
    3: (
        "Failed to evaluate JS for step 95863: eval js code: "
        "TypeError: Cannot access member 'SG' of undefined"
    ),
    4: "Order not found in Shopify",
    5: "Negative sentiment detected",
    6: "Attachment could not be read",
}
_CAUSE_WEIGHTS = [30, 25, 5, 20, 15, 5]


@dataclass(frozen=True)
class Action:
    id: int
    name: str
    enabled: bool
    weight: float
    minutes_saved: float


@dataclass(frozen=True)
class Filters:
    """The documented filters; None means all."""

    action: int | None = None
    statuses: frozenset[int] | None = None
    channels: frozenset[int] | None = None

    def keeps(self, action: int, channel: int, status: int) -> bool:
        return (
            (self.action is None or action == self.action)
            and (self.statuses is None or status in self.statuses)
            and (self.channels is None or channel in self.channels)
        )


#: One cell of a day: (action id or 0 for uncaptured, channel, status, cause id or 0) -> tickets.
Cells = dict[tuple[int, int, int, int], int]


@dataclass
class Summary:
    """A period's aggregates after filters (what the endpoints are built from)."""

    received: int = 0
    captured: int = 0
    transferred: int = 0
    resolved: int = 0
    hours: float = 0.0

    def __post_init__(self) -> None:
        self.by_action: dict[int, Counter] = {}
        self.causes: dict[int, Counter] = {}

    def add(self, other: Summary) -> None:
        self.received += other.received
        self.captured += other.captured
        self.transferred += other.transferred
        self.resolved += other.resolved
        self.hours += other.hours
        for mine, theirs in ((self.by_action, other.by_action), (self.causes, other.causes)):
            for action_id, counts in theirs.items():
                mine.setdefault(action_id, Counter()).update(counts)


class ThankfulDataset(DailyDataset[Cells]):
    """Deterministic tickets, generated per day so any range costs only its own days."""

    empty = dict
    cached_days = 1024

    def __init__(
        self, seed: int = 7, tickets_per_day: int = 900, start: dt.date = DATASET_START
    ) -> None:
        super().__init__(seed, start)
        self.tickets_per_day = tickets_per_day
        rng = self.rng("actions")
        ids = sorted(rng.sample(range(3000, 4000), len(_ACTION_NAMES)))
        names = list(_ACTION_NAMES)
        rng.shuffle(names)
        self.actions = [
            Action(
                id=i,
                name=n,
                enabled=rng.random() > 0.1,
                weight=rng.paretovariate(1.3),
                minutes_saved=round(rng.uniform(3, 15), 1),
            )
            for i, n in zip(ids, names, strict=False)
        ]
        self.by_id = {a.id: a for a in self.actions}
        self._summaries: dict[tuple[dt.date, Filters], Summary] = {}
        #: Pending tickets of a day resolved late (see `resolve_late`).
        self.resolved_late: dict[dt.date, int] = {}

    def resolve_late(self, day: dt.date, tickets: int) -> None:
        """From now on, `tickets` more of `day`'s pending tickets read as resolved."""
        self.resolved_late[day] = self.resolved_late.get(day, 0) + tickets
        self._summaries.clear()

    # ---- raw tickets ---------------------------------------------------------------

    def generate(self, day: dt.date) -> Cells:
        rng = self.rng(day)
        weekend = day.weekday() >= 5
        growth = 1 + (day - self.start).days / 730  # the business grows
        total = max(
            0, int(rng.gauss(self.tickets_per_day * growth * (0.4 if weekend else 1.0), 40))
        )
        uncaptured = int(total * rng.uniform(0.15, 0.3))
        weights = [a.weight for a in self.actions]
        per_action = Counter(rng.choices(range(len(self.actions)), weights, k=total - uncaptured))
        cells: Counter = Counter()
        groups = [(0, uncaptured, _UNCAPTURED_STATUS_WEIGHTS)]
        for index, count in per_action.items():
            action = self.actions[index]
            groups.append(
                (action.id, count, _ENABLED_STATUS_WEIGHTS if action.enabled else {6: 70, 7: 30})
            )
        statuses_all = list(range(1, 9))
        for action_id, count, status_weights in groups:
            channels = rng.choices(range(1, 10), _CHANNEL_WEIGHTS, k=count)
            statuses = rng.choices(
                statuses_all, [status_weights.get(s, 0) for s in statuses_all], k=count
            )
            causes = rng.choices(range(1, len(CAUSES) + 1), _CAUSE_WEIGHTS, k=count)
            for channel, status, cause in zip(channels, statuses, causes, strict=False):
                cells[
                    (
                        action_id,
                        channel,
                        status,
                        cause if status in _HANDOFF_STATUSES and action_id else 0,
                    )
                ] += 1
        return dict(cells)

    def cells(self, day: dt.date, now: dt.datetime) -> Cells:
        """The day's tickets as the API reads them at `now` (recent days are still moving)."""
        cells = self._revised(day, now)
        late = self.resolved_late.get(day)
        if not late:
            return cells
        out = dict(cells)
        for (action, channel, status, cause), count in sorted(cells.items()):
            if status != 3 or late <= 0:
                continue
            moved = min(count, late)
            late -= moved
            out[(action, channel, 3, cause)] -= moved
            resolved = (action, channel, 1, cause)
            out[resolved] = out.get(resolved, 0) + moved
        return {cell: count for cell, count in out.items() if count}

    def _revised(self, day: dt.date, now: dt.datetime) -> Cells:
        start = midnight(day)
        if start > now:
            return {}
        cells = self.day(day)
        age = (now - (start + ONE_DAY)).total_seconds() / 86_400
        if age >= REVISION_DAYS:
            return cells
        received_share = min(1.0, (now - start).total_seconds() / 86_400)
        pending_share = 0.35 * min(1.0, 1 - age / REVISION_DAYS)
        out: Counter = Counter()
        for (action, channel, status, cause), count in cells.items():
            count = int(count * received_share)
            if status == 1 and count:
                pending = int(count * pending_share)
                out[(action, channel, 3, cause)] += pending
                count -= pending
            if count:
                out[(action, channel, status, cause)] += count
        return dict(out)

    # ---- aggregates ---------------------------------------------------------------

    def summary(self, first: dt.date, last: dt.date, filters: Filters, now: dt.datetime) -> Summary:
        """Aggregates of the tickets of days first..last (inclusive) that pass the filters."""
        total = Summary()
        day = first
        while day <= last:
            total.add(self.day_summary(day, filters, now))
            day += ONE_DAY
        return total

    def day_summary(self, day: dt.date, filters: Filters, now: dt.datetime) -> Summary:
        """One day's aggregates; days past revision are computed once per filter set."""
        settled = midnight(day) + ONE_DAY * (1 + REVISION_DAYS) <= now
        key = (day, filters)
        if settled and key in self._summaries:
            return self._summaries[key]
        summary = self._aggregate(day, filters, now)
        if settled:
            if len(self._summaries) > 20_000:
                self._summaries.clear()
            self._summaries[key] = summary
        return summary

    def _aggregate(self, day: dt.date, filters: Filters, now: dt.datetime) -> Summary:
        total = Summary()
        minutes = 0.0
        for (action_id, channel, status, cause), count in self.cells(day, now).items():
            if not filters.keeps(action_id, channel, status):
                continue
            total.received += count
            if status in _TRANSFER_STATUSES:
                total.transferred += count
            if status == 1:
                total.resolved += count
            if not action_id:
                continue
            total.captured += count
            counts = total.by_action.setdefault(action_id, Counter())
            counts[status] += count
            if cause:
                total.causes.setdefault(action_id, Counter())[cause] += count
            if status == 1:
                minutes += count * self.by_id[action_id].minutes_saved
        total.hours = minutes / 60
        return total

    def top_actions(self, summary: Summary) -> list[dict[str, t.Any]]:
        rows = []
        for action_id, counts in summary.by_action.items():
            action = self.by_id[action_id]
            rows.append(
                {
                    "ID": action_id,
                    "Name": action.name,
                    "Capture": sum(counts.values()),
                    "Resolve": counts[1],
                    "Pending": counts[3],
                    "Transfer": counts[7],
                    "Handoff": sum(counts[s] for s in _HANDOFF_STATUSES),
                    "Skip": sum(counts[s] for s in _SKIP_STATUSES),
                    "Enabled": action.enabled,
                }
            )
        rows.sort(key=lambda r: (-r["Capture"], r["ID"]))
        return rows

    @staticmethod
    def recommendations(summary: Summary) -> list[dict[str, t.Any]]:
        rows = []
        for action_id, counts in sorted(summary.by_action.items()):
            captured = sum(counts.values())
            escalated = sum(counts[s] for s in _TRANSFER_STATUSES)
            if captured >= 10 and escalated / captured > 0.4 and summary.received:
                gain = max(1, round(100 * escalated / summary.received / 2))
                rows.append({"ActionID": action_id, "Impact": f"Increase automation by {gain}%"})
        return rows

    @staticmethod
    def handoffs(summary: Summary) -> list[dict[str, t.Any]]:
        rows = []
        for action_id in sorted(summary.by_action):
            causes = summary.causes.get(action_id)
            types = (
                None
                if not causes
                else [
                    {"ID": cause, "Cause": CAUSES[cause], "ActionHandoffCount": count}
                    for cause, count in sorted(causes.items())
                ]
            )
            rows.append({"ActionID": action_id, "Types": types})
        return rows
