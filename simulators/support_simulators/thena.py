"""Thena requests export simulator: GET /v1/requests/exports with Bearer auth.

Data: a seeded, deterministic stream of support requests from 2024-01-01, about
`requests_per_day` a day (fewer at weekends), in the shape of the export's published
example: its fields in its order, US-style "MM/DD/YYYY HH:MM" dates, "" and "N/A"
placeholders (`csat_score` "N/A" until rated), numbers as numbers, `ai_tags` lists.
The published example itself is served too: request 3292, created 05/12/2023 12:24,
byte for byte as Thena's page shows it (tests/contracts/thena/ holds the page's copy).

`variants=True` adds what the docs do not promise but a beta API may send: a few ISO
dates, numbers as text, a field the docs do not list, and the forms Thena's sister
requests API publishes (`ai_tags` as "A, B", `csat_score` "NA").

A request's later life (assignment, closing, rating) only appears once the
simulator's clock has passed it, so re-reading recent creation dates returns changed
rows, as the real export does.

The docs do not say whether `end_date` is inclusive; this simulator treats it as
inclusive (set `end_date_inclusive=False` to serve the other reading).

Rate limit: the export page says only that answers "are subject to rate limiting"; Thena's
newer platform API documents `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
`X-RateLimit-Reset` (a UNIX timestamp in seconds) and HTTP 429 (docs.thena.ai/api-reference/
introduction). With a rate limit set (`--rate-limit`, `Faults.rate_limit` in requests per
second, counted in windows of `Faults.rate_window` seconds) every answer carries those three
headers and a 429 carries only `X-RateLimit-Reset`.

Late edits: `record_late_edit(request_id, changes)` makes a request read differently from now
on (a field edited after the moment it describes, recorded late), as the export would show it.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import typing as t
from dataclasses import dataclass
from urllib.parse import urlsplit

from support_simulators.framework import (
    SimRequest,
    SimResponse,
    VendorSimulator,
    json_response,
    raw_json_response,
)
from support_simulators.framework.dataset import (
    AGENT_NAMES,
    DATASET_START,
    UTC,
    DailyDataset,
    midnight,
    setting_time,
)

DEFAULT_API_KEY = "thena-demo-key"

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

#: The "Example Response" of https://help.thena.ai/docs/requests-export-api, verbatim.
PUBLISHED_EXAMPLE = b"""[
    {
      "request_id": 3292,
      "created_datetime": "05/12/2023 12:24",
      "workspace_name": "CustomerWorkspaceName",
      "slack_channel": "ext-channel-name",
      "customer_name": "John Doe",
      "requestor_email": "[email\xc2\xa0protected]",
      "request_title": "Issue with Capturing Links in Ticket Notes",
      "request_summary": "A customer has reported an issue where links to different Slack chats are not being captured in HubSpot ticket notes. Our team is investigating the issue and addressing the slight delay.",
      "sentiment": "Neutral",
      "urgency": "Medium",
      "status": "Assigned",
      "assigned_on": "05/22/2023 15:15",
      "owner": "Jane Smith",
      "assigned_to_user_email": "[email\xc2\xa0protected]",
      "first_response_time": "05/22/2023 15:15",
      "number_of_replies": 1,
      "closed_by": "",
      "feedback": "N/A",
      "csat_score": "N/A",
      "closed_datetime": "",
      "resolution_time_hours": "",
      "on_hold_on": "",
      "on_hold_by": "",
      "on_hold_by_user_email": "",
      "ai_tags": ["Missing Link", "Ticket Notes", "Slack Chat"],
      "slack_thread_link": "https://example-slack.com/archives/SLACK_THREAD_ID",
      "internal_thread_slack_link": "https://example-slack.com/archives/INTERNAL_THREAD_ID"
    }
 ]"""  # noqa: E501 - the vendor's example, byte for byte
PUBLISHED_DAY = dt.date(2023, 5, 12)
PUBLISHED_ROW: dict[str, t.Any] = json.loads(PUBLISHED_EXAMPLE)[0]


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


class ThenaSimulator(VendorSimulator):
    name = "thena"
    rate_limit_headers = True
    _DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        requests_per_day: int = 40,
        end_date_inclusive: bool = True,
        now: dt.datetime | None = None,
        variants: bool = False,
        **kwargs: t.Any,
    ) -> None:
        self.api_key = api_key
        self.end_date_inclusive = end_date_inclusive
        self.fixed_now = now
        super().__init__(**kwargs)
        self.dataset = ThenaDataset(
            seed=self.seed, requests_per_day=requests_per_day, variants=variants
        )
        self._encoded: dict[dt.date, bytes] = {}  # JSON of days old enough not to change

    def now(self) -> dt.datetime:
        return self.fixed_now or dt.datetime.now(UTC)

    def routes(self):
        yield "GET", re.compile(r"/v1/requests/exports"), self.export

    def default_account(self, tap_config: t.Mapping[str, t.Any]) -> str:
        """tap-thena names its records by the workspace (or the one its api_url names)."""
        if tap_config.get("workspace"):
            return str(tap_config["workspace"]).strip()
        host = urlsplit(str(tap_config.get("api_url") or "")).hostname or ""
        name, _, domain = host.partition(".")
        return name if domain == "thena.ai" and name else super().default_account(tap_config)

    def expected_vendor_keys(
        self, tap_config: t.Mapping[str, t.Any]
    ) -> dict[str, tuple[tuple[str, ...], set[tuple]]]:
        end = setting_time(tap_config["end_date"]) if tap_config.get("end_date") else self.now()
        ids = self.dataset.request_ids(setting_time(tap_config["start_date"]), end)
        return {"requests": (("request_id",), {(i,) for i in ids})}

    def authorized(self, request: SimRequest) -> SimResponse | None:
        if request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return json_response({"message": "Unauthorized: invalid or missing API key"}, 401)

    def _parse_date(self, value: str | None, name: str) -> dt.date | SimResponse:
        if not value or not self._DATE.match(value):
            return json_response({"message": f"{name} must be a date in YYYY-MM-DD format"}, 400)
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return json_response({"message": f"{name} is not a valid date: {value}"}, 400)

    def export(self, request: SimRequest) -> SimResponse:
        start = self._parse_date(request.arg("start_date"), "start_date")
        if isinstance(start, SimResponse):
            return start
        now = self.now()
        end_arg = request.arg("end_date")
        if end_arg is None:
            last = now.date()
        else:
            end = self._parse_date(end_arg, "end_date")
            if isinstance(end, SimResponse):
                return end
            last = end if self.end_date_inclusive else end - dt.timedelta(days=1)
        if last < start:
            return raw_json_response(b"[]")
        parts = []
        if start <= PUBLISHED_DAY <= last:
            parts.append(
                PUBLISHED_EXAMPLE[1:-1].strip()
            )  # the published object, bytes as published
        day = max(start, self.dataset.start)
        while day <= last:
            chunk = self._day_json(day, now)
            if chunk:
                parts.append(chunk)
            day += dt.timedelta(days=1)
        return raw_json_response(b"[" + b",".join(parts) + b"]")

    def record_late_edit(self, key: t.Any, changes: t.Mapping[str, t.Any]) -> None:
        """`key` is a request_id; `changes` are export fields as they read from now on (e.g.
        {"status": "Closed", "closed_datetime": "01/02/2025 10:00"})."""
        super().record_late_edit(int(key), changes)
        self._encoded.clear()

    def _day_json(self, day: dt.date, now: dt.datetime) -> bytes:
        """The day's requests as they read at `now`: JSON objects joined by commas."""
        chunk = self._encoded.get(day)
        if chunk is None:
            rows = [
                self.dataset.as_of(r.row, now) for r in self.dataset.day(day) if r.created <= now
            ]
            if self.late_edits:
                rows = [{**row, **self.late_edits.get(row["request_id"], {})} for row in rows]
            chunk = ",".join(json.dumps(row) for row in rows).encode()
            # Rows this old no longer change: their bytes are kept.
            if midnight(day) < now - dt.timedelta(days=120):
                self._encoded[day] = chunk
        return chunk
