"""The Khoros simulator's support operation: agents in teams, authors, conversations, states.

Seeded and deterministic, generated per day from 2024-01-01: conversations (with incoming
posts and responses spread over the following days, expert help requests and response
approvals), and each agent's states per day.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from support_simulators.framework.dataset import (
    AGENT_NAMES,
    DATASET_START,
    DailyDataset,
    midnight,
)

#: Conversations stay open at most this many days (bounds the data a window looks at).
MAX_OPEN_DAYS = 10

NETWORKS = ["twitter", "facebook", "instagram", "whatsapp", "livechat", "email"]
TEAMS = [("101", "Tier 1"), ("102", "Tier 2"), ("103", "Social Escalations")]
WORKQUEUES = [("15", "General"), ("21", "Billing"), ("23", "Technical"), ("52", "VIP")]
_FIRST = ["Alex", "Sam", "Kim", "Pat", "Jo", "Chris", "Robin", "Dana", "Lou", "Max", "Noa", "Eli"]
_LAST = ["Doe", "Roe", "Poe", "Lee", "Kay", "Fox", "Ray", "Bell", "Hart", "Cole"]
TEXTS = [
    "My order #{n} hasn't arrived yet, can you help?",
    'The app says "session expired" every time, even after reinstalling',
    "Billing question: why was I charged twice, on the 3rd and the 5th?",
    "Love the new feature!\nBut the export button is missing on mobile.",
    "Can't log in; password reset email never comes",
    "Où est ma commande ? Merci d'avance",
    "Refund request for ticket {n}, details: size M, colour blue",
]
_REPLIES = [
    "Thanks for reaching out! Could you DM us your order number?",
    "Sorry about that, we're looking into it, and will get back to you shortly.",
    'We\'ve issued a refund; it shows as "pending" for 3-5 days.',
    "Happy to help!\nTry clearing the app cache, then log in again.",
]


def local_time(moment: dt.datetime, zone: dt.tzinfo) -> str:
    """A report's date format: "YYYY-MM-DD HH:MM:SS" in the report's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by calendar months, the day clamped to the month's last (own code, the
    tap's rule)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    team_id: str
    team_name: str
    enabled: bool


#: An author: id, name, handle, followers, verified.
Author = tuple[str, str, str, int, bool]
#: An incoming post: post id, time, text, language, sentiment.
IncomingPost = tuple[str, dt.datetime, str, str, str]
#: A response: post id, time, text.
Response = tuple[str, dt.datetime, str]
#: An expert help request: id, expert, asked, answered (None: still open).
ExpertHelp = tuple[str, Agent, dt.datetime, dt.datetime | None]
#: A response approval: approver, submitted, decided, decision.
Approval = tuple[Agent, dt.datetime, dt.datetime, str]


@dataclass
class Conversation:
    conversation_id: str
    created: dt.datetime
    network: str
    priority: int
    workqueue: tuple[str, str]
    agent: Agent
    author: Author
    assigned: dt.datetime
    closed: dt.datetime | None
    incoming: list[IncomingPost]
    responses: list[Response]
    tags: list[str]
    csat: str
    expert_help: ExpertHelp | None
    approval: Approval | None


