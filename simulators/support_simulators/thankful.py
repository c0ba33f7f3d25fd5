"""Thankful Analytics API simulator: GET /api/v1/{tickets,handoffs,savings,actions},
`X-API-Key` auth.

Data: a seeded, deterministic ticket history from 2024-01-01. Each day has about
`tickets_per_day` tickets (fewer at weekends), each with an action (or none: not
captured by automation), a channel (1..9), a status (1..8) and, for handoffs, a
cause. The endpoints aggregate those tickets over the period `s`..`e` after the
documented filters (`a` action, `ss` statuses, `fs` channels), so every answer
agrees with every other: the actions in `TopActions` and `/handoffs` are the ones
`/actions` lists, a day's `TicketsOverTime` points equal the totals of a request
for that day alone, and summing days gives the totals of the longer period.

Like the vendor, recent days are revised: until two days after a day ends, part of
its tickets that will be resolved still read as pending, and today only counts the
tickets received so far. `now` fixes the clock for tests.

Late edits: `record_late_edit("YYYY-MM-DD", {"resolved": n})` resolves, from now on, `n` of
that day's pending tickets (status 3 becomes 1), as a ticket closed before the last run but
recorded after it reads.

Granularity: the API answers whatever period it is asked for; points and periods
are whole UTC days here (every published `CreatedAt` is midnight UTC).

Published examples: asked for 2019-05-22 alone without filters, `/tickets`,
`/handoffs` and `/savings` answer the page's own examples (`PUBLISHED`;
tests/contracts/thankful/ holds the page's copies), so a run over that day loads
exactly what Thankful publishes. `/handoffs` and `/savings` are served byte for byte;
the `/tickets` example echoes the period it answers (`Period`: 2019-05-22 to 2019-06-21,
30 days), so it is served byte for byte when that period is asked, and for the day alone
with only its `Period.End` narrowed to that day's last second, as the API echoes what it
is asked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import typing as t
from collections import Counter
from dataclasses import dataclass

from support_simulators.framework import (
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
    raw_json_response,
)
from support_simulators.framework.dataset import (
    DATASET_START,
    UTC,
    DailyDataset,
    midnight,
    setting_time,
)

DEFAULT_API_KEY = "thankful-demo-key"
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

#: The "Response:" examples of Thankful's Analytics API page, verbatim ("..." elisions
#: removed with the comma before them); served for the day 2019-05-22 when no filter is set.
PUBLISHED_DAY = dt.date(2019, 5, 22)
#: The period the published `/tickets` example answers (its `Period.Start` and `.End`).
PUBLISHED_PERIOD = ("2019-05-22T00:00:00Z", "2019-06-21T23:59:59Z")
PUBLISHED: dict[str, bytes] = {
    "tickets": b"""{
    "Period": {
        "Start": "2019-05-22T00:00:00Z",
        "End": "2019-06-21T23:59:59Z",
        "Min": "2018-05-22T00:00:00Z"
    },
    "TicketsOverTime": {
        "Received": [
            {
                "Val": 1456,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "Captured": [
            {
                "Val": 2800,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
\t"Transferred": [
            {
                "Val": 500,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "Resolved": [
            {
                "Val": 621,
                "CreatedAt": "2019-05-22T00:00:00Z"
            }
        ],
        "ReceivedTotal": 60000,
        "CapturedTotal": 50000,
        "TransferredTotal": 10000,
        "ResolvedTotal": 30000,
        "ReceivedChange": -33.78378378378378,
        "CapturedChange": -32.86713286713287,
        "TransferredChange": 54.12308,
        "ResolvedChange": -39.285714285714285
    },
    "TopActions": [
        {
            "ID": 3759,
            "Name": "Return Order",
            "Capture": 94,
            "Resolve": 17,
            "Pending": 2,
            "Transfer": 30,
            "Handoff": 77,
            "Skip": 0,
            "Enabled": true
        }
    ],
    "Recommendations": [
        {
            "ActionID": 3257,
            "Impact": "Increase automation by 4%"
        },
        {
            "ActionID": 3210,
            "Impact": "Increase automation by 1%"
        }
    ]
}""",
    "handoffs": b"""[
    {
        "ActionID": 3623,
        "Types": null
    },
    {
        "ActionID": 3759,
        "Types": [
            {
                "ID": 1,
                "Cause": "SLA breached",
                "ActionHandoffCount": 1
            },
            {
                "ID": 3,
                "Cause": "Failed to evaluate JS for step 95863: eval js code: TypeError: Cannot access member 'SG' of undefined",
                "ActionHandoffCount": 1
            }
        ]
    }
]""",  # noqa: E501 - the vendor's example, byte for byte
    "savings": b"""{
\t"Hours": 100.5
}""",
    "actions": b"""{
\t"3000": "Return Order",
\t"3016": "Track Order"
}""",
}

_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$")


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


def _change(current: int, previous: int) -> float:
    return 0.0 if previous == 0 else (current - previous) / previous * 100


def _z(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class BadRequest(Exception):
    pass


class ThankfulSimulator(VendorSimulator):
    name = "thankful"
    BASE = "/api/v1"

    def tap_settings(self) -> dict[str, str]:
        return {"api_url": self.url + self.BASE}

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        tickets_per_day: int = 900,
        now: dt.datetime | None = None,
        **kwargs: t.Any,
    ) -> None:
        self.api_key = api_key
        self.fixed_now = now
        super().__init__(**kwargs)
        self.dataset = ThankfulDataset(seed=self.seed, tickets_per_day=tickets_per_day)
        #: Actions deleted since the start (no longer in `/actions`; past days keep them).
        self.deleted_actions: set[int] = set()

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is a day ("YYYY-MM-DD"); `changes` {"resolved": n}: n of its pending
        tickets resolved, recorded late."""
        super().record_late_edit(str(key), changes)
        self.dataset.resolve_late(dt.date.fromisoformat(str(key)), int(changes["resolved"]))

    def routes(self):
        for endpoint, handler in (
            ("tickets", self.tickets),
            ("handoffs", self.handoffs),
            ("savings", self.savings),
            ("actions", self.actions),
        ):
            yield "GET", re.compile(rf"{self.BASE}/{endpoint}/?"), self._guarded(handler)

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.headers.get("X-API-Key") == self.api_key:
            return None
        return json_response(
            {"error": "Unauthorized", "message": "invalid or missing X-API-Key"}, 401
        )

    @staticmethod
    def _guarded(
        handler: t.Callable[[SimRequest], SimResponse],
    ) -> t.Callable[[SimRequest], SimResponse]:
        def answer(request: SimRequest) -> SimResponse:
            try:
                return handler(request)
            except BadRequest as exc:
                return json_response({"error": "Bad Request", "message": str(exc)}, 400)

        return answer

    # ---- request parsing -------------------------------------------------------------

    def _moment(self, text: str | None, name: str, default: dt.datetime) -> dt.datetime:
        if text is None or text == "":
            return default
        if not _TIME.match(text):
            raise BadRequest(
                f"parameter {name} must be an ISO 8601 UTC date-time, e.g. 2019-05-20T00:00:00Z"
            )
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)

    @staticmethod
    def _ids(text: str | None, name: str, allowed: t.Container[int]) -> frozenset[int] | None:
        if not text:
            return None
        try:
            values = frozenset(int(part) for part in text.split(","))
        except ValueError:
            raise BadRequest(f"parameter {name} must be a comma separated list of ids") from None
        bad = sorted(v for v in values if v not in allowed)
        if bad:
            raise BadRequest(f"parameter {name} has unknown ids: {bad}")
        return values

    def _query(self, request: SimRequest) -> tuple[dt.datetime, dt.datetime, Filters]:
        now = self.now()
        start = self._moment(request.arg("s"), "s", now - dt.timedelta(days=30))
        end = self._moment(request.arg("e"), "e", now)
        action = request.arg("a")
        if action:
            if not action.isdigit():
                raise BadRequest("parameter a must be one action id")
            action_id: int | None = int(action)
        else:
            action_id = None
        filters = Filters(
            action_id,
            self._ids(request.arg("ss"), "ss", STATUSES),
            self._ids(request.arg("fs"), "fs", CHANNELS),
        )
        return start, end, filters

    def _days(self, start: dt.datetime, end: dt.datetime) -> tuple[dt.date, dt.date]:
        """The whole days the period covers (the API's granularity is the day)."""
        return start.date(), min(end, self.now()).date()

    def _summary(self, request: SimRequest) -> tuple[dt.datetime, dt.datetime, Filters, Summary]:
        start, end, filters = self._query(request)
        first, last = self._days(start, end)
        return start, end, filters, self.dataset.summary(first, last, filters, self.now())

    # ---- endpoints -------------------------------------------------------------------

    def _published(self, request: SimRequest, endpoint: str) -> SimResponse | None:
        """Thankful's own example, for the published day asked alone and unfiltered (and, for
        `/tickets`, the period its `Period` names)."""
        start, end, filters = self._query(request)
        if filters != Filters():
            return None
        body = PUBLISHED[endpoint]
        if endpoint == "tickets" and (_z(start), _z(end)) == PUBLISHED_PERIOD:
            return raw_json_response(body)
        if start.date() == end.date() == PUBLISHED_DAY:
            if endpoint == "tickets":  # the period echoed is the one asked
                body = body.replace(
                    b'"End": "%s"' % PUBLISHED_PERIOD[1].encode(), b'"End": "%s"' % _z(end).encode()
                )
            return raw_json_response(body)
        return None

    def tickets(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "tickets")
        if published:
            return published
        start, end, filters = self._query(request)
        first, last = self._days(start, end)
        now = self.now()
        series: dict[str, list[dict[str, t.Any]]] = {
            "Received": [],
            "Captured": [],
            "Transferred": [],
            "Resolved": [],
        }
        total = Summary()
        day = first
        while day <= last:
            one = self.dataset.day_summary(day, filters, now)
            for key, value in (
                ("Received", one.received),
                ("Captured", one.captured),
                ("Transferred", one.transferred),
                ("Resolved", one.resolved),
            ):
                series[key].append({"Val": value, "CreatedAt": _z(midnight(day))})
            total.add(one)
            day += ONE_DAY
        # Percent changes compare with the period of the same length just before.
        length = (last - first) + ONE_DAY if last >= first else ONE_DAY
        previous = self.dataset.summary(first - length, first - ONE_DAY, filters, now)
        payload = {
            "Period": {
                "Start": _z(start),
                "End": _z(end),
                "Min": _z(midnight(self.dataset.start)),
            },
            "TicketsOverTime": {
                **series,
                "ReceivedTotal": total.received,
                "CapturedTotal": total.captured,
                "TransferredTotal": total.transferred,
                "ResolvedTotal": total.resolved,
                "ReceivedChange": _change(total.received, previous.received),
                "CapturedChange": _change(total.captured, previous.captured),
                "TransferredChange": _change(total.transferred, previous.transferred),
                "ResolvedChange": _change(total.resolved, previous.resolved),
            },
            "TopActions": self.dataset.top_actions(total),
            "Recommendations": self.dataset.recommendations(total),
        }
        return json_response(payload)

    def handoffs(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "handoffs")
        if published:
            return published
        *_, summary = self._summary(request)
        return json_response(self.dataset.handoffs(summary))

    def savings(self, request: SimRequest) -> SimResponse:
        published = self._published(request, "savings")
        if published:
            return published
        *_, summary = self._summary(request)
        return json_response({"Hours": round(summary.hours, 2)})

    def actions(self, request: SimRequest) -> SimResponse:
        return json_response({str(a.id): a.name for a in self.listed_actions()})

    def listed_actions(self) -> list[Action]:
        return [a for a in self.dataset.actions if a.id not in self.deleted_actions]

    def delete(self, kind: str, object_id: str) -> None:
        """Delete an action in "Thankful" (`kind` "actions"): from now on `/actions` does not
        list it; the days already counted keep it. KeyError if there is no such action."""
        action = int(object_id) if kind == "actions" else None
        if action not in self.dataset.by_id or action in self.deleted_actions:
            raise KeyError(f"{kind}/{object_id}")
        self.deleted_actions.add(action)

    # ---- what a tap must deliver -------------------------------------------------------

    def day_summary(
        self, day: dt.date, tap_config: t.Mapping[str, t.Any], action: int | None
    ) -> Summary:
        filters = Filters(
            action,
            frozenset(tap_config["statuses"]) if tap_config.get("statuses") else None,
            frozenset(tap_config["channels"]) if tap_config.get("channels") else None,
        )
        return self.dataset.day_summary(day, filters, self.now())

    def expected_days(self, tap_config: t.Mapping[str, t.Any]) -> list[dt.date]:
        """UTC days a full run covers: every day that starts before end_date (or now)."""

        now = self.now()
        end = min(setting_time(tap_config["end_date"]), now) if tap_config.get("end_date") else now
        day = setting_time(tap_config["start_date"]).date()
        days = []
        while midnight(day) < end:
            days.append(day)
            day += ONE_DAY
        return days

    @staticmethod
    def _published_keys(head: tuple, keys: dict[str, set[tuple]]) -> None:
        tickets = json.loads(PUBLISHED["tickets"])
        for stream in ("tickets_over_time", "ticket_totals", "savings"):
            keys[stream].add(head)
        keys["top_actions"].update((*head, row["ID"]) for row in tickets["TopActions"])
        keys["recommendations"].update(
            (*head, row["ActionID"]) for row in tickets["Recommendations"]
        )
        for row in json.loads(PUBLISHED["handoffs"]):
            keys["handoffs"].update(
                (*head, row["ActionID"], kind["ID"]) for kind in row["Types"] or []
            )

    @staticmethod
    def filter_key(ids: t.Iterable[int] | None) -> str:
        """How tap-thankful records a status or channel filter in its key: "1,2,5", or "all"."""
        chosen = sorted(set(ids or ()))
        return ",".join(map(str, chosen)) if chosen else "all"

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        action_ids = list(tap_config.get("action_ids") or [])
        scopes: list[int | None] = action_ids or [None]
        lead = ("day", "filter_action_id") if action_ids else ("day",)
        lead = (*lead, "filter_statuses", "filter_channels")
        filters = (
            self.filter_key(tap_config.get("statuses")),
            self.filter_key(tap_config.get("channels")),
        )
        keys: dict[str, set[tuple]] = {
            s: set()
            for s in (
                "tickets_over_time",
                "ticket_totals",
                "top_actions",
                "recommendations",
                "handoffs",
                "savings",
            )
        }
        unfiltered = not (action_ids or tap_config.get("statuses") or tap_config.get("channels"))
        for day in self.expected_days(tap_config):
            stamp = day.isoformat()
            if day == PUBLISHED_DAY and unfiltered:
                self._published_keys((stamp, *filters), keys)
                continue
            for scope in scopes:
                head = (stamp, scope, *filters) if action_ids else (stamp, *filters)
                summary = self.day_summary(day, tap_config, scope)
                for stream in ("tickets_over_time", "ticket_totals", "savings"):
                    keys[stream].add(head)
                keys["top_actions"].update(
                    (*head, row["ID"]) for row in self.dataset.top_actions(summary)
                )
                keys["recommendations"].update(
                    (*head, row["ActionID"]) for row in self.dataset.recommendations(summary)
                )
                for row in self.dataset.handoffs(summary):
                    keys["handoffs"].update(
                        (*head, row["ActionID"], kind["ID"]) for kind in row["Types"] or []
                    )
        return {
            "actions": (("action_id",), {(a.id,) for a in self.listed_actions()}),
            "tickets_over_time": (lead, keys["tickets_over_time"]),
            "ticket_totals": (lead, keys["ticket_totals"]),
            "top_actions": ((*lead, "action_id"), keys["top_actions"]),
            "recommendations": ((*lead, "action_id"), keys["recommendations"]),
            "handoffs": ((*lead, "action_id", "cause_id"), keys["handoffs"]),
            "savings": (lead, keys["savings"]),
        }
