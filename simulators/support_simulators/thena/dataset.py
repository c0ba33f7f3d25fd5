"""Thena's requests: a seeded, deterministic history, generated per day in the export's
published shape, each request's later life (assignment, closing, rating) shown only once the
clock has passed it."""

from __future__ import annotations

import datetime as dt
import random
import typing as t
from dataclasses import dataclass

from support_simulators.framework.dataset import AGENT_NAMES, DATASET_START, UTC, DailyDataset
from support_simulators.thena.published import PUBLISHED_DAY, PUBLISHED_ROW

_CUSTOMERS = [
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Soylent",
    "Stark Industries",
    "Wayne Enterprises",
    "Acme Corp",
    "Vandelay Imports",
    "Wonka Industries",
    "Cyberdyne",
    "Tyrell Corp",
]
_AGENTS = AGENT_NAMES[:7]
_TOPICS = [
    ("Issue with Capturing Links in Ticket Notes", ["Missing Link", "Ticket Notes", "Slack Chat"]),
    ("SSO login loop after password reset", ["SSO", "Login"]),
    ("Invoice shows wrong VAT rate", ["Billing", "VAT"]),
    ("Webhook deliveries delayed", ["Webhooks", "Latency"]),
    ("Export to CSV truncates long fields", ["Export", "CSV"]),
    ("Feature request: bulk assign", ["Feature Request"]),
    ("API rate limit errors during sync", ["API", "Rate Limit"]),
    ("Slack channel not linked to account", ["Slack", "Setup"]),
    ("Dashboard numbers differ from report", ["Analytics", "Data Quality"]),
    ("User cannot be deprovisioned", ["SCIM", "Users"]),
]
_STATUSES_OPEN = ["Open", "Assigned", "In Progress", "On Hold"]


def _us(moment: dt.datetime) -> str:
    return moment.strftime("%m/%d/%Y %H:%M")


def _email(name: str, domain: str) -> str:
    return f"{name.lower().replace(' ', '.')}@{domain}"


@dataclass(frozen=True)
class ThenaRequestRow:
    request_id: int
    created: dt.datetime
    row: dict[str, t.Any]