class KhorosDataset(DailyDataset[list[Conversation]]):
    """Deterministic support activity, generated per day so any range costs only its own days."""

    def __init__(
        self, seed: int = 7, conversations_per_day: int = 40, start: dt.date = DATASET_START
    ) -> None:
        super().__init__(seed, start)
        self.per_day = conversations_per_day
        self.agents = []
        for n, name in enumerate(AGENT_NAMES):
            team_id, team_name = TEAMS[n % len(TEAMS)]
            self.agents.append(
                Agent(f"{5000 + n}", name, team_id, team_name, enabled=n not in (4, 9))
            )
        self.enabled_agents = [a for a in self.agents if a.enabled]
        rng = self.rng("agents")
        self.authors = [
            (
                f"{900000 + n}",
                f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                f"@user{n}_{rng.randrange(100, 999)}",
                int(rng.paretovariate(1.2) * 50),
                rng.random() < 0.05,
            )
            for n in range(400)
        ]

    # ---- a day's conversations: every draw from the day's generator, in a fixed order ----

    def generate(self, day: dt.date) -> list[Conversation]:
        rng = self.rng(day)
        first_id = 10_000_000 + (day - self.start).days * 10_000
        return [
            self._conversation(rng, f"{first_id + n}", created)
            for n, created in enumerate(self.arrivals(rng, day, self.per_day, 0.5))
        ]

    def _conversation(self, rng: random.Random, cid: str, created: dt.datetime) -> Conversation:
        agent = rng.choice(self.enabled_agents if rng.random() < 0.93 else self.agents)
        assigned = created + dt.timedelta(seconds=rng.randint(30, 3 * 3600))
        closed = self._closing(rng, created)
        end = closed or created + dt.timedelta(days=MAX_OPEN_DAYS - 1)
        incoming = self._incoming(rng, cid, created, end)
        responses = self._responses(rng, cid, assigned, end)
        helper = self._expert_help(rng, cid, agent, assigned)
        approval = self._approval(rng, agent, responses)
        return Conversation(
            cid,
            created,
            rng.choice(NETWORKS),
            rng.choice([0, 1, 1, 2, 2, 3, 4, 5]),
            rng.choice(WORKQUEUES),
            agent,
            rng.choice(self.authors),
            assigned,
            closed,
            incoming,
            responses,
            rng.sample(
                ["billing", "delivery", "login", "refund", "praise", "bug"], rng.randint(0, 2)
            ),
            rng.choice(["", "", "4", "5", "3", "1"]),
            helper,
            approval,
        )

    @staticmethod
    def _closing(rng: random.Random, created: dt.datetime) -> dt.datetime | None:
        """When the conversation closes (None: still open), within MAX_OPEN_DAYS."""
        open_hours = rng.expovariate(1 / 20)
        closed = None if rng.random() < 0.04 else created + dt.timedelta(hours=open_hours)
        if closed is not None and closed - created > dt.timedelta(days=MAX_OPEN_DAYS - 1):
            closed = created + dt.timedelta(days=MAX_OPEN_DAYS - 1)
        return closed

    @staticmethod
    def _incoming(
        rng: random.Random, cid: str, created: dt.datetime, end: dt.datetime
    ) -> list[IncomingPost]:
        span = (end - created).total_seconds()
        incoming = []
        for k in range(rng.randint(1, 4)):
            when = created if k == 0 else created + dt.timedelta(seconds=rng.uniform(0, span))
            text = rng.choice(TEXTS).format(n=rng.randrange(10_000, 99_999))
            incoming.append(
                (
                    f"{cid}-i{k}",
                    when,
                    text,
                    rng.choice(["en", "en", "en", "fr", "es", "de"]),
                    rng.choice(["POSITIVE", "NEUTRAL", "NEUTRAL", "NEGATIVE"]),
                )
            )
        incoming.sort(key=lambda p: p[1])
        return incoming

    @staticmethod
    def _responses(
        rng: random.Random, cid: str, assigned: dt.datetime, end: dt.datetime
    ) -> list[Response]:
        responses = []
        first_response = assigned + dt.timedelta(seconds=rng.randint(20, 2 * 3600))
        for k in range(rng.randint(1, 3)):
            when = (
                first_response
                if k == 0
                else first_response
                + dt.timedelta(
                    seconds=rng.uniform(0, max(60.0, (end - first_response).total_seconds()))
                )
            )
            responses.append((f"{cid}-r{k}", min(when, end), rng.choice(_REPLIES)))
        responses.sort(key=lambda p: p[1])
        return responses

    def _expert_help(
        self, rng: random.Random, cid: str, agent: Agent, assigned: dt.datetime
    ) -> ExpertHelp | None:
        if rng.random() >= 0.08:
            return None
        asked = assigned + dt.timedelta(minutes=rng.randint(1, 90))
        expert = rng.choice([a for a in self.enabled_agents if a is not agent])
        answered = (
            asked + dt.timedelta(minutes=rng.randint(1, 120)) if rng.random() < 0.85 else None
        )
        return (f"H{cid}", expert, asked, answered)

    def _approval(
        self, rng: random.Random, agent: Agent, responses: list[Response]
    ) -> Approval | None:
        if rng.random() >= 0.1:
            return None
        submitted = responses[0][1] - dt.timedelta(minutes=rng.randint(1, 30))
        approver = rng.choice(
            [a for a in self.enabled_agents if a.team_id == agent.team_id and a is not agent]
            or self.enabled_agents
        )
        return (
            approver,
            submitted,
            submitted + dt.timedelta(minutes=rng.randint(1, 45)),
            rng.choice(["APPROVED", "APPROVED", "APPROVED", "REJECTED"]),
        )

    # ---- ranges ------------------------------------------------------------------------

    def conversations(self, start: dt.datetime, end: dt.datetime) -> Iterator[Conversation]:
        """Conversations that may have activity in [start, end): created up to MAX_OPEN_DAYS
        before."""
        day = max((start - dt.timedelta(days=MAX_OPEN_DAYS)).date(), self.start)
        while day < end.date() or (day == end.date() and end.time() != dt.time(0)):
            for conversation in self.day(day):
                if conversation.created < end:
                    yield conversation
            day += dt.timedelta(days=1)

    def agent_states(
        self, agent: Agent, day: dt.date
    ) -> list[tuple[str, dt.datetime, dt.datetime]]:
        rng = self.rng(agent.agent_id, day)
        if not agent.enabled or (day.weekday() >= 5 and rng.random() < 0.7):
            return []
        moment = midnight(day) + dt.timedelta(
            hours=rng.choice([6, 7, 8, 9, 13]), minutes=rng.randrange(60)
        )
        shift_end = moment + dt.timedelta(hours=8)
        states = []
        while moment < shift_end:
            state = rng.choice(["AVAILABLE", "AVAILABLE", "AVAILABLE", "BUSY", "AWAY", "BREAK"])
            length = dt.timedelta(
                minutes=rng.randint(5, 120)
                if state in ("AVAILABLE", "BUSY")
                else rng.randint(5, 30)
            )
            end = min(moment + length, shift_end)
            states.append((state, moment, end))
            moment = end
        return states
