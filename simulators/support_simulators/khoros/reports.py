"""The Khoros Care reports: their columns, and the rows of one report for one window.

Every exported value is a string; dates are formatted "YYYY-MM-DD HH:MM:SS" in the report's
`timezone`/`timezoneOffset` (UTC by default). Column names are not published by Khoros; these
are plausible ones, plus a few columns the tap's schemas do not list (Khoros adds columns over
time).
"""

from __future__ import annotations

import datetime as dt
import typing as t
from collections.abc import Iterator
from dataclasses import dataclass

from support_simulators.framework.dataset import UTC
from support_simulators.khoros.dataset import (
    NETWORKS,
    TEXTS,
    WORKQUEUES,
    Agent,
    Conversation,
    KhorosDataset,
    epoch_ms,
    local_time,
)

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

#: The user export's columns Khoros's reference page lists as JSON-only (not in CSV files).
USER_JSON_ONLY_COLUMNS = (
    "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS",
    "TOTAL_GREEN_STATE_TIME_MILLIS",
    "TOTAL_YELLOW_STATE_TIME_MILLIS",
    "TOTAL_RED_STATE_TIME_MILLIS",
    "TOTAL_MOBILE_TIME_MILLIS",
)

#: The availability colour of each agent state (a guess: Khoros does not publish the mapping).
_STATE_COLOURS = {"AVAILABLE": "GREEN", "BUSY": "YELLOW", "AWAY": "RED", "BREAK": "RED"}
#: The share of logged-in time spent in the mobile app.
_MOBILE_SHARE = 0.15

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
        *USER_JSON_ONLY_COLUMNS,
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


@dataclass
class ReportParams:
    """What a report job asks for (its query parameters, parsed: `params.parse_params`)."""

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
        return local_time(moment, p.zone) if moment else ""

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
            by_state: dict[str, float] = {}
            day = (p.start - dt.timedelta(days=1)).date()
            while day <= p.end.date():
                for state, began, ended in self.dataset.agent_states(agent, day):
                    overlap = max(0.0, (min(ended, p.end) - max(began, p.start)).total_seconds())
                    total += overlap
                    by_state[state] = by_state.get(state, 0.0) + overlap
                day += dt.timedelta(days=1)
            row = {
                "AGENT_ID": agent.agent_id,
                "AGENT_NAME": agent.name,
                "AGENT_EMAIL": agent.name.lower().replace(" ", ".") + "@acme.example",
                "TEAM_ID": agent.team_id,
                "TEAM_NAME": agent.team_name,
                "AGENT_ENABLED": "true" if agent.enabled else "false",
                "TOTAL_TIME_SECONDS": f"{total:.0f}",
                "AGENT_ROLE": "AGENT",
            }
            if p.fmt == "json":  # JSON-only columns, as Khoros's reference page lists them
                colours = {"GREEN": 0.0, "YELLOW": 0.0, "RED": 0.0}
                for state, seconds in by_state.items():
                    colours[_STATE_COLOURS[state]] += seconds
                row.update(
                    {
                        "TOTAL_CONSOLE_LOGGED_IN_TIME_MILLIS": f"{total * 1000:.0f}",
                        "TOTAL_GREEN_STATE_TIME_MILLIS": f"{colours['GREEN'] * 1000:.0f}",
                        "TOTAL_YELLOW_STATE_TIME_MILLIS": f"{colours['YELLOW'] * 1000:.0f}",
                        "TOTAL_RED_STATE_TIME_MILLIS": f"{colours['RED'] * 1000:.0f}",
                        "TOTAL_MOBILE_TIME_MILLIS": f"{total * 1000 * _MOBILE_SHARE:.0f}",
                    }
                )
            yield row

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


def columns_of(p: ReportParams) -> list[str]:
    """The report's columns: the `reportMetrics` asked for, else all of them (a CSV file
    without the user export's JSON-only ones)."""
    columns = [m.upper() for m in p.metrics] if p.metrics else COLUMNS[p.report_type]
    if p.fmt == "csv":
        return [c for c in columns if c not in USER_JSON_ONLY_COLUMNS]
    return columns


def synthetic_rows(p: ReportParams, count: int) -> Iterator[dict[str, str]]:
    """`count` synthetic rows for the window (benchmarks), made on the fly.

    Cheap to make (a benchmark measures the tap, not this): the local time of each
    minute is formatted once."""
    columns = columns_of(p)
    base = epoch_ms(p.start)
    span = max(1, epoch_ms(p.end) - base)
    empty = dict.fromkeys(columns, "")
    minutes: dict[int, str] = {}
    for n in range(count):
        offset_ms = base + n * 7919 % span
        minute, ms = divmod(offset_ms, 60_000)
        prefix = minutes.get(minute)
        if prefix is None:
            when = dt.datetime.fromtimestamp(minute * 60, UTC)
            prefix = minutes[minute] = local_time(when, p.zone)[:-2]
        row = empty.copy()
        row.update(
            {
                "POST_ID": f"{base}-{n}",
                "CONVERSATION_ID": f"{20_000_000 + n // 3}",
                "NETWORK": NETWORKS[n % 6],
                "POSTED_AT": f"{prefix}{ms // 1000:02d}",
                "AUTHOR_ID": f"{900000 + n % 400}",
                "AUTHOR_HANDLE": f"@user{n % 400}",
                "PRIORITY": str(n % 6),
                "WORKQUEUE_ID": WORKQUEUES[n % 4][0],
                "LANGUAGE": "en",
                "SENTIMENT": "NEUTRAL",
                "CONTENT": TEXTS[n % len(TEXTS)].format(n=n),
            }
        )
        yield {c: row[c] for c in columns} if p.metrics else row
