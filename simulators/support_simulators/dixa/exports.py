"""Dixa's Exports API and its conversations' activity log, for the Dixa simulator.

- GET /v1/conversation_export, /v1/message_export (Exports API, `Authorization: Bearer <token>`):
  filters `created_`, `updated_`, `closed_`, `last_message_created_` + `_after`/`_before`
  (yyyy-mm-dd or epoch milliseconds, both ends inclusive here) or `csids`; at least one
  `_after` and one `_before`, and no query may span more than 31 days (else 400). No paging:
  the whole answer is one JSON array.
- GET /v1/conversations/activitylog (`fromDatetime`/`toDatetime`, main API): paged with
  `meta.next`.

- GET /v1/conversations/{csid}/notes (main API): a conversation's internal notes, in one piece.

Conversations are the ones the Analytics data is generated from (same csids, channels, queues,
agents, tags, closing and rating), so both APIs tell one story. `update(csid, at)` moves a
conversation's `updated_at` (and adds a tag), as an agent's edit in Dixa would;
`update(csid, at, recorded_at=later)` is the same edit recorded late: the export shows it only
from `recorded_at` on (by the simulator's clock), with its `updated_at` still `at`.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from support_simulators.dixa.dataset import DixaDataset, SimRecord, dixa_id
from support_simulators.framework.dataset import UTC, seeded

DAY_MS = 86_400_000
#: Dixa: "no query can span more than 1 month (31 days)".
MAX_SPAN_MS = 31 * DAY_MS
FILTERS = ("created", "updated", "closed", "last_message_created")


class ExportQueryError(ValueError):
    """A query Dixa's Exports API answers with 400."""


def ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_bound(name: str, value: str) -> int:
    """A filter value in epoch milliseconds: Dixa takes yyyy-mm-dd or epoch milliseconds."""
    if value.isdigit():
        return int(value)
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ExportQueryError(f"Invalid value for: query parameter {name}") from None
    return ms(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))


Bounds = dict[str, list]  # filter name -> [after, before], epoch milliseconds or None


def _bounds(query: t.Mapping[str, list[str]]) -> Bounds:
    """The bounds of each filter the query uses."""
    bounds: Bounds = {}
    for name in FILTERS:
        low, high = (
            query.get(f"{name}_after", [None])[0],
            query.get(f"{name}_before", [None])[0],
        )
        if low is not None or high is not None:
            bounds[name] = [
                parse_bound(f"{name}_after", low) if low else None,
                parse_bound(f"{name}_before", high) if high else None,
            ]
    return bounds


def _check(bounds: Bounds, query: t.Mapping[str, list[str]], *, messages: bool) -> None:
    """Raise Dixa's refusal of the query, if it refuses it."""
    if messages and (set(bounds) != {"created"} or None in bounds["created"] or query.get("csids")):
        # The published message_export takes created_after and created_before only.
        raise ExportQueryError("The message export needs created_after and created_before")
    if not query.get("csids", [None])[0] and not (
        any(b[0] is not None for b in bounds.values())
        and any(b[1] is not None for b in bounds.values())
    ):
        raise ExportQueryError(
            "The request must have at least one _after and one _before parameter or csids"
        )
    for name, (low, high) in bounds.items():
        if low is not None and high is not None and high - low > MAX_SPAN_MS:
            raise ExportQueryError(
                f"Invalid query: {name}_after/{name}_before span more than 31 days"
            )


def _within(conversation: dict[str, t.Any], name: str, low: int | None, high: int | None) -> bool:
    value = conversation.get(f"{name}_at")
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value <= high)


