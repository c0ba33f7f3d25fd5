"""Khoros Care Analytics API simulator: asynchronous report jobs and a separate file host.

    GET  /api/public/reports/report/{report_type}?companyKey&startTime&endTime&...   start a job
    POST /api/public/reports/report/conversation_actions   (form body)              start a job
    GET  /api/public/reports/report/{workflowId}/{runId}/status                      poll it
    GET  /api/public/reports/report/{workflowId}/{runId}/download                    307 to the file

Every API call needs HTTP Basic credentials (401 otherwise) and the `companyKey`
query parameter (403 otherwise). A job takes `job_latency` seconds (a seeded random
value between the two bounds) before its status turns `CLOSED`/`COMPLETED`; jobs
named in `failing` end `CLOSED`/`FAILED`, jobs in `stuck` never finish, jobs in
`no_file` end `CLOSED` with neither `detail` nor `downloadUrl`, jobs in `unreadable`
answer a status with no `runnerState` anywhere. runIds are base64 with "/", "+"
and "=", so a client must URL-encode them.

The status answer has the shape of Khoros's OpenAPI examples (tests/contracts/khoros):
the envelope's `result` holds `jobInfo` (`workflowId`, `runId`, `downloadUrl`,
`statusUrl`, the URLs carrying an `analyticsAccessToken`) and an inner `result` with
`runnerState` (RUNNING, then CLOSED), `reason`, `detail` and counts. `status_shape`
picks the variant: "object" (envelope `result` an object), "list" (a one-item list),
"inner-list" (the inner `result` a one-item list), "flat" (the job's fields right in
`result`, as older answers), or "mixed" (default: object and list alternating per
job, as the published examples do).

`bad_downloads` maps (report type, window start date) to a broken download answer:
"empty-200" (HTTP 200, no body), "204", or "307-no-location".

Ranges, as Khoros documents them: a job may span three calendar months at most and
reach back `history_months` (18) from now; Team Performance Interval refuses more than
744 buckets ("Too many buckets (N) requested", Khoros's published message; the
interval defaults to an hour here); `max_range_days` (per report type) refuses longer
ranges too, to exercise splitting. Files (not the bulk ones) carry a Content-Length.

The download answers 307 with a short-lived pre-signed URL on a second loopback
server (`KhorosFileHost`, another port): it checks the link's signature and expiry,
never needs credentials, and logs every request's headers so a test can prove our
credentials never reach it. Files are JSON (a list of row objects) or CSV, written
as they are generated (chunked), so even a million-row file costs the simulator no
memory; `bulk_rows` makes a report type serve that many synthetic rows per window.

Data: a seeded, deterministic support operation generated per day from 2024-01-01:
conversations (with incoming posts and responses spread over the following days),
agents in teams (some disabled), agent states, expert help requests, response
approvals. Every exported value is a string; dates are formatted
"YYYY-MM-DD HH:MM:SS" in the report's `timezone`/`timezoneOffset` (UTC by default).
Filters honoured: conversationReportType, priorities, workqueueIds, teamIds,
includeDisabled, timeInterval, reportMetrics, reportFormat, locale (validated).
Column names are not published by Khoros; these are plausible ones, plus a few
columns the tap's schemas do not list (Khoros adds columns over time).
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import random
import re
import threading
import time
import typing as t
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

from support_simulators.framework import SimRequest, SimResponse, VendorSimulator, json_response

UTC = dt.timezone.utc
DEFAULT_USERNAME = "analytics-demo"
DEFAULT_PASSWORD = "khoros-demo-password"
DEFAULT_COMPANY_KEY = "khoros-demo-company-key"
DATASET_START = dt.date(2024, 1, 1)
API_PREFIX = "/api/public"
#: Conversations stay open at most this many days (bounds the data a window looks at).
MAX_OPEN_DAYS = 10

REPORT_TYPES = (
    "author",
    "combined",
    "conversation",
    "conversation_actions",
    "conversation_history_action",
    "incoming_post",
    "raw_agent_states",
    "raw_expert_help",
    "response",
    "response_approval",
    "team_performance",
    "team_performance_interval",
    "user",
)
#: Exports started with a POST whose parameters travel in a form body.
FORM_BODY_REPORTS = ("conversation_actions", "conversation_history_action")
#: The report's key column where it has one (what the tap keys rows by).
ID_COLUMNS = {
    "combined": "POST_ID",
    "conversation": "CONVERSATION_ID",
    "incoming_post": "POST_ID",
    "raw_expert_help": "HELP_REQUEST_ID",
    "response": "POST_ID",
}
#: The columns identifying a row of a report without an id (the tap hashes them with the window).
IDENTITY_COLUMNS = {
    "author": ("AUTHOR_ID",),
    "raw_agent_states": ("AGENT_ID", "STATE_STARTED_AT"),
    "response_approval": ("CONVERSATION_ID", "AUTHORING_AGENT_ID", "SUBMITTED_AT"),
    "team_performance": ("TEAM_ID", "AGENT_ID"),
    "team_performance_interval": ("TEAM_ID", "AGENT_ID", "INTERVAL_START"),
    "conversation_actions": (),
    "conversation_history_action": (),
    "user": ("AGENT_ID",),
}

ACTION_COLUMNS = [
    "CONVERSATION_ID",
    "ACTION",
    "ACTION_AT",
    "AGENT_ID",
    "AGENT_NAME",
    "TEAM_ID",
    "WORKQUEUE_ID",
    "PRIORITY",
    "DETAIL",
]
TEAM_COLUMNS = [
    "TEAM_ID",
    "TEAM_NAME",
    "AGENT_ID",
    "AGENT_NAME",
    "AGENT_ENABLED",
    "CONVERSATIONS_HANDLED",
    "CONVERSATIONS_CLOSED",
    "RESPONSES_SENT",
    "AVG_RESPONSE_TIME_SECONDS",
    "AVG_HANDLE_TIME_SECONDS",
    "AGENT_EMAIL",
]
COLUMNS: dict[str, list[str]] = {
    "author": [
        "AUTHOR_ID",
        "AUTHOR_NAME",
        "AUTHOR_HANDLE",
        "NETWORK",
        "FOLLOWERS",
        "VERIFIED",
        "POSTS",
        "CONVERSATIONS",
        "FIRST_POST_AT",
        "LAST_POST_AT",
        "AUTHOR_LOCATION",
    ],
    "combined": [
        "POST_ID",
        "POST_TYPE",
        "CONVERSATION_ID",
        "NETWORK",
        "POSTED_AT",
        "AUTHOR_ID",
        "AGENT_ID",
        "TEAM_ID",
        "PRIORITY",
        "WORKQUEUE_ID",
        "CONTENT",
    ],
    "conversation": [
        "CONVERSATION_ID",
        "NETWORK",
        "STATUS",
        "PRIORITY",
        "WORKQUEUE_ID",
        "WORKQUEUE_NAME",
        "TEAM_ID",
        "ASSIGNED_AGENT_ID",
        "ASSIGNED_AGENT_NAME",
        "AUTHOR_ID",
        "CREATED_AT",
        "FIRST_ASSIGNED_AT",
        "FIRST_RESPONSE_AT",
        "CLOSED_AT",
        "FIRST_RESPONSE_TIME_SECONDS",
        "HANDLE_TIME_SECONDS",
        "INCOMING_POSTS",
        "RESPONSES",
        "TAGS",
        "CSAT_SCORE",
    ],
    "conversation_actions": ACTION_COLUMNS,
    # The same columns as conversation_actions, for every action of the history.
    "conversation_history_action": ACTION_COLUMNS,
    "user": [
        "AGENT_ID",
        "AGENT_NAME",
        "AGENT_EMAIL",
        "TEAM_ID",
        "TEAM_NAME",
        "AGENT_ENABLED",
        "TOTAL_TIME_SECONDS",
        "AGENT_ROLE",
    ],
    "incoming_post": [
        "POST_ID",
        "CONVERSATION_ID",
        "NETWORK",
        "POSTED_AT",
        "AUTHOR_ID",
        "AUTHOR_HANDLE",
        "PRIORITY",
        "WORKQUEUE_ID",
        "LANGUAGE",
        "SENTIMENT",
        "CONTENT",
    ],
    "raw_agent_states": [
        "AGENT_ID",
        "AGENT_NAME",
        "TEAM_ID",
        "STATE",
        "STATE_STARTED_AT",
        "STATE_ENDED_AT",
        "DURATION_SECONDS",
    ],
    "raw_expert_help": [
        "HELP_REQUEST_ID",
        "CONVERSATION_ID",
        "REQUESTING_AGENT_ID",
        "EXPERT_AGENT_ID",
        "STATUS",
        "REQUESTED_AT",
        "ANSWERED_AT",
        "WAIT_SECONDS",
    ],
    "response": [
        "POST_ID",
        "CONVERSATION_ID",
        "NETWORK",
        "RESPONDED_AT",
        "AGENT_ID",
        "AGENT_NAME",
        "TEAM_ID",
        "PRIORITY",
        "WORKQUEUE_ID",
        "RESPONSE_TIME_SECONDS",
        "CONTENT",
    ],
    "response_approval": [
        "CONVERSATION_ID",
        "AUTHORING_AGENT_ID",
        "AUTHORING_AGENT_NAME",
        "APPROVER_AGENT_ID",
        "TEAM_ID",
        "SUBMITTED_AT",
        "DECIDED_AT",
        "DECISION",
        "WAIT_SECONDS",
    ],
    "team_performance": TEAM_COLUMNS,
    "team_performance_interval": ["INTERVAL_START", "INTERVAL_END", *TEAM_COLUMNS],
}
LOCALES = ("en", "es", "fr", "de", "tr")
TIME_INTERVALS = (
    300000,
    600000,
    900000,
    1800000,
    3600000,
    7200000,
    14400000,
    28800000,
    43200000,
    86400000,
    604800000,
)
CONVERSATION_REPORT_TYPES = ("OPEN_AT_END", "CLOSED", "CREATED")

_NETWORKS = ["twitter", "facebook", "instagram", "whatsapp", "livechat", "email"]
_TEAMS = [("101", "Tier 1"), ("102", "Tier 2"), ("103", "Social Escalations")]
_WORKQUEUES = [("15", "General"), ("21", "Billing"), ("23", "Technical"), ("52", "VIP")]
_AGENT_NAMES = [
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
]
_FIRST = ["Alex", "Sam", "Kim", "Pat", "Jo", "Chris", "Robin", "Dana", "Lou", "Max", "Noa", "Eli"]
_LAST = ["Doe", "Roe", "Poe", "Lee", "Kay", "Fox", "Ray", "Bell", "Hart", "Cole"]
_TEXTS = [
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


def _fmt(moment: dt.datetime, zone: dt.tzinfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` moved by calendar months, the day clamped to the month's last (own code, the
    tap's rule)."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last_day = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def _split(
    start: dt.datetime, end: dt.datetime
) -> tuple[dt.datetime, dt.datetime, dt.datetime] | None:
    """Where the tap cuts a refused window in two (same rule, own code): None below two hours."""
    span = end - start
    if span < dt.timedelta(hours=2):
        return None
    middle = start + span / 2
    if span >= dt.timedelta(days=2):
        middle = dt.datetime(middle.year, middle.month, middle.day, tzinfo=UTC)
    else:
        middle = middle.replace(minute=0, second=0, microsecond=0)
    return (start, middle, end) if start < middle < end else None


def row_hash(window_start: str, values: t.Mapping[str, t.Any]) -> str:
    """The row key the tap gives rows of reports without an id (same recipe, own code)."""
    digest = hashlib.blake2b(window_start.encode(), digest_size=16)
    digest.update(
        json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    return digest.hexdigest()


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    team_id: str
    team_name: str
    enabled: bool


@dataclass
class Conversation:
    conversation_id: str
    created: dt.datetime
    network: str
    priority: int
    workqueue: tuple[str, str]
    agent: Agent
    author: tuple[str, str, str, int, bool]  # id, name, handle, followers, verified
    assigned: dt.datetime
    closed: dt.datetime | None
    incoming: list[
        tuple[str, dt.datetime, str, str, str]
    ]  # post id, time, text, language, sentiment
    responses: list[tuple[str, dt.datetime, str]]  # post id, time, text
    tags: list[str]
    csat: str
    expert_help: tuple[str, Agent, dt.datetime, dt.datetime | None] | None
    approval: tuple[Agent, dt.datetime, dt.datetime, str] | None


class KhorosDataset:
    """Deterministic support activity, generated per day so any range costs only its own days."""

    def __init__(
        self, seed: int = 7, conversations_per_day: int = 40, start: dt.date = DATASET_START
    ) -> None:
        self.seed, self.per_day, self.start = seed, conversations_per_day, start
        rng = random.Random(f"{seed}:agents")
        self.agents = []
        for n, name in enumerate(_AGENT_NAMES):
            team_id, team_name = _TEAMS[n % len(_TEAMS)]
            self.agents.append(
                Agent(f"{5000 + n}", name, team_id, team_name, enabled=n not in (4, 9))
            )
        self.enabled_agents = [a for a in self.agents if a.enabled]
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
        self._cache: dict[dt.date, list[Conversation]] = {}
        self._lock = threading.Lock()

    def day(self, day: dt.date) -> list[Conversation]:
        if day < self.start:
            return []
        with self._lock:
            rows = self._cache.get(day)
            if rows is None:
                rows = self._generate(day)
                if len(self._cache) > 2000:
                    self._cache.clear()
                self._cache[day] = rows
            return rows

    def _generate(self, day: dt.date) -> list[Conversation]:
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        weekend = day.weekday() >= 5
        mean = self.per_day * (0.5 if weekend else 1.0)
        count = max(0, int(rng.gauss(mean, mean * 0.15)))
        day_index = (day - self.start).days
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        out = []
        for n, second in enumerate(sorted(rng.randrange(86_400) for _ in range(count))):
            created = midnight + dt.timedelta(seconds=second)
            cid = f"{10_000_000 + day_index * 10_000 + n}"
            agent = rng.choice(self.enabled_agents if rng.random() < 0.93 else self.agents)
            assigned = created + dt.timedelta(seconds=rng.randint(30, 3 * 3600))
            open_hours = rng.expovariate(1 / 20)
            closed = None if rng.random() < 0.04 else created + dt.timedelta(hours=open_hours)
            if closed is not None and closed - created > dt.timedelta(days=MAX_OPEN_DAYS - 1):
                closed = created + dt.timedelta(days=MAX_OPEN_DAYS - 1)
            end = closed or created + dt.timedelta(days=MAX_OPEN_DAYS - 1)
            span = (end - created).total_seconds()
            incoming = []
            for k in range(rng.randint(1, 4)):
                when = created if k == 0 else created + dt.timedelta(seconds=rng.uniform(0, span))
                text = rng.choice(_TEXTS).format(n=rng.randrange(10_000, 99_999))
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
            helper = None
            if rng.random() < 0.08:
                asked = assigned + dt.timedelta(minutes=rng.randint(1, 90))
                expert = rng.choice([a for a in self.enabled_agents if a is not agent])
                answered = (
                    asked + dt.timedelta(minutes=rng.randint(1, 120))
                    if rng.random() < 0.85
                    else None
                )
                helper = (f"H{cid}", expert, asked, answered)
            approval = None
            if rng.random() < 0.1:
                submitted = responses[0][1] - dt.timedelta(minutes=rng.randint(1, 30))
                approver = rng.choice(
                    [
                        a
                        for a in self.enabled_agents
                        if a.team_id == agent.team_id and a is not agent
                    ]
                    or self.enabled_agents
                )
                approval = (
                    approver,
                    submitted,
                    submitted + dt.timedelta(minutes=rng.randint(1, 45)),
                    rng.choice(["APPROVED", "APPROVED", "APPROVED", "REJECTED"]),
                )
            out.append(
                Conversation(
                    cid,
                    created,
                    rng.choice(_NETWORKS),
                    rng.choice([0, 1, 1, 2, 2, 3, 4, 5]),
                    rng.choice(_WORKQUEUES),
                    agent,
                    rng.choice(self.authors),
                    assigned,
                    closed,
                    incoming,
                    responses,
                    rng.sample(
                        ["billing", "delivery", "login", "refund", "praise", "bug"],
                        rng.randint(0, 2),
                    ),
                    rng.choice(["", "", "4", "5", "3", "1"]),
                    helper,
                    approval,
                )
            )
        return out

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
        rng = random.Random(f"{self.seed}:{agent.agent_id}:{day.isoformat()}")
        if not agent.enabled or (day.weekday() >= 5 and rng.random() < 0.7):
            return []
        moment = dt.datetime(day.year, day.month, day.day, tzinfo=UTC) + dt.timedelta(
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


@dataclass
class ReportParams:
    report_type: str
    start: dt.datetime
    end: dt.datetime
    fmt: str = "json"
    zone: dt.tzinfo = UTC
    conversation_report_type: str = "OPEN_AT_END"
    priorities: set[int] | None = None
    workqueues: set[str] | None = None
    teams: set[str] | None = None
    include_disabled: bool = False
    interval_ms: int = 3_600_000
    metrics: list[str] | None = None
    agents: set[str] | None = None
    raise_limit: bool = False


class ReportBuilder:
    """The rows of one report for one window, from the dataset (all values strings)."""

    def __init__(self, dataset: KhorosDataset) -> None:
        self.dataset = dataset

    def rows(self, p: ReportParams) -> Iterator[dict[str, str]]:
        rows = getattr(self, f"_{p.report_type}")(p)
        columns = [c.upper() for c in p.metrics] if p.metrics else None
        for row in rows:
            yield {c: row.get(c, "") for c in columns} if columns else row

    # -- helpers
    def _conversations(self, p: ReportParams) -> Iterator[Conversation]:
        for c in self.dataset.conversations(p.start, p.end):
            if p.priorities is not None and c.priority not in p.priorities:
                continue
            if p.workqueues is not None and c.workqueue[0] not in p.workqueues:
                continue
            yield c

    def _d(self, p: ReportParams, moment: dt.datetime | None) -> str:
        return _fmt(moment, p.zone) if moment else ""

    def _agent_ok(self, p: ReportParams, agent: Agent) -> bool:
        return (p.include_disabled or agent.enabled) and (
            p.teams is None or agent.team_id in p.teams
        )

    # -- reports
    def _conversation(self, p: ReportParams) -> Iterator[dict[str, str]]:
        for c in self._conversations(p):
            kind = p.conversation_report_type
            if kind == "CREATED":
                keep = p.start <= c.created < p.end
            elif kind == "CLOSED":
                keep = c.closed is not None and p.start <= c.closed < p.end
            else:  # OPEN_AT_END
                keep = c.created < p.end and (c.closed is None or c.closed >= p.end)
            if not keep:
                continue
            as_of = p.end
            closed = c.closed if c.closed is not None and c.closed < as_of else None
            first_response = c.responses[0][1] if c.responses[0][1] < as_of else None
            row = {
                "CONVERSATION_ID": c.conversation_id,
                "NETWORK": c.network,
                "STATUS": "CLOSED" if closed else "OPEN",
                "PRIORITY": str(c.priority),
                "WORKQUEUE_ID": c.workqueue[0],
                "WORKQUEUE_NAME": c.workqueue[1],
                "TEAM_ID": c.agent.team_id,
                "ASSIGNED_AGENT_ID": c.agent.agent_id,
                "ASSIGNED_AGENT_NAME": c.agent.name,
                "AUTHOR_ID": c.author[0],
                "CREATED_AT": self._d(p, c.created),
                "FIRST_ASSIGNED_AT": self._d(p, c.assigned if c.assigned < as_of else None),
                "FIRST_RESPONSE_AT": self._d(p, first_response),
                "CLOSED_AT": self._d(p, closed),
                "FIRST_RESPONSE_TIME_SECONDS": str(
                    int((first_response - c.created).total_seconds())
                )
                if first_response
                else "",
                "HANDLE_TIME_SECONDS": f"{(closed - c.assigned).total_seconds():.1f}"
                if closed
                else "",
                "INCOMING_POSTS": str(sum(1 for post in c.incoming if post[1] < as_of)),
                "RESPONSES": str(sum(1 for post in c.responses if post[1] < as_of)),
                "TAGS": ",".join(c.tags),
                "CSAT_SCORE": c.csat if closed else "",
            }
            yield row

    def _incoming(self, p: ReportParams) -> Iterator[tuple[Conversation, tuple]]:
        for c in self._conversations(p):
            for post in c.incoming:
                if p.start <= post[1] < p.end:
                    yield c, post

    def _responses(self, p: ReportParams) -> Iterator[tuple[Conversation, tuple]]:
        for c in self._conversations(p):
            for post in c.responses:
                if p.start <= post[1] < p.end:
                    yield c, post

    def _incoming_post(self, p: ReportParams) -> Iterator[dict[str, str]]:
        for c, (post_id, when, text, language, sentiment) in self._incoming(p):
            yield {
                "POST_ID": post_id,
                "CONVERSATION_ID": c.conversation_id,
                "NETWORK": c.network,
                "POSTED_AT": self._d(p, when),
                "AUTHOR_ID": c.author[0],
                "AUTHOR_HANDLE": c.author[2],
                "PRIORITY": str(c.priority),
                "WORKQUEUE_ID": c.workqueue[0],
                "LANGUAGE": language,
                "SENTIMENT": sentiment,
                "CONTENT": text,
            }

    def _response(self, p: ReportParams) -> Iterator[dict[str, str]]:
        for c, (post_id, when, text) in self._responses(p):
            previous = max((post[1] for post in c.incoming if post[1] <= when), default=c.created)
            yield {
                "POST_ID": post_id,
                "CONVERSATION_ID": c.conversation_id,
                "NETWORK": c.network,
                "RESPONDED_AT": self._d(p, when),
                "AGENT_ID": c.agent.agent_id,
                "AGENT_NAME": c.agent.name,
                "TEAM_ID": c.agent.team_id,
                "PRIORITY": str(c.priority),
                "WORKQUEUE_ID": c.workqueue[0],
                "RESPONSE_TIME_SECONDS": str(int((when - previous).total_seconds())),
                "CONTENT": text,
            }

    def _combined(self, p: ReportParams) -> Iterator[dict[str, str]]:
        events = []
        for c, post in self._incoming(p):
            events.append(
                (
                    post[1],
                    {
                        "POST_ID": post[0],
                        "POST_TYPE": "INCOMING",
                        "CONVERSATION_ID": c.conversation_id,
                        "NETWORK": c.network,
                        "POSTED_AT": self._d(p, post[1]),
                        "AUTHOR_ID": c.author[0],
                        "AGENT_ID": "",
                        "TEAM_ID": "",
                        "PRIORITY": str(c.priority),
                        "WORKQUEUE_ID": c.workqueue[0],
                        "CONTENT": post[2],
                    },
                )
            )
        for c, post in self._responses(p):
            events.append(
                (
                    post[1],
                    {
                        "POST_ID": post[0],
                        "POST_TYPE": "RESPONSE",
                        "CONVERSATION_ID": c.conversation_id,
                        "NETWORK": c.network,
                        "POSTED_AT": self._d(p, post[1]),
                        "AUTHOR_ID": "",
                        "AGENT_ID": c.agent.agent_id,
                        "TEAM_ID": c.agent.team_id,
                        "PRIORITY": str(c.priority),
                        "WORKQUEUE_ID": c.workqueue[0],
                        "CONTENT": post[2],
                    },
                )
            )
        events.sort(key=lambda e: (e[0], e[1]["POST_ID"]))
        for _, row in events:
            yield row

    def _author(self, p: ReportParams) -> Iterator[dict[str, str]]:
        seen: dict[str, dict[str, t.Any]] = {}
        for c, post in self._incoming(p):
            author = c.author
            entry = seen.setdefault(
                author[0],
                {
                    "author": author,
                    "network": c.network,
                    "posts": 0,
                    "conversations": set(),
                    "first": post[1],
                    "last": post[1],
                },
            )
            entry["posts"] += 1
            entry["conversations"].add(c.conversation_id)
            entry["first"], entry["last"] = (
                min(entry["first"], post[1]),
                max(entry["last"], post[1]),
            )
        for author_id in sorted(seen):
            e = seen[author_id]
            a = e["author"]
            yield {
                "AUTHOR_ID": a[0],
                "AUTHOR_NAME": a[1],
                "AUTHOR_HANDLE": a[2],
                "NETWORK": e["network"],
                "FOLLOWERS": str(a[3]),
                "VERIFIED": "true" if a[4] else "false",
                "POSTS": str(e["posts"]),
                "CONVERSATIONS": str(len(e["conversations"])),
                "FIRST_POST_AT": self._d(p, e["first"]),
                "LAST_POST_AT": self._d(p, e["last"]),
                "AUTHOR_LOCATION": "",
            }

    def _conversation_actions(self, p: ReportParams) -> Iterator[dict[str, str]]:
        actions = [
            (when, row)
            for c in self._conversations(p)
            for when, row in self._actions_of(p, c)
            if p.start <= when < p.end
        ]
        actions.sort(key=lambda a: (a[0], a[1]["CONVERSATION_ID"], a[1]["ACTION"], a[1]["DETAIL"]))
        for _, row in actions:
            yield row

    def _actions_of(
        self, p: ReportParams, c: Conversation
    ) -> list[tuple[dt.datetime, dict[str, str]]]:
        events = [
            ("ASSIGN", c.assigned, f"to {c.agent.name}"),
            ("PRIORITY_CHANGE", c.created, f"set to P{c.priority}"),
        ]
        events += [
            ("TAG", c.assigned + dt.timedelta(minutes=1 + n), tag) for n, tag in enumerate(c.tags)
        ]
        if c.closed:
            events.append(("CLOSE", c.closed, "resolved"))
        return [
            (
                when,
                {
                    "CONVERSATION_ID": c.conversation_id,
                    "ACTION": action,
                    "ACTION_AT": self._d(p, when),
                    "AGENT_ID": c.agent.agent_id,
                    "AGENT_NAME": c.agent.name,
                    "TEAM_ID": c.agent.team_id,
                    "WORKQUEUE_ID": c.workqueue[0],
                    "PRIORITY": str(c.priority),
                    "DETAIL": detail,
                },
            )
            for action, when, detail in events
        ]

    def _conversation_history_action(self, p: ReportParams) -> Iterator[dict[str, str]]:
        """The whole action history of each conversation with an action in the window (500 actions
        per conversation at most, 2,000 with `raiselimit=true`)."""
        limit = 2000 if p.raise_limit else 500
        for c in self._conversations(p):
            actions = sorted(
                self._actions_of(p, c), key=lambda a: (a[0], a[1]["ACTION"], a[1]["DETAIL"])
            )
            if any(p.start <= when < p.end for when, _ in actions):
                for _, row in actions[:limit]:
                    yield row

    def _user(self, p: ReportParams) -> Iterator[dict[str, str]]:
        """Every agent (filtered by agentId/teamId/includeDisabled) with their logged-in time in
        the window."""
        for agent in self.dataset.agents:
            if not self._agent_ok(p, agent) or (
                p.agents is not None and agent.agent_id not in p.agents
            ):
                continue
            total = 0.0
            day = (p.start - dt.timedelta(days=1)).date()
            while day <= p.end.date():
                for _, began, ended in self.dataset.agent_states(agent, day):
                    overlap = (min(ended, p.end) - max(began, p.start)).total_seconds()
                    total += max(0.0, overlap)
                day += dt.timedelta(days=1)
            yield {
                "AGENT_ID": agent.agent_id,
                "AGENT_NAME": agent.name,
                "AGENT_EMAIL": agent.name.lower().replace(" ", ".") + "@acme.example",
                "TEAM_ID": agent.team_id,
                "TEAM_NAME": agent.team_name,
                "AGENT_ENABLED": "true" if agent.enabled else "false",
                "TOTAL_TIME_SECONDS": f"{total:.0f}",
                "AGENT_ROLE": "AGENT",
            }

    def _raw_agent_states(self, p: ReportParams) -> Iterator[dict[str, str]]:
        day = (p.start - dt.timedelta(days=1)).date()
        rows = []
        while day <= p.end.date():
            for agent in self.dataset.agents:
                if p.teams is not None and agent.team_id not in p.teams:
                    continue
                for state, began, ended in self.dataset.agent_states(agent, day):
                    if p.start <= began < p.end:
                        rows.append(
                            (
                                began,
                                {
                                    "AGENT_ID": agent.agent_id,
                                    "AGENT_NAME": agent.name,
                                    "TEAM_ID": agent.team_id,
                                    "STATE": state,
                                    "STATE_STARTED_AT": self._d(p, began),
                                    "STATE_ENDED_AT": self._d(p, ended),
                                    "DURATION_SECONDS": str(int((ended - began).total_seconds())),
                                },
                            )
                        )
            day += dt.timedelta(days=1)
        rows.sort(key=lambda r: (r[0], r[1]["AGENT_ID"]))
        for _, row in rows:
            yield row

    def _raw_expert_help(self, p: ReportParams) -> Iterator[dict[str, str]]:
        for c in self._conversations(p):
            if c.expert_help and p.start <= c.expert_help[2] < p.end:
                help_id, expert, asked, answered = c.expert_help
                yield {
                    "HELP_REQUEST_ID": help_id,
                    "CONVERSATION_ID": c.conversation_id,
                    "REQUESTING_AGENT_ID": c.agent.agent_id,
                    "EXPERT_AGENT_ID": expert.agent_id,
                    "STATUS": "ANSWERED" if answered else "OPEN",
                    "REQUESTED_AT": self._d(p, asked),
                    "ANSWERED_AT": self._d(p, answered),
                    "WAIT_SECONDS": str(int((answered - asked).total_seconds()))
                    if answered
                    else "",
                }

    def _response_approval(self, p: ReportParams) -> Iterator[dict[str, str]]:
        for c in self._conversations(p):
            if c.approval and p.start <= c.approval[1] < p.end and self._agent_ok(p, c.agent):
                approver, submitted, decided, decision = c.approval
                yield {
                    "CONVERSATION_ID": c.conversation_id,
                    "AUTHORING_AGENT_ID": c.agent.agent_id,
                    "AUTHORING_AGENT_NAME": c.agent.name,
                    "APPROVER_AGENT_ID": approver.agent_id,
                    "TEAM_ID": c.agent.team_id,
                    "SUBMITTED_AT": self._d(p, submitted),
                    "DECIDED_AT": self._d(p, decided),
                    "DECISION": decision,
                    "WAIT_SECONDS": str(int((decided - submitted).total_seconds())),
                }

    def _performance(
        self,
        p: ReportParams,
        start: dt.datetime,
        end: dt.datetime,
        conversations: list[Conversation],
    ) -> Iterator[dict[str, str]]:
        for agent in self.dataset.agents:
            if not self._agent_ok(p, agent):
                continue
            handled = closed = sent = 0
            response_times, handle_times = [], []
            for c in conversations:
                if c.agent is not agent:
                    continue
                mine = [post for post in c.responses if start <= post[1] < end]
                if mine:
                    handled += 1
                    sent += len(mine)
                    response_times += [(post[1] - c.created).total_seconds() for post in mine[:1]]
                if c.closed is not None and start <= c.closed < end:
                    closed += 1
                    handle_times.append((c.closed - c.assigned).total_seconds())
            if not (handled or closed):
                continue
            yield {
                "TEAM_ID": agent.team_id,
                "TEAM_NAME": agent.team_name,
                "AGENT_ID": agent.agent_id,
                "AGENT_NAME": agent.name,
                "AGENT_ENABLED": "true" if agent.enabled else "false",
                "CONVERSATIONS_HANDLED": str(handled),
                "CONVERSATIONS_CLOSED": str(closed),
                "RESPONSES_SENT": str(sent),
                "AVG_RESPONSE_TIME_SECONDS": f"{sum(response_times) / len(response_times):.1f}"
                if response_times
                else "",
                "AVG_HANDLE_TIME_SECONDS": f"{sum(handle_times) / len(handle_times):.1f}"
                if handle_times
                else "",
                "AGENT_EMAIL": agent.name.lower().replace(" ", ".") + "@acme.example",
            }

    def _team_performance(self, p: ReportParams) -> Iterator[dict[str, str]]:
        yield from self._performance(p, p.start, p.end, list(self._conversations(p)))

    def _team_performance_interval(self, p: ReportParams) -> Iterator[dict[str, str]]:
        conversations = list(self._conversations(p))
        step = dt.timedelta(milliseconds=p.interval_ms) if p.interval_ms <= 604_800_000 else None
        cursor = p.start
        while cursor < p.end:
            if step is None:  # more than a week: calendar months
                upper = (cursor.replace(day=1) + dt.timedelta(days=32)).replace(
                    day=1, hour=0, minute=0, second=0
                )
            else:
                upper = cursor + step
            upper = min(upper, p.end)
            for row in self._performance(p, cursor, upper, conversations):
                yield {
                    "INTERVAL_START": self._d(p, cursor),
                    "INTERVAL_END": self._d(p, upper),
                    **row,
                }
            cursor = upper


# ---- the file host ------------------------------------------------------------------


@dataclass
class HostedFile:
    rows: t.Callable[[], Iterator[dict[str, str]]]
    columns: list[str]
    fmt: str
    expires: float
    sized: bool = False  # sent with a Content-Length (bulk files stream chunked)


class KhorosFileHost:
    """The pre-signed download host: another loopback server, no credentials needed.

    Links carry an HMAC signature and an expiry (`link_ttl`), like S3's. Every
    request is logged with its headers (`requests`). `cut_next` makes the next N
    files break off after `cut_after_bytes` bytes (a dropped connection);
    `expire_next` makes the next N links count as expired.
    """

    def __init__(self, host: str = "127.0.0.1", link_ttl: float = 300.0) -> None:
        self.host, self.link_ttl = host, link_ttl
        self.requests: list[dict[str, t.Any]] = []
        self.files: dict[str, HostedFile] = {}
        self.cut_next, self.cut_after_bytes = 0, 4096
        self.expire_next = 0
        self._secret = b"file-host-signing-key"
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> KhorosFileHost:
        self._server = ThreadingHTTPServer((self.host, 0), _file_handler(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, name="khoros-files", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def publish(self, hosted: HostedFile, name: str) -> str:
        with self._lock:
            self._counter += 1
            token = hashlib.sha256(f"{self._counter}:{time.time()}".encode()).hexdigest()[:24]
            self.files[token] = hosted
        expires = f"{hosted.expires:.3f}"
        signature = hmac.new(
            self._secret, f"{token}:{expires}".encode(), hashlib.sha256
        ).hexdigest()
        return (
            f"{self.url}/khoros-care-exports/{token}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Expires={int(self.link_ttl)}&Expires={expires}&X-Amz-Signature={signature}"
        )

    def check(self, path: str, query: dict[str, list[str]]) -> HostedFile | str:
        match = re.fullmatch(r"/khoros-care-exports/([0-9a-f]+)/[^/]+", path)
        hosted = self.files.get(match.group(1)) if match else None
        if hosted is None:
            return "NoSuchKey"
        expires = (query.get("Expires") or ["0"])[0]
        good = hmac.new(
            self._secret, f"{match.group(1)}:{expires}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(good, (query.get("X-Amz-Signature") or [""])[0]):
            return "SignatureDoesNotMatch"
        with self._lock:
            expire = self.expire_next > 0
            self.expire_next -= expire
        if expire or time.time() > float(expires):
            return "Request has expired"
        return hosted

    def body(self, hosted: HostedFile) -> Iterator[bytes]:
        """The file, encoded as it is generated, in chunks of about 64 KiB."""
        buffer: list[str] = []
        size = 0
        if hosted.fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(hosted.columns)
            for row in hosted.rows():
                writer.writerow([row.get(c, "") for c in hosted.columns])
                if out.tell() > 65536:
                    yield out.getvalue().encode()
                    out.seek(0)
                    out.truncate()
            yield out.getvalue().encode()
            return
        encode = json.JSONEncoder(ensure_ascii=False).encode
        yield b"["
        first = True
        for row in hosted.rows():
            piece = encode(row) if first else "," + encode(row)
            first = False
            buffer.append(piece)
            size += len(piece)
            if size > 65536:
                yield "".join(buffer).encode()
                buffer, size = [], 0
        buffer.append("]")
        yield "".join(buffer).encode()


def _file_handler(host: KhorosFileHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "khoros-file-host"
        disable_nagle_algorithm = True  # as real hosts: no delayed-ACK stall per answer

        def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            with host._lock:
                host.requests.append(
                    {"path": parts.path, "query": query, "headers": dict(self.headers)}
                )
            hosted = host.check(parts.path, query)
            if isinstance(hosted, str):
                body = (
                    f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
                    f"<Message>{hosted}</Message></Error>"
                ).encode()
                self.send_response(403 if hosted != "NoSuchKey" else 404)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            with host._lock:
                cut = host.cut_next > 0
                if cut:
                    host.cut_next -= 1
            self.send_response(200)
            self.send_header(
                "Content-Type", "text/csv" if hosted.fmt == "csv" else "application/json"
            )
            if hosted.sized and not cut:  # an ordinary file, whole in memory: its size, as S3 sends
                body = b"".join(host.body(hosted))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            sent = 0
            try:
                for chunk in host.body(hosted):
                    if cut and sent + len(chunk) > host.cut_after_bytes:
                        chunk = chunk[: max(0, host.cut_after_bytes - sent)]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                        self.close_connection = True
                        return  # drop the connection mid-file
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

    return Handler


# ---- the API --------------------------------------------------------------------------


@dataclass
class Job:
    workflow_id: str
    run_id: str
    params: ReportParams
    started: float
    ready_at: float
    outcome: str  # COMPLETED | FAILED | STUCK | NO_FILE | UNREADABLE
    index: int
    token: str = ""
    form: dict[str, list[str]] = field(default_factory=dict)  # the start's form body, if any
    downloaded: bool = False
    status_calls: int = 0


@dataclass
class JobStats:
    started: int = 0
    open_now: int = 0
    peak_open: int = 0  # started, not yet downloaded
    peak_running: int = (
        0  # started, not yet finished on the simulator's side (what a job slot holds)
    )
    log: list[tuple[str, str]] = field(
        default_factory=list
    )  # jobs started: (report type, window start date)
    events: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # ("start" | "download", report, date)


class KhorosSimulator(VendorSimulator):
    name = "khoros"

    def __init__(
        self,
        *,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        company_key: str = DEFAULT_COMPANY_KEY,
        conversations_per_day: int = 40,
        job_latency: tuple[float, float] = (0.2, 0.8),
        status_shape: str = "mixed",
        failing: t.Iterable[tuple[str, str]] = (),
        stuck: t.Iterable[tuple[str, str]] = (),
        no_file: t.Iterable[tuple[str, str]] = (),
        unreadable: t.Iterable[tuple[str, str]] = (),
        bad_downloads: t.Mapping[tuple[str, str], str] | None = None,
        history_months: int = 18,
        max_range_days: t.Mapping[str, float] | None = None,
        bulk_rows: t.Mapping[str, int] | None = None,
        link_ttl: float = 300.0,
        **kwargs: t.Any,
    ) -> None:
        self.username, self.password, self.company_key = username, password, company_key
        self.job_latency, self.status_shape = job_latency, status_shape
        #: (report type, window start date "YYYY-MM-DD") of jobs that end FAILED / never finish.
        self.failing, self.stuck = set(failing), set(stuck)
        self.no_file, self.unreadable = set(no_file), set(unreadable)
        self.bad_downloads = dict(bad_downloads or {})
        self.history_months = history_months
        self.max_range_days = dict(max_range_days or {})
        self.bulk_rows = dict(bulk_rows or {})
        super().__init__(**kwargs)
        self.dataset = KhorosDataset(seed=self.seed, conversations_per_day=conversations_per_day)
        self.builder = ReportBuilder(self.dataset)
        self.file_host = KhorosFileHost(self.host, link_ttl=link_ttl)
        self.jobs: dict[tuple[str, str], Job] = {}
        self.stats = JobStats()
        self._jobs_lock = threading.Lock()
        self._job_rng = random.Random(f"{self.seed}:jobs")

    # ---- lifecycle (the file host runs beside the API) ----------------------------

    def start(self) -> KhorosSimulator:
        self.file_host.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.file_host.stop()

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    def routes(self):
        job = r"/reports/report/(?P<workflow>[^/]+)/(?P<run>[^/]+)"
        yield "GET", re.compile(API_PREFIX + job + "/status"), self.status
        yield "GET", re.compile(API_PREFIX + job + "/download"), self.download
        yield (
            "GET",
            re.compile(API_PREFIX + r"/reports/report/(?P<report>[a-z_]+)"),
            self.start_report,
        )
        yield (
            "POST",
            re.compile(
                API_PREFIX + r"/reports/report/(?P<report>" + "|".join(FORM_BODY_REPORTS) + ")"
            ),
            self.start_report,
        )

    def authorized(self, request: SimRequest) -> SimResponse | None:
        expected = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return SimResponse(
                401,
                json.dumps({"status": "FAIL", "message": "Unauthorized"}).encode(),
                {"Content-Type": "application/json", "WWW-Authenticate": 'Basic realm="analytics"'},
            )
        if request.arg("companyKey") != self.company_key:
            return json_response({"status": "FAIL", "message": "Invalid companyKey"}, 403)
        return None

    # ---- handlers ------------------------------------------------------------------

    @staticmethod
    def _fail(message: str, status: int = 400) -> SimResponse:
        return json_response({"status": "FAIL", "message": message}, status)

    def _params(self, request: SimRequest) -> dict[str, list[str]]:
        params = {k: v for k, v in request.query.items()}
        if request.method == "POST" and request.body:
            for key, values in parse_qs(request.body.decode(), keep_blank_values=True).items():
                params.setdefault(key, []).extend(values)
        return params

    def parse_params(
        self, report_type: str, params: dict[str, list[str]]
    ) -> ReportParams | SimResponse:
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[0] if values else None

        try:
            start_ms, end_ms = int(one("startTime") or ""), int(one("endTime") or "")
        except ValueError:
            return self._fail("startTime and endTime are required, in epoch milliseconds")
        if end_ms <= start_ms:
            return self._fail("endTime must be after startTime")
        p = ReportParams(
            report_type,
            dt.datetime.fromtimestamp(start_ms / 1000, UTC),
            dt.datetime.fromtimestamp(end_ms / 1000, UTC),
        )
        p.fmt = (one("reportFormat") or "json").lower()
        if p.fmt not in ("json", "csv"):
            return self._fail(f"Unsupported reportFormat {p.fmt}")
        kind = one("conversationReportType")
        if kind:
            if kind not in CONVERSATION_REPORT_TYPES:
                return self._fail(f"Invalid conversationReportType {kind}")
            p.conversation_report_type = kind
        locale = one("locale")
        if locale and locale not in LOCALES:
            return self._fail(f"Unsupported locale {locale}")
        try:
            if one("timezone"):
                p.zone = zoneinfo.ZoneInfo(one("timezone"))
            elif one("timezoneOffset"):
                p.zone = dt.timezone(dt.timedelta(milliseconds=int(one("timezoneOffset"))))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return self._fail("Invalid timezone or timezoneOffset")
        try:
            if one("priorities"):
                p.priorities = {int(v) for v in one("priorities").split(",")}
            if one("timeInterval"):
                p.interval_ms = int(one("timeInterval"))
        except ValueError:
            return self._fail("priorities and timeInterval take integers")
        if p.interval_ms not in TIME_INTERVALS and p.interval_ms <= 604_800_000:
            return self._fail(f"Unsupported timeInterval {p.interval_ms}")
        if one("workqueueIds"):
            p.workqueues = set(one("workqueueIds").split(","))
        if one("teamIds"):
            p.teams = set(one("teamIds").split(","))
        if report_type == "user":  # documented as repeated parameters, one value each
            if params.get("teamId"):
                p.teams = set(params["teamId"])
            if params.get("agentId"):
                p.agents = set(params["agentId"])
        p.raise_limit = (one("raiselimit") or "false").lower() == "true"
        for name in ("enableBusinessHour", "businessHourType"):
            if one(name) not in (None, "true", "false"):
                return self._fail(f"{name} takes true or false")
        if one("businessHourType") is not None and one("enableBusinessHour") != "true":
            return self._fail("businessHourType needs enableBusinessHour=true")
        p.include_disabled = (one("includeDisabled") or "false").lower() == "true"
        metrics = params.get("reportMetrics")
        if metrics:
            unknown = [m for m in metrics if m.upper() not in COLUMNS[report_type]]
            if unknown:
                return self._fail(f"Unknown reportMetrics for {report_type}: {', '.join(unknown)}")
            p.metrics = metrics
        return p

    def start_report(self, request: SimRequest) -> SimResponse:
        report_type = request.match["report"]
        if report_type not in REPORT_TYPES:
            return self._fail(f"Unsupported report type {report_type}", 404)
        p = self.parse_params(report_type, self._params(request))
        if isinstance(p, SimResponse):
            return p
        earliest = _add_months(dt.datetime.now(UTC), -self.history_months)
        if p.start < earliest:
            return self._fail(
                f"startTime is older than the {self.history_months} months of data Care Analytics "
                f"keeps (earliest {_ms(earliest)})"
            )
        refusal = self.range_refusal(p)
        if refusal:
            return json_response(
                {"status": "FAIL", "request": None, "message": None, "result": refusal}, 400
            )
        window_key = (report_type, p.start.date().isoformat())
        with self._jobs_lock:
            index = self.stats.started
            low, high = self.job_latency
            latency = low + (high - low) * self._job_rng.random()
            workflow_id = (
                f"{report_type}-{hashlib.md5(f'{self.seed}:{index}'.encode()).hexdigest()[:16]}"
            )
            run_id = base64.b64encode(
                b"\xfb\xff" + self._job_rng.randbytes(23)
            ).decode()  # has "+", "/", "="
            outcome = (
                "FAILED"
                if window_key in self.failing
                else "STUCK"
                if window_key in self.stuck
                else "NO_FILE"
                if window_key in self.no_file
                else "UNREADABLE"
                if window_key in self.unreadable
                else "COMPLETED"
            )
            now = time.monotonic()
            token = base64.b64encode(self._job_rng.randbytes(16)).decode()
            form = parse_qs(request.body.decode(), keep_blank_values=True) if request.body else {}
            job = Job(
                workflow_id, run_id, p, now, now + latency, outcome, index, token=token, form=form
            )
            self.jobs[(workflow_id, run_id)] = job
            self.stats.started += 1
            self.stats.open_now += 1
            self.stats.peak_open = max(self.stats.peak_open, self.stats.open_now)
            running = sum(1 for j in self.jobs.values() if j.outcome == "STUCK" or now < j.ready_at)
            self.stats.peak_running = max(self.stats.peak_running, running)
            self.stats.log.append(window_key)
            self.stats.events.append(("start", *window_key))
        encoded = f"{quote(workflow_id, safe='')}/{quote(run_id, safe='')}"
        return json_response(
            {
                "status": "PASS",
                "result": {
                    "workflowId": workflow_id,
                    "runId": run_id,
                    "downloadUrl": "",
                    # The status OpenAPI: `analyticsAccessToken` is "returned in the statusUrl
                    # field".
                    "statusUrl": f"{self.api_url}/reports/report/{encoded}/status"
                    f"?analyticsAccessToken={quote(token, safe='')}",
                },
            }
        )

    def range_refusal(self, p: ReportParams) -> str | None:
        """Why Khoros would refuse this job's range (None if it would not)."""
        if p.end > _add_months(p.start, 3):
            return "The date range exceeds the maximum of three months for an export"
        limit = self.max_range_days.get(p.report_type)
        if limit is not None and (p.end - p.start) > dt.timedelta(days=limit):
            return f"The date range exceeds the maximum of {limit:g} days for this export"
        if p.report_type == "team_performance_interval" and p.interval_ms <= 604_800_000:
            buckets = -(-(_ms(p.end) - _ms(p.start)) // p.interval_ms)
            if buckets > 744:
                return (
                    "Unable to hydrate filter for export info: "
                    "com.lithium.socialweb.analytics.webapp.models.filter."
                    f"HydrationException: Too many buckets ({buckets}) requested. "
                    "Select a larger interval?"
                )
        return None

    def _job(self, request: SimRequest) -> Job | None:
        key = (unquote(request.match["workflow"]), unquote(request.match["run"]))
        with self._jobs_lock:
            return self.jobs.get(key)

    def status(self, request: SimRequest) -> SimResponse:
        job = self._job(request)
        if job is None:
            return self._fail("No such report run", 404)
        job.status_calls += 1
        done = job.outcome != "STUCK" and time.monotonic() >= job.ready_at
        shape = (
            self.status_shape
            if self.status_shape != "mixed"
            else ("list" if job.index % 2 else "object")
        )
        detail = {"COMPLETED": "COMPLETED", "FAILED": "FAILED"}.get(job.outcome, "") if done else ""
        state = "CLOSED" if done else "RUNNING"
        workflow, run = quote(job.workflow_id, safe=""), quote(job.run_id, safe="")
        base = f"{self.api_url}/reports/report/{workflow}/{run}"
        token = quote(job.token, safe="")
        download = (
            f"{base}/download?analyticsAccessToken={token}"
            if done and detail == "COMPLETED"
            else ""
        )
        job_info = {
            "workflowId": job.workflow_id,
            "runId": job.run_id,
            "downloadUrl": download,
            "statusUrl": f"{base}/status?analyticsAccessToken={token}",
        }
        inner = {
            "runnerState": state,
            "reason": None,
            "detail": detail,
            "currentCount": None,
            "totalCount": None,
            "lastAcknowledgeTime": None,
        }
        if done and job.outcome == "UNREADABLE":
            return json_response(
                {
                    "status": "PASS",
                    "request": None,
                    "message": None,
                    "result": {"jobInfo": job_info, "state": "DONE"},
                }
            )
        if shape == "flat":
            result: t.Any = {**job_info, **inner}
        else:
            result = {"jobInfo": job_info, "result": [inner] if shape == "inner-list" else inner}
            if shape == "list":
                result = [result]
        return json_response({"status": "PASS", "request": None, "message": None, "result": result})

    def download(self, request: SimRequest) -> SimResponse:
        job = self._job(request)
        if job is None:
            return self._fail("No such report run", 404)
        if job.outcome != "COMPLETED" or time.monotonic() < job.ready_at:
            return self._fail("The report is not available for download", 409)
        with self._jobs_lock:
            if not job.downloaded:
                job.downloaded = True
                self.stats.open_now -= 1
            self.stats.events.append(
                ("download", job.params.report_type, job.params.start.date().isoformat())
            )
        p = job.params
        fault = self.bad_downloads.get((p.report_type, p.start.date().isoformat()))
        if fault == "empty-200":
            return SimResponse(200, b"", {"Content-Type": "application/json"})
        if fault == "204":
            return SimResponse(204, b"", {})
        if fault == "307-no-location":
            return SimResponse(307, b"", {"Content-Type": "text/plain"})
        hosted = HostedFile(
            lambda: self.report_rows(p),
            self.columns_of(p),
            p.fmt,
            time.time() + self.file_host.link_ttl,
            sized=p.report_type not in self.bulk_rows,
        )
        location = self.file_host.publish(hosted, f"{p.report_type}.{p.fmt}")
        return SimResponse(307, b"", {"Location": location, "Content-Type": "text/plain"})

    # ---- data ------------------------------------------------------------------------

    def columns_of(self, p: ReportParams) -> list[str]:
        return [m.upper() for m in p.metrics] if p.metrics else COLUMNS[p.report_type]

    def report_rows(self, p: ReportParams) -> Iterator[dict[str, str]]:
        bulk = self.bulk_rows.get(p.report_type)
        if bulk:
            return self._bulk(p, bulk)
        return self.builder.rows(p)

    def _bulk(self, p: ReportParams, count: int) -> Iterator[dict[str, str]]:
        """`count` synthetic rows for the window (benchmarks), made on the fly."""
        columns = self.columns_of(p)
        base = _ms(p.start)
        span = max(1, _ms(p.end) - base)
        for n in range(count):
            when = dt.datetime.fromtimestamp((base + n * 7919 % span) / 1000, UTC)
            row = {c: "" for c in columns}
            row.update(
                {
                    "POST_ID": f"{base}-{n}",
                    "CONVERSATION_ID": f"{20_000_000 + n // 3}",
                    "NETWORK": _NETWORKS[n % 6],
                    "POSTED_AT": _fmt(when, p.zone),
                    "AUTHOR_ID": f"{900000 + n % 400}",
                    "AUTHOR_HANDLE": f"@user{n % 400}",
                    "PRIORITY": str(n % 6),
                    "WORKQUEUE_ID": _WORKQUEUES[n % 4][0],
                    "LANGUAGE": "en",
                    "SENTIMENT": "NEUTRAL",
                    "CONTENT": _TEXTS[n % len(_TEXTS)].format(n=n),
                }
            )
            yield {c: row[c] for c in columns} if p.metrics else row

    def window_params(
        self,
        report_type: str,
        start: dt.datetime,
        end: dt.datetime,
        tap_config: t.Mapping[str, t.Any] | None = None,
        variant: str = "",
    ) -> ReportParams:
        """The parameters the tap with `tap_config` sends for a window (tests, expected keys)."""
        config = dict(tap_config or {})
        params: dict[str, list[str]] = {"startTime": [str(_ms(start))], "endTime": [str(_ms(end))]}
        for name in (
            "locale",
            "timezone",
            "timezoneOffset",
            "priorities",
            "workqueueIds",
            "teamIds",
            "includeDisabled",
            "timeInterval",
            "raiselimit",
        ):
            value = config.get(name)
            if value is None or value == []:
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, list):
                value = ",".join(str(v) for v in value)
            params[name] = [str(value)]
        if report_type == "user":
            params.pop("teamIds", None)
            if config.get("teamIds"):
                params["teamId"] = [str(v) for v in config["teamIds"]]
            if config.get("agentIds"):
                params["agentId"] = [str(v) for v in config["agentIds"]]
        if report_type == "conversation" and (variant or config.get("conversation_report_type")):
            params["conversationReportType"] = [variant or config["conversation_report_type"]]
        metrics = (config.get("reportMetrics") or {}).get(report_type)
        if metrics:
            params["reportMetrics"] = list(metrics)
        p = self.parse_params(report_type, params)
        assert isinstance(p, ReportParams), p.body
        return p

    def window_rows(
        self,
        report_type: str,
        start: dt.datetime,
        end: dt.datetime,
        tap_config: t.Mapping[str, t.Any] | None = None,
        variant: str = "",
    ) -> list[dict[str, str]]:
        """The rows a window's report holds for a tap with `tap_config` (tests, expected keys)."""
        return list(
            self.report_rows(self.window_params(report_type, start, end, tap_config, variant))
        )

    def windows(
        self, tap_config: t.Mapping[str, t.Any], report_type: str | None = None
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The windows a full run of the tap with `tap_config` asks for (the tap's rules, own code):
        three calendar months (or `window_days`), from no earlier than `history_months` ago, each
        window this simulator would refuse for its range split in halves until accepted."""

        def utc(value: str) -> dt.datetime:
            parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

        now = dt.datetime.now(UTC)
        start = utc(tap_config["start_date"])
        earliest = _add_months(now, -int(tap_config.get("history_months") or 18))
        earliest = dt.datetime(
            earliest.year, earliest.month, earliest.day, tzinfo=UTC
        ) + dt.timedelta(days=2)
        start = max(start, earliest)
        start = dt.datetime(start.year, start.month, start.day, tzinfo=UTC)
        end = min(utc(tap_config["end_date"]), now) if tap_config.get("end_date") else now
        days = tap_config.get("window_days")
        planned = []
        while start < end:
            upper = min(
                start + dt.timedelta(days=int(days)) if days else _add_months(start, 3), end
            )
            planned.append((start, upper))
            start = upper
        if report_type is None:
            return planned
        out: list[tuple[dt.datetime, dt.datetime]] = []
        pending = list(reversed(planned))
        while pending:
            low, high = pending.pop()
            cut = _split(low, high)
            if cut and self.range_refusal(
                self.window_params(report_type, low, high, tap_config, "CREATED")
            ):
                pending += [(cut[1], cut[2]), (cut[0], cut[1])]
            else:
                out.append((low, high))
        return out

    def expected_primary_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        expected: dict[str, tuple[tuple[str, ...], set[tuple]]] = {}
        for report_type in tap_config.get("report_types") or REPORT_TYPES:
            id_column = ID_COLUMNS.get(report_type)
            keys: set[tuple] = set()
            if report_type == "conversation":
                one = tap_config.get("conversation_report_type")
                variants = (
                    [one]
                    if one
                    else list(tap_config.get("conversation_report_types") or ["CREATED", "CLOSED"])
                )
            else:
                variants = [""]
            for start, end in self.windows(tap_config, report_type):
                window_start = start.isoformat()
                rows = [
                    row
                    for v in variants
                    for row in self.window_rows(report_type, start, end, tap_config, v)
                ]
                for row in rows:
                    if id_column:
                        keys.add((row[id_column],))
                        continue
                    identity = IDENTITY_COLUMNS.get(report_type, ())
                    if identity and all(row.get(c) for c in identity):
                        keys.add((row_hash(window_start, {c: row[c] for c in identity}),))
                    else:
                        keys.add((row_hash(window_start, row),))
            expected[report_type] = ((id_column or "_row_hash",), keys)
        return expected