class ThenaDataset(DailyDataset[list[ThenaRequestRow]]):
    """Deterministic requests, generated per day so any range costs only its own days."""

    MAX_PER_DAY = 10_000
    cached_days = 4000

    def __init__(
        self,
        seed: int = 7,
        requests_per_day: int = 40,
        start: dt.date = DATASET_START,
        variants: bool = False,
    ) -> None:
        super().__init__(seed, start)
        self.requests_per_day, self.variants = requests_per_day, variants

    def day(self, day: dt.date) -> list[ThenaRequestRow]:
        if day == PUBLISHED_DAY:
            created = dt.datetime(2023, 5, 12, 12, 24, tzinfo=UTC)
            return [ThenaRequestRow(PUBLISHED_ROW["request_id"], created, PUBLISHED_ROW)]
        return super().day(day)

    def generate(self, day: dt.date) -> list[ThenaRequestRow]:
        rng = self.rng(day)
        first_id = 1000 + (day - self.start).days * self.MAX_PER_DAY
        arrivals = self.arrivals(rng, day, self.requests_per_day, 0.35, most=self.MAX_PER_DAY - 1)
        return [self._request(rng, first_id + n, created) for n, created in enumerate(arrivals)]

    def _request(
        self, rng: random.Random, request_id: int, created: dt.datetime
    ) -> ThenaRequestRow:
        created = created.replace(second=0)
        customer = rng.choice(_CUSTOMERS)
        domain = customer.lower().replace(" ", "") + ".com"
        title, tags = rng.choice(_TOPICS)
        owner = rng.choice(_AGENTS)
        assigned = created + dt.timedelta(minutes=rng.randint(2, 2880))
        first_response = assigned + dt.timedelta(minutes=rng.randint(0, 240))
        closed = first_response + dt.timedelta(hours=rng.expovariate(1 / 30))
        on_hold = rng.random() < 0.12
        iso = rng.random() < 0.05
        row = {
            "request_id": request_id,
            # The published US style; with variants, a few ISO dates (a beta API may mix them).
            "created_datetime": created.strftime("%Y-%m-%dT%H:%M:%SZ")
            if iso and self.variants
            else _us(created),
            "workspace_name": "Acme Support",
            "slack_channel": f"ext-{domain.split('.')[0]}",
            "customer_name": customer,
            "requestor_email": _email(
                rng.choice(["Pat Doe", "Sam Roe", "Alex Poe", "Kim Lee"]), domain
            ),
            "request_title": title,
            "request_summary": f"{customer} reports: {title.lower()}. "
            + rng.choice(
                [
                    "Investigating.",
                    "Waiting on logs from the customer.",
                    "Engineering looped in.",
                    "",
                ]
            ),
            "sentiment": rng.choice(["Positive", "Neutral", "Neutral", "Negative"]),
            "urgency": rng.choice(["Low", "Medium", "Medium", "High", "Urgent"]),
            "ai_tags": list(tags) if rng.random() > 0.05 else [],
            "slack_thread_link": f"https://example-slack.com/archives/C{request_id:08d}/p{int(created.timestamp())}",
            "internal_thread_slack_link": f"https://example-slack.com/archives/G{request_id:08d}"
            if rng.random() < 0.7
            else "",
            "_lifecycle": {
                "assigned": assigned,
                "first_response": first_response,
                "closed": closed,
                "owner": owner,
                "owner_email": _email(owner, "acme.com"),
                "replies": rng.randint(1, 25),
                "csat": rng.choice([None, None, 1, 2, 3, 4, 4, 5, 5, 5]),
                "csat_as_text": rng.random() < 0.2 and self.variants,
                "feedback": rng.choice(
                    ["N/A", "Quick and helpful", "Took too long", "N/A", "Great support!"]
                ),
                "on_hold": created + dt.timedelta(minutes=rng.randint(10, 600))
                if on_hold
                else None,
                "open_status": rng.choice(_STATUSES_OPEN),
            },
        }
        variant = rng.random()
        if self.variants:
            if variant < 0.01:
                row["priority_score"] = rng.randint(
                    1, 5
                )  # not in the docs: the beta API adds fields
            elif variant < 0.04 and row["ai_tags"]:
                row["ai_tags"] = ", ".join(row["ai_tags"])  # as Thena's requests API publishes it
            elif variant < 0.06:
                row["_lifecycle"]["csat_missing"] = "NA"  # likewise
        return ThenaRequestRow(request_id, created, row)

    @staticmethod
    def as_of(row: dict[str, t.Any], now: dt.datetime) -> dict[str, t.Any]:
        """The export row as it reads at `now`: later events are blank until they happen."""
        if "_lifecycle" not in row:
            return row  # the published example, as published
        life = row["_lifecycle"]
        out = {k: v for k, v in row.items() if k != "_lifecycle"}
        assigned = life["assigned"] <= now
        responded = life["first_response"] <= now
        closed = life["closed"] <= now
        on_hold = life["on_hold"] is not None and life["on_hold"] <= now and not closed
        hours = round((life["closed"] - life["assigned"]).total_seconds() / 3600, 2)
        csat = life["csat"] if closed else None
        out.update(
            {
                "status": "Closed" if closed else (life["open_status"] if assigned else "Open"),
                "assigned_on": _us(life["assigned"]) if assigned else "",
                "owner": life["owner"] if assigned else "",
                "assigned_to_user_email": life["owner_email"] if assigned else "",
                "first_response_time": _us(life["first_response"]) if responded else "",
                "number_of_replies": (life["replies"] if closed else min(life["replies"], 2))
                if responded
                else 0,
                "closed_by": life["owner"] if closed else "",
                "feedback": life["feedback"] if closed else "N/A",
                "csat_score": life.get("csat_missing", "N/A")
                if csat is None
                else (str(csat) if life["csat_as_text"] else csat),
                "closed_datetime": _us(life["closed"]) if closed else "",
                "resolution_time_hours": (str(hours) if life["csat_as_text"] else hours)
                if closed
                else "",
                "on_hold_on": _us(life["on_hold"]) if on_hold else "",
                "on_hold_by": life["owner"] if on_hold else "",
                "on_hold_by_user_email": life["owner_email"] if on_hold else "",
            }
        )
        # The published example's field order; fields it does not show go last.
        ordered = {name: out.pop(name) for name in PUBLISHED_ROW if name in out}
        ordered.update(out)
        return ordered

    def between(self, first_day: dt.date, last_day: dt.date) -> t.Iterator[ThenaRequestRow]:
        """Requests created on first_day..last_day (both inclusive)."""
        day = first_day if first_day <= PUBLISHED_DAY else max(first_day, self.start)
        while day <= last_day:
            yield from self.day(day)
            day += dt.timedelta(days=1)

    def request_ids(self, start: dt.datetime, end: dt.datetime) -> list[int]:
        """Ids of requests created in [start, end): what a tap should deliver for that range."""
        return [
            r.request_id for r in self.between(start.date(), end.date()) if start <= r.created < end
        ]