class DixaExports:
    """Export conversations and messages, and activity logs, from a DixaDataset."""

    def __init__(
        self,
        dataset: DixaDataset,
        agents: list,
        queues: list,
        tags: list,
        now: t.Callable[[], dt.datetime],
    ) -> None:
        self.dataset, self.agents, self.queues, self.tags, self.now = (
            dataset,
            agents,
            queues,
            tags,
            now,
        )
        #: The activity log's type fields: both while Dixa sends both (the published model has
        #: `_type` and the deprecated `activityType`); one of them to play either side of it.
        self.activity_type_fields: tuple[str, ...] = ("_type", "activityType")
        #: csid -> (updated_at, recorded_at) of each later edit, epoch milliseconds.
        self.updates: dict[int, list[tuple[int, int]]] = {}
        #: Serve each conversation twice in an export, newest first: after it, an older
        #: version (a millisecond earlier, without its last tag), as a replica lagging behind.
        self.stale_duplicates = False
        self._activity_cache: dict[str, t.Any] = {}

    # ---- conversations -------------------------------------------------------------------

    def update(self, csid: int, at: dt.datetime, recorded_at: dt.datetime | None = None) -> None:
        """An edit in Dixa: the conversation gets a tag and its `updated_at` moves to `at`.

        `recorded_at` (default: `at`) is when the Exports API starts showing it: an edit whose
        `updated_at` is already in the past when it appears, as Dixa may record edits late."""
        self.updates.setdefault(csid, []).append((ms(at), ms(recorded_at or at)))

    def recorded_edits(self, csid: int) -> list[int]:
        """The `updated_at` of each edit of `csid` the export shows by now."""
        now = ms(self.now())
        return [at for at, recorded in self.updates.get(csid, []) if recorded <= now]

    def conversations_created(self, day: dt.date) -> list[dict[str, t.Any]]:
        """Export objects of the conversations created on `day` (UTC), as Dixa would show them
        now."""
        rows = self.dataset.day(day)
        closed = {r.values["conversation_id"]: r for r in rows.get("closed_conversations", [])}
        rated = {r.values["conversation_id"]: r for r in rows.get("ratings", [])}
        out = []
        for record in rows.get("conversations", []):
            csid = record.values["csid"]
            out.append(self._conversation(csid, record, closed.get(csid), rated.get(csid)))
        return out

    def _conversation(
        self, csid: int, record: t.Any, closing: t.Any, rating: t.Any
    ) -> dict[str, t.Any]:
        facts = record.facts
        rng = seeded("conversation", csid)
        created = ms(record.timestamp)
        queue = next(((i, n) for i, n in self.queues if i == facts.get("queue_id")), None)
        agent = next(((i, n) for i, n in self.agents if i == facts.get("agent_id")), None)
        tags = [n for i, n in self.tags if i in (facts.get("tag_id") or [])]
        requester = rng.randrange(60)
        closed_at = ms(closing.values["closed_at"]) if closing else None
        messages = self.messages_of(csid, created, closed_at)
        updated = max([created, closed_at or 0, messages[-1]["created_at"]])
        ratings = [self._rating(rating, closed_at)] if rating else []
        if rating:
            updated = max(updated, ms(rating.timestamp))
        for n, at in enumerate(self.recorded_edits(csid)):
            tags = [*tags, f"edited-{n + 1}"]
            updated = max(updated, at)
        channel = facts["channel"].lower()
        email = channel == "email"
        return {
            "id": csid,
            "created_at": created,
            "initial_channel": channel,
            "requester_id": dixa_id("enduser", requester),
            "requester_name": f"End user {requester}",
            "requester_email": f"user{requester}@mail.example",
            "requester_additional_emails": [],
            "requester_phone_number": None,
            "requester_additional_phone_numbers": [],
            "queued_at": created + 1000 if queue else None,
            "queue_id": queue[0] if queue else None,
            "queue_name": queue[1] if queue else None,
            "closed_at": closed_at,
            "rating_score": ratings[0]["rating_score"] if ratings else None,
            "rating_message": None,
            "ratings": ratings,
            "direction": facts["initial_direction"].lower(),
            "assigned_at": created + 5000 if agent else None,
            "assignee_id": agent[0] if agent else None,
            "assignee_name": agent[1] if agent else None,
            "assignee_email": f"{agent[1].split()[0].lower()}@acme.example" if agent else None,
            "assignee_phone_number": None,
            "to_provisioned_phone_number_id": None,
            "to_provisioned_phone_number_name": None,
            "total_duration": (closed_at - created) // 1000 if closed_at else None,
            "handling_duration": int(closing.values["handling_duration"])
            if closing and closing.values.get("handling_duration") is not None
            else None,
            "dixa_email_integration_id": dixa_id("email", "support") if email else None,
            "dixa_email_integration_sender_name": "Acme Support" if email else None,
            "forwarding_email": None,
            "facebook_page_id": None,
            "facebook_page_name": None,
            "widget_id": dixa_id("widget", "site") if channel == "widget_chat" else None,
            "widget_name": "acme.example chat" if channel == "widget_chat" else None,
            "tags": tags,
            "conversation_wrapup_notes": ["Customer happy"] if rng.random() < 0.2 else [],
            "status": "closed" if closed_at else "open",
            "updated_at": updated,
            "last_message_created_at": messages[-1]["created_at"],
            "subject": f"Case {csid}",
            "custom_fields": [
                {
                    "attribute_id": dixa_id("attr", "order"),
                    "identifier": "order_number",
                    "value": f"A-{csid % 9973}",
                    "data_type": "Text",
                    "archived": False,
                }
            ]
            if rng.random() < 0.5
            else [],
            "originating_country": rng.choice(["DK", "SE", "DE", "GB"]),
            "anonymized_at": None,
        }

    @staticmethod
    def _rating(rating: SimRecord, closed_at: int | None) -> dict[str, t.Any]:
        rated_at = ms(rating.timestamp)
        return {
            "rating_score": rating.values["rating_score"],
            "rating_message": None,
            "rating_type": "stars" if rating.values["rating_type"] == "CSAT" else "thumbs",
            "rating_created_timestamp": closed_at,
            "rating_offered_timestamp": closed_at,
            "rating_status": "rated",
            "rating_language": "en",
            "rating_modified_timestamp": rated_at,
            "rating_rated_timestamp": rated_at,
            "rating_scheduled_timestamp": closed_at,
            "rating_scheduled_for_timestamp": closed_at,
            "rating_unscheduled_timestamp": None,
            "rating_cancelled_timestamp": None,
        }

    def notes_of(self, conversation: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """The internal notes of a conversation (GET /v1/conversations/{csid}/notes), in the
        published model: about a third of the conversations have one or two, written by their
        assignee while the conversation was open (so never after its `updated_at`)."""
        csid = conversation["id"]
        rng = seeded("notes", csid)
        if rng.random() >= 0.35:
            return []
        created = conversation["created_at"]
        last = max(created + 1, conversation["last_message_created_at"])
        author = conversation["assignee_id"] or dixa_id("agent", "supervisor")
        out = []
        for n in range(rng.randint(1, 2)):
            at = rng.randrange(created, last)
            stamp = dt.datetime.fromtimestamp(at / 1000, UTC)
            out.append(
                {
                    "id": dixa_id("note", f"{csid}:{n}"),
                    "authorId": author,
                    "createdAt": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at % 1000:03d}Z",
                    "csid": csid,
                    "message": f"Note {n + 1} on case {csid}: "
                    + rng.choice(["call back tomorrow", "refund approved", "escalated to tier 2"]),
                }
            )
        return out

    def conversation(self, csid: int) -> dict[str, t.Any] | None:
        """The conversation with this csid as the export would show it now (None: none yet)."""
        if csid < self.dataset.FIRST_CSID or self.dataset.day_of(csid) < self.dataset.start:
            return None
        for conversation in self.conversations_created(self.dataset.day_of(csid)):
            if conversation["id"] == csid:
                return conversation if conversation["created_at"] <= ms(self.now()) else None
        return None

    def messages_of(self, csid: int, created: int, closed_at: int | None) -> list[dict[str, t.Any]]:
        rng = seeded("messages", csid)
        count = rng.randint(2, 6)
        last = closed_at or created + 3_600_000
        stamps = sorted(rng.randrange(created, max(created + 1, last)) for _ in range(count - 1))
        out = []
        for n, at in enumerate([created, *stamps]):
            inbound = n % 2 == 0
            out.append(
                {
                    "id": dixa_id("message", f"{csid}:{n}"),
                    "csid": csid,
                    "created_at": at,
                    "initial_channel": "email",
                    "author_name": "End user" if inbound else "Agent",
                    "author_email": None,
                    "direction": "inbound" if inbound else "outbound",
                    "text": f"Message {n + 1} of conversation {csid}",
                    "from": None,
                    # Dixa's published message sample has `to` as one string; other readings
                    # of the export have a list: both are served.
                    "to": "customer@mail.example" if n % 4 == 1 else ["customer@mail.example"],
                    "cc": [],
                    "bcc": [],
                    "attached_files": [],
                    "is_automated_message": False,
                    "duration": None,
                }
            )
        return out

    def export(self, query: t.Mapping[str, list[str]], *, messages: bool) -> list[dict[str, t.Any]]:
        """The conversations (or their messages) a conversation_export/message_export query
        selects."""
        bounds = _bounds(query)
        _check(bounds, query, messages=messages)
        csids_text = query.get("csids", [None])[0]
        csids = {int(c) for c in csids_text.split(",")} if csids_text else None
        out = []
        for day in self._days(bounds, csids):
            for conversation in self.conversations_created(day):
                if csids is not None and conversation["id"] not in csids:
                    continue
                if conversation["updated_at"] > ms(self.now()):
                    continue  # not yet happened
                if messages:
                    # Dixa's message export filters on the messages' own creation time.
                    low, high = bounds["created"]
                    out.extend(
                        m
                        for m in self.messages_of(
                            conversation["id"],
                            conversation["created_at"],
                            conversation["closed_at"],
                        )
                        if low <= m["created_at"] <= high
                    )
                elif all(
                    _within(conversation, name, low, high) for name, (low, high) in bounds.items()
                ):
                    out.append(conversation)
                    if self.stale_duplicates:
                        out.append(self._older(conversation))
        return out

    @staticmethod
    def _older(conversation: dict[str, t.Any]) -> dict[str, t.Any]:
        older = {**conversation, "updated_at": conversation["updated_at"] - 1}
        older["tags"] = list(conversation.get("tags") or [])[:-1]
        return older

    def _days(self, bounds: Bounds, csids: set[int] | None) -> list[dt.date]:
        """The creation days to look at: the bounds' days (from a week before: updates and
        closings come later), and every day with an edit."""
        lows = [b[0] for b in bounds.values() if b[0] is not None]
        highs = [b[1] for b in bounds.values() if b[1] is not None]
        if csids is not None and not (lows and highs):
            lows, highs = (
                [ms(dt.datetime.combine(self.dataset.start, dt.time(), UTC))],
                [ms(self.now())],
            )
        first = dt.datetime.fromtimestamp(min(lows) / 1000, UTC).date() - dt.timedelta(days=7)
        last = dt.datetime.fromtimestamp(max(highs) / 1000, UTC).date()
        days = {first + dt.timedelta(days=n) for n in range((last - first).days + 1)}
        return sorted(days | self.edited_days())

    def edited_days(self) -> set[dt.date]:
        """The creation days of the conversations edited with `update` (recorded by now)."""
        return {self.dataset.day_of(csid) for csid in self.updates if self.recorded_edits(csid)}

    # ---- activity logs -------------------------------------------------------------------

    def activity_log(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, t.Any]]:
        """Activity of every conversation whose events fall in [start, end), oldest first."""
        # Every page of one query asks for the same range: build it once, not once a page.
        recorded = sum(len(self.recorded_edits(csid)) for csid in self.updates)
        key = (start, end, recorded, self.dataset.revision, self.activity_type_fields)
        if self._activity_cache.get("key") != key:
            self._activity_cache = {"key": key, "events": self._activity_log(start, end)}
        return self._activity_cache["events"]

    def _activity_log(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, t.Any]]:
        out = []
        first = start.date() - dt.timedelta(days=4)
        day = first
        while day <= end.date():
            for conversation in self.conversations_created(day):
                for event in self._events(conversation):
                    if ms(start) <= event["_at"] < ms(end):
                        out.append(event)
            day += dt.timedelta(days=1)
        out.sort(key=lambda e: (e["_at"], e["id"]))
        left_out = {"_at", *({"_type", "activityType"} - set(self.activity_type_fields))}
        return [{k: v for k, v in e.items() if k not in left_out} for e in out]

    def _events(self, conversation: dict[str, t.Any]) -> list[dict[str, t.Any]]:
        """A conversation's activity in Dixa's published model: `_type` (and the deprecated
        `activityType`, `<_type>ActivityType` as the published example pairs them, while Dixa
        still sends both), the author, and `attributes` with their own `_type` (a guess: the
        published attribute model's name, e.g. ConversationAssignedAttribute; Dixa's example
        shows none). Timestamps carry a zone name, as the published example does."""
        csid = conversation["id"]
        author = {
            "id": conversation["requester_id"],
            "name": conversation["requester_name"],
            "email": conversation["requester_email"],
        }
        created = conversation["created_at"]
        subject = {"subject": conversation["subject"]}
        events = [("ConversationCreatedByCustomer", created, author, "Created", subject)]
        if conversation["queue_id"]:
            offered = {"queueLabel": conversation["queue_name"], "agentNames": []}
            if conversation["assignee_name"]:
                offered["agentNames"] = [conversation["assignee_name"]]
            events.append(("ConversationOffered", created + 1500, None, "Offered", offered))
        if conversation["assignee_id"]:
            agent = {
                "id": conversation["assignee_id"],
                "name": conversation["assignee_name"],
                "email": conversation["assignee_email"],
            }
            assigned = {
                "agentId": conversation["assignee_id"],
                "agentName": conversation["assignee_name"],
            }
            at = conversation["assigned_at"]
            events.append(("ConversationAssigned", at, agent, "Assigned", assigned))
        for tag in conversation["tags"]:
            events.append(("TagAdded", created + 2000, None, "TagAdded", {"tag": tag}))
        for note in self.notes_of(conversation):
            at = ms(dt.datetime.fromisoformat(note["createdAt"].replace("Z", "+00:00")))
            said = {"message": note["message"]}
            events.append(("NoteAdded", at, None, "NoteAdded", said))
        if conversation["closed_at"]:
            events.append(("ConversationClosed", conversation["closed_at"], None, "", {}))
        out = []
        for n, (kind, at, who, attribute_model, attributes) in enumerate(events):
            stamp = dt.datetime.fromtimestamp(at / 1000, UTC)
            details = {**attributes, "_type": f"Conversation{attribute_model}Attribute"}
            if attribute_model in ("TagAdded", "NoteAdded"):
                details["_type"] = f"{attribute_model}Attribute"
            out.append(
                {
                    "id": dixa_id("activity", f"{csid}:{n}"),
                    "conversationId": csid,
                    "activityTimestamp": stamp.strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{at % 1000:03d}Z[GMT]",
                    "activityType": f"{kind}ActivityType",
                    "_type": kind,
                    "author": who,
                    "attributes": details if attribute_model else None,
                    "_at": at,
                }
            )
        return out
